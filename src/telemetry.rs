//! Logging: JSON lines for containers, readable text for terminals. The
//! line per request is written by `routes::observe`.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Flushes what is still buffered when dropped (at the end of `main`).
pub struct LogGuard(Arc<LogBuffer>);

impl Drop for LogGuard {
    fn drop(&mut self) {
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
