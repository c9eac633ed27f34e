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
    let text = server.stderr_text();
    assert!(!text.contains("87654"), "customer data reached the log:\n{text}");
    assert!(!text.contains("Female"), "customer data reached the log:\n{text}");
}

#[test]
fn request_lines_still_queued_at_shutdown_are_written_before_exit() {
    let mut server = Process::start(binary::command());
    let (status, _) = http(server.port(), "POST", "/api/v1/predict", Some(&valid_customer()));
    assert_eq!(status, 200);
    server.signal("TERM");
    assert_eq!(server.wait_exit(TIMEOUT).code(), Some(0));
    let stderr = server.final_stderr().join("\n");
    assert!(stderr.contains("\"request served\""), "{stderr}");
}

#[test]
fn the_access_target_turns_request_lines_off_and_keeps_the_rest() {
    let mut cmd = binary::command();
    cmd.env("LOG_LEVEL", "info,churn_serve::access=warn");
    let mut server = Process::start(cmd);
    let (status, _) = http(server.port(), "POST", "/api/v1/predict", Some(&valid_customer()));
    assert_eq!(status, 200);
    server.signal("TERM");
    assert_eq!(server.wait_exit(TIMEOUT).code(), Some(0));
    let stderr = server.final_stderr().join("\n");
    assert!(stderr.contains("\"stopped\""), "other info lines stay: {stderr}");
    assert!(!stderr.contains("request served"), "{stderr}");
}
