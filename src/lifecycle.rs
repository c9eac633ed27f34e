//! Which model serves, and how it is replaced. Requests take the serving
//! model once ([`Models::current`]) and use it to the end, so a response's
//! `model_version` is always the model that answered. A reload fetches the
//! source, loads and checks the candidate beside the serving model (the
//! engine's one load path), and only a candidate that passed everything is
//! swapped in; requests already queued on the old pool finish there (its
//! workers drain their queue before they stop). A failed candidate is
//! dropped, logged, counted, and shown by `/api/v1/model`.

pub mod download;
pub mod mlflow;
pub mod source;
mod triggers;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::config::Settings;
use crate::drift::{Monitor, Reference};
use crate::metrics::Metrics;
use crate::model::{Candidate, EngineConfig, ModelError, ModelInfo, PoolConfig, Predictor, load_engine};
use download::{Auth, Fetcher};
use source::{Artifact, Fetched, ModelSource, Origin, Seen};
pub use triggers::spawn_triggers;

/// A loaded model: the pool that scores with it and what it is.
pub struct Serving {
    pub predictor: Arc<dyn Predictor>,
    pub info: Arc<ModelInfo>,
    /// `None` for a model handed in directly (tests).
    pub origin: Option<Origin>,
    /// Drift against this model's training data; `None` when off, or when
    /// its metadata has no reference distributions.
    pub drift: Option<Monitor>,
    pub loaded_at: SystemTime,
}

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// SIGHUP.
    Signal,
    /// `POST /admin/model/reload`.
    Api,
    /// Every `model_poll_secs`.
    Poll,
}

impl Trigger {
    const ALL: [Trigger; 3] = [Trigger::Signal, Trigger::Api, Trigger::Poll];

    fn label(self) -> &'static str {
        match self {
            Trigger::Signal => "signal",
            Trigger::Api => "api",
            Trigger::Poll => "poll",
        }
    }
}

/// A reload that did not swap: when, why, and what kept serving.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Failure {
    /// RFC 3339, UTC.
    pub at: String,
    pub trigger: Trigger,
    pub error: String,
}

/// Why a reload did not swap: the source could not be read, or what it held
/// failed a check.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Rejected(String),
}

