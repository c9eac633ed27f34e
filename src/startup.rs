//! Load, check and warm the model, bind, serve, shut down. `build` does every
//! fallible step before anything is served; `port` lets tests bind port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::lifecycle::{Models, spawn_triggers};
use crate::metrics::Metrics;
use crate::model::ModelError;
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
        let models = Arc::new(Models::load(&settings, metrics.clone()).await?);
        let addr = SocketAddr::new(settings.host, settings.port);
        let listener = bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let state = AppState::with_models(&settings, models, metrics);
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
        let serving = self.state.models.current();
        tracing::info!(
            port = self.port(),
            model = %self.state.models.name(),
            model_version = %serving.info.version,
            sha256 = %serving.info.sha256,
            source = serving.origin.as_ref().map_or("", |o| o.resolved.as_str()),
            poll_secs = self.state.models.poll_interval().map_or(0, |d| d.as_secs()),
            http_threads = self.settings.http_thread_count(),
            inference_workers = self.settings.worker_count(),
            "ready"
        );
        spawn_triggers(self.state.models.clone(), draining.clone());
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
