//! Integration tests of churn-serve's HTTP API, against the real ONNX model
//! and the real ONNX Runtime library (`bash scripts/install_ort.sh`).
//!
//! In-process servers bind 127.0.0.1:0 (see `helpers::spawn_app`); startup,
//! configuration and signal tests run the real binary (see `binary`).

mod batch;
mod binary;
mod drift;
mod engine;
mod errors;
mod golden;
mod health;
mod helpers;
#[cfg(feature = "lambda")]
mod lambda;
mod lifecycle;
mod logging;
mod metrics;
mod predict;
mod robustness;
mod shutdown;
mod startup;
mod surface;
mod validation;
