//! The HTTP/1.1 server: one accept loop on the multi-threaded tokio runtime,
//! hyper's HTTP/1 connection per accepted socket, and a shutdown that loses
//! no request.
//!
//! Why not `axum::serve`: two hyper settings that it does not expose decide
//! how much memory each open connection holds (tests/connection_memory.rs):
//! - its connection builder first reads 24 bytes to tell HTTP/1 from HTTP/2
//!   (even with HTTP/2 compiled out, as here) and replays them to hyper as a
//!   separate first read; hyper then finds a partial head in its 8 KiB read
//!   buffer and doubles it to 16 KiB, on every connection;
//! - while a request is being answered, hyper reads the socket again to notice
//!   a client that hangs up. The request body still points into the read
//!   buffer, so that read allocates a fresh 8 KiB buffer for every request.
//!   `half_close(true)` skips that read: a client that disconnects mid-request
//!   is noticed when its answer is written, or by the request timeout, and a
//!   client that closes only its sending side after the request, as `nc -N`
//!   does, still gets its answer.
//!
//! A connection that has not sent a whole request head within
//! `header_read_timeout` is closed (hyper's own timer; `axum::serve` sets no
//! timer, so there a silent or trickling client holds its connection
//! forever). hyper starts that clock whenever it waits for a head, so it is
//! also the idle keep-alive timeout; a new connection gets the shorter
//! `first_request_timeout` for its first request to start.
//!
//! Memory per connection is bounded twice: at most `max_connections` are
//! open, and hyper buffers at most [`MAX_HEAD_BYTES`] of a request head (a
//! longer head gets 431). When all connections are taken, new ones wait in
//! the kernel's backlog while the open ones that have answered nothing for a
//! second (idle keep-alive connections, heads trickling in) are closed, as
//! at shutdown, to make room: a flood of idle or slow connections cannot lock
//! out a client that sends requests, and busy keep-alive clients keep theirs.
//!
//! Shutdown: from the moment `draining` is cancelled every response carries
//! `Connection: close`, so clients open a new connection (to another pod)
//! for their next request instead of reusing this one. When `stop_accepting`
//! resolves the listener closes; connections answering a request finish it
//! and close; every other connection (idle, or sending a head slowly) is
//! closed at once, after a short flush of anything already written.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use connection::{ConnectionState, respond, run_connection};

/// The most of a request head hyper buffers (its minimum is 8 KiB); real
/// clients send a few hundred bytes.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// While all connections are taken, how often the ones not answering a
/// request are asked to close.
const PRESSURE_INTERVAL: Duration = Duration::from_millis(100);

/// How connections are served.
#[derive(Clone, Debug)]
pub struct Options {
    /// `None` never closes a connection that waits for a request head.
    pub header_read_timeout: Option<Duration>,
    /// A new connection that has not started a request by then is closed.
    pub first_request_timeout: Option<Duration>,
    pub max_connections: usize,
    /// Cancelled when shutdown begins: responses from then on close their
    /// connection.
    pub draining: CancellationToken,
}

impl Options {
    /// The configured connection settings; responses close their connection
    /// once `draining` is cancelled.
    pub fn new(settings: &crate::config::Settings, draining: CancellationToken) -> Self {
        Options {
            header_read_timeout: settings.header_read_timeout(),
            first_request_timeout: settings.first_request_timeout(),
            max_connections: settings.max_connections,
            draining,
        }
    }
}

/// Serves `router` on `listener` until `stop_accepting` resolves, then closes
/// the listener and returns once every connection has closed as described
/// above (callers bound that wait with their grace period). Accept errors are
/// retried inside `Listener::accept`, so nothing here fails.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    options: Options,
    stop_accepting: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.half_close(true)
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let closing = CancellationToken::new();
    let pressure = Arc::new(Notify::new());
    let mut stop_accepting = std::pin::pin!(stop_accepting);
    let mut stopping = false;
    loop {
        let slot = if stopping {
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                break;
            };
            slot
        } else if let Ok(slot) = slots.clone().try_acquire_owned() {
            slot
        } else {
            // Full: ask the connections that are not answering a request
            // (idle between requests, or not yet sending one) to close, and
            // ask again while none has.
            let mut ask = tokio::time::interval(PRESSURE_INTERVAL);
            let slot = loop {
                tokio::select! {
                    slot = slots.clone().acquire_owned() => break Some(slot.expect("the semaphore is never closed")),
                    _ = ask.tick() => pressure.notify_waiters(),
                    () = &mut stop_accepting => break None,
                }
            };
            match slot {
                Some(slot) => slot,
                None => {
                    stopping = true;
                    continue;
                }
            }
        };
        let stream = if stopping {
            // Connections the kernel has already completed would be reset
            // when the listener closes: take them first (they are answered
            // with `Connection: close`), then stop.
            match std::future::poll_fn(|cx| Poll::Ready(listener.poll_accept(cx))).await {
                Poll::Ready(Ok((stream, _peer))) => stream,
                Poll::Ready(Err(_)) | Poll::Pending => break,
            }
        } else {
            tokio::select! {
                (stream, _peer) = Listener::accept(&mut listener) => stream,
                () = &mut stop_accepting => {
                    stopping = true;
                    continue;
                }
            }
        };
        let state = Arc::new(ConnectionState::new());
        let service = {
            let (router, state, draining) = (router.clone(), state.clone(), options.draining.clone());
            hyper::service::service_fn(move |request: Request<Incoming>| {
                respond(router.clone(), request, state.clone(), draining.clone())
            })
        };
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let (closing, pressure, first_request) = (closing.clone(), pressure.clone(), options.first_request_timeout);
        tokio::spawn(async move {
            let _slot = slot;
            run_connection(connection, state, closing, pressure, first_request).await;
        });
    }
    drop(listener);
    closing.cancel();
    // Every open connection holds a slot: all slots back means all closed.
    let _all = slots.acquire_many(options.max_connections as u32).await;
}

mod connection;

#[cfg(test)]
mod tests;
