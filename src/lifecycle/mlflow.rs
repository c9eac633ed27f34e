//! The MLflow model registry over its REST API (no MLflow SDK): an alias or
//! version is resolved to a model version, whose artifacts are downloaded
//! through the tracking server's artifact proxy (`mlflow server`'s default
//! `--serve-artifacts`). The version's artifact directory must hold one
//! `.onnx` file; a `.json` file with the same stem beside it is its metadata.

use serde::Deserialize;

use super::download::Fetcher;
use super::source::{Artifact, Origin};
use crate::model::sha256_hex;

const REGISTRY_API: &str = "api/2.0/mlflow";
const ARTIFACTS_API: &str = "api/2.0/mlflow-artifacts/artifacts";
const PROXY_SCHEME: &str = "mlflow-artifacts:";

/// `models:/<name>@<alias>` or `models:/<name>/<version>` on a tracking server.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    tracking: String,
    model: String,
    selector: Selector,
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Alias(String),
    Version(String),
}

#[derive(Deserialize)]
struct VersionReply {
    model_version: ModelVersion,
}

#[derive(Deserialize)]
struct ModelVersion {
    version: String,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct DownloadUri {
    artifact_uri: String,
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    files: Vec<ListedFile>,
}

#[derive(Deserialize)]
struct ListedFile {
    path: String,
    #[serde(default)]
    is_dir: bool,
}

impl Registry {
    pub fn parse(uri: &str, tracking: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("model_uri {uri:?}: {why} (expected models:/<name>@<alias> or models:/<name>/<version>)")
        };
        let rest = uri.strip_prefix("models:/").ok_or_else(|| bad("not a registry URI"))?;
        let (model, selector) = if let Some((model, alias)) = rest.split_once('@') {
            (model, Selector::Alias(alias.to_owned()))
        } else if let Some((model, version)) = rest.split_once('/') {
            if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the version must be a number"));
            }
            (model, Selector::Version(version.to_owned()))
        } else {
            return Err(bad("no alias or version"));
        };
        let alias_ok = match &selector {
            Selector::Alias(a) => !a.is_empty() && !a.contains('/'),
            Selector::Version(_) => true,
        };
        if model.is_empty() || model.contains('/') || !alias_ok {
            return Err(bad("malformed"));
        }
        let tracking = tracking.trim().trim_end_matches('/');
        if !(tracking.starts_with("http://") || tracking.starts_with("https://")) {
            return Err(format!(
                "model_uri {uri:?} needs an MLflow tracking server: set MLFLOW_TRACKING_URI (http(s)://host:port), got {tracking:?}"
            ));
        }
        Ok(Registry {
            tracking: tracking.to_owned(),
            model: model.to_owned(),
            selector,
        })
    }

    pub fn uri(&self) -> String {
        match &self.selector {
            Selector::Alias(a) => format!("models:/{}@{a}", self.model),
            Selector::Version(v) => format!("models:/{}/{v}", self.model),
        }
    }

    pub fn model_name(&self) -> &str {
        &self.model
    }

    fn api(&self, path: &str) -> String {
        format!("{}/{REGISTRY_API}/{path}", self.tracking)
    }

    /// The version the alias points at now (or the pinned version, checked
    /// to exist and be ready).
    pub async fn resolve(&self, fetcher: &Fetcher) -> Result<String, String> {
        let reply: Option<VersionReply> = match &self.selector {
            Selector::Alias(alias) => {
                let url = self.api("registered-models/alias");
                fetcher
                    .get_json(&url, &[("name", &self.model), ("alias", alias)])
                    .await?
            }
            Selector::Version(version) => {
                let url = self.api("model-versions/get");
                fetcher
                    .get_json(&url, &[("name", &self.model), ("version", version)])
                    .await?
            }
        };
        let version = reply
            .ok_or_else(|| {
                format!(
                    "{}: no such model version in the registry at {}",
                    self.uri(),
                    self.tracking
                )
            })?
            .model_version;
        match version.status.as_deref() {
            None | Some("READY") => Ok(version.version),
            Some(other) => Err(format!(
                "{} is version {} whose status is {other}, not READY",
                self.uri(),
                version.version
            )),
        }
    }

    /// Downloads the ONNX file of `version` and its metadata file.
    pub async fn download(&self, fetcher: &Fetcher, version: &str) -> Result<Artifact, String> {
        let url = self.api("model-versions/get-download-uri");
        let location: DownloadUri = fetcher
            .get_json(&url, &[("name", &self.model), ("version", version)])
            .await?
            .ok_or_else(|| format!("{}: version {version} has no artifacts", self.uri()))?;
        let dir = proxy_path(&location.artifact_uri).ok_or_else(|| {
            format!(
                "version {version}'s artifacts are at {}, which the tracking server does not proxy \
                 (start it with --serve-artifacts and an --artifacts-destination)",
                location.artifact_uri
            )
        })?;
        let listing_url = format!("{}/{ARTIFACTS_API}", self.tracking);
        let listing: Listing = fetcher
            .get_json(&listing_url, &[("path", &dir)])
            .await?
            .ok_or_else(|| format!("version {version}: artifact directory {dir} not found"))?;
        let names: Vec<&str> = listing
            .files
            .iter()
            .filter(|f| !f.is_dir)
            .map(|f| f.path.rsplit('/').next().unwrap_or(&f.path))
            .collect();
        let onnx: Vec<&str> = names.iter().copied().filter(|n| n.ends_with(".onnx")).collect();
        let [model_file] = onnx[..] else {
            return Err(format!(
                "version {version}: expected one .onnx file in {}, found {}",
                location.artifact_uri,
                if onnx.is_empty() {
                    "none".to_owned()
                } else {
                    onnx.join(", ")
                }
            ));
        };
        let file_url = |name: &str| format!("{}/{ARTIFACTS_API}/{dir}/{name}", self.tracking);
        let model = fetcher
            .get_optional(&file_url(model_file))
            .await?
            .ok_or_else(|| format!("version {version}: {model_file} is listed but not served"))?;
        let metadata_file = format!("{}.json", model_file.trim_end_matches(".onnx"));
        let metadata = if names.contains(&metadata_file.as_str()) {
            fetcher.get_optional(&file_url(&metadata_file)).await?
        } else {
            None
        };
        Ok(Artifact {
            origin: Origin {
                uri: self.uri(),
                resolved: format!("{}/{model_file}", location.artifact_uri.trim_end_matches('/')),
                registry_version: Some(version.to_owned()),
                metadata: metadata.as_ref().map(|_| metadata_file),
            },
            sha256: sha256_hex(&model),
            model,
            metadata,
        })
    }
}

