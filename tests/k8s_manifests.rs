//! The Kubernetes manifests (k8s/) against each other and against the service
//! itself: what schema validation and checkov (scripts/check_k8s.sh) cannot see
//! and an API server would only reveal at run time, if at all: selectors that
//! match no pod, ports that do not exist, probe paths the router does not
//! serve, settings the service would silently ignore, a shutdown that outlives
//! the grace period.
//!
//! The manifests are read as kustomize reads them: the resources listed in
//! k8s/base/kustomization.yaml, plus its configMapGenerator's env file. The
//! probes are sent to the real router, built with a fake predictor.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use churn_serve::config::{ENV_PREFIX, KEYS, Settings};
use churn_serve::domain::Customer;
use churn_serve::metrics::Metrics;
use churn_serve::model::{ModelInfo, PredictFuture, Predictor};
use churn_serve::state::AppState;
use serde::Deserialize;
use serde_norway::Value;
use tower::ServiceExt;

#[path = "k8s/exposure.rs"]
mod exposure;

/// Keys the service also reads by their plain name (see `config.rs`).
const PLAIN_ENV: &[&str] = &[
    "PORT",
    "MODEL_PATH",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "API_KEYS",
    "ORT_DYLIB_PATH",
];

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every document of a (multi-document) YAML file.
fn parse_all(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display())))
        .filter(|v| !v.is_null())
        .collect()
}

/// The value at a dotted path (`spec.template.spec.containers.0`): numeric
/// segments index sequences, `\.` is a dot inside a key
/// (`metadata.annotations.prometheus\.io/port`). Null when a step is missing.
fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    let mut keys = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => keys.last_mut().expect("one key").extend(chars.next()),
            '.' => keys.push(String::new()),
            c => keys.last_mut().expect("one key").push(c),
        }
    }
    keys.iter()
        .try_fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) => v.as_sequence().and_then(|s| s.get(i)),
            Err(_) => v.get(key.as_str()),
        })
        .unwrap_or(&NULL)
}

/// Like [`at`], but the value must be there.
fn req<'a>(value: &'a Value, path: &str) -> &'a Value {
    let v = at(value, path);
    assert!(!v.is_null(), "{} has no {path}", describe(value));
    v
}

fn text<'a>(value: &'a Value, path: &str) -> &'a str {
    req(value, path)
        .as_str()
        .unwrap_or_else(|| panic!("{}: {path} is not a string", describe(value)))
}

fn int(value: &Value, path: &str) -> u64 {
    req(value, path)
        .as_u64()
        .unwrap_or_else(|| panic!("{}: {path} is not a non-negative integer", describe(value)))
}

