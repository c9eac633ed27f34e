//! Driving the real `churn-serve` binary: a clean environment, stderr
//! captured line by line, the port learned from the JSON "ready" log line,
//! and a guard that kills the process whatever happens to the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::helpers::TIMEOUT;

/// The binary with an empty environment (so the developer's CHURN_* or PORT
/// variables cannot leak in), run from the repository root, on an ephemeral
/// loopback port, logging JSON.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_churn-serve"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("CHURN_HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("NO_COLOR", "1")
        .env("CHURN_WORKERS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A running child process; killed (and reaped) on drop.
pub struct Process {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    pub port: Option<u16>,
}

impl Process {
    pub fn spawn(mut cmd: Command) -> Process {
        let mut child = cmd.spawn().expect("the churn-serve binary starts");
        let pipe = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = channel();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let all = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                all.lock().expect("stderr lock").push(line.clone());
                if tx.send(line).is_err() {
                    // Nobody is listening any more; keep collecting.
                }
            }
        });
        Process {
            child,
            lines,
            stderr,
            port: None,
        }
    }

    /// Starts the binary and waits (bounded) for its "ready" log line.
    pub fn start(cmd: Command) -> Process {
        let mut process = Process::spawn(cmd);
        let ready = process.wait_for_log("ready", TIMEOUT);
        let port = ready["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("the ready line names the port: {ready}"));
        process.port = Some(port);
        process
    }

    /// `start` for `LOG_FORMAT=text`: the port comes from the ready line's
    /// `port=` field.
    pub fn start_text(mut cmd: Command) -> Process {
        cmd.env("LOG_FORMAT", "text");
        let mut process = Process::spawn(cmd);
        let ready = process.wait_for_text(" ready ", TIMEOUT);
        let port = ready
            .split_whitespace()
            .find_map(|field| field.strip_prefix("port="))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the ready line names the port: {ready}"));
        process.port = Some(port);
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port.expect("the server is ready")
    }

    /// Waits for a JSON log line whose message is `message`.
    pub fn wait_for_log(&mut self, message: &str, within: Duration) -> Value {
        let line = self.wait_for_line(message, within, |line| {
            serde_json::from_str::<Value>(line).is_ok_and(|v| v["message"] == message)
        });
        serde_json::from_str(&line).expect("checked above")
    }

    /// Waits for a text (`LOG_FORMAT=text`) log line containing `needle`.
    pub fn wait_for_text(&mut self, needle: &str, within: Duration) -> String {
        self.wait_for_line(needle, within, |line| line.contains(needle))
    }

    fn wait_for_line(&mut self, what: &str, within: Duration, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no `{what}` log line within {within:?}; stderr so far:\n{}",
                    self.stderr_text()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait_exit(TIMEOUT);
                    panic!(
                        "the process exited ({status}) before logging `{what}`; stderr:\n{}",
                        self.stderr_text()
                    )
                }
            }
        }
    }

    /// Sends a signal by name (`TERM`, `INT`) with the system's `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("`kill` runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (bounded, polling) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {within:?}; stderr:\n{}",
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stderr line so far (all of them once the process has exited and
    /// the reader reached end of file).
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Stderr after exit, waiting (bounded) for the reader to drain the pipe.
    pub fn final_stderr(&mut self) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        // The reader thread ends when the pipe closes; then the channel disconnects.
        loop {
            match self.lines.recv_timeout(Duration::from_millis(50)) {
                Err(RecvTimeoutError::Disconnected) => break,
                _ if Instant::now() > deadline => break,
                _ => {}
            }
        }
        self.stderr_lines()
    }

    pub fn stderr_text(&self) -> String {
        self.stderr_lines().join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Runs the binary to completion (bounded) and returns its exit status and
/// stderr lines.
pub fn run_to_exit(cmd: Command) -> (ExitStatus, Vec<String>) {
    let mut process = Process::spawn(cmd);
    let status = process.wait_exit(TIMEOUT);
    (status, process.final_stderr())
}

/// A minimal blocking HTTP/1.1 exchange (`Connection: close`), so that
/// subprocess tests need no async runtime: (status, JSON body).
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    super::helpers::parse_http(&raw).unwrap_or_else(|| panic!("not an HTTP answer: {}", String::from_utf8_lossy(&raw)))
}

/// GET returning only the status and the raw body text (for /metrics).
pub fn http_text(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, body.to_owned())
}

/// A request whose head and first half of body are sent; the rest waits for
/// [`BlockingPartial::finish`] (blocking twin of `helpers::PartialRequest`).
pub struct BlockingPartial {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl BlockingPartial {
    pub fn start(port: u16, path: &str, body: &Value) -> BlockingPartial {
        let body = body.to_string().into_bytes();
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let split = body.len() / 2;
        stream.write_all(head.as_bytes()).expect("send head");
        stream.write_all(&body[..split]).expect("send half");
        stream.flush().expect("flush");
        BlockingPartial {
            stream,
            rest: body[split..].to_vec(),
        }
    }

    pub fn finish(mut self) -> (u16, Value) {
        self.stream.write_all(&self.rest).expect("send rest");
        self.stream.flush().expect("flush");
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = self.stream.read(&mut buf).expect("read the answer");
            raw.extend_from_slice(&buf[..n]);
            if n == 0 || super::helpers::parse_http(&raw).is_some() {
                break;
            }
        }
        super::helpers::parse_http(&raw)
            .unwrap_or_else(|| panic!("incomplete answer: {}", String::from_utf8_lossy(&raw)))
    }
}

/// True once nothing accepts connections on the port any more.
pub fn refuses_connections(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_err()
}

/// Polls `check` (blocking) until it holds, failing after `within`.
pub fn poll_until(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("churn-serve-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    pub fn write(&self, name: &str, contents: &str) -> std::path::PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
