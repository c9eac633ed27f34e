//! The one load path every model source ends in: identify the bytes, open one
//! ONNX session per worker, check its inputs and outputs against the churn
//! contract, warm each session, and check it against the golden rows its
//! metadata carries. Only a model that passed all of it starts a pool.

use std::path::PathBuf;
use std::sync::Arc;

use super::{InferencePool, ModelError, ModelInfo, OnnxModel, PoolConfig, ort_library};
use crate::domain::{Coercion, Customer, example_customer, parse_customer};
use crate::metrics::Metrics;

/// Largest difference from the exported pipeline's own probability a golden
/// row may show (float32 models round; tree ensembles sum in another order).
pub const GOLDEN_TOLERANCE: f64 = 1e-5;

/// How the engine is built, whatever the model.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub workers: usize,
    pub intra_op_threads: usize,
    pub ort_dylib_path: PathBuf,
    pub pool: PoolConfig,
}

/// A model as fetched: its bytes and, when it has one, its metadata file.
pub struct Candidate<'a> {
    pub model: &'a [u8],
    /// sha256 of `model`.
    pub sha256: &'a str,
    /// `(where it came from, bytes)`.
    pub metadata: Option<(&'a str, &'a [u8])>,
    /// The name to serve under when there is no metadata.
    pub fallback_name: &'a str,
}

/// Loads, checks and warms `candidate`; the pool it returns is ready to
/// serve. Blocking (sessions are built and run here).
pub fn load_engine(
    candidate: Candidate<'_>,
    config: &EngineConfig,
    metrics: Arc<Metrics>,
) -> Result<(InferencePool, ModelInfo), ModelError> {
    let mut info = ModelInfo::from_metadata(candidate.metadata, candidate.fallback_name, candidate.sha256.to_owned())?;
    let env = ort_library::environment(&config.ort_dylib_path)?;
    let sample = warm_up_customer();
    let mut models = Vec::new();
    for _ in 0..config.workers.max(1) {
        let mut model = OnnxModel::load(env, candidate.model, config.intra_op_threads)?;
        let p = model.predict(&[&sample])?;
        if !p.iter().all(|p| (0.0..=1.0).contains(p)) {
            return Err(ModelError::Outputs(format!(
                "warm-up prediction {p:?} is not a probability"
            )));
        }
        self_check(&mut model, &info)?;
        info.inputs = model.inputs();
        models.push(model);
    }
    Ok((InferencePool::start(models, config.pool.clone(), metrics), info))
}

/// Every session must reproduce the golden rows: a model exported from a
/// different pipeline than its metadata describes, or broken on the way,
/// is caught here rather than by a customer.
fn self_check(model: &mut OnnxModel, info: &ModelInfo) -> Result<(), ModelError> {
    if info.golden.is_empty() {
        return Ok(());
    }
    let rows: Vec<&Customer> = info.golden.iter().map(|g| &g.customer).collect();
    let got = model.predict(&rows)?;
    for (i, (row, p)) in info.golden.iter().zip(got).enumerate() {
        if (p - row.probability).abs() > GOLDEN_TOLERANCE {
            return Err(ModelError::SelfCheck(format!(
                "golden row {i}: the model gives {p:.6}, its metadata says {:.6}",
                row.probability
            )));
        }
    }
    Ok(())
}

fn warm_up_customer() -> Customer {
    parse_customer(&example_customer(), &[], Coercion::Strict).expect("the example customer is valid")
}
