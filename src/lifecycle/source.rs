//! Where a model comes from (`model_uri`, else `model_path`) and how a
//! changed one is noticed. Fetching ends with bytes in memory; loading them
//! is the engine's job, the same for every source.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::download::{Download, Fetcher};
use super::mlflow::Registry;
use crate::config::Settings;
use crate::model::sha256_hex;

/// A model's bytes, its metadata's bytes (when it has a metadata file) and
/// where both came from.
pub struct Artifact {
    pub model: Vec<u8>,
    /// Of `model`, hashed once when it was read.
    pub sha256: String,
    pub metadata: Option<Vec<u8>>,
    pub origin: Origin,
}

/// What a look at the source found: a model unless nothing changed, and
/// what to compare with next time.
pub struct Fetched {
    pub artifact: Option<Artifact>,
    pub seen: Seen,
}

/// Where the serving model came from, as `/api/v1/model` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Origin {
    /// The configured source (`model_uri`, or `model_path`).
    pub uri: String,
    /// What it resolved to: the file, the URL, or the registry's artifact URI.
    pub resolved: String,
    /// The registry version behind an alias (MLflow sources only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_version: Option<String>,
    /// Where the metadata file came from, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

impl Origin {
    /// `resolved`, with the registry version when there is one.
    pub fn describe(&self) -> String {
        match &self.registry_version {
            Some(v) => format!("{} (version {v}, {})", self.uri, self.resolved),
            None => self.resolved.clone(),
        }
    }
}

/// What a poll compares to notice a change without fetching the model:
/// a file's modification time and size, an HTTP ETag, a registry version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub modified: Option<(SystemTime, u64)>,
    pub etag: Option<String>,
    pub registry_version: Option<String>,
}

pub enum ModelSource {
    File {
        model: PathBuf,
        metadata: PathBuf,
        /// `metadata_path` was configured: its absence is an error.
        metadata_required: bool,
    },
    Http {
        url: String,
        sha256: String,
    },
    Mlflow(Registry),
}

impl ModelSource {
    /// The source `settings` describe; errors name the setting at fault.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let uri = settings.model_uri.trim();
        if uri.is_empty() {
            return Ok(Self::file(&settings.model_path, &settings.metadata_path));
        }
        if uri.starts_with("http://") || uri.starts_with("https://") {
            return Ok(ModelSource::Http {
                url: uri.to_owned(),
                sha256: settings.model_sha256.trim().to_ascii_lowercase(),
            });
        }
        if uri.starts_with("models:") {
            return Registry::parse(uri, &settings.mlflow_tracking_uri).map(ModelSource::Mlflow);
        }
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        Ok(Self::file(Path::new(path), &settings.metadata_path))
    }

    fn file(model: &Path, metadata: &Path) -> Self {
        let required = !metadata.as_os_str().is_empty();
        ModelSource::File {
            model: model.to_path_buf(),
            metadata: if required {
                metadata.to_path_buf()
            } else {
                model.with_extension("json")
            },
            metadata_required: required,
        }
    }

    /// The configured source, as logs and `/api/v1/model` show it.
    pub fn describe(&self) -> String {
        match self {
            ModelSource::File { model, .. } => model.display().to_string(),
            ModelSource::Http { url, .. } => url.clone(),
            ModelSource::Mlflow(registry) => registry.uri(),
        }
    }

    /// The name a model without metadata is served under: the file's stem.
    pub fn fallback_name(&self) -> String {
        let last = match self {
            ModelSource::File { model, .. } => model.to_string_lossy().into_owned(),
            ModelSource::Http { url, .. } => url.clone(),
            ModelSource::Mlflow(registry) => return registry.model_name().to_owned(),
        };
        let file = last.rsplit('/').next().unwrap_or_default();
        let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
        if stem.is_empty() { "model".into() } else { stem.into() }
    }

    /// The model behind the source, or `None` when nothing changed since
    /// `seen` or the bytes are the ones serving (`serving_sha256`). A poll
    /// passes what it saw last; a forced reload passes less, so it fetches.
    pub async fn fetch(&self, fetcher: &Fetcher, seen: &Seen, serving_sha256: Option<&str>) -> Result<Fetched, String> {
        let unchanged = || {
            Ok(Fetched {
                artifact: None,
                seen: seen.clone(),
            })
        };
        let (artifact, now_seen) = match self {
            ModelSource::File {
                model,
                metadata,
                metadata_required,
            } => {
                let modified = modified(model).await?;
                if seen.modified == Some(modified) {
                    return unchanged();
                }
                let bytes = read(model).await?;
                let meta = match tokio::fs::read(metadata).await {
                    Ok(b) => Some(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !metadata_required => None,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(format!(
                            "invalid model metadata {}: no such file (metadata_path is configured)",
                            metadata.display()
                        ));
                    }
                    Err(e) => return Err(format!("cannot read model metadata {}: {e}", metadata.display())),
                };
                let artifact = Artifact {
                    origin: Origin {
                        uri: self.describe(),
                        resolved: model.display().to_string(),
                        registry_version: None,
                        metadata: meta.as_ref().map(|_| metadata.display().to_string()),
                    },
                    sha256: sha256_hex(&bytes),
                    model: bytes,
                    metadata: meta,
                };
                let now = Seen {
                    modified: Some(modified),
                    ..Seen::default()
                };
                (artifact, now)
            }
            ModelSource::Http { url, sha256 } => {
                let (bytes, etag) = match fetcher.get(url, seen.etag.as_deref()).await? {
                    Download::NotModified => return unchanged(),
                    Download::Body { bytes, etag } => (bytes, etag),
                };
                let got = sha256_hex(&bytes);
                if &got != sha256 {
                    return Err(format!(
                        "sha256 mismatch for {url}: expected {sha256} (model_sha256), got {got}"
                    ));
                }
                let metadata_url = sibling_json(url);
                let meta = fetcher.get_optional(&metadata_url).await?;
                let artifact = Artifact {
                    origin: Origin {
                        uri: url.clone(),
                        resolved: url.clone(),
                        registry_version: None,
                        metadata: meta.as_ref().map(|_| metadata_url),
                    },
                    model: bytes,
                    sha256: got,
                    metadata: meta,
                };
                (
                    artifact,
                    Seen {
                        etag,
                        ..Seen::default()
                    },
                )
            }
            ModelSource::Mlflow(registry) => {
                let version = registry.resolve(fetcher).await?;
                if seen.registry_version.as_deref() == Some(version.as_str()) {
                    return unchanged();
                }
                let artifact = registry.download(fetcher, &version).await?;
                let now = Seen {
                    registry_version: Some(version),
                    ..Seen::default()
                };
                (artifact, now)
            }
        };
        let same = serving_sha256 == Some(artifact.sha256.as_str());
        Ok(Fetched {
            artifact: (!same).then_some(artifact),
            seen: now_seen,
        })
    }
}