impl From<ModelError> for ReloadError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Source(reason) => ReloadError::Unavailable(reason),
            other => ReloadError::Rejected(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reloaded {
    /// A new model serves.
    Swapped,
    /// The source still holds the serving model.
    Unchanged,
}

pub struct Models {
    /// The name clients use (`model_name`, else the first model's own name);
    /// it stays when models change.
    name: String,
    current: ArcSwap<Serving>,
    last_failure: Mutex<Option<Failure>>,
    loader: Option<Loader>,
    metrics: Arc<Metrics>,
}

struct Loader {
    source: ModelSource,
    fetcher: Fetcher,
    engine: EngineConfig,
    drift_window: usize,
    poll: Option<Duration>,
    /// Held for the whole of a reload, so reloads never overlap; what the
    /// last look at the source saw (a poll skips what it has seen).
    seen: tokio::sync::Mutex<Seen>,
}

impl Models {
    /// A model that never changes (tests with fake predictors).
    pub fn fixed(predictor: Arc<dyn Predictor>, info: ModelInfo, metrics: Arc<Metrics>) -> Self {
        let name = info.name.clone();
        Self::with(name, serving(predictor, info, None), None, metrics)
    }

    fn with(name: String, first: Serving, loader: Option<Loader>, metrics: Arc<Metrics>) -> Self {
        let models = Models {
            name,
            current: ArcSwap::from_pointee(first),
            last_failure: Mutex::new(None),
            loader,
            metrics,
        };
        models.publish(&models.current());
        for trigger in Trigger::ALL {
            for result in ["success", "unchanged", "failed"] {
                models
                    .metrics
                    .model_reloads
                    .with_label_values(&[trigger.label(), result]);
            }
        }
        models
    }

    /// Fetches, loads and checks the configured model: the startup path.
    pub async fn load(settings: &Settings, metrics: Arc<Metrics>) -> Result<Self, ModelError> {
        let source = ModelSource::from_settings(settings).map_err(ModelError::Source)?;
        let auth = matches!(source, ModelSource::Mlflow(_))
            .then(|| Auth::mlflow(settings))
            .flatten();
        let loader = Loader {
            fetcher: Fetcher::new(auth).map_err(ModelError::Source)?,
            engine: EngineConfig {
                workers: settings.worker_count(),
                intra_op_threads: settings.intra_op_threads,
                ort_dylib_path: settings.ort_dylib_path.clone(),
                pool: PoolConfig {
                    queue_capacity: settings.queue_capacity,
                    max_batch_rows: settings.max_batch_rows,
                    batch_wait: Duration::from_micros(settings.batch_wait_us),
                },
            },
            drift_window: settings.drift_window,
            poll: settings.model_poll_interval(),
            seen: tokio::sync::Mutex::new(Seen::default()),
            source,
        };
        let Fetched { artifact, seen } = loader
            .source
            .fetch(&loader.fetcher, &Seen::default(), None)
            .await
            .map_err(|e| loader.cannot_load(e))?;
        let artifact = artifact
            .ok_or_else(|| loader.cannot_load("the source answered \"not modified\" to a first request".into()))?;
        let name = match settings.model_name.as_str() {
            "" => None,
            configured => Some(configured.to_owned()),
        };
        let first = loader.build(artifact, name.as_deref(), metrics.clone()).await?;
        *loader.seen.lock().await = seen;
        let name = first.info.name.clone();
        Ok(Self::with(name, first, Some(loader), metrics))
    }

    /// The serving model; hold it for the whole request.
    pub fn current(&self) -> Arc<Serving> {
        self.current.load_full()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn last_failure(&self) -> Option<Failure> {
        self.last_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `model_poll_secs`, when polling is on.
    pub fn poll_interval(&self) -> Option<Duration> {
        self.loader.as_ref().and_then(|l| l.poll)
    }

    /// Looks at the source and swaps in a changed model that passes every
    /// check; on failure the serving model stays and the failure is kept.
    pub async fn reload(&self, trigger: Trigger) -> Result<Reloaded, ReloadError> {
        let result = self.try_reload(trigger).await;
        let label = match &result {
            Ok(Reloaded::Swapped) => "success",
            Ok(Reloaded::Unchanged) => "unchanged",
            Err(e) => {
                tracing::error!(trigger = trigger.label(), error = %e, "model reload failed; the serving model stays");
                *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(Failure {
                    at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                    trigger,
                    error: e.to_string(),
                });
                "failed"
            }
        };
        self.metrics
            .model_reloads
            .with_label_values(&[trigger.label(), label])
            .inc();
        result
    }

    async fn try_reload(&self, trigger: Trigger) -> Result<Reloaded, ReloadError> {
        let loader = self
            .loader
            .as_ref()
            .ok_or_else(|| ReloadError::Rejected("this model was not loaded from a source".into()))?;
        let mut seen = loader.seen.lock().await;
        let serving = self.current();
        // A poll skips what it saw last (even a rejected candidate: it is not
        // retried until the source changes again); a forced reload compares
        // with the serving model only.
        let since = match trigger {
            Trigger::Poll => seen.clone(),
            Trigger::Signal | Trigger::Api => Seen {
                registry_version: serving.origin.as_ref().and_then(|o| o.registry_version.clone()),
                ..Seen::default()
            },
        };
        let fetched = loader
            .source
            .fetch(&loader.fetcher, &since, Some(&serving.info.sha256))
            .await
            .map_err(|e| loader.cannot_load(e))?;
        *seen = fetched.seen;
        let Some(artifact) = fetched.artifact else {
            return Ok(Reloaded::Unchanged);
        };
        let candidate = artifact.origin.describe();
        let next = loader
            .build(artifact, Some(&self.name), self.metrics.clone())
            .await
            .map_err(|e| ReloadError::Rejected(format!("candidate {candidate} rejected: {e}")))?;
        tracing::info!(
            trigger = trigger.label(),
            from_version = %serving.info.version,
            version = %next.info.version,
            sha256 = %next.info.sha256,
            registry_version = next.origin.as_ref().and_then(|o| o.registry_version.as_deref()).unwrap_or(""),
            "model swapped"
        );
        let next = Arc::new(next);
        self.current.store(next.clone());
        self.publish(&next);
        Ok(Reloaded::Swapped)
    }

    /// `churn_model_info` (and the drift reference) name the serving model,
    /// and only it.
    fn publish(&self, serving: &Serving) {
        if let Some(drift) = &serving.drift {
            drift.publish(&self.metrics);
        } else {
            self.metrics.drift_reference.reset();
        }
        let info = &serving.info;
        self.metrics.model_info.reset();
        self.metrics
            .model_info
            .with_label_values(&[self.name.as_str(), &info.version, &info.sha256])
            .set(1);
    }
}

impl Loader {
    /// A file's errors name the file already; a download's name the URL,
    /// not the registry URI it came from.
    fn cannot_load(&self, reason: String) -> ModelError {
        match self.source {
            ModelSource::File { .. } => ModelError::Source(reason),
            _ => ModelError::Source(format!(
                "cannot load the model from {}: {reason}",
                self.source.describe()
            )),
        }
    }

    /// The engine's load path, off the async threads (sessions are built and
    /// warmed there); `name` overrides the metadata's name.
    async fn build(
        &self,
        artifact: Artifact,
        name: Option<&str>,
        metrics: Arc<Metrics>,
    ) -> Result<Serving, ModelError> {
        let engine = self.engine.clone();
        let fallback = self.source.fallback_name();
        let Artifact {
            model,
            sha256,
            metadata,
            origin,
        } = artifact;
        let label = origin.metadata.clone().unwrap_or_default();
        let window = self.drift_window;
        let drift_metrics = metrics.clone();
        let (pool, mut info) = tokio::task::spawn_blocking(move || {
            let candidate = Candidate {
                model: &model,
                sha256: &sha256,
                metadata: metadata.as_deref().map(|m| (label.as_str(), m)),
                fallback_name: &fallback,
            };
            load_engine(candidate, &engine, metrics)
        })
        .await
        .map_err(|e| ModelError::Inference(format!("model loading stopped: {e}")))??;
        if let Some(name) = name {
            info.name = name.to_owned();
        }
        let reference = match info.metadata.as_ref().and_then(|m| m.get("drift")) {
            Some(block) if window > 0 => Some(Reference::parse(block).map_err(ModelError::Metadata)?),
            _ => None,
        };
        let mut serving = serving(Arc::new(pool), info, Some(origin));
        serving.drift = reference.map(|r| Monitor::new(r, window, &drift_metrics));
        Ok(serving)
    }
}

fn serving(predictor: Arc<dyn Predictor>, info: ModelInfo, origin: Option<Origin>) -> Serving {
    Serving {
        predictor,
        info: Arc::new(info),
        origin,
        drift: None,
        loaded_at: SystemTime::now(),
    }
}
