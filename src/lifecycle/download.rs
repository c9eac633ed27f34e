//! HTTP downloads for model sources: bounded in size and time, truncation
//! detected, credentials from the environment, errors as one line.

use std::time::Duration;

use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::Settings;

/// A model larger than this is refused: it could not be served within the
/// memory budget anyway, and a wrong URL must not fill the memory.
pub const MAX_DOWNLOAD_BYTES: usize = 512 << 20;

/// How a source's server wants its requests authenticated.
#[derive(Clone)]
pub enum Auth {
    Bearer(String),
    Basic { user: String, password: String },
}

impl Auth {
    /// The tracking server's credentials, as MLflow's own clients take them
    /// (`MLFLOW_TRACKING_TOKEN`, else `MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD`).
    pub fn mlflow(settings: &Settings) -> Option<Self> {
        if !settings.mlflow_tracking_token.is_empty() {
            return Some(Auth::Bearer(settings.mlflow_tracking_token.clone()));
        }
        (!settings.mlflow_tracking_username.is_empty()).then(|| Auth::Basic {
            user: settings.mlflow_tracking_username.clone(),
            password: settings.mlflow_tracking_password.clone(),
        })
    }
}

pub enum Download {
    NotModified,
    Body { bytes: Vec<u8>, etag: Option<String> },
}

pub struct Fetcher {
    client: Client,
    auth: Option<Auth>,
}

impl Fetcher {
    pub fn new(auth: Option<Auth>) -> Result<Self, String> {
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("churn-serve/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {}", chain(&e)))?;
        Ok(Fetcher { client, auth })
    }

    fn request(&self, url: &str) -> RequestBuilder {
        let request = self.client.get(url);
        match &self.auth {
            Some(Auth::Bearer(token)) => request.bearer_auth(token),
            Some(Auth::Basic { user, password }) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// The body at `url`; `NotModified` when its ETag is still `etag`.
    pub async fn get(&self, url: &str, etag: Option<&str>) -> Result<Download, String> {
        let mut request = self.request(url);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(|e| failed(url, &e))?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Download::NotModified);
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = body(url, response).await?;
        Ok(Download::Body { bytes, etag })
    }

    /// The body at `url`, or `None` if there is nothing there (404).
    pub async fn get_optional(&self, url: &str) -> Result<Option<Vec<u8>>, String> {
        let response = self.request(url).send().await.map_err(|e| failed(url, &e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        body(url, response).await.map(Some)
    }

    /// A JSON API call; `Ok(None)` for 404 (e.g. no such alias).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str, query: &[(&str, &str)]) -> Result<Option<T>, String> {
        let response = self
            .request(url)
            .query(query)
            .send()
            .await
            .map_err(|e| failed(url, &e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let bytes = body(url, response).await?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("GET {url}: unexpected answer: {e}"))
    }
}

/// Reads a 2xx body, at most [`MAX_DOWNLOAD_BYTES`], all of what was announced.
async fn body(url: &str, mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        // MLflow explains itself in {"error_code": …, "message": …}.
        let text = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
            .unwrap_or(text);
        let text: String = text.chars().take(200).collect();
        return Err(format!(
            "GET {url}: HTTP {status}{}",
            if text.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", text.trim())
            }
        ));
    }
    let announced = response.content_length();
    if announced.is_some_and(|n| n > MAX_DOWNLOAD_BYTES as u64) {
        return Err(format!(
            "GET {url}: {} bytes is over the {MAX_DOWNLOAD_BYTES}-byte limit",
            announced.unwrap_or(0)
        ));
    }
    let mut bytes = Vec::with_capacity(announced.unwrap_or(0) as usize);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > MAX_DOWNLOAD_BYTES {
                    return Err(format!("GET {url}: over the {MAX_DOWNLOAD_BYTES}-byte limit"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(format!(
                    "GET {url}: download cut off after {} bytes: {}",
                    bytes.len(),
                    chain(&e)
                ));
            }
        }
    }
    match announced {
        Some(n) if n != bytes.len() as u64 => {
            Err(format!("GET {url}: download truncated: {} of {n} bytes", bytes.len()))
        }
        _ => Ok(bytes),
    }
}

fn failed(url: &str, e: &reqwest::Error) -> String {
    format!("GET {url}: {}", chain(e))
}

/// An error and its causes on one line: reqwest's own message is only
/// "error sending request"; the cause (connection refused) is below it.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}
