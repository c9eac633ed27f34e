//! What every handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::config::Settings;
use crate::domain::{Coercion, DecisionRule};
use crate::lifecycle::Models;
use crate::metrics::Metrics;
use crate::model::{ModelInfo, Predictor};

/// Cloned several times per request (every `State` extractor and
/// `from_fn_with_state` layer), so it is one `Arc`: a clone or drop is one
/// atomic operation instead of one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] points to; its fields are read through `Deref`.
#[derive(Clone)]
pub struct Shared {
    /// The serving model; take it once per request (`Models::current`).
    pub models: Arc<Models>,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub rule: DecisionRule,
    pub limits: Limits,
    /// How native request bodies are read (`coercion`).
    pub coercion: Coercion,
    /// `max_inflight_body_bytes`, in KiB permits (`routes::extract`).
    pub body_budget: Arc<Semaphore>,
    pub security: Arc<Security>,
}

impl AppState {
    /// The state for `settings`, serving `model` through `predictor` for
    /// good (tests with fake predictors).
    pub fn new(settings: &Settings, predictor: Arc<dyn Predictor>, model: ModelInfo, metrics: Arc<Metrics>) -> Self {
        let models = Arc::new(Models::fixed(predictor, model, metrics.clone()));
        Self::with_models(settings, models, metrics)
    }

    /// The state for `settings`, serving whatever `models` serves.
    pub fn with_models(settings: &Settings, models: Arc<Models>, metrics: Arc<Metrics>) -> Self {
        AppState(Arc::new(Shared {
            models,
            metrics,
            health: Arc::new(Health::new()),
            rule: DecisionRule {
                threshold: settings.threshold,
                medium: settings.risk_medium,
                high: settings.risk_high,
            },
            limits: Limits {
                max_body_bytes: settings.max_body_bytes,
                max_batch_size: settings.max_batch_size,
                request_timeout: Duration::from_millis(settings.request_timeout_ms),
            },
            coercion: settings.coercion,
            body_budget: Arc::new(Semaphore::new(settings.max_inflight_body_bytes.div_ceil(1024))),
            security: Arc::new(Security {
                cors_allowed_origins: settings.cors_allowed_origins.clone(),
                api_keys: settings.api_keys.clone(),
                admin_api_keys: settings.admin_api_keys.clone(),
            }),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_batch_size: usize,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Security {
    pub cors_allowed_origins: Vec<String>,
    pub api_keys: Vec<String>,
    /// Always required by `/admin/*`; none means no admin routes.
    pub admin_api_keys: Vec<String>,
}

/// Liveness facts: when the process started and whether it is draining.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    draining: AtomicBool,
}

impl Health {
    pub fn new() -> Self {
        Health {
            started: Instant::now(),
            draining: AtomicBool::new(false),
        }
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}