/// `…/churn.onnx` → `…/churn.json` (a query string is kept).
fn sibling_json(url: &str) -> String {
    let (path, query) = url.split_once('?').map_or((url, None), |(p, q)| (p, Some(q)));
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let json = format!("{dir}/{stem}.json");
    match query {
        Some(q) => format!("{json}?{q}"),
        None => json,
    }
}

async fn modified(path: &Path) -> Result<(SystemTime, u64), String> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("cannot read model file {}: {e}", path.display()))?;
    Ok((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len()))
}

async fn read(path: &Path) -> Result<Vec<u8>, String> {
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read model file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_url_is_the_model_url_with_a_json_extension() {
        assert_eq!(sibling_json("http://h/m/churn.onnx"), "http://h/m/churn.json");
        assert_eq!(sibling_json("http://h/m/churn.onnx?x=1"), "http://h/m/churn.json?x=1");
        assert_eq!(sibling_json("http://h/m/v1.2/churn"), "http://h/m/v1.2/churn.json");
    }

    fn settings(uri: &str) -> Settings {
        Settings {
            model_uri: uri.into(),
            model_sha256: "AB".into(),
            mlflow_tracking_uri: "http://127.0.0.1:5000/".into(),
            ..Settings::default()
        }
    }

    #[test]
    fn a_uri_picks_its_source_and_an_empty_one_leaves_model_path() {
        let source = ModelSource::from_settings(&settings("")).unwrap();
        assert_eq!(source.describe(), "models/churn_pipeline.onnx");
        assert_eq!(source.fallback_name(), "churn_pipeline");
        let source = ModelSource::from_settings(&settings("file:///srv/m/churn.onnx")).unwrap();
        assert!(matches!(&source, ModelSource::File { metadata, .. } if metadata == Path::new("/srv/m/churn.json")));
        let source = ModelSource::from_settings(&settings("https://h/m/churn.onnx")).unwrap();
        assert!(matches!(&source, ModelSource::Http { sha256, .. } if sha256 == "ab"));
        let source = ModelSource::from_settings(&settings("models:/churn@champion")).unwrap();
        assert_eq!(source.describe(), "models:/churn@champion");
        assert_eq!(source.fallback_name(), "churn");
    }
}
