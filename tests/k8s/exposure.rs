//! Who can reach what from outside the cluster: the Ingress (base), the
//! Gateway API route that can replace it (components/gateway-api) and the dev
//! overlay, against the routes and limits of the service itself.

use super::*;

#[test]
fn the_ingress_allows_what_the_service_allows() {
    let m = Manifests::load();
    let settings = cluster_settings(&m.config_env());
    let annotations = req(m.one("Ingress"), "metadata.annotations");
    let nginx = |name: &str| text(annotations, &format!("nginx\\.ingress\\.kubernetes\\.io/{name}")).to_owned();

    let body = nginx("proxy-body-size");
    let (digits, unit) = body.split_at(body.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let multiplier = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        other => panic!("proxy-body-size unit {other}"),
    };
    let body_bytes = digits.parse::<usize>().expect("proxy-body-size is a number") * multiplier;
    assert!(
        body_bytes >= settings.max_body_bytes,
        "proxy-body-size {body} is below the service's max_body_bytes {}",
        settings.max_body_bytes
    );
    let read_timeout: u64 = nginx("proxy-read-timeout").parse().expect("seconds");
    assert!(
        read_timeout * 1000 >= settings.request_timeout_ms,
        "proxy-read-timeout {read_timeout}s is shorter than request_timeout_ms {}",
        settings.request_timeout_ms
    );
    // ingress-nginx keeps idle upstream connections for 60 s (its ConfigMap's
    // upstream-keepalive-timeout): the service must not close them sooner, or
    // nginx may reuse a connection just closed and answer 502.
    let idle_close = settings.header_read_timeout_ms;
    assert!(
        idle_close == 0 || idle_close > 60_000,
        "header_read_timeout_ms {idle_close} closes idle connections before ingress-nginx's 60 s"
    );
    nginx("limit-rps");
    assert_eq!(nginx("ssl-redirect"), "true");
    assert_eq!(text(m.one("Ingress"), "spec.ingressClassName"), "nginx");
    assert!(
        !at(annotations, "cert-manager\\.io/cluster-issuer").is_null(),
        "TLS certificates come from cert-manager"
    );
}

/// Kubernetes `Prefix` and Gateway API `PathPrefix` matching: element by
/// element, so `/api` matches `/api/v1/predict` but not `/apis`.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"))
}

/// The prefixes publish the API, native and V2, and nothing operational.
fn assert_publishes_only_the_api(what: &str, prefixes: &[&str]) {
    let published = |path: &str| prefixes.iter().any(|prefix| prefix_matches(prefix, path));
    for path in [
        "/api/v1/predict",
        "/api/v1/predict/batch",
        "/api/v1/model",
        "/api/v1/model/drift",
        "/v2/models/churn/infer",
        "/v2",
    ] {
        assert!(published(path), "{what}: {path} must be published");
    }
    for path in OPERATIONAL {
        assert!(!published(path), "{what}: {path} must stay inside the cluster");
    }
}

const OPERATIONAL: [&str; 8] = [
    "/metrics",
    "/docs",
    "/openapi.json",
    "/health",
    "/health/ready",
    "/health/live",
    "/admin/model/reload",
    "/apis",
];

/// The Ingress's `(path, pathType)` pairs, after checking every one goes to
/// the Service's http port.
fn ingress_paths(ingress: &Value, service: &str) -> Vec<(String, String)> {
    req(ingress, "spec.rules.0.http.paths")
        .as_sequence()
        .expect("paths is a list")
        .iter()
        .map(|p| {
            assert_eq!(text(p, "backend.service.name"), service);
            assert_eq!(text(p, "backend.service.port.name"), "http");
            (text(p, "path").to_owned(), text(p, "pathType").to_owned())
        })
        .collect()
}

#[test]
fn the_ingress_publishes_the_api_and_nothing_operational() {
    let m = Manifests::load();
    let service = text(m.one("Service"), "metadata.name");
    let paths = ingress_paths(m.one("Ingress"), service);
    assert!(paths.iter().all(|(_, kind)| kind == "Prefix"), "{paths:?}");
    let prefixes: Vec<&str> = paths.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(prefixes, ["/api", "/v2"]);
    assert_publishes_only_the_api("Ingress", &prefixes);
}

/// A Gateway API duration ("15s", "500ms", "1m", "1h"), in milliseconds.
fn duration_ms(value: &str) -> u64 {
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let n: u64 = digits.parse().unwrap_or_else(|_| panic!("duration {value}"));
    n * match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => panic!("duration unit {other} in {value}"),
    }
}

