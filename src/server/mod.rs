//! The HTTP/1.1 server: one accept loop that hands each new connection to the
//! least busy of `threads` single-threaded event loops (the calling runtime
//! is the first, and `main` gives it one worker thread; the others are
//! [`shard`]s with their own threads), hyper's HTTP/1 connection, and
//! hyper-util's graceful shutdown.
//!
//! Why event loops of one thread each, not tokio's multi-threaded runtime
//! with more workers: a connection never moves between threads, so there is
//! no work stealing and no cross-thread wake-up on the request path. On 2
//! cores (wrk on the same cores, single predictions at 64 connections,
//! paired A/B runs) two loops served 10-20 % more requests per second than
//! one thread, and (with per-thread metrics, see `metrics`) no fewer when
//! the host placed the two vCPUs far apart; one runtime with two workers
//! gained less and lost there.
//!
//! Why not `axum::serve`: two hyper settings that it does not expose decide
//! how much memory each open connection holds (measured with heaptrack, 1024
//! connections sending single predictions):
//! - its connection builder first reads 24 bytes to tell HTTP/1 from HTTP/2
//!   (even with HTTP/2 compiled out, as here) and replays them to hyper as a
//!   separate first read; hyper then finds a partial head in its 8 KiB read
//!   buffer and doubles it to 16 KiB, on every connection;
//! - while a request is being answered, hyper reads the socket again to notice
//!   a client that hangs up. The request body still points into the read
//!   buffer, so that read allocates a fresh 8 KiB buffer for every request.
//!   `half_close(true)` skips that read: a client that disconnects mid-request
//!   is noticed when its answer is written, or by the request timeout (the
//!   old service did not notice either), and a client that closes only its
//!   sending side after the request, as `nc -N` does, now gets its answer.
//!
//! Together: peak RSS with 1024 connections fell from 71-72 MiB to 58 MiB.
//!
//! A connection that has not sent a whole request head within
//! `header_read_timeout` is closed (hyper's own timer; `axum::serve` sets no
//! timer, so there a silent or trickling client holds its connection
//! forever). hyper starts that clock whenever it waits for a head, so it is
//! also the idle keep-alive timeout.

mod shard;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

use shard::Shard;

/// How connections are served.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `None` never closes a connection that waits for a request head.
    pub header_read_timeout: Option<Duration>,
    /// Event loops serving connections, the calling thread's runtime included
    /// (0 counts as 1).
    pub threads: usize,
}

/// A bound listener with its event-loop threads started, not yet accepting.
pub struct Server {
    listener: TcpListener,
    local: Connections,
    shards: Vec<Shard>,
}

impl Server {
    /// Starts `options.threads - 1` event-loop threads; loop `i` serves
    /// `router(i)`, its own router (so that per-thread state stays per
    /// thread), and loop 0 is the calling runtime's. Fails only if the system
    /// cannot start a thread. Must be called inside a tokio runtime.
    pub fn new(
        listener: TcpListener,
        mut router: impl FnMut(usize) -> Router,
        options: Options,
    ) -> std::io::Result<Self> {
        let timeout = options.header_read_timeout;
        let local = Connections::new(router(0), timeout);
        let shards = (1..options.threads)
            .map(|index| Shard::start(index, Connections::new(router(index), timeout)))
            .collect::<std::io::Result<_>>()?;
        Ok(Server {
            listener,
            local,
            shards,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop_accepting` resolves, then closes the listener, lets
    /// every open connection finish its current request, and returns once
    /// they are all closed (callers bound that wait with their grace period).
    pub async fn run(mut self, stop_accepting: impl Future<Output = ()>) {
        let mut stop_accepting = std::pin::pin!(stop_accepting);
        loop {
            let stream = tokio::select! {
                (stream, _peer) = Listener::accept(&mut self.listener) => stream,
                () = &mut stop_accepting => break,
            };
            self.dispatch(stream);
        }
        drop(self.listener);
        // Every loop starts its shutdown before this one waits for any.
        let remote: Vec<_> = self.shards.into_iter().map(Shard::finish).collect();
        self.local.shutdown().await;
        for finished in remote {
            finished.await;
        }
    }

    /// Hands `stream` to the event loop with the fewest open connections
    /// (the calling runtime's on a tie), so keep-alive clients spread evenly.
    fn dispatch(&self, stream: TcpStream) {
        let open = std::iter::once(self.local.open()).chain(self.shards.iter().map(|s| s.open()));
        match least_loaded(open) {
            0 => self.local.serve(stream, OpenGuard::new(&self.local.open)),
            n => self.shards[n - 1].send(stream),
        }
    }
}

/// The runtime to call [`Server::new`] and [`Server::run`] on: its one
/// worker thread is the first event loop, and the thread that blocks on it
/// runs the accept loop. With one loop (one core) this is the earlier
/// one-worker server; a current-thread runtime doing both accepting and
/// serving measured ~10 % slower there.
pub fn first_loop_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1).enable_all();
    crate::model::defer_wakeups(&mut builder).build()
}

/// Serves `router` on `listener` with `options` until `stop_accepting`
/// resolves: [`Server::new`] then [`Server::run`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: Options,
    stop_accepting: impl Future<Output = ()>,
) -> std::io::Result<()> {
    Server::new(listener, |_| router.clone(), options)?
        .run(stop_accepting)
        .await;
    Ok(())
}

/// Index of the smallest count, the first one on a tie.
fn least_loaded(counts: impl Iterator<Item = usize>) -> usize {
    counts
        .enumerate()
        .min_by_key(|&(index, open)| (open, index))
        .map_or(0, |(index, _)| index)
}

/// The connections of one event loop: how they are served, how many are
/// open, and their graceful shutdown.
struct Connections {
    router: Router,
    http: http1::Builder,
    open: Arc<AtomicUsize>,
    graceful: GracefulShutdown,
}

impl Connections {
    fn new(router: Router, header_read_timeout: Option<Duration>) -> Self {
        let mut http = http1::Builder::new();
        http.half_close(true)
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        Connections {
            router,
            http,
            open: Arc::new(AtomicUsize::new(0)),
            graceful: GracefulShutdown::new(),
        }
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Serves `stream` on the current thread's runtime; `open` counts it
    /// from the moment it was handed out.
    fn serve(&self, stream: TcpStream, open: OpenGuard) {
        // A clone of a finished Router is one Arc: nothing is rebuilt per connection.
        let service = TowerToHyperService::new(self.router.clone());
        let connection = self
            .graceful
            .watch(self.http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _open = open;
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }

    /// Lets every connection finish its current request, then returns.
    async fn shutdown(self) {
        self.graceful.shutdown().await;
    }
}

/// Counts a connection as open until it is dropped (even if its task panics).
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(open.clone())
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
