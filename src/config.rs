//! One typed configuration: built-in defaults (mirrored by `configs/default.toml`),
//! then the config file, then environment variables.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::Coercion;

/// Every key of [`Settings`]; env vars outside this list are ignored so that
/// variables injected by the platform (e.g. Kubernetes service links named
/// `CHURN_SERVE_PORT`) cannot break startup.
pub const KEYS: &[&str] = &[
    "host",
    "port",
    "model_path",
    "metadata_path",
    "model_uri",
    "model_sha256",
    "model_name",
    "model_poll_secs",
    "mlflow_tracking_uri",
    "mlflow_tracking_token",
    "mlflow_tracking_username",
    "mlflow_tracking_password",
    "ort_dylib_path",
    "threshold",
    "risk_medium",
    "risk_high",
    "max_body_bytes",
    "request_timeout_ms",
    "header_read_timeout_ms",
    "first_request_timeout_ms",
    "max_connections",
    "max_inflight_body_bytes",
    "max_batch_size",
    "coercion",
    "http_threads",
    "workers",
    "intra_op_threads",
    "queue_capacity",
    "max_batch_rows",
    "batch_wait_us",
    "shutdown_drain_secs",
    "shutdown_grace_secs",
    "log_level",
    "log_format",
    "cors_allowed_origins",
    "api_keys",
    "admin_api_keys",
    "drift_window",
];

/// Keys that may also be set by their plain upper-case name (12-factor habits).
/// A `HOST` that is not an IP address (a shell that exports the machine's
/// name) stops startup with a line naming it, rather than being ignored;
/// `CHURN_HOST` overrides it.
const PLAIN_ENV_KEYS: &[&str] = &[
    "host",
    "port",
    "model_path",
    "model_uri",
    "model_sha256",
    "mlflow_tracking_uri",
    "mlflow_tracking_token",
    "mlflow_tracking_username",
    "mlflow_tracking_password",
    "log_level",
    "log_format",
    "api_keys",
    "ort_dylib_path",
];

/// Keys whose environment values are taken as written. figment reads other
/// values as TOML scalars, so an API key `123456` became a number and a
/// sha256 of digits lost its leading zeros.
const VERBATIM_KEYS: &[&str] = &[
    "model_path",
    "metadata_path",
    "model_uri",
    "model_sha256",
    "model_name",
    "mlflow_tracking_uri",
    "mlflow_tracking_token",
    "mlflow_tracking_username",
    "mlflow_tracking_password",
    "ort_dylib_path",
    "log_level",
    "api_keys",
    "admin_api_keys",
];

