//! What starts a reload besides the admin route: SIGHUP and the poll timer.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Models, Trigger};

/// Reloads on SIGHUP and every `model_poll_secs`, until `stop`. Nothing to
/// do for a model without a source.
pub fn spawn_triggers(models: Arc<Models>, stop: CancellationToken) {
    if models.loader.is_none() {
        return;
    }
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangups) => {
            let (models, stop) = (models.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        got = hangups.recv() => if got.is_none() { return },
                    }
                    tracing::info!("SIGHUP received, reloading the model");
                    let _ = models.reload(Trigger::Signal).await;
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP; reload through the admin route"),
    }
    if let Some(every) = models.poll_interval() {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                let _ = models.reload(Trigger::Poll).await;
            }
        });
    }
}