fn describe(value: &Value) -> String {
    format!(
        "{}/{}",
        at(value, "kind").as_str().unwrap_or("?"),
        at(value, "metadata.name").as_str().unwrap_or("?")
    )
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let k = k.as_str().expect("label keys are strings").to_owned();
                    let v = v.as_str().unwrap_or_else(|| panic!("label {k} is not a string"));
                    (k, v.to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every `key: value` of `selector` is among `labels` (and there is one).
fn assert_selects(what: &str, selector: &Value, labels: &BTreeMap<String, String>) {
    let selector = string_map(selector);
    assert!(!selector.is_empty(), "{what}: empty selector would select every pod");
    for (k, v) in &selector {
        assert_eq!(
            labels.get(k),
            Some(v),
            "{what}: selector {k}={v} does not match the pod template labels {labels:?}"
        );
    }
}

struct Manifests {
    objects: Vec<Value>,
    kustomization: Value,
}

impl Manifests {
    fn load() -> Self {
        let top = parse_all(&repo("k8s/kustomization.yaml")).remove(0);
        let top_resources = req(&top, "resources").as_sequence().expect("resources is a list");
        assert!(
            top_resources.iter().any(|r| r.as_str() == Some("base")),
            "k8s/kustomization.yaml must include base/"
        );
        let kustomization = parse_all(&repo("k8s/base/kustomization.yaml")).remove(0);
        let objects = req(&kustomization, "resources")
            .as_sequence()
            .expect("resources is a list")
            .iter()
            .flat_map(|r| parse_all(&repo("k8s/base").join(r.as_str().expect("resource paths are strings"))))
            .collect();
        Manifests { objects, kustomization }
    }

    fn one(&self, kind: &str) -> &Value {
        let found: Vec<_> = self
            .objects
            .iter()
            .filter(|o| at(o, "kind").as_str() == Some(kind))
            .collect();
        assert_eq!(found.len(), 1, "expected exactly one {kind} in k8s/base");
        found[0]
    }

    fn deployment(&self) -> &Value {
        self.one("Deployment")
    }

    fn pod_labels(&self) -> BTreeMap<String, String> {
        string_map(req(self.deployment(), "spec.template.metadata.labels"))
    }

    fn container(&self) -> &Value {
        let containers = req(self.deployment(), "spec.template.spec.containers")
            .as_sequence()
            .expect("containers is a list");
        assert_eq!(containers.len(), 1, "one container per pod");
        &containers[0]
    }

    /// The container port a Service/NetworkPolicy/probe port refers to, by
    /// name or by number.
    fn container_port(&self, port: &Value) -> u64 {
        let ports = req(self.container(), "ports").as_sequence().expect("ports is a list");
        let found = ports.iter().find(|p| match port {
            Value::String(name) => at(p, "name").as_str() == Some(name),
            Value::Number(n) => at(p, "containerPort").as_u64() == n.as_u64(),
            _ => false,
        });
        let found = found.unwrap_or_else(|| panic!("no container port {port:?} in {ports:?}"));
        int(found, "containerPort")
    }

    /// The service settings of the configMapGenerator (env file and
    /// literals), in order.
    fn config_env(&self) -> Vec<(String, String)> {
        let generators = req(&self.kustomization, "configMapGenerator")
            .as_sequence()
            .expect("configMapGenerator is a list");
        assert_eq!(generators.len(), 1, "one generated ConfigMap");
        let generator = &generators[0];
        let mut pairs = Vec::new();
        for file in at(generator, "envs").as_sequence().into_iter().flatten() {
            let path = repo("k8s/base").join(file.as_str().expect("env file paths are strings"));
            pairs.extend(env_lines(&read(&path)));
        }
        for literal in at(generator, "literals").as_sequence().into_iter().flatten() {
            pairs.extend(env_lines(literal.as_str().expect("literals are strings")));
        }
        assert!(!pairs.is_empty(), "the ConfigMap carries the service configuration");
        pairs
    }
}

/// A kustomize component as kustomize reads it: the objects its `resources`
/// add, and its patches, each entry with its body (from `path` or inline)
/// under "body".
struct Component {
    name: String,
    objects: Vec<Value>,
    patches: Vec<Value>,
}

impl Component {
    fn load(name: &str) -> Self {
        let dir = repo(&format!("k8s/components/{name}"));
        let kustomization = parse_all(&dir.join("kustomization.yaml")).remove(0);
        assert_eq!(text(&kustomization, "kind"), "Component");
        let objects = req(&kustomization, "resources")
            .as_sequence()
            .expect("resources is a list")
            .iter()
            .flat_map(|r| parse_all(&dir.join(r.as_str().expect("resource paths are strings"))))
            .collect();
        let patches = at(&kustomization, "patches")
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|p| {
                let body = match at(p, "path").as_str() {
                    Some(file) => parse_all(&dir.join(file)).remove(0),
                    None => serde_norway::from_str(text(p, "patch")).expect("an inline patch is YAML"),
                };
                let mut patch = p.clone();
                patch
                    .as_mapping_mut()
                    .expect("a patch entry is a map")
                    .insert("body".into(), body);
                patch
            })
            .collect();
        Component {
            name: name.to_owned(),
            objects,
            patches,
        }
    }

    /// The one object of `kind` the component adds.
    fn one(&self, kind: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| at(o, "kind").as_str() == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} in components/{}", self.name))
    }

    /// The overlay at `path` lists this component.
    fn assert_used_by(&self, path: &str) {
        let overlay = parse_all(&repo(&format!("{path}/kustomization.yaml"))).remove(0);
        let components = req(&overlay, "components").as_sequence().expect("a list");
        let wanted = format!("../../components/{}", self.name);
        assert!(
            components.iter().any(|c| c.as_str() == Some(wanted.as_str())),
            "{path} must list {wanted}"
        );
    }
}

