//! Logging: JSON lines for containers, readable text for terminals, and the
//! line per request (`routes::observe` hands it to `access_log`).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Method, StatusCode};
use crossbeam_channel::{Receiver, Sender};
use serde::{Serialize, Serializer};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Writes out what is still queued or buffered when dropped (end of `main`).
pub struct LogGuard {
    buffer: Arc<LogBuffer>,
    records: Receiver<AccessRecord>,
    format: LogFormat,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        write_out(&self.buffer, &self.records, self.format);
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
fn write_out(buffer: &LogBuffer, records: &Receiver<AccessRecord>, format: LogFormat) {
    for record in records.try_iter() {
        match format {
            // A failed write to stderr has nowhere to be reported.
            LogFormat::Json => drop(write_json_line(&mut *buffer.locked(), &record)),
            LogFormat::Text => write_text_line(&record),
        }
    }
    let _ = (&*buffer).flush();
}

/// One thread does both jobs every `LOG_TICK` (polling: waking it per
/// record or per line would cost the request threads about what formatting
/// did). Request records are only accepted once it runs, so they cannot pile
/// up with nobody to format them.
fn start_log_thread(
    buffer: &Arc<LogBuffer>,
    format: LogFormat,
    records: Sender<AccessRecord>,
    queue: Receiver<AccessRecord>,
) {
    let buffer = Arc::downgrade(buffer);
    let run = move || {
        while let Some(buffer) = buffer.upgrade() {
            write_out(&buffer, &queue, format);
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
    start_log_thread(&buffer, format, records, queue.clone());
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
    LogGuard {
        buffer,
        records: queue,
        format,
    }
}

/// What the line per request says, captured without formatting.
pub struct AccessRecord {
    pub method: Method,
    pub route: Option<MatchedPath>,
    pub request_id: Option<HeaderValue>,
    pub status: StatusCode,
    /// Seconds.
    pub latency: f64,
    /// When the response was ready: the line's timestamp, although the line
    /// is written up to `LOG_TICK` later.
    pub at: SystemTime,
}

/// The route template for metric labels and request lines; `unmatched` for
/// 404s, so that random paths cannot explode label cardinality.
pub fn route_label(route: Option<&MatchedPath>) -> &str {
    route.map_or("unmatched", |p| p.as_str())
}

impl AccessRecord {
    fn route(&self) -> &str {
        route_label(self.route.as_ref())
    }

    fn request_id(&self) -> &str {
        self.request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Milliseconds, rounded to the microsecond (no `0.011909999999999999`).
    fn latency_ms(&self) -> f64 {
        (self.latency * 1e6).round() / 1e3
    }
}

/// Records waiting for the log thread; a full queue makes requests wait
/// rather than lose lines.
const ACCESS_QUEUE: usize = 16 * 1024;

/// The target of request lines: `LOG_LEVEL=info,churn_serve::access=warn`
/// turns them off and keeps the rest.
pub const ACCESS_TARGET: &str = "churn_serve::access";

const ACCESS_MESSAGE: &str = "request served";

/// Where request records go; set by `init` once the log thread runs.
static ACCESS: OnceLock<Sender<AccessRecord>> = OnceLock::new();

/// Queues the request's line. Formatting it (timestamp, fields, escaping) is
/// a sizeable part of a request's cost, so the log thread does it instead of
/// the request thread (docs/performance.md, "Logging").
pub fn access_log(record: AccessRecord) {
    if let Some(records) = ACCESS.get() {
        let _ = records.send(record);
    }
}

/// The JSON request line in the layout of the other JSON lines (tracing's
/// `json().flatten_event(true)`), serialized directly: cheaper per line than
/// tracing's JSON formatter, which matters at one line per request.
#[derive(Serialize)]
struct JsonAccessLine<'a> {
    #[serde(serialize_with = "rfc3339_micros")]
    timestamp: SystemTime,
    level: &'static str,
    message: &'static str,
    method: &'a str,
    route: &'a str,
    request_id: &'a str,
    status: u16,
    latency_ms: f64,
    target: &'static str,
}

fn rfc3339_micros<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_micros(*at))
}

fn write_json_line(out: &mut impl Write, r: &AccessRecord) -> io::Result<()> {
    let line = JsonAccessLine {
        timestamp: r.at,
        level: "INFO",
        message: ACCESS_MESSAGE,
        method: r.method.as_str(),
        route: r.route(),
        request_id: r.request_id(),
        status: r.status.as_u16(),
        latency_ms: r.latency_ms(),
        target: ACCESS_TARGET,
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// Text lines are for a person at a terminal: tracing formats them, with its
/// colours and layout.
fn write_text_line(r: &AccessRecord) {
    tracing::info!(
        target: ACCESS_TARGET,
        method = %r.method,
        route = r.route(),
        request_id = r.request_id(),
        status = r.status.as_u16(),
        latency_ms = r.latency_ms(),
        "{ACCESS_MESSAGE}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MatchedPath` has no public constructor, so these records are for
    /// unmatched paths; the binary tests cover a routed request's line.
    fn unmatched(request_id: &str, latency: f64) -> AccessRecord {
        AccessRecord {
            method: Method::POST,
            route: None,
            request_id: Some(HeaderValue::from_str(request_id).unwrap()),
            status: StatusCode::NOT_FOUND,
            latency,
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_234_567),
        }
    }

    fn json_line(record: &AccessRecord) -> String {
        let mut out = Vec::new();
        write_json_line(&mut out, record).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_json_request_line_has_the_layout_of_tracing_json_lines() {
        let line = json_line(&unmatched("req-1", 0.000_031_7));
        assert_eq!(
            line,
            concat!(
                r#"{"timestamp":"1970-01-01T00:00:01.234567Z","level":"INFO","message":"request served","#,
                r#""method":"POST","route":"unmatched","request_id":"req-1","status":404,"latency_ms":0.032,"#,
                r#""target":"churn_serve::access"}"#,
                "\n"
            )
        );
    }

    #[test]
    fn a_client_request_id_with_quotes_and_backslashes_stays_valid_json() {
        let id = r#"a"b\c"#;
        let line = json_line(&unmatched(id, 0.001));
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["request_id"], id);
        assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
    }

    #[test]
    fn latency_is_rounded_to_the_microsecond() {
        assert_eq!(unmatched("r", 0.000_011_909_999_999_999).latency_ms(), 0.012);
        assert_eq!(unmatched("r", 1.5).latency_ms(), 1500.0);
        assert_eq!(unmatched("r", 0.0).latency_ms(), 0.0);
    }
}