/// The proxy's path for `mlflow-artifacts:/p` or `mlflow-artifacts://host/p`.
fn proxy_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix(PROXY_SCHEME)?;
    let path = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest.trim_start_matches('/'),
    };
    Some(path.trim_end_matches('/').to_owned()).filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "http://127.0.0.1:5000";

    #[test]
    fn aliases_and_versions_parse_and_print_back() {
        for uri in ["models:/churn@champion", "models:/churn/3"] {
            assert_eq!(Registry::parse(uri, T).unwrap().uri(), uri);
        }
        let r = Registry::parse("models:/churn@champion", "http://h:5000/").unwrap();
        assert_eq!(r.api("x"), "http://h:5000/api/2.0/mlflow/x");
    }

    #[test]
    fn malformed_registry_uris_and_missing_servers_are_refused() {
        for uri in [
            "models:/churn",
            "models:/churn/latest",
            "models:/@a",
            "models:/churn@",
            "models:/a/b/3",
        ] {
            assert!(Registry::parse(uri, T).is_err(), "{uri}");
        }
        let e = Registry::parse("models:/churn@champion", "").unwrap_err();
        assert!(e.contains("MLFLOW_TRACKING_URI"), "{e}");
    }

    #[test]
    fn proxied_artifact_uris_map_to_proxy_paths() {
        assert_eq!(
            proxy_path("mlflow-artifacts:/0/abc/artifacts/model").as_deref(),
            Some("0/abc/artifacts/model")
        );
        assert_eq!(proxy_path("mlflow-artifacts://h:5000/0/abc/").as_deref(), Some("0/abc"));
        assert_eq!(proxy_path("s3://bucket/0/abc"), None);
        assert_eq!(proxy_path("mlflow-artifacts:/"), None);
    }
}
