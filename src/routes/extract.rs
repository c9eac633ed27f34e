//! Extractors whose rejections use the service's error shape (axum's own
//! answer with plain text).

use std::pin::Pin;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use http_body::Body as _;
use serde::de::DeserializeOwned;

use tokio::sync::OwnedSemaphorePermit;

use crate::error::AppError;
use crate::state::AppState;

/// The raw bytes of a JSON request body (content type checked, size
/// limited), and its share of `max_inflight_body_bytes`, held for as long as
/// the extractor lives (bind it, e.g. `JsonBody(body, _held)`, to hold it for
/// the whole handler).
#[derive(Debug)]
pub struct JsonBody(pub Bytes, pub BodyShare);

/// A share of the in-flight body budget, in KiB, returned when dropped.
#[derive(Debug)]
pub struct BodyShare(#[allow(dead_code)] OwnedSemaphorePermit);

impl FromRequest<AppState> for JsonBody {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        if !is_json(request.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        let share = match body_share(&request, state) {
            Err(AppError::Overloaded) => {
                discard_body(request, state.limits.max_body_bytes).await;
                return Err(AppError::Overloaded);
            }
            share => share?,
        };
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                _ => AppError::BadRequest(e.body_text()),
            })?;
        Ok(JsonBody(bytes, share))
    }
}

/// Reads and drops the body of a request refused before reading it, a frame
/// at a time (nothing is kept), up to `limit` bytes: a client still sending
/// its body would otherwise have the connection reset under it, and the reset
/// can discard the 503 before the client reads it.
async fn discard_body(request: Request, limit: usize) {
    let mut body = request.into_body();
    let mut read = 0;
    while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        read += frame.data_ref().map_or(0, Bytes::len);
        if read > limit {
            break;
        }
    }
}

/// Takes the body's share of the budget before any of it is read: its
/// announced length, or the most it may be when it is sent in chunks. None
/// left: 503 at once, as when the inference queue is full.
fn body_share(request: &Request, state: &AppState) -> Result<BodyShare, AppError> {
    let limit = state.limits.max_body_bytes;
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let bytes = match announced {
        Some(n) if n > limit => return Err(AppError::PayloadTooLarge),
        Some(n) => n,
        None => limit,
    };
    let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    state
        .body_budget
        .clone()
        .try_acquire_many_owned(kib)
        .map(BodyShare)
        .map_err(|_| AppError::Overloaded)
}

/// A JSON body deserialized into `T`. Unlike `axum::Json` it does not track
/// the path of every key, bookkeeping that is a large part of parsing a
/// 1000-row batch.
#[derive(Debug)]
pub struct ApiJson<T>(pub T, pub BodyShare);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        let JsonBody(bytes, share) = JsonBody::from_request(request, state).await?;
        serde_json::from_slice(&bytes)
            .map(|value| ApiJson(value, share))
            .map_err(|e| AppError::json_invalid(e.to_string()))
    }
}

/// `application/json` or any `application/*+json`, parameters allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(mime) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
}

/// Query parameters, with rejections in the service's error shape.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/vnd.api+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
