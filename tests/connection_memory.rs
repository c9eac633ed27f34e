//! What each open connection costs in buffers, the reason `server::serve`
//! exists (see its module docs). The process's allocator counts allocations
//! of 8 KiB or more (hyper's buffers) while requests flow over keep-alive
//! connections; the client is a plain blocking socket with a stack buffer,
//! so every such allocation is the server's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

const BIG: usize = 8192;
static BIG_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

struct CountBig;

unsafe impl GlobalAlloc for CountBig {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= BIG {
            BIG_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= BIG && new_size > layout.size() {
            BIG_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountBig = CountBig;

const CONNECTIONS: usize = 4;
const ROUNDS: usize = 50;

/// Holds the request body across an await, as the prediction handlers do
/// while the inference pool works.
async fn echo(body: Bytes) -> Bytes {
    tokio::task::yield_now().await;
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn open_connections_keep_one_read_and_one_write_buffer_whatever_the_request_count() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new().route("/echo", post(echo));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The default settings: their timers must not add big allocations either.
    let options = churn_serve::server::Options::new(&churn_serve::config::Settings::default(), Default::default());
    let server = tokio::spawn(churn_serve::server::serve(listener, router, options, async {
        let _ = stopped.await;
    }));

    let (first_requests, later_requests) = tokio::task::spawn_blocking(move || {
        let start = BIG_ALLOCATIONS.load(Ordering::Relaxed);
        let mut connections: Vec<TcpStream> = (0..CONNECTIONS).map(|_| TcpStream::connect(addr).unwrap()).collect();
        for connection in &connections {
            connection.set_nodelay(true).unwrap();
        }
        for connection in &mut connections {
            round_trip(connection, addr);
        }
        let warm = BIG_ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..ROUNDS {
            for connection in &mut connections {
                round_trip(connection, addr);
            }
        }
        (warm - start, BIG_ALLOCATIONS.load(Ordering::Relaxed) - warm)
    })
    .await
    .unwrap();
    stop.send(()).unwrap();
    server.await.unwrap();

    // Without half_close, every request allocated a fresh read buffer (200 here).
    assert!(
        later_requests <= CONNECTIONS,
        "{later_requests} allocations of 8 KiB or more for {} requests on open connections",
        CONNECTIONS * ROUNDS
    );
    // One 8 KiB read and one 8 KiB write buffer per connection. Through
    // axum::serve the read buffer was also regrown to 16 KiB (3 per connection).
    assert!(
        first_requests <= 2 * CONNECTIONS,
        "{first_requests} allocations of 8 KiB or more for the first request on {CONNECTIONS} connections"
    );
}

/// One POST on a keep-alive connection, sent with one write as HTTP clients
/// do (a head that arrives in pieces makes hyper grow its read buffer);
/// reads the whole response into a stack buffer (no heap allocation here).
fn round_trip(connection: &mut TcpStream, addr: SocketAddr) {
    let body = br#"{"credit_score":650,"age":40}"#;
    let mut request = [0u8; 512];
    let mut cursor = std::io::Cursor::new(&mut request[..]);
    write!(
        cursor,
        "POST /echo HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    cursor.write_all(body).unwrap();
    let length = cursor.position() as usize;
    connection.write_all(&request[..length]).unwrap();
    let mut buffer = [0u8; 1024];
    let mut filled = 0;
    loop {
        let n = connection.read(&mut buffer[filled..]).unwrap();
        assert!(n > 0, "server closed the connection");
        filled += n;
        let response = &buffer[..filled];
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(
                response.starts_with(b"HTTP/1.1 200"),
                "{}",
                String::from_utf8_lossy(response)
            );
            if filled - (end + 4) >= body.len() {
                assert_eq!(&response[end + 4..], body);
                return;
            }
        }
    }
}
