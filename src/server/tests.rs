use std::io::{BufRead, BufReader, Read, Write};

use axum::routing::get;

use super::*;

async fn slow(axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, u64>>) -> &'static str {
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

fn options(max_connections: usize) -> Options {
    Options {
        header_read_timeout: Some(Duration::from_secs(5)),
        first_request_timeout: Some(Duration::from_secs(5)),
        max_connections,
        draining: CancellationToken::new(),
    }
}

/// Starts a server of `/slow`; the sender stops it.
async fn start(
    options: Options,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/slow", get(slow));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(serve(listener, router, options, async {
        let _ = stopped.await;
    }));
    (addr, stop, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_or_an_idle_connection_does_not_delay_shutdown() {
    let (addr, stop, running) = start(options(16)).await;
    let mut half = std::net::TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /slow HTTP/1.1\r\nHost: te").unwrap();
    let idle = std::net::TcpStream::connect(addr).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("closed at once, not after the 5 s header timeout")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    drop((half, idle));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_draining_every_response_closes_its_connection() {
    let opts = options(16);
    let draining = opts.draining.clone();
    let (addr, stop, running) = start(opts).await;
    let head = |addr| {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(stream, "GET /slow HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
        let mut head = String::new();
        let mut reader = BufReader::new(stream);
        while reader.read_line(&mut head).unwrap() > 0 && !head.ends_with("\r\n\r\n") {}
        head.to_ascii_lowercase()
    };
    let before = tokio::task::spawn_blocking(move || head(addr)).await.unwrap();
    assert!(!before.contains("connection: close"), "{before}");
    draining.cancel();
    let after = tokio::task::spawn_blocking(move || head(addr)).await.unwrap();
    assert!(after.contains("connection: close"), "{after}");
    stop.send(()).unwrap();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_maximum_idle_connections_make_room_and_busy_ones_finish() {
    let (addr, stop, running) = start(options(1)).await;
    // An idle connection holds the only slot: it is closed for the next one.
    let mut idle = std::net::TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let next = std::thread::spawn(move || http_get(addr, "/slow?ms=0"));
    assert_eq!(next.join().unwrap(), (200, "done".to_owned()));
    let mut buf = [0u8; 1];
    assert_eq!(idle.read(&mut buf).unwrap(), 0, "the idle connection was closed");
    // A connection answering a request keeps its slot until it has answered.
    let busy = std::thread::spawn(move || http_get(addr, "/slow?ms=800"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = std::thread::spawn(move || http_get(addr, "/slow?ms=0"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "served while the only slot was answering a request"
    );
    assert_eq!(busy.join().unwrap(), (200, "done".to_owned()));
    assert_eq!(waiting.join().unwrap(), (200, "done".to_owned()));
    stop.send(()).unwrap();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_starts_no_request_is_closed_after_the_first_request_timeout() {
    let mut opts = options(16);
    opts.first_request_timeout = Some(Duration::from_millis(200));
    let (addr, stop, running) = start(opts).await;
    let mut silent = std::net::TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1];
    let read = tokio::task::spawn_blocking(move || silent.read(&mut buf).map(|n| (n, started.elapsed())))
        .await
        .unwrap();
    let (n, after) = read.expect("closed, not timed out");
    assert_eq!(n, 0, "EOF");
    assert!(after < Duration::from_secs(2), "{after:?}");
    stop.send(()).unwrap();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_the_requests_in_flight_then_closes_the_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/slow", get(slow));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = Options {
        header_read_timeout: Some(Duration::from_secs(5)),
        first_request_timeout: Some(Duration::from_secs(5)),
        max_connections: 16,
        draining: CancellationToken::new(),
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
