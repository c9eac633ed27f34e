//! Open Inference Protocol (KServe / Triton "V2") REST endpoints, so that
//! existing inference clients and gateways work. Same validation and limits
//! as the native API; errors are `{"error": "..."}` (see `error`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

mod tensors;

use super::extract::ApiJson;
use super::schema::V2ErrorBody;
use crate::error::AppError;
use crate::predictions::{ElementType, probabilities};
use crate::state::AppState;

pub const OUTPUT_NAME: &str = "probabilities";

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMetadata {
    pub name: &'static str,
    pub version: &'static str,
    pub extensions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TensorMetadata {
    pub name: String,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelMetadata {
    pub name: String,
    pub versions: Vec<String>,
    pub platform: &'static str,
    pub inputs: Vec<TensorMetadata>,
    pub outputs: Vec<TensorMetadata>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    pub live: bool,
}

/// One named input tensor; `data` may be flat or nested (row-major).
#[derive(Debug, Deserialize, ToSchema)]
pub struct InferInput {
    pub name: String,
    pub shape: Vec<i64>,
    /// `BYTES` for categorical features; `FP32`, `FP64`, `INT64` (or other
    /// integer types, `BOOL` for flags) for numeric ones.
    pub datatype: String,
    /// Kept as raw JSON until the declared shape has been checked, so that
    /// the data of an oversized tensor is never expanded (`tensors`).
    #[schema(value_type = Vec<Value>)]
    pub data: Box<RawValue>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestedOutput {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"id": "req-1", "inputs": [
    {"name": "CreditScore", "shape": [1, 1], "datatype": "INT64", "data": [619]},
    {"name": "Geography", "shape": [1, 1], "datatype": "BYTES", "data": ["France"]},
    {"name": "Gender", "shape": [1, 1], "datatype": "BYTES", "data": ["Female"]},
    {"name": "Age", "shape": [1, 1], "datatype": "INT64", "data": [42]},
    {"name": "Tenure", "shape": [1, 1], "datatype": "INT64", "data": [2]},
    {"name": "Balance", "shape": [1, 1], "datatype": "FP64", "data": [0.0]},
    {"name": "NumOfProducts", "shape": [1, 1], "datatype": "INT64", "data": [1]},
    {"name": "HasCrCard", "shape": [1, 1], "datatype": "INT64", "data": [1]},
    {"name": "IsActiveMember", "shape": [1, 1], "datatype": "INT64", "data": [1]},
    {"name": "EstimatedSalary", "shape": [1, 1], "datatype": "FP64", "data": [101348.88]}
]}))]
pub struct InferRequest {
    pub id: Option<String>,
    pub inputs: Vec<InferInput>,
    pub outputs: Option<Vec<RequestedOutput>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InferOutput {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub datatype: &'static str,
    /// Row-major `[p(no churn), p(churn)]` per row.
    pub data: Vec<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InferResponse {
    pub model_name: String,
    pub model_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub outputs: Vec<InferOutput>,
}

#[utoipa::path(get, path = "/v2", tag = "open-inference-protocol",
    responses((status = 200, description = "Server metadata", body = ServerMetadata)))]
pub async fn server_metadata() -> Json<ServerMetadata> {
    Json(ServerMetadata {
        name: "churn-serve",
        version: env!("CARGO_PKG_VERSION"),
        extensions: Vec::new(),
    })
}

#[utoipa::path(get, path = "/v2/health/live", operation_id = "v2_live", tag = "open-inference-protocol",
    responses((status = 200, description = "The server is live", body = Liveness)))]
pub async fn live() -> Json<Liveness> {
    Json(Liveness { live: true })
}