#[test]
fn the_gateway_route_publishes_what_the_ingress_publishes_with_the_same_limits() {
    let m = Manifests::load();
    let settings = cluster_settings(&m.config_env());
    let component = Component::load("gateway-api");
    let find = |kind: &str| component.one(kind);
    let route = find("HTTPRoute");
    let rules = req(route, "spec.rules").as_sequence().expect("rules is a list");
    assert_eq!(rules.len(), 1, "one rule: one backend, one set of timeouts");
    let rule = &rules[0];

    // Same paths as the Ingress, same matching.
    let service = m.one("Service");
    let ingress = ingress_paths(m.one("Ingress"), text(service, "metadata.name"));
    let matches: Vec<(String, String)> = req(rule, "matches")
        .as_sequence()
        .expect("matches is a list")
        .iter()
        .map(|mt| (text(mt, "path.value").to_owned(), text(mt, "path.type").to_owned()))
        .collect();
    assert!(matches.iter().all(|(_, kind)| kind == "PathPrefix"), "{matches:?}");
    let prefixes: Vec<&str> = matches.iter().map(|(p, _)| p.as_str()).collect();
    let ingress_prefixes: Vec<&str> = ingress.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        prefixes, ingress_prefixes,
        "the HTTPRoute and the Ingress publish the same paths"
    );
    assert_publishes_only_the_api("HTTPRoute", &prefixes);

    // The backend is the Service's http port.
    let backends = req(rule, "backendRefs").as_sequence().expect("a list");
    assert_eq!(backends.len(), 1);
    assert_eq!(text(&backends[0], "name"), text(service, "metadata.name"));
    assert_eq!(int(&backends[0], "port"), int(service, "spec.ports.0.port"));
    assert_eq!(text(service, "spec.ports.0.name"), "http");

    // Slow requests end with the service's own 504, not the gateway's.
    for timeout in ["request", "backendRequest"] {
        let ms = duration_ms(text(rule, &format!("timeouts.{timeout}")));
        assert!(
            ms > settings.request_timeout_ms,
            "timeouts.{timeout} {ms} ms must exceed request_timeout_ms {}",
            settings.request_timeout_ms
        );
    }

    // Rate limited per client address, on this route.
    let policy = find("BackendTrafficPolicy");
    assert_eq!(text(policy, "spec.targetRefs.0.kind"), "HTTPRoute");
    assert_eq!(text(policy, "spec.targetRefs.0.name"), text(route, "metadata.name"));
    let rule = req(policy, "spec.rateLimit.local.rules.0");
    assert_eq!(text(rule, "clientSelectors.0.sourceCIDR.type"), "Distinct");
    assert!(int(rule, "limit.requests") > 0);

    // The Ingress goes, and the gateway's namespace replaces ingress-nginx's
    // in the NetworkPolicy.
    let target = |kind: &str| {
        component
            .patches
            .iter()
            .find(|p| text(p, "target.kind") == kind)
            .unwrap_or_else(|| panic!("no patch for the {kind}"))
    };
    let delete = target("Ingress");
    assert_eq!(text(delete, "body.\\$patch"), "delete");
    assert_eq!(text(delete, "target.name"), text(m.one("Ingress"), "metadata.name"));
    let ops = req(target("NetworkPolicy"), "body")
        .as_sequence()
        .expect("a JSON patch");
    let values: Vec<&str> = ops.iter().map(|op| text(op, "value")).collect();
    assert_eq!(values, ["ingress-nginx", "envoy-gateway-system"]);
    let peers = req(m.one("NetworkPolicy"), "spec.ingress.0.from")
        .as_sequence()
        .unwrap();
    assert_eq!(
        text(
            &peers[0],
            "namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name"
        ),
        "ingress-nginx",
        "the patch replaces the first peer"
    );

    component.assert_used_by("k8s/overlays/gateway-api");
}

#[tokio::test]
async fn the_dev_overlay_runs_one_local_pod_and_publishes_the_docs_that_answer() {
    let m = Manifests::load();
    let dir = repo("k8s/overlays/dev");
    let overlay = parse_all(&dir.join("kustomization.yaml")).remove(0);
    let image = text(req(&overlay, "images.0"), "newName");
    assert!(image.starts_with("localhost:"), "a local registry: {image}");
    assert_eq!(int(req(&overlay, "replicas.0"), "count"), 1);
    let patches = req(&overlay, "patches").as_sequence().expect("a list");
    let hpa = patches
        .iter()
        .find(|p| text(p, "target.kind") == "HorizontalPodAutoscaler")
        .expect("the HPA is removed, or its minReplicas wins over replicas");
    assert!(text(hpa, "patch").contains("$patch: delete"));

    // The Ingress publishes the API plus the documentation, and those paths
    // answer on the real router.
    let ingress = patches
        .iter()
        .find(|p| text(p, "target.kind") == "Ingress")
        .expect("an Ingress patch");
    let ops = parse_all(&dir.join(text(ingress, "path"))).remove(0);
    let added: Vec<(&str, &str)> = ops
        .as_sequence()
        .expect("a JSON patch")
        .iter()
        .filter(|op| text(op, "op") == "add" && text(op, "path") == "/spec/rules/0/http/paths/-")
        .map(|op| (text(op, "value.path"), text(op, "value.pathType")))
        .collect();
    assert_eq!(added, [("/docs", "Prefix"), ("/openapi.json", "Exact")]);
    let settings = cluster_settings(&m.config_env());
    let state = app_state(&settings);
    for path in ["/docs/", "/openapi.json"] {
        assert_eq!(get(&state, path).await, StatusCode::OK, "GET {path}");
    }
}