/// `KEY=value` lines as kustomize reads an env file: comments and blank lines
/// skipped, the value taken verbatim.
fn env_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("not KEY=value: {l}"));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The settings the service would run with in the cluster: configs/default.toml
/// plus the ConfigMap's environment, loaded by the service's own code.
fn cluster_settings(env: &[(String, String)]) -> Settings {
    let mut settings = None;
    figment::Jail::expect_with(|jail| {
        jail.clear_env();
        for (k, v) in env {
            jail.set_env(k, v);
        }
        let loaded = Settings::load(Some(&repo("configs/default.toml"))).map_err(|e| e.to_string())?;
        settings = Some(loaded);
        Ok(())
    });
    settings.expect("settings loaded")
}

#[test]
fn the_expected_objects_are_there() {
    let m = Manifests::load();
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Ingress",
    ] {
        let object = m.one(kind);
        text(object, "apiVersion");
        text(object, "metadata.name");
    }
    // The namespace the kustomization puts everything in is the one it creates.
    assert_eq!(
        text(&m.kustomization, "namespace"),
        text(m.one("Namespace"), "metadata.name")
    );
}

#[test]
fn selectors_match_the_pod_template() {
    let m = Manifests::load();
    let labels = m.pod_labels();
    let deployment = m.deployment();
    assert_selects("Deployment", req(deployment, "spec.selector.matchLabels"), &labels);
    assert_selects("Service", req(m.one("Service"), "spec.selector"), &labels);
    assert_selects(
        "PodDisruptionBudget",
        req(m.one("PodDisruptionBudget"), "spec.selector.matchLabels"),
        &labels,
    );
    assert_selects(
        "NetworkPolicy",
        req(m.one("NetworkPolicy"), "spec.podSelector.matchLabels"),
        &labels,
    );
    let spread = req(deployment, "spec.template.spec.topologySpreadConstraints")
        .as_sequence()
        .expect("topologySpreadConstraints is a list");
    let keys: Vec<_> = spread.iter().map(|c| text(c, "topologyKey")).collect();
    assert!(
        keys.contains(&"kubernetes.io/hostname"),
        "spread across nodes: {keys:?}"
    );
    assert!(
        keys.contains(&"topology.kubernetes.io/zone"),
        "spread across zones: {keys:?}"
    );
    for c in spread {
        assert_selects("topologySpreadConstraint", req(c, "labelSelector.matchLabels"), &labels);
    }
}

#[test]
fn service_ingress_and_network_policy_reach_the_container_port() {
    let m = Manifests::load();
    let service = m.one("Service");
    let ports = req(service, "spec.ports").as_sequence().expect("ports is a list");
    for p in ports {
        assert!(at(p, "name").as_str().is_some(), "Service ports are named");
        m.container_port(req(p, "targetPort"));
    }
    assert_eq!(text(service, "spec.type"), "ClusterIP");

    // The Ingress backend is this Service, on one of its ports.
    let ingress = m.one("Ingress");
    let backend = req(ingress, "spec.rules.0.http.paths.0.backend.service");
    assert_eq!(text(backend, "name"), text(service, "metadata.name"));
    let port = req(backend, "port");
    let (by_name, by_number) = (at(port, "name"), at(port, "number"));
    assert!(
        ports.iter().any(|p| {
            let name_matches = !by_name.is_null() && at(p, "name") == by_name;
            let number_matches = !by_number.is_null() && at(p, "port") == by_number;
            name_matches || number_matches
        }),
        "Ingress backend port {port:?} is not a port of the Service"
    );

    // The NetworkPolicy admits traffic on the container port.
    let policy = m.one("NetworkPolicy");
    for rule in req(policy, "spec.ingress").as_sequence().expect("ingress is a list") {
        for p in req(rule, "ports").as_sequence().expect("ports is a list") {
            m.container_port(req(p, "port"));
        }
    }
}

