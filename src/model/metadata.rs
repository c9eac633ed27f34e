//! The model's metadata file (`churn_pipeline.json`, written by the export
//! script) and the identity of the loaded model.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{InputSpec, ModelError};
use crate::domain::{Coercion, Customer, Feature, FeatureValue, Kind, parse_customer, parse_value};

#[derive(Debug, Clone, Deserialize)]
struct MetadataFile {
    name: String,
    version: String,
    sha256: Option<String>,
    #[serde(default)]
    baseline: HashMap<String, Value>,
    #[serde(default)]
    golden: Vec<GoldenLine>,
}

/// A line of the golden file as the export script writes it.
#[derive(Debug, Clone, Deserialize)]
struct GoldenLine {
    customer: Value,
    churn_probability: f64,
}

/// A customer and the probability the exported pipeline gave it at export
/// time; a loaded model must give the same (`engine::GOLDEN_TOLERANCE`).
#[derive(Debug, Clone)]
pub struct GoldenRow {
    pub customer: Customer,
    pub probability: f64,
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
    /// Rows the model is checked against before it serves.
    pub golden: Vec<GoldenRow>,
}

impl ModelInfo {
    /// The identity of the model whose bytes hash to `sha256`, from its
    /// metadata file (`where_from` names it in errors). A model without one
    /// still serves, named `fallback_name`, version unknown, no explanations.
    /// A metadata file must be valid and must describe these exact bytes.
    pub fn from_metadata(
        metadata: Option<(&str, &[u8])>,
        fallback_name: &str,
        sha256: String,
    ) -> Result<Self, ModelError> {
        let Some((where_from, bytes)) = metadata else {
            tracing::warn!(
                model = fallback_name,
                "no model metadata file; version unknown, explanations off"
            );
            return Ok(ModelInfo {
                name: fallback_name.to_owned(),
                version: "unknown".into(),
                sha256,
                metadata: None,
                baseline: None,
                inputs: Vec::new(),
                golden: Vec::new(),
            });
        };
        let bad = |reason: String| ModelError::Metadata(format!("{where_from}: {reason}"));
        let raw: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let file: MetadataFile = serde_json::from_value(raw.clone()).map_err(|e| bad(e.to_string()))?;
        if let Some(expected) = file.sha256.as_deref().filter(|s| *s != sha256) {
            return Err(bad(format!(
                "sha256 {expected} does not match the model file ({sha256})"
            )));
        }
        let baseline = parse_baseline(&file.baseline).map_err(bad)?;
        let golden = file
            .golden
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let customer = parse_customer(&line.customer, &[], Coercion::Strict)
                    .map_err(|_| bad(format!("golden row {i} is not a valid customer")))?;
                Ok(GoldenRow {
                    customer,
                    probability: line.churn_probability,
                })
            })
            .collect::<Result<_, ModelError>>()?;
        Ok(ModelInfo {
            name: file.name,
            version: file.version.into(),
            sha256,
            metadata: Some(raw),
            baseline,
            inputs: Vec::new(),
            golden,
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
