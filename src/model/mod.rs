//! The model boundary: customers in, churn probabilities out. HTTP code sees
//! only [`Predictor`]; ONNX Runtime stays behind it.

mod engine;
mod metadata;
mod onnx;
pub mod ort_library;
mod pool;

use std::future::Future;
use std::pin::Pin;

pub use engine::{Candidate, EngineConfig, GOLDEN_TOLERANCE, load_engine};
pub use metadata::{GoldenRow, ModelInfo, sha256_hex};
pub use onnx::OnnxModel;
pub use pool::{InferencePool, PoolConfig, Scorer};

use crate::domain::Customer;

pub type PredictFuture = Pin<Box<dyn Future<Output = Result<Vec<f64>, PredictError>> + Send>>;

/// Anything that turns customers into churn probabilities, in order.
pub trait Predictor: Send + Sync + 'static {
    fn predict(&self, rows: Vec<Customer>) -> PredictFuture;

    /// Like `predict`, but rows come in groups of `group` that must be scored
    /// in the same model call (a customer and its occluded copies).
    fn predict_grouped(&self, rows: Vec<Customer>, group: usize) -> PredictFuture {
        let _ = group;
        self.predict(rows)
    }
}

/// One model input as the ONNX graph declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub name: String,
    pub feature: crate::domain::Feature,
    pub dtype: ElementType,
}

/// The element type of a model input; the tensors fed to it are built in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    String,
    Float32,
    Float64,
    Int64,
}

impl ElementType {
    /// `string`, `float32`, `float64` or `int64`, as the metadata shows it.
    pub fn name(self) -> &'static str {
        match self {
            ElementType::String => "string",
            ElementType::Float32 => "float32",
            ElementType::Float64 => "float64",
            ElementType::Int64 => "int64",
        }
    }
}

/// Why a prediction could not be made; mapped to HTTP statuses in `error`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PredictError {
    #[error("inference queue is full")]
    Overloaded,
    #[error("inference engine is not running")]
    Stopped,
    #[error("inference failed: {0}")]
    Failed(String),
}

/// Why a model could not be loaded; each is one line at startup.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    RuntimeMissing(String),
    #[error("invalid ONNX model: {0}")]
    Invalid(String),
    #[error("model inputs do not match the churn features: {0}")]
    Inputs(String),
    #[error("model outputs not supported: {0}")]
    Outputs(String),
    #[error("invalid model metadata {0}")]
    Metadata(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("model fails its self-check: {0}")]
    SelfCheck(String),
    /// The model could not be fetched from where it is configured to come from.
    #[error("{0}")]
    Source(String),
}