#[test]
fn the_hpa_scales_the_deployment() {
    let m = Manifests::load();
    let hpa = m.one("HorizontalPodAutoscaler");
    let deployment = m.deployment();
    assert_eq!(text(hpa, "spec.scaleTargetRef.kind"), "Deployment");
    assert_eq!(
        text(hpa, "spec.scaleTargetRef.apiVersion"),
        text(deployment, "apiVersion")
    );
    assert_eq!(text(hpa, "spec.scaleTargetRef.name"), text(deployment, "metadata.name"));
    assert!(int(hpa, "spec.minReplicas") <= int(hpa, "spec.maxReplicas"));
    // CPU utilization is relative to the request: without one the HPA cannot act.
    text(m.container(), "resources.requests.cpu");
}

#[test]
fn the_pdb_sets_exactly_one_budget_and_allows_drains() {
    let m = Manifests::load();
    let pdb = m.one("PodDisruptionBudget");
    let min = at(pdb, "spec.minAvailable");
    let max = at(pdb, "spec.maxUnavailable");
    assert!(
        min.is_null() != max.is_null(),
        "set exactly one of minAvailable and maxUnavailable"
    );
    // A node drain must be able to evict a pod even at the HPA's minimum.
    let hpa_min = int(m.one("HorizontalPodAutoscaler"), "spec.minReplicas");
    match (min.as_u64(), max.as_u64()) {
        (Some(min), _) => assert!(min < hpa_min, "minAvailable {min} blocks drains at {hpa_min} replicas"),
        (_, Some(max)) => assert!(max >= 1, "maxUnavailable 0 blocks every drain"),
        _ => {} // percentages: left to the reader
    }
}

