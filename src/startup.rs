//! Load, check and warm the model, bind, serve, shut down. `build` does every
//! fallible step before anything is served; `port` lets tests bind port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::domain::{Coercion, Customer, example_customer, parse_customer};
use crate::metrics::Metrics;
use crate::model::{InferencePool, ModelError, ModelInfo, OnnxModel, PoolConfig, ort_library, sha256_hex};
use crate::routes::app;
use crate::server;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let metrics = Arc::new(Metrics::new());
        let (pool, model) = load_engine(&settings, metrics.clone())?;
        let addr = SocketAddr::new(settings.host, settings.port);
        let listener = bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let state = AppState::new(&settings, Arc::new(pool), model, metrics);
        Ok(Application {
            listener,
            state,
            settings,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(self.settings.port)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then: /health turns 503 for
    /// `shutdown_drain_secs` (so load balancers stop routing here), the
    /// listener closes, and in-flight requests get `shutdown_grace_secs`.
    /// Nothing here can fail: accept errors are retried (`server::serve`).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let health = self.state.health.clone();
        let drain = Duration::from_secs(self.settings.shutdown_drain_secs);
        let grace = Duration::from_secs(self.settings.shutdown_grace_secs);
        let closing = CancellationToken::new();
        let draining = CancellationToken::new();
        let stop_accepting = {
            let (closing, draining) = (closing.clone(), draining.clone());
            async move {
                shutdown.await;
                health.start_draining();
                draining.cancel();
                tracing::info!(drain_secs = drain.as_secs(), "draining");
                tokio::time::sleep(drain).await;
                closing.cancel();
            }
        };
        let model = &self.state.model;
        tracing::info!(
            port = self.port(),
            model = %model.name,
            model_version = %model.version,
            sha256 = %model.sha256,
            http_threads = self.settings.http_thread_count(),
            inference_workers = self.settings.worker_count(),
            "ready"
        );
        let options = server::Options::new(&self.settings, draining);
        let router = app(self.state.clone());
        tokio::select! {
            () = server::serve(self.listener, router, options, stop_accepting) => {}
            () = async { closing.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "grace period over with requests still in flight");
            }
        }
        tracing::info!("stopped");
    }
}

/// `TcpListener::bind` with a listen backlog of 1024 instead of mio's 128, so
/// that a burst of new connections is queued rather than dropped (a dropped
/// SYN is retried by the client only a second later).
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Reads the model once, opens one ONNX session per worker, checks the
/// inputs and outputs, and warms every session with a real prediction.
pub fn load_engine(settings: &Settings, metrics: Arc<Metrics>) -> Result<(InferencePool, ModelInfo), ModelError> {
    let path = &settings.model_path;
    let bytes = std::fs::read(path).map_err(|e| ModelError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let required = !settings.metadata_path.as_os_str().is_empty();
    let mut info = ModelInfo::load(&settings.metadata_path(), required, path, sha256_hex(&bytes))?;
    let env = ort_library::environment(&settings.ort_dylib_path)?;
    let sample = warm_up_customer();
    let mut models = Vec::new();
    for _ in 0..settings.worker_count() {
        let mut model = OnnxModel::load(env, &bytes, settings.intra_op_threads)?;
        let p = model.predict(&[&sample])?;
        if !p.iter().all(|p| (0.0..=1.0).contains(p)) {
            return Err(ModelError::Outputs(format!(
                "warm-up prediction {p:?} is not a probability"
            )));
        }
        info.inputs = model.inputs();
        models.push(model);
    }
    metrics
        .model_info
        .with_label_values(&[info.name.as_str(), &info.version, info.sha256.as_str()])
        .set(1);
    let config = PoolConfig {
        queue_capacity: settings.queue_capacity,
        max_batch_rows: settings.max_batch_rows,
        batch_wait: Duration::from_micros(settings.batch_wait_us),
    };
    Ok((InferencePool::start(models, config, metrics), info))
}

fn warm_up_customer() -> Customer {
    parse_customer(&example_customer(), &[], Coercion::Strict).expect("the example customer is valid")
}
