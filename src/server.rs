//! The HTTP/1.1 server: one accept loop on the multi-threaded tokio runtime,
//! hyper's HTTP/1 connection per accepted socket, hyper-util's graceful
//! shutdown.
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

/// How connections are served.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `None` never closes a connection that waits for a request head.
    pub header_read_timeout: Option<Duration>,
}

/// Serves `router` on `listener` until `stop_accepting` resolves, then closes
/// the listener, lets every open connection finish its current request, and
/// returns once they are all closed (callers bound that wait with their grace
/// period). Accept errors are retried inside `Listener::accept`, so nothing
/// here fails.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    options: Options,
    stop_accepting: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.half_close(true)
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut stop_accepting = std::pin::pin!(stop_accepting);
    loop {
        let stream = tokio::select! {
            (stream, _peer) = Listener::accept(&mut listener) => stream,
            () = &mut stop_accepting => break,
        };
        // A clone of a finished Router is one Arc: nothing is rebuilt per connection.
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};

    use axum::routing::get;

    use super::*;

    async fn slow(
        axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, u64>>,
    ) -> &'static str {
        tokio::time::sleep(Duration::from_millis(q.get("ms").copied().unwrap_or(0))).await;
        "done"
    }

    /// One GET on a new connection; the status code and the body.
    fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
        let mut reader = BufReader::new(stream);
        let (mut status, mut length, mut line) = (0, 0, String::new());
        while reader.read_line(&mut line).unwrap() > 2 {
            let lower = line.to_ascii_lowercase();
            if let Some(code) = lower.strip_prefix("http/1.1 ") {
                status = code[..3].parse().unwrap();
            } else if let Some(n) = lower.strip_prefix("content-length:") {
                length = n.trim().parse().unwrap();
            }
            line.clear();
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        (status, String::from_utf8(body).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_waits_for_the_requests_in_flight_then_closes_the_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().route("/slow", get(slow));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = Options {
            header_read_timeout: Some(Duration::from_secs(5)),
        };
        let running = tokio::spawn(serve(listener, router, options, async {
            let _ = stopped.await;
        }));
        let requests: Vec<_> = (0..2)
            .map(|_| std::thread::spawn(move || http_get(addr, "/slow?ms=300")))
            .collect();
        // Both requests are being served when the server is told to stop.
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), running)
            .await
            .expect("the server stops once both requests are answered")
            .unwrap();
        for request in requests {
            assert_eq!(request.join().unwrap(), (200, "done".to_owned()));
        }
        assert!(std::net::TcpStream::connect(addr).is_err(), "the listener is closed");
    }
}