#[test]
fn the_image_is_pinned_in_the_kustomization_only() {
    let m = Manifests::load();
    let image = text(m.container(), "image");
    assert!(
        !image.contains(':') && !image.contains('@'),
        "deployment.yaml names the image only ({image}); the tag lives in kustomization.yaml"
    );
    for path in [
        "k8s/base/kustomization.yaml",
        "k8s/overlays/production/kustomization.yaml",
    ] {
        let k = parse_all(&repo(path)).remove(0);
        let images = req(&k, "images").as_sequence().expect("images is a list");
        let entry = images
            .iter()
            .find(|i| at(i, "name").as_str() == Some(image))
            .unwrap_or_else(|| panic!("{path}: no images entry for {image}"));
        let pinned = match (at(entry, "newTag").as_str(), at(entry, "digest").as_str()) {
            (_, Some(digest)) => digest.starts_with("sha256:"),
            (Some(tag), None) => !tag.is_empty() && tag != "latest",
            (None, None) => false,
        };
        assert!(
            pinned,
            "{path}: {image} must be pinned to a tag (not latest) or a digest"
        );
    }
    // The base deploys the release this tree builds (the image's version label
    // is the crate version too, see the Dockerfile).
    let base = parse_all(&repo("k8s/base/kustomization.yaml")).remove(0);
    let tag = text(req(&base, "images.0"), "newTag");
    assert_eq!(
        tag,
        env!("CARGO_PKG_VERSION"),
        "k8s/base/kustomization.yaml deploys {tag}, Cargo.toml is {}",
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn the_configmap_only_sets_settings_the_service_reads() {
    let m = Manifests::load();
    let env = m.config_env();
    let settings = serde_json::to_value(cluster_settings(&env)).expect("settings serialize");
    for (name, value) in &env {
        let key = match name.strip_prefix(ENV_PREFIX) {
            Some(key) => key.to_ascii_lowercase(),
            None => {
                assert!(
                    PLAIN_ENV.contains(&name.as_str()),
                    "{name} is not a setting the service reads"
                );
                name.to_ascii_lowercase()
            }
        };
        assert!(
            KEYS.contains(&key.as_str()),
            "{name}: no setting `{key}` in configs/default.toml"
        );
        // CHURN_<KEY> beats the plain name: check the winner only.
        let overridden = !name.starts_with(ENV_PREFIX)
            && env
                .iter()
                .any(|(n, _)| *n == format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()));
        if overridden {
            continue;
        }
        let loaded = &settings[&key];
        let same = match loaded {
            serde_json::Value::String(s) => s == value,
            serde_json::Value::Number(n) => n.as_f64() == value.parse::<f64>().ok(),
            serde_json::Value::Bool(b) => Some(*b) == value.parse::<bool>().ok(),
            other => serde_json::from_str::<serde_json::Value>(value).ok().as_ref() == Some(other),
        };
        assert!(same, "{name}={value} loads as {key} = {loaded}");
    }
}

#[test]
fn the_container_port_and_log_format_match_the_settings() {
    let m = Manifests::load();
    let settings = cluster_settings(&m.config_env());
    assert_eq!(
        m.container_port(&Value::String("http".into())),
        u64::from(settings.port),
        "container port \"http\" must be the port the service listens on"
    );
    let annotations = req(m.deployment(), "spec.template.metadata.annotations");
    assert_eq!(text(annotations, "prometheus\\.io/port"), settings.port.to_string());
    assert_eq!(
        serde_json::to_value(settings.log_format).expect("serializes"),
        "json",
        "JSON logs in the cluster"
    );
    assert!(
        settings.workers > 0,
        "set CHURN_WORKERS: 0 means one per node core, not per pod"
    );
}

#[test]
fn the_shutdown_fits_in_the_grace_period() {
    let m = Manifests::load();
    let settings = cluster_settings(&m.config_env());
    let pod = req(m.deployment(), "spec.template.spec");
    let container = m.container();
    let pre_stop = int(container, "lifecycle.preStop.sleep.seconds");
    let grace_period = int(pod, "terminationGracePeriodSeconds");
    let needed = pre_stop + settings.shutdown_drain_secs + settings.shutdown_grace_secs;
    assert!(
        grace_period > needed,
        "terminationGracePeriodSeconds {grace_period} must exceed preStop {pre_stop} + drain {} + grace {}",
        settings.shutdown_drain_secs,
        settings.shutdown_grace_secs
    );
    // The readiness probe notices the drain before the listener closes.
    assert!(
        settings.shutdown_drain_secs > 0,
        "set CHURN_SHUTDOWN_DRAIN_SECS in the cluster"
    );
    let readiness = req(container, "readinessProbe");
    let noticed_after = int(readiness, "periodSeconds") * int(readiness, "failureThreshold");
    assert!(
        noticed_after <= settings.shutdown_drain_secs,
        "readiness fails after {noticed_after} s, after the {} s drain",
        settings.shutdown_drain_secs
    );
}

#[test]
fn the_memory_limit_covers_the_memory_budget() {
    let m = Manifests::load();
    let settings = cluster_settings(&m.config_env());
    let limit = text(m.container(), "resources.limits.memory");
    let mebibytes: usize = limit
        .strip_suffix("Mi")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("memory limit {limit} in Mi"));
    let budget = settings.memory_budget_bytes().div_ceil(1 << 20);
    assert!(
        mebibytes >= budget,
        "limits.memory {limit} is below the memory budget of {budget} MiB (README, Memory budget)"
    );
}

#[test]
fn the_prometheus_operator_component_scrapes_the_pods_and_loads_the_compose_rules() {
    let m = Manifests::load();
    let component = Component::load("prometheus-operator");
    let find = |kind: &str| component.one(kind);

    // The PodMonitor scrapes the pods on the port and path the service serves
    // metrics on, under the job name the rules and dashboard use.
    let monitor = find("PodMonitor");
    let labels = m.pod_labels();
    assert_selects("PodMonitor", req(monitor, "spec.selector.matchLabels"), &labels);
    let job_label = text(monitor, "spec.jobLabel");
    assert_eq!(labels.get(job_label).map(String::as_str), Some("churn-serve"));
    let endpoints = req(monitor, "spec.podMetricsEndpoints").as_sequence().expect("a list");
    assert_eq!(endpoints.len(), 1);
    m.container_port(req(&endpoints[0], "port"));
    let annotations = req(m.deployment(), "spec.template.metadata.annotations");
    assert_eq!(text(&endpoints[0], "path"), text(annotations, "prometheus\\.io/path"));

    // The PrometheusRule carries exactly the compose stack's rules.
    let alerts = parse_all(&repo("configs/prometheus/alerts.yml")).remove(0);
    assert_eq!(
        req(find("PrometheusRule"), "spec.groups"),
        req(&alerts, "groups"),
        "k8s/components/prometheus-operator/prometheusrule.yaml is stale: run scripts/k8s/prometheusrule.py"
    );

    component.assert_used_by("k8s/overlays/prometheus-operator");
}