/// The protocol signals "false" with a 4xx status.
fn readiness(state: &AppState) -> (StatusCode, Json<Readiness>) {
    let ready = !state.health.is_draining();
    let status = if ready { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    (status, Json(Readiness { ready }))
}

#[utoipa::path(get, path = "/v2/health/ready", operation_id = "v2_ready", tag = "open-inference-protocol",
    responses((status = 200, description = "Ready for inference", body = Readiness),
              (status = 400, description = "Not ready (shutting down)", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    readiness(&state)
}

#[utoipa::path(get, path = "/v2/models/{name}", tag = "open-inference-protocol",
    params(("name" = String, Path, description = "Model name, e.g. churn_pipeline")),
    responses((status = 200, description = "Model metadata", body = ModelMetadata),
              (status = 401, description = "Missing or invalid API key", body = V2ErrorBody),
              (status = 404, description = "No such model", body = V2ErrorBody)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn model_metadata(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ModelMetadata>, AppError> {
    check_name(&state, &name)?;
    let serving = state.models.current();
    let inputs = serving
        .info
        .inputs
        .iter()
        .map(|i| TensorMetadata {
            name: i.name.clone(),
            datatype: v2_datatype(i.dtype),
            shape: vec![-1, 1],
        })
        .collect();
    Ok(Json(ModelMetadata {
        name: state.models.name().to_owned(),
        versions: vec![serving.info.version.to_string()],
        platform: "onnxruntime_onnx",
        inputs,
        outputs: vec![TensorMetadata {
            name: OUTPUT_NAME.into(),
            datatype: "FP64",
            shape: vec![-1, 2],
        }],
    }))
}

#[utoipa::path(get, path = "/v2/models/{name}/ready", tag = "open-inference-protocol",
    params(("name" = String, Path, description = "Model name")),
    responses((status = 200, description = "Model ready", body = Readiness),
              (status = 400, description = "Not ready (shutting down)", body = Readiness),
              (status = 401, description = "Missing or invalid API key", body = V2ErrorBody),
              (status = 404, description = "No such model", body = V2ErrorBody)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn model_ready(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Readiness>), AppError> {
    check_name(&state, &name)?;
    Ok(readiness(&state))
}

#[utoipa::path(post, path = "/v2/models/{name}/infer", tag = "open-inference-protocol",
    params(("name" = String, Path, description = "Model name")),
    request_body = InferRequest,
    responses((status = 200, description = "Churn probabilities", body = InferResponse),
              (status = 400, description = "Malformed tensors", body = V2ErrorBody),
              (status = 401, description = "Missing or invalid API key", body = V2ErrorBody),
              (status = 404, description = "No such model", body = V2ErrorBody),
              (status = 413, description = "Body over the configured limit", body = V2ErrorBody),
              (status = 415, description = "Content-Type is not application/json", body = V2ErrorBody),
              (status = 422, description = "Invalid feature values", body = V2ErrorBody),
              (status = 503, description = "Overloaded or shutting down", body = V2ErrorBody)),
    security((), ("bearer" = []), ("api_key" = [])))]
pub async fn infer(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(request, _held): ApiJson<InferRequest>,
) -> Result<Json<InferResponse>, AppError> {
    check_name(&state, &name)?;
    if let Some(unknown) = request.outputs.iter().flatten().find(|o| o.name != OUTPUT_NAME) {
        return Err(AppError::BadRequest(format!(
            "unknown output '{}' (this model has '{OUTPUT_NAME}')",
            unknown.name
        )));
    }
    let customers = tensors::customers_from_tensors(&request.inputs, state.limits.max_batch_size)?;
    let rows = customers.len();
    let serving = state.models.current();
    let scored = probabilities(&state, &serving, customers, 1).await?;
    Ok(Json(InferResponse {
        model_name: state.models.name().to_owned(),
        model_version: serving.info.version.to_string(),
        id: request.id,
        outputs: vec![InferOutput {
            name: OUTPUT_NAME,
            shape: vec![rows, 2],
            datatype: "FP64",
            data: scored.iter().flat_map(|p| [1.0 - p, *p]).collect(),
        }],
    }))
}

fn check_name(state: &AppState, name: &str) -> Result<(), AppError> {
    if name == state.models.name() {
        Ok(())
    } else {
        Err(AppError::ModelNotFound(name.to_owned()))
    }
}

fn v2_datatype(dtype: ElementType) -> &'static str {
    match dtype {
        ElementType::String => "BYTES",
        ElementType::Float32 => "FP32",
        ElementType::Float64 => "FP64",
        ElementType::Int64 => "INT64",
    }
}
