use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use axum::routing::get;

use super::*;

/// Answers with the name of the thread that serves the request, after `ms`
/// milliseconds (query `?ms=`).
async fn thread_name(axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, u64>>) -> String {
    if let Some(&ms) = q.get("ms") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    std::thread::current().name().unwrap_or("unnamed").to_owned()
}

async fn start(
    threads: usize,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let router = Router::new().route("/thread", get(thread_name));
    let options = Options {
        header_read_timeout: Some(Duration::from_secs(5)),
        threads,
    };
    let server = Server::new(listener, |_| router.clone(), options).unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    (addr, stop, running)
}

/// One keep-alive GET; returns the status code and the body.
fn get_on(stream: &mut std::net::TcpStream, path: &str) -> (u16, String) {
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

#[test]
fn least_loaded_picks_the_smallest_count_and_the_first_on_a_tie() {
    assert_eq!(least_loaded([3, 1, 2].into_iter()), 1);
    assert_eq!(least_loaded([2, 1, 1].into_iter()), 1);
    assert_eq!(least_loaded([0, 0].into_iter()), 0);
    assert_eq!(least_loaded(std::iter::empty()), 0);
}

#[tokio::test]
async fn connections_are_spread_evenly_over_the_event_loop_threads() {
    let (addr, stop, running) = start(3).await;
    let names = tokio::task::spawn_blocking(move || {
        // Each connection is answered before the next is opened, so each is
        // counted before the next is placed.
        let mut connections = Vec::new();
        let mut names = Vec::new();
        for _ in 0..6 {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            let (status, name) = get_on(&mut stream, "/thread");
            assert_eq!(status, 200);
            names.push(name);
            connections.push(stream);
        }
        // A kept-alive connection stays on its thread.
        for (stream, name) in connections.iter_mut().zip(&names) {
            assert_eq!(&get_on(stream, "/thread").1, name);
        }
        names
    })
    .await
    .unwrap();
    let here = std::thread::current().name().unwrap().to_owned();
    assert_eq!(names, [&here, "http-1", "http-2", &here, "http-1", "http-2"]);
    stop.send(()).unwrap();
    running.await.unwrap();
}

#[tokio::test]
async fn shutdown_waits_for_the_requests_in_flight_on_every_thread() {
    let (addr, stop, running) = start(2).await;
    let requests: Vec<_> = (0..2)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            std::thread::spawn(move || get_on(&mut stream, "/thread?ms=300"))
        })
        .collect();
    // Both requests are being served when the server is told to stop.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
    let mut names: Vec<String> = requests
        .into_iter()
        .map(|r| {
            let (status, name) = r.join().unwrap();
            assert_eq!(status, 200);
            name
        })
        .collect();
    names.sort();
    let here = std::thread::current().name().unwrap().to_owned();
    let mut expected = vec![here, "http-1".to_owned()];
    expected.sort();
    assert_eq!(names, expected);
    assert!(std::net::TcpStream::connect(addr).is_err(), "the listener is closed");
}