#[test]
fn paths_index_sequences_and_escape_dots() {
    let v: Value = serde_norway::from_str("a:\n  b.c/d: [x, y]\n").expect("yaml");
    assert_eq!(at(&v, "a.b\\.c/d.1").as_str(), Some("y"));
    assert!(at(&v, "a.b.c/d").is_null());
}

// ---- probes against the real router ----------------------------------------

struct FakePredictor;

impl Predictor for FakePredictor {
    fn predict(&self, rows: Vec<Customer>) -> PredictFuture {
        let n = rows.len();
        Box::pin(async move { Ok(vec![0.5; n]) })
    }
}

/// The service as the cluster runs it, with a fake model; API keys switched
/// on, because kubelet and Prometheus send none.
fn app_state(settings: &Settings) -> AppState {
    let settings = Settings {
        api_keys: vec!["k8s-test-key".into()],
        cors_allowed_origins: Vec::new(),
        ..settings.clone()
    };
    // No metadata file: the model info the service builds for a bare model.
    let model = ModelInfo::from_metadata(None, "fake", "0".repeat(64)).expect("a model without metadata still serves");
    AppState::new(&settings, Arc::new(FakePredictor), model, Arc::new(Metrics::new()))
}

async fn get(state: &AppState, path: &str) -> StatusCode {
    let request = Request::get(path).body(Body::empty()).expect("valid request");
    churn_serve::routes::app(state.clone())
        .oneshot(request)
        .await
        .expect("the router is infallible")
        .status()
}

/// The `httpGet` of a probe: its path, after checking its port is the
/// container port the service listens on.
fn probe_path<'a>(m: &'a Manifests, probe: &str, settings: &Settings) -> &'a str {
    let http_get = req(m.container(), &format!("{probe}.httpGet"));
    assert_eq!(
        m.container_port(req(http_get, "port")),
        u64::from(settings.port),
        "{probe} must hit the service port"
    );
    assert!(
        at(http_get, "scheme").as_str().is_none_or(|s| s == "HTTP"),
        "{probe} is plain HTTP"
    );
    text(http_get, "path")
}

#[tokio::test]
async fn probe_and_scrape_paths_answer_on_the_real_router() {
    let m = Manifests::load();
    let settings = cluster_settings(&m.config_env());
    let state = app_state(&settings);

    let probes: Vec<_> = ["startupProbe", "readinessProbe", "livenessProbe"]
        .into_iter()
        .map(|p| (p, probe_path(&m, p, &settings).to_owned()))
        .collect();
    let annotations = req(m.deployment(), "spec.template.metadata.annotations");
    assert_eq!(text(annotations, "prometheus\\.io/scrape"), "true");
    let scrape = text(annotations, "prometheus\\.io/path").to_owned();

    for (probe, path) in probes
        .iter()
        .map(|(p, path)| (*p, path.as_str()))
        .chain([("scrape", scrape.as_str())])
    {
        assert_eq!(
            get(&state, path).await,
            StatusCode::OK,
            "{probe} GET {path} while serving"
        );
    }

    // After SIGTERM: readiness fails (the pod leaves the endpoints), liveness
    // does not (the kubelet must not restart a pod that is shutting down).
    state.health.start_draining();
    let path_of = |probe: &str| {
        probes
            .iter()
            .find(|(p, _)| *p == probe)
            .map(|(_, path)| path.as_str())
            .unwrap()
    };
    assert_eq!(
        get(&state, path_of("readinessProbe")).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "readinessProbe must fail while draining"
    );
    assert_eq!(
        get(&state, path_of("livenessProbe")).await,
        StatusCode::OK,
        "livenessProbe must pass while draining"
    );
}
