//! One error type for every HTTP failure, one status table, one JSON shape:
//! `{"detail": <string or list of field errors>, "request_id": "..."}`
//! (FastAPI's `detail`, so existing clients parse it unchanged).

use axum::extract::Request;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{FieldError, Loc};
use crate::predictions::PredictError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("Not Found")]
    NotFound,
    #[error("model '{0}' is not served here")]
    ModelNotFound(String),
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    #[error("request body exceeds the configured limit")]
    PayloadTooLarge,
    /// The request's body had not all arrived within the request timeout.
    #[error("the request body did not arrive within the request timeout")]
    RequestTimeout,
    /// The request had arrived but its answer was not ready within the timeout.
    #[error("the request did not finish within the request timeout")]
    Timeout,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("server is overloaded, retry shortly")]
    Overloaded,
    #[error("service is unavailable")]
    Unavailable,
    /// A reload's candidate model failed a check; the serving model stays.
    #[error("model reload failed, the serving model stays: {0}")]
    ModelRejected(String),
    /// A reload could not reach the model source; the serving model stays.
    #[error("model reload failed, the serving model stays: {0}")]
    ModelSourceUnavailable(String),
    /// The cause is logged, never sent to the client.
    #[error("Internal Server Error")]
    Internal(String),
}

impl AppError {
    /// The status table: every error's HTTP status, in one place.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotFound | AppError::ModelNotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Overloaded | AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::ModelRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::ModelSourceUnavailable(_) => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(&self) -> Detail {
        match self {
            AppError::Validation(errors) => Detail::Fields(errors.clone()),
            other => Detail::Message(other.to_string()),
        }
    }

    /// A JSON syntax error, worded like FastAPI's `json_invalid`.
    pub fn json_invalid(message: String) -> Self {
        AppError::Validation(vec![FieldError::json_invalid(message)])
    }
}

/// The `detail` of an error body: a message, or pydantic-style field errors.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    Message(String),
    Fields(Vec<FieldError>),
}

/// Marks a response as an error whose JSON body [`render_errors`] writes,
/// so that the request id is added (and an internal cause logged with it) in
/// one place.
#[derive(Clone, Debug)]
pub struct ErrorDetail {
    pub detail: Detail,
    /// Logged, never sent.
    pub cause: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        if matches!(self, AppError::Overloaded) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(self, AppError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let detail = self.detail();
        let cause = match self {
            AppError::Internal(cause) => Some(cause),
            _ => None,
        };
        response.extensions_mut().insert(ErrorDetail { detail, cause });
        response
    }
}

impl From<PredictError> for AppError {
    fn from(e: PredictError) -> Self {
        match e {
            PredictError::Overloaded => AppError::Overloaded,
            PredictError::Stopped => AppError::Unavailable,
            PredictError::Failed(cause) => AppError::Internal(cause),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        let error = FieldError::new("query_invalid", vec![Loc::from("query")], rejection.body_text());
        AppError::Validation(vec![error])
    }
}

/// Longest plain-text rejection kept as an error message.
const MAX_PLAIN_ERROR_BYTES: usize = 4096;

#[derive(Serialize)]
struct NativeBody<'a> {
    detail: &'a Detail,
    request_id: Option<&'a str>,
}

#[derive(Serialize)]
struct OpenInferenceBody {
    error: String,
}

/// Writes every error body: from an [`ErrorDetail`]; for errors produced by
/// layers (timeouts, body limits, 405s) from the status's reason phrase; for
/// plain-text rejections of extractors outside this crate (a path that is not
/// UTF-8, Swagger UI's) from their text. Open Inference Protocol routes
/// (`/v2`, the prefix the protocol defines) get that protocol's shape.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request.headers().get(crate::telemetry::REQUEST_ID_HEADER).cloned();
    let open_inference = request.uri().path().starts_with("/v2");
    let mut response = next.run(request).await;
    let status = response.status();
    let ErrorDetail { detail, cause } = match response.extensions_mut().remove::<ErrorDetail>() {
        Some(error) => error,
        None if status.is_client_error() || status.is_server_error() => {
            let reason = status.canonical_reason().unwrap_or("Error");
            let message = match response.headers().get(header::CONTENT_TYPE).map(HeaderValue::as_bytes) {
                None => reason.to_owned(),
                Some(ct) if ct.starts_with(b"text/plain") => {
                    let (parts, body) = response.into_parts();
                    let text = axum::body::to_bytes(body, MAX_PLAIN_ERROR_BYTES)
                        .await
                        .unwrap_or_default();
                    response = Response::from_parts(parts, axum::body::Body::empty());
                    match String::from_utf8_lossy(&text).trim() {
                        "" => reason.to_owned(),
                        text => text.to_owned(),
                    }
                }
                Some(_) => return response,
            };
            ErrorDetail {
                detail: Detail::Message(message),
                cause: None,
            }
        }
        None => return response,
    };
    let request_id = request_id.as_ref().and_then(|v| v.to_str().ok());
    if let Some(cause) = cause {
        tracing::error!(request_id = request_id.unwrap_or(""), %cause, "request failed");
    }
    let body = if open_inference {
        serde_json::to_vec(&OpenInferenceBody {
            error: one_message(&detail),
        })
    } else {
        serde_json::to_vec(&NativeBody {
            detail: &detail,
            request_id,
        })
    }
    .expect("error bodies serialise");
    let (mut parts, _) = response.into_parts();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Field errors as one line: `inputs.2.age: Input should be ...`.
fn one_message(detail: &Detail) -> String {
    let errors = match detail {
        Detail::Message(message) => return message.clone(),
        Detail::Fields(errors) => errors,
    };
    let line = |e: &FieldError| {
        let loc: Vec<String> = e.loc.iter().map(Loc::to_string).collect();
        // A JSON decode error's useful part is its cause.
        match e.ctx.as_ref().and_then(|c| c["error"].as_str()) {
            Some(cause) => format!("{}: {}: {cause}", loc.join("."), e.msg),
            None => format!("{}: {}", loc.join("."), e.msg),
        }
    };
    errors.iter().map(line).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_covers_the_documented_codes() {
        let cases = [
            (AppError::Validation(vec![]), 422),
            (AppError::BadRequest("x".into()), 400),
            (AppError::Unauthorized, 401),
            (AppError::NotFound, 404),
            (AppError::ModelNotFound("m".into()), 404),
            (AppError::MethodNotAllowed, 405),
            (AppError::PayloadTooLarge, 413),
            (AppError::UnsupportedMediaType, 415),
            (AppError::Overloaded, 503),
            (AppError::Unavailable, 503),
            (AppError::RequestTimeout, 408),
            (AppError::Timeout, 504),
            (AppError::Internal("secret".into()), 500),
        ];
        for (error, code) in cases {
            assert_eq!(error.status().as_u16(), code, "{error:?}");
        }
    }

    #[test]
    fn open_inference_messages_keep_the_json_decode_cause() {
        let detail = AppError::json_invalid("invalid type: string \"x\", expected a sequence".into()).detail();
        assert_eq!(
            one_message(&detail),
            "body: JSON decode error: invalid type: string \"x\", expected a sequence"
        );
    }

    #[test]
    fn internal_error_detail_hides_the_cause() {
        let detail = AppError::Internal("ort: tensor shape mismatch".into()).detail();
        assert_eq!(detail, Detail::Message("Internal Server Error".into()));
    }
}
