//! The checks a loaded configuration must pass; each failure names its key.

use super::{ConfigError, Settings};

impl Settings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let unit = |key, v: f64| check(key, (0.0..=1.0).contains(&v), || format!("{v} is not in [0, 1]"));
        unit("threshold", self.threshold)?;
        unit("risk_medium", self.risk_medium)?;
        unit("risk_high", self.risk_high)?;
        check("risk_high", self.risk_medium < self.risk_high, || {
            format!(
                "must be greater than risk_medium ({} >= {})",
                self.risk_medium, self.risk_high
            )
        })?;
        let positive = |key, v: u64| check(key, v > 0, || "must be greater than 0".into());
        positive("max_body_bytes", self.max_body_bytes as u64)?;
        positive("request_timeout_ms", self.request_timeout_ms)?;
        positive("max_batch_size", self.max_batch_size as u64)?;
        positive("max_connections", self.max_connections as u64)?;
        check(
            "max_inflight_body_bytes",
            self.max_inflight_body_bytes >= self.max_body_bytes,
            || {
                format!(
                    "must be at least max_body_bytes ({} < {})",
                    self.max_inflight_body_bytes, self.max_body_bytes
                )
            },
        )?;
        positive("intra_op_threads", self.intra_op_threads as u64)?;
        positive("queue_capacity", self.queue_capacity as u64)?;
        positive("max_batch_rows", self.max_batch_rows as u64)?;
        check("model_path", !self.model_path.as_os_str().is_empty(), || {
            "must not be empty".into()
        })?;
        self.validate_model_source()?;
        if let Some(bad) = self.cors_allowed_origins.iter().find(|o| !is_origin(o)) {
            return Err(ConfigError::Invalid {
                key: "cors_allowed_origins",
                reason: format!("{bad:?} is not an origin like https://app.example.com (or \"*\")"),
            });
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map(|_| ())
            .map_err(|e| ConfigError::Invalid {
                key: "log_level",
                reason: e.to_string(),
            })
    }
}

impl Settings {
    fn validate_model_source(&self) -> Result<(), ConfigError> {
        let name = &self.model_name;
        check("model_name", name.is_empty() || is_dns_label(name), || {
            format!(
                "{name:?} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)"
            )
        })?;
        let sha = &self.model_sha256;
        check(
            "model_sha256",
            sha.is_empty() || (sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())),
            || format!("{sha:?} is not a hex sha256 (64 hex digits)"),
        )?;
        let uri = self.model_uri.trim();
        if uri.starts_with("http://") || uri.starts_with("https://") {
            check("model_sha256", !sha.is_empty(), || {
                format!("required for a model downloaded from {uri} (the sha256 the file must have)")
            })?;
        }
        if uri.starts_with("models:") {
            crate::lifecycle::mlflow::Registry::parse(uri, &self.mlflow_tracking_uri).map_err(|reason| {
                ConfigError::Invalid {
                    key: "model_uri",
                    reason,
                }
            })?;
        }
        Ok(())
    }
}

/// RFC 1123 label as Kubernetes checks names (`IsDNS1123Label`).
fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `*`, or scheme://host[:port] with nothing after it.
fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains('/')
        && axum::http::HeaderValue::from_str(origin).is_ok()
}

fn check(key: &'static str, ok: bool, reason: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid { key, reason: reason() })
    }
}
