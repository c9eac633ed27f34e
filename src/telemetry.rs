//! Logging: JSON lines for containers, readable text for terminals, and the
//! line per request (`routes::observe` hands it to `access_log`).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Method, StatusCode};
use crossbeam_channel::{Receiver, Sender};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Flushes what is still buffered when dropped (at the end of `main`).
pub struct LogGuard(Arc<LogBuffer>);

impl Drop for LogGuard {
    fn drop(&mut self) {
        drain_access_log();
        let _ = (&*self.0).flush();
    }
}

/// How long a log line may wait in the buffer before it reaches stderr.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Log lines collect in one 64 KiB buffer in front of stderr, written out
/// when full and every `FLUSH_EVERY` by a background thread. A request
/// thread pays a lock and a copy, never a `write(2)` or a thread wake-up per
/// line (a writer thread woken per line cost more than formatting the line).
/// A full buffer is written out by the thread that fills it: under a slow
/// log consumer requests slow down rather than lines being dropped.
struct LogBuffer(Mutex<BufWriter<io::Stderr>>);

impl LogBuffer {
    fn locked(&self) -> std::sync::MutexGuard<'_, BufWriter<io::Stderr>> {
        // A panic while holding the lock leaves at worst a torn line.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Write for &LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.locked().write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.locked().write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.locked().flush()
    }
}

fn start_flusher(buffer: &Arc<LogBuffer>) {
    let buffer = Arc::downgrade(buffer);
    let flusher = move || {
        while let Some(buffer) = buffer.upgrade() {
            let _ = (&*buffer).flush();
            drop(buffer);
            std::thread::sleep(FLUSH_EVERY);
        }
    };
    // Without the thread lines still go out, only later (when the buffer fills).
    let _ = std::thread::Builder::new().name("log-flush".into()).spawn(flusher);
}

/// Installs the global subscriber; a second call (e.g. in tests) is a no-op.
pub fn init(level: &str, format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let buffer = Arc::new(LogBuffer(Mutex::new(BufWriter::with_capacity(64 * 1024, io::stderr()))));
    start_flusher(&buffer);
    // Colours only for a person at a terminal, never in files or collectors.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(buffer.clone())
        .with_ansi(io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
    LogGuard(buffer)
}

/// What the line per request says, captured without formatting.
pub struct AccessRecord {
    pub method: Method,
    pub route: Option<MatchedPath>,
    pub request_id: Option<HeaderValue>,
    pub status: StatusCode,
    /// Seconds.
    pub latency: f64,
}

/// Records waiting for the access-log thread; a full queue makes requests
/// wait rather than lose lines.
const ACCESS_QUEUE: usize = 16 * 1024;

/// The target of request lines: `LOG_LEVEL=info,churn_serve::access=warn`
/// turns them off and keeps the rest.
pub const ACCESS_TARGET: &str = "churn_serve::access";

type AccessQueue = (Sender<AccessRecord>, Receiver<AccessRecord>);

static ACCESS: OnceLock<AccessQueue> = OnceLock::new();

fn access_queue() -> &'static AccessQueue {
    ACCESS.get_or_init(|| {
        let (records, queue) = crossbeam_channel::bounded(ACCESS_QUEUE);
        let formatter = queue.clone();
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_access_lines(formatter));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no access-log thread: request lines are written at exit");
        }
        (records, queue)
    })
}

/// Queues the request's line. Formatting it (timestamp, fields, escaping)
/// cost the HTTP thread about 3 µs, a fifth of its time per request at
/// 64 connections; the access-log thread does it on another core instead.
pub fn access_log(record: AccessRecord) {
    let _ = access_queue().0.send(record);
}

/// Formats queued records every `FLUSH_EVERY / 4` (polling: waking this
/// thread per record would cost the sender about what formatting did),
/// through the same subscriber, filter and format as every other line.
fn write_access_lines(queue: Receiver<AccessRecord>) {
    loop {
        queue.try_iter().for_each(write_access_line);
        std::thread::sleep(FLUSH_EVERY / 4);
    }
}

/// Writes what is still queued (at exit, before the last flush).
fn drain_access_log() {
    if let Some((_, queue)) = ACCESS.get() {
        queue.try_iter().for_each(write_access_line);
    }
}

fn write_access_line(r: AccessRecord) {
    tracing::info!(
        target: ACCESS_TARGET,
        method = %r.method,
        route = r.route.as_ref().map_or("unmatched", |p| p.as_str()),
        request_id = r.request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
        status = r.status.as_u16(),
        latency_ms = r.latency * 1000.0,
        "request served"
    );
}
