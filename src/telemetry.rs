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

/// Writes out what is still queued or buffered when dropped (end of `main`).
pub struct LogGuard {
    buffer: Arc<LogBuffer>,
    records: Receiver<AccessRecord>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        write_out(&self.buffer, &self.records);
    }
}

/// How often the log thread formats queued request lines and writes the
/// buffer out: the longest a line waits before it reaches stderr.
const LOG_TICK: Duration = Duration::from_millis(25);

/// Log lines collect in one 64 KiB buffer in front of stderr, written out
/// when full and every `LOG_TICK` by the log thread. A request thread pays a
/// lock and a copy, never a `write(2)` or a thread wake-up per line (a writer
/// thread woken per line cost more than formatting the line). A full buffer
/// is written out by the thread that fills it: under a slow log consumer
/// requests slow down rather than lines being dropped.
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

/// Formats the queued request records, then writes the buffer to stderr.
fn write_out(buffer: &LogBuffer, records: &Receiver<AccessRecord>) {
    records.try_iter().for_each(write_access_line);
    let _ = (&*buffer).flush();
}

/// One thread does both jobs every `LOG_TICK` (polling: waking it per
/// record or per line would cost the request threads about what formatting
/// did). Request records are only accepted once it runs, so they cannot pile
/// up with nobody to format them.
fn start_log_thread(buffer: &Arc<LogBuffer>, records: Sender<AccessRecord>, queue: Receiver<AccessRecord>) {
    let buffer = Arc::downgrade(buffer);
    let run = move || {
        while let Some(buffer) = buffer.upgrade() {
            write_out(&buffer, &queue);
            drop(buffer);
            std::thread::sleep(LOG_TICK);
        }
    };
    match std::thread::Builder::new().name("log-writer".into()).spawn(run) {
        Ok(_) => {
            let _ = ACCESS.set(records);
        }
        Err(e) => eprintln!("warning: no log thread ({e}): request lines are not logged"),
    }
}

/// Installs the global subscriber; a second call (e.g. in tests) is a no-op.
pub fn init(level: &str, format: LogFormat) -> LogGuard {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let buffer = Arc::new(LogBuffer(Mutex::new(BufWriter::with_capacity(64 * 1024, io::stderr()))));
    let (records, queue) = crossbeam_channel::bounded(ACCESS_QUEUE);
    start_log_thread(&buffer, records, queue.clone());
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
    LogGuard { buffer, records: queue }
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

/// Records waiting for the log thread; a full queue makes requests wait
/// rather than lose lines.
const ACCESS_QUEUE: usize = 16 * 1024;

/// The target of request lines: `LOG_LEVEL=info,churn_serve::access=warn`
/// turns them off and keeps the rest.
pub const ACCESS_TARGET: &str = "churn_serve::access";

/// Where request records go; set by `init` once the log thread runs.
static ACCESS: OnceLock<Sender<AccessRecord>> = OnceLock::new();

/// Queues the request's line. Formatting it (timestamp, fields, escaping)
/// cost the HTTP thread about 3 µs, a fifth of its time per request at
/// 64 connections; the log thread does it on another core instead.
pub fn access_log(record: AccessRecord) {
    if let Some(records) = ACCESS.get() {
        let _ = records.send(record);
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