pub const ENV_PREFIX: &str = "CHURN_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub host: IpAddr,
    pub port: u16,
    pub model_path: PathBuf,
    /// Empty means "the model path with a .json extension".
    pub metadata_path: PathBuf,
    /// Where the model comes from when set (wins over `model_path`): a path,
    /// `http(s)://…` (with `model_sha256`), or `models:/<name>@<alias>` /
    /// `models:/<name>/<version>` in the MLflow registry (`lifecycle::source`).
    pub model_uri: String,
    /// Hex sha256 the downloaded model must have; required for http(s).
    pub model_sha256: String,
    /// The name clients use (`/v2/models/{name}`, metrics); a DNS-1123 label.
    /// Empty means the name in the first model's metadata.
    pub model_name: String,
    /// Re-resolve the model source this often and swap in a changed model;
    /// 0 = only on SIGHUP or `POST /admin/model/reload`.
    pub model_poll_secs: u64,
    /// MLflow tracking server for `models:/` URIs (`MLFLOW_TRACKING_URI`).
    pub mlflow_tracking_uri: String,
    /// Sent as a bearer token to the tracking server (`MLFLOW_TRACKING_TOKEN`).
    pub mlflow_tracking_token: String,
    /// Basic auth for the tracking server when there is no token
    /// (`MLFLOW_TRACKING_USERNAME`, `MLFLOW_TRACKING_PASSWORD`).
    pub mlflow_tracking_username: String,
    pub mlflow_tracking_password: String,
    /// Empty means "search the usual places" (see `model::ort_library`).
    pub ort_dylib_path: PathBuf,
    pub threshold: f64,
    pub risk_medium: f64,
    pub risk_high: f64,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    /// How long a connection may take to send a request head, and stay idle
    /// between requests; 0 = no limit. See `server`.
    pub header_read_timeout_ms: u64,
    /// How long a new connection may take to start its first request; 0 = no
    /// limit of its own (`header_read_timeout_ms` still applies).
    pub first_request_timeout_ms: u64,
    /// Open connections at most; more wait in the kernel's listen backlog.
    pub max_connections: usize,
    /// Request body bytes held at once (read, or being parsed) across all
    /// requests; a request that would pass it gets 503.
    pub max_inflight_body_bytes: usize,
    pub max_batch_size: usize,
    /// `lax` (FastAPI/pydantic's default: `"619"` is an integer) or `strict`.
    pub coercion: Coercion,
    pub http_threads: usize,
    pub workers: usize,
    pub intra_op_threads: usize,
    pub queue_capacity: usize,
    pub max_batch_rows: usize,
    pub batch_wait_us: u64,
    pub shutdown_drain_secs: u64,
    pub shutdown_grace_secs: u64,
    pub log_level: String,
    pub log_format: LogFormat,
    #[serde(deserialize_with = "comma_list")]
    pub cors_allowed_origins: Vec<String>,
    #[serde(deserialize_with = "comma_list")]
    pub api_keys: Vec<String>,
    /// Keys for `/admin/*` (always required there; no keys = no admin routes).
    #[serde(deserialize_with = "comma_list")]
    pub admin_api_keys: Vec<String>,
    /// Drift scores cover this many recent predictions; 0 = drift off.
    pub drift_window: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8000,
            model_path: PathBuf::from("models/churn_pipeline.onnx"),
            metadata_path: PathBuf::new(),
            model_uri: String::new(),
            model_sha256: String::new(),
            model_name: String::new(),
            model_poll_secs: 0,
            mlflow_tracking_uri: String::new(),
            mlflow_tracking_token: String::new(),
            mlflow_tracking_username: String::new(),
            mlflow_tracking_password: String::new(),
            ort_dylib_path: PathBuf::new(),
            threshold: 0.5,
            risk_medium: 0.3,
            risk_high: 0.7,
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout_ms: 10_000,
            header_read_timeout_ms: 75_000,
            first_request_timeout_ms: 10_000,
            max_connections: 1024,
            max_inflight_body_bytes: 16 * 1024 * 1024,
            max_batch_size: 1000,
            coercion: Coercion::Lax,
            http_threads: 0,
            workers: 0,
            intra_op_threads: 1,
            queue_capacity: 256,
            max_batch_rows: 1024,
            batch_wait_us: 0,
            shutdown_drain_secs: 0,
            shutdown_grace_secs: 25,
            log_level: "info".into(),
            log_format: LogFormat::Text,
            cors_allowed_origins: Vec::new(),
            api_keys: Vec::new(),
            admin_api_keys: Vec::new(),
            drift_window: 1000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Parse(String),
    #[error("invalid configuration: key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Settings {
    /// Loads defaults, then `file` (when given it must exist; the default file
    /// may be absent, e.g. when the binary runs outside the repository), then
    /// the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match file {
            Some(p) if !p.exists() => return Err(ConfigError::MissingFile(p.to_path_buf())),
            Some(p) => p.to_path_buf(),
            None => PathBuf::from("configs/default.toml"),
        };
        let parsed = |key: &figment::value::UncasedStr| !VERBATIM_KEYS.iter().any(|v| key == *v);
        let mut figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(path))
            .merge(Env::raw().only(PLAIN_ENV_KEYS).filter(parsed))
            .merge(Env::prefixed(ENV_PREFIX).only(KEYS).filter(parsed));
        // Plain names first, so that the prefixed ones win, as above.
        for (var, key) in VERBATIM_KEYS.iter().flat_map(|&key| {
            let plain = PLAIN_ENV_KEYS.contains(&key).then(|| (key.to_ascii_uppercase(), key));
            plain
                .into_iter()
                .chain([(format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()), key)])
        }) {
            if let Ok(value) = std::env::var(&var) {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        Self::from_figment(figment)
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| ConfigError::Parse(one_line(&e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Worker threads of the tokio runtime that serves HTTP: configured, or
    /// half the cores (at least one). The inference workers are the other
    /// busy threads; they block on their queue while idle, so they cost
    /// nothing until there is work (docs/architecture.md).
    pub fn http_thread_count(&self) -> usize {
        match self.http_threads {
            0 => (cores() / 2).max(1),
            n => n,
        }
    }

    /// The most resident memory the server may reach with these settings
    /// (README, "Memory budget"): the process at rest, plus each open
    /// connection's buffers, plus the request bodies in flight and their
    /// parsed forms. The constants are measured with margin:
    /// `make check-reliability` holds the server to this figure.
    pub fn memory_budget_bytes(&self) -> usize {
        // At rest 40 MiB; up to 57 MiB after model swaps (two models loaded
        // at once during a swap, and what the allocator keeps afterwards).
        const AT_REST: usize = 64 << 20;
        const PER_CONNECTION: usize = 32 << 10;
        AT_REST + self.max_connections * PER_CONNECTION + 2 * self.max_inflight_body_bytes
    }

    /// Number of inference workers: configured, or one per core.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => cores(),
            n => n,
        }
    }

    /// `None` when switched off (0).
    pub fn first_request_timeout(&self) -> Option<std::time::Duration> {
        off_if_zero(self.first_request_timeout_ms)
    }

    /// `None` when switched off (0).
    pub fn header_read_timeout(&self) -> Option<std::time::Duration> {
        off_if_zero(self.header_read_timeout_ms)
    }

    /// How often the model source is polled; `None` when switched off (0).
    pub fn model_poll_interval(&self) -> Option<std::time::Duration> {
        off_if_zero(self.model_poll_secs.saturating_mul(1000))
    }
}

/// A duration in milliseconds where 0 means "off".
fn off_if_zero(ms: u64) -> Option<std::time::Duration> {
    (ms > 0).then(|| std::time::Duration::from_millis(ms))
}

/// figment errors can span lines; startup failures must be one line.
fn one_line(e: &figment::Error) -> String {
    e.clone()
        .into_iter()
        .map(|e| e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Accepts a list or a comma-separated string (`API_KEYS=a,b`).
fn comma_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        One(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::One(s) => s.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// Cores this process may use (honours cgroup CPU quotas in containers).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

mod validate;

#[cfg(test)]
mod tests;
