//! `GET /api/v1/model`: what is being served, and its input contract.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::domain::{Feature, Kind};
use crate::lifecycle::source::Origin;
use crate::lifecycle::{Failure, Serving};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelResponse {
    #[schema(example = "churn_pipeline")]
    pub name: String,
    #[schema(example = "1.0.0")]
    pub version: String,
    /// sha256 of the ONNX file being served.
    pub sha256: String,
    /// Training date from the metadata file.
    pub created_at: Option<String>,
    pub description: Option<String>,
    pub inputs: Vec<FeatureSpec>,
    #[schema(value_type = Value)]
    pub class_labels: Value,
    /// Decision threshold in force (from the service configuration).
    pub threshold: f64,
    pub risk_bands: RiskBands,
    /// Test-split metrics recorded at training time.
    #[schema(value_type = Value)]
    pub metrics: Value,
    #[schema(value_type = Value)]
    pub library_versions: Value,
    /// Where the serving model came from (absent for a model handed in by a test).
    pub source: Option<Origin>,
    /// When the serving model started serving (RFC 3339, UTC).
    pub loaded_at: String,
    /// `model_poll_secs` when the source is polled for new models.
    pub poll_secs: Option<u64>,
    /// The last reload that failed (the serving model stayed), if any.
    pub last_reload_failure: Option<Failure>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureSpec {
    /// Field name in the API.
    pub name: &'static str,
    /// Column name in the training data (accepted as an alias).
    pub alias: &'static str,
    /// `integer`, `number`, `flag` or `category`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Element type of the ONNX input.
    pub model_dtype: Option<&'static str>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub categories: Option<Vec<&'static str>>,
    /// Training median or mode, used by explanations.
    #[schema(value_type = Value)]
    pub baseline: Value,
}

/// LOW below `medium`, HIGH from `high`, MEDIUM in between.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskBands {
    pub medium: f64,
    pub high: f64,
}

#[utoipa::path(
    get, path = "/api/v1/model", tag = "model",
    responses(
        (status = 200, description = "Model identity, input contract and training metrics", body = ModelResponse),
        (status = 401, description = "Missing or invalid API key (when keys are configured)", body = super::schema::ErrorBody),
    ),
    security((), ("bearer" = []), ("api_key" = []))
)]
pub async fn model(State(state): State<AppState>) -> Json<ModelResponse> {
    let serving = state.models.current();
    let info = &serving.info;
    let meta = info.metadata.clone().unwrap_or(Value::Null);
    let text = |key: &str| meta.get(key).and_then(Value::as_str).map(str::to_owned);
    Json(ModelResponse {
        name: state.models.name().to_owned(),
        version: info.version.to_string(),
        sha256: info.sha256.clone(),
        created_at: text("trained_at"),
        description: text("description"),
        inputs: Feature::ALL.iter().map(|&f| feature_spec(&serving, f)).collect(),
        class_labels: meta.get("class_labels").cloned().unwrap_or(json!([0, 1])),
        threshold: state.rule.threshold,
        risk_bands: RiskBands {
            medium: state.rule.medium,
            high: state.rule.high,
        },
        metrics: meta.get("metrics").cloned().unwrap_or(Value::Null),
        library_versions: meta.get("library_versions").cloned().unwrap_or(Value::Null),
        source: serving.origin.clone(),
        loaded_at: humantime::format_rfc3339_seconds(serving.loaded_at).to_string(),
        poll_secs: state.models.poll_interval().map(|d| d.as_secs()),
        last_reload_failure: state.models.last_failure(),
    })
}

fn feature_spec(serving: &Serving, feature: Feature) -> FeatureSpec {
    let (kind, minimum, maximum, categories) = match feature.kind() {
        Kind::Integer { min, max } => ("integer", Some(min as f64), Some(max as f64), None),
        Kind::Number { min } => ("number", Some(min), None, None),
        Kind::Flag => ("flag", Some(0.0), Some(1.0), None),
        Kind::Category(values) => ("category", None, None, Some(values.to_vec())),
    };
    let baseline = serving
        .info
        .baseline
        .as_ref()
        .map_or(Value::Null, |b| b[feature as usize].to_json());
    FeatureSpec {
        name: feature.api_name(),
        alias: feature.column_name(),
        kind,
        model_dtype: serving
            .info
            .inputs
            .iter()
            .find(|i| i.feature == feature)
            .map(|i| i.dtype.name()),
        minimum,
        maximum,
        categories,
        baseline,
    }
}
