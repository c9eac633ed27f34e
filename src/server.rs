//! The HTTP/1.1 accept loop: axum's `Listener` (which retries failed accepts)
//! and hyper-util's graceful shutdown around hyper's HTTP/1 connection.
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

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Serves `router` until `stop_accepting` resolves, then closes the listener,
/// lets every open connection finish its current request, and returns once
/// they are all closed (callers bound that wait with their grace period).
/// `header_read_timeout` of `None` never closes a waiting connection.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    header_read_timeout: Option<Duration>,
    stop_accepting: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.half_close(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = GracefulShutdown::new();
    let mut stop_accepting = std::pin::pin!(stop_accepting);
    loop {
        let stream = tokio::select! {
            (stream, _peer) = Listener::accept(&mut listener) => stream,
            () = &mut stop_accepting => break,
        };
        // A clone of a finished Router is one Arc: nothing is rebuilt per connection.
        let service = TowerToHyperService::new(router.clone());
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}
