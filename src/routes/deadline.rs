//! The request timeout, blaming the right side: a request whose body had not
//! all arrived when time ran out is the client's doing (408 Request Timeout,
//! not counted as a server error by the alerts); one that had its whole body
//! and still did not finish is the server's (504 Gateway Timeout).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};

use crate::error::AppError;

pub async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let received = Arc::new(AtomicBool::new(http_body::Body::is_end_stream(request.body())));
    let watched = received.clone();
    let request = request.map(|inner| {
        Body::new(Watched {
            inner,
            received: watched,
        })
    });
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) if received.load(Ordering::Acquire) => AppError::Timeout.into_response(),
        Err(_) => AppError::RequestTimeout.into_response(),
    }
}

/// A request body that records when its last byte has been read.
struct Watched {
    inner: Body,
    received: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.received.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
