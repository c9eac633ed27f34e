//! churn-serve: a bank customer churn prediction service.

pub mod config;
pub mod domain;
pub mod drift;
pub mod error;
pub mod explain;
pub mod healthcheck;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod lifecycle;
pub mod metrics;
pub mod model;
pub mod predictions;
pub mod routes;
pub mod server;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
