//! The model's metadata file (`churn_pipeline.json`, written by the export
//! script) and the identity of the loaded model.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{InputSpec, ModelError};
use crate::domain::{Coercion, Feature, FeatureValue, Kind, parse_value};

#[derive(Debug, Clone, Deserialize)]
struct MetadataFile {
    name: String,
    version: String,
    sha256: Option<String>,
    #[serde(default)]
    baseline: HashMap<String, Value>,
}

/// What the service knows about the model it serves.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub name: String,
    /// Shared, not copied, into every prediction of a batch.
    pub version: Arc<str>,
    /// sha256 of the ONNX bytes actually loaded.
    pub sha256: String,
    /// The metadata file as written by the export script, for `/api/v1/model`.
    pub metadata: Option<Value>,
    /// Per-feature training baseline (median / mode), for explanations.
    pub baseline: Option<Vec<FeatureValue>>,
    /// The ONNX graph's inputs, filled in once a session has loaded.
    pub inputs: Vec<InputSpec>,
}

impl ModelInfo {
    /// Reads the metadata file if it exists; a model without one still serves,
    /// named after its file, unless the file is `required` (configured by
    /// name: a typo there must not pass silently). A metadata file that
    /// exists must be valid and must describe these exact bytes.
    pub fn load(metadata_path: &Path, required: bool, model_path: &Path, sha256: String) -> Result<Self, ModelError> {
        if !metadata_path.exists() {
            if required {
                return Err(ModelError::Metadata(format!(
                    "{}: no such file (metadata_path is configured)",
                    metadata_path.display()
                )));
            }
            tracing::warn!(path = %metadata_path.display(), "no model metadata file; version unknown, explanations off");
            let name = model_path
                .file_stem()
                .map_or("model".into(), |s| s.to_string_lossy().into_owned());
            return Ok(ModelInfo {
                name,
                version: "unknown".into(),
                sha256,
                metadata: None,
                baseline: None,
                inputs: Vec::new(),
            });
        }
        let bad = |reason: String| ModelError::Metadata(format!("{}: {reason}", metadata_path.display()));
        let text = std::fs::read_to_string(metadata_path).map_err(|e| bad(e.to_string()))?;
        let raw: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let file: MetadataFile = serde_json::from_value(raw.clone()).map_err(|e| bad(e.to_string()))?;
        if let Some(expected) = file.sha256.as_deref().filter(|s| *s != sha256) {
            return Err(bad(format!(
                "sha256 {expected} does not match the model file ({sha256})"
            )));
        }
        let baseline = parse_baseline(&file.baseline).map_err(bad)?;
        Ok(ModelInfo {
            name: file.name,
            version: file.version.into(),
            sha256,
            metadata: Some(raw),
            baseline,
            inputs: Vec::new(),
        })
    }
}

fn parse_baseline(map: &HashMap<String, Value>) -> Result<Option<Vec<FeatureValue>>, String> {
    if map.is_empty() {
        return Ok(None);
    }
    Feature::ALL
        .iter()
        .map(|f| {
            let value = map
                .get(f.column_name())
                .or_else(|| map.get(f.api_name()))
                .ok_or_else(|| format!("baseline has no value for {}", f.column_name()))?;
            // A median may fall between integers (651.5): numbers are taken as
            // they are, categories must still be valid.
            match (f.kind(), value.as_f64()) {
                (Kind::Category(_), _) | (_, None) => parse_value(f.kind(), value, Coercion::Strict)
                    .map_err(|e| format!("baseline {}: {}", f.column_name(), e.msg)),
                (_, Some(n)) => Ok(FeatureValue::Number(n)),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
