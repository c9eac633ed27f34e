//! The line per request: written while the server runs (log lines are
//! buffered, then written out every 25 ms), with the operator's fields and
//! none of the customer's data.

use std::time::Duration;

use super::binary::{self, Process, http};
use super::helpers::{TIMEOUT, valid_customer, with};

#[test]
fn each_request_is_logged_within_a_second_with_its_fields_and_no_customer_data() {
    let mut server = Process::start(binary::command());
    let customer = with(valid_customer(), "estimated_salary", serde_json::json!(87654.32));
    let (status, _) = http(server.port(), "POST", "/api/v1/predict", Some(&customer));
    assert_eq!(status, 200);

    // The server keeps running: the line must not wait for shutdown to flush.
    let line = server.wait_for_log("request served", Duration::from_secs(1));
    assert_eq!(line["method"], "POST", "{line}");
    assert_eq!(line["route"], "/api/v1/predict", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{line}");
    assert_eq!(
        line["request_id"].as_str().map(str::len),
        Some(36),
        "a generated UUID: {line}"
    );
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["target"], "churn_serve::access", "{line}");
    assert_same_layout_as_tracing_lines(&server.stderr_lines());
    let text = server.stderr_text();
    assert!(!text.contains("87654"), "customer data reached the log:\n{text}");
    assert!(!text.contains("Female"), "customer data reached the log:\n{text}");
}

/// The request line is serialized by the service itself (cheaper than
/// tracing's JSON formatter), so log collectors must not see a difference:
/// the same keys in the same places around the fields and the same
/// timestamp shape as the `ready` line, which tracing wrote.
fn assert_same_layout_as_tracing_lines(stderr: &[String]) {
    let raw = |message: &str| {
        let needle = format!(r#""message":"{message}""#);
        stderr.iter().find(|l| l.contains(&needle)).cloned().expect(message)
    };
    let (ours, theirs) = (raw("request served"), raw("ready"));
    assert_eq!(skeleton(&ours), skeleton(&theirs), "{ours}\nvs\n{theirs}");
}

/// The line with digits zeroed, the message and the fields between message
/// and target cut out: `{"timestamp":"0000-00-00T…Z","level":"INFO","message":…,"target":…}`.
fn skeleton(line: &str) -> String {
    let zeroed: String = line.chars().map(|c| if c.is_ascii_digit() { '0' } else { c }).collect();
    let head = zeroed.find(r#","message":"#).expect("a message key");
    let tail = zeroed
        .rfind(r#","target":"churn_serve::"#)
        .expect("a trailing target key");
    format!(
        "{}…{}",
        &zeroed[..head],
        &zeroed[tail..zeroed.len() - 1].split(':').next().unwrap()
    )
}

/// One prediction, then SIGTERM: everything the server wrote to stderr.
fn stderr_after_one_prediction(mut server: Process) -> String {
    let (status, _) = http(server.port(), "POST", "/api/v1/predict", Some(&valid_customer()));
    assert_eq!(status, 200);
    server.signal("TERM");
    assert_eq!(server.wait_exit(TIMEOUT).code(), Some(0));
    server.final_stderr().join("\n")
}

#[test]
fn text_format_request_lines_carry_the_same_fields() {
    let stderr = stderr_after_one_prediction(Process::start_text(binary::command()));
    let line = stderr
        .lines()
        .find(|l| l.contains("request served") && l.contains("POST"))
        .unwrap_or_else(|| panic!("no request line: {stderr}"));
    for field in [
        "INFO",
        "method=POST",
        r#"route="/api/v1/predict""#,
        "request_id=",
        "status=200",
        "latency_ms=",
    ] {
        assert!(line.contains(field), "{field} missing: {line}");
    }
}

#[test]
fn request_lines_still_queued_at_shutdown_are_written_before_exit() {
    let stderr = stderr_after_one_prediction(Process::start(binary::command()));
    assert!(stderr.contains("\"request served\""), "{stderr}");
}

#[test]
fn the_access_target_turns_request_lines_off_and_keeps_the_rest() {
    let mut cmd = binary::command();
    cmd.env("LOG_LEVEL", "info,churn_serve::access=warn");
    let stderr = stderr_after_one_prediction(Process::start(cmd));
    assert!(stderr.contains("\"stopped\""), "other info lines stay: {stderr}");
    assert!(!stderr.contains("request served"), "{stderr}");
}
