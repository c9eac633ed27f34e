//! An event loop on a thread of its own: a single-threaded tokio runtime that
//! serves the connections the accept loop hands it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::{Connections, OpenGuard};

pub(super) struct Shard {
    open: Arc<AtomicUsize>,
    inbox: mpsc::UnboundedSender<(std::net::TcpStream, OpenGuard)>,
    done: oneshot::Receiver<()>,
}

impl Shard {
    /// Starts thread `http-{index}` serving `connections`.
    pub(super) fn start(index: usize, connections: Connections) -> std::io::Result<Self> {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        let runtime = crate::model::defer_wakeups(&mut builder).enable_all().build()?;
        let open = connections.open.clone();
        // Unbounded: it holds only connections already accepted, at most the
        // listen backlog's worth, and the loop takes them as fast as they come.
        let (inbox, mut arrivals) = mpsc::unbounded_channel::<(std::net::TcpStream, OpenGuard)>();
        let (finished, done) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("http-{index}"))
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some((stream, open)) = arrivals.recv().await {
                        // Registers the socket with this thread's reactor.
                        match TcpStream::from_std(stream) {
                            Ok(stream) => connections.serve(stream, open),
                            Err(error) => tracing::warn!(%error, "cannot serve a connection, closed it"),
                        }
                    }
                    connections.shutdown().await;
                });
                let _ = finished.send(());
            })?;
        Ok(Shard { open, inbox, done })
    }

    pub(super) fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Moves `stream` to this loop. The loop runs until [`Shard::finish`], so
    /// this fails only if its thread died, which nothing in it can cause.
    pub(super) fn send(&self, stream: TcpStream) {
        // Counted now, so the next connection sees it, not once the loop runs.
        let open = OpenGuard::new(&self.open);
        // Leaves the accepting thread's reactor, to join the loop's.
        let sent = stream.into_std().map_err(|e| e.to_string()).and_then(|stream| {
            self.inbox
                .send((stream, open))
                .map_err(|_| "its thread has stopped".to_owned())
        });
        if let Err(error) = sent {
            tracing::error!(%error, "cannot hand a connection to an HTTP thread, closed it");
        }
    }

    /// Stops taking connections; resolves once every connection of this loop
    /// has finished its current request and closed.
    pub(super) fn finish(self) -> impl Future<Output = ()> {
        let Shard { inbox, done, .. } = self;
        drop(inbox);
        async move {
            // An error means the thread ended some other way: nothing to wait for.
            let _ = done.await;
        }
    }
}
