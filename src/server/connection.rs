//! One connection's task: serves its requests, tracks whether it is
//! answering one, and closes it on shutdown or for room as `server` says.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long a connection closed at shutdown may still flush what it wrote.
const FLUSH: Duration = Duration::from_millis(200);

/// How long a connection must have been doing nothing to be closed for room.
const IDLE_BEFORE_EVICTION_MS: u64 = 1000;

/// What a connection's task knows about the requests on it.
pub(super) struct ConnectionState {
    started: AtomicBool,
    /// Requests whose response body has not been fully written yet.
    in_flight: AtomicUsize,
    /// When a request last started or finished, or the connection opened:
    /// milliseconds since `EPOCH`.
    active_at: AtomicU64,
}

impl ConnectionState {
    pub(super) fn new() -> Self {
        ConnectionState {
            started: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            active_at: AtomicU64::new(now_ms()),
        }
    }

    fn touch(&self) {
        self.active_at.store(now_ms(), Ordering::Release);
    }

    /// Answering nothing, and not for a moment only: a keep-alive client
    /// between two requests is spared, a flood's idle or trickling
    /// connection is not.
    fn may_make_room(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
            && now_ms().saturating_sub(self.active_at.load(Ordering::Acquire)) >= IDLE_BEFORE_EVICTION_MS
    }
}

/// A monotonic millisecond clock for `ConnectionState::active_at`.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

pub(super) async fn respond(
    router: Router,
    request: Request<Incoming>,
    state: Arc<ConnectionState>,
    draining: CancellationToken,
) -> Result<axum::response::Response, Infallible> {
    state.started.store(true, Ordering::Release);
    state.in_flight.fetch_add(1, Ordering::AcqRel);
    state.touch();
    let guard = InFlight(state);
    let Ok(mut response) = router.oneshot(request.map(Body::new)).await;
    if draining.is_cancelled() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response.map(|body| Body::new(Guarded { body, _guard: guard })))
}

pub(super) async fn run_connection<C>(
    connection: http1::Connection<TokioIo<tokio::net::TcpStream>, C>,
    state: Arc<ConnectionState>,
    closing: CancellationToken,
    pressure: Arc<Notify>,
    first_request: Option<Duration>,
) where
    C: hyper::service::HttpService<Incoming, ResBody = Body>,
    C::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = std::pin::pin!(connection);
    let first_request_due = async {
        match first_request {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let mut first_request_due = std::pin::pin!(first_request_due);
    let mut waiting_for_first = true;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::trace!(%error, "connection ended with an error");
                }
                return;
            }
            () = closing.cancelled() => break,
            () = pressure.notified() => {
                if state.may_make_room() {
                    break;
                }
            }
            () = &mut first_request_due, if waiting_for_first => {
                waiting_for_first = false;
                if !state.started.load(Ordering::Acquire) {
                    return; // dropping the connection closes it
                }
            }
        }
    }
    if !state.started.load(Ordering::Acquire) && tokio::time::timeout(FLUSH, connection.as_mut()).await.is_ok() {
        // A new connection's first request may already be on its way: it got
        // FLUSH to arrive, was answered (with `Connection: close`), and the
        // connection has closed.
        return;
    }
    connection.as_mut().graceful_shutdown();
    // A request that arrives within FLUSH is still answered.
    let flushed = tokio::time::timeout(FLUSH, connection.as_mut()).await;
    if flushed.is_err() && state.in_flight.load(Ordering::Acquire) > 0 {
        let _ = connection.await;
    }
}

/// Counts a request as in flight until its response body is dropped, which
/// hyper does once it has written it.
struct InFlight(Arc<ConnectionState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Guarded {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
