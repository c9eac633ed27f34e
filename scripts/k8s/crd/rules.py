"""Checks that the pinned CRD schemas cannot make, and the pods the platforms
would run (validated as core Pods by kubernetes-validate and checkov).

Knative: the Knative Service schema (@kubernetes-models/knative, generated
from Knative's Go types) embeds the whole Kubernetes PodSpec, but Knative's
webhook accepts only part of it. KNATIVE_* below is that part with Knative's
default feature flags, as knative.dev/serving v1.23 defines it
(pkg/apis/serving/fieldmask.go, k8s_validation.go, pkg/apis/config/features.go).
KServe's Knative deployment mode runs the predictor as a Knative Service, so
the same rules apply to it.

Cloud Run: its Admin API v1 takes a subset of Knative's fields (REST
reference, RevisionSpec and Container); securityContext is documented as
"not supported by Cloud Run".

churn-serve: what the image needs in any of these (port, probes, release
tag, model name under KServe).
"""

from __future__ import annotations

import copy
import re

KNATIVE_REVISION_FIELDS = {"containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds", "idleTimeoutSeconds"}
KNATIVE_POD_FIELDS = {"serviceAccountName", "containers", "volumes", "imagePullSecrets", "enableServiceLinks",
                      "automountServiceAccountToken"}
# Pod fields behind a feature flag that is off by default.
KNATIVE_FLAGGED_POD_FIELDS = {
    "affinity": "kubernetes.podspec-affinity",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "tolerations": "kubernetes.podspec-tolerations",
    "securityContext": "kubernetes.podspec-securitycontext",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "initContainers": "kubernetes.podspec-init-containers",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "hostIPC": "kubernetes.podspec-hostipc",
    "hostPID": "kubernetes.podspec-hostpid",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
}
KNATIVE_CONTAINER_FIELDS = {"name", "args", "command", "env", "workingDir", "envFrom", "image", "imagePullPolicy",
                            "livenessProbe", "ports", "readinessProbe", "resources", "securityContext", "startupProbe",
                            "terminationMessagePath", "terminationMessagePolicy", "volumeMounts"}
KNATIVE_SECURITY_CONTEXT = {"capabilities", "readOnlyRootFilesystem", "runAsUser", "runAsGroup", "runAsNonRoot",
                            "allowPrivilegeEscalation", "seccompProfile", "privileged"}
KNATIVE_VOLUME_SOURCES = {"secret", "configMap", "projected", "emptyDir"}  # emptyDir: on by default
KNATIVE_PROBE_FIELDS = {"httpGet", "tcpSocket", "exec", "grpc", "initialDelaySeconds", "timeoutSeconds",
                        "periodSeconds", "successThreshold", "failureThreshold", "terminationGracePeriodSeconds"}
KNATIVE_PORT_NAMES = {"", "http1", "h2c"}
# queue-proxy and its admin, metrics and profiling ports.
KNATIVE_RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}
KNATIVE_RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
KNATIVE_MAX_TIMEOUT = 600  # config-defaults max-revision-timeout-seconds
KNATIVE_MAX_CONCURRENCY = 1000  # config-defaults container-concurrency-max-limit
KNATIVE_SCALE = {"min": ("autoscaling.knative.dev/min-scale", "autoscaling.knative.dev/minScale"),
                 "max": ("autoscaling.knative.dev/max-scale", "autoscaling.knative.dev/maxScale")}

CLOUD_RUN_REVISION_FIELDS = {"containerConcurrency", "timeoutSeconds", "serviceAccountName", "containers", "volumes",
                             "imagePullSecrets", "enableServiceLinks", "nodeSelector", "runtimeClassName"}
CLOUD_RUN_CONTAINER_FIELDS = {"name", "image", "command", "args", "env", "resources", "workingDir", "ports", "envFrom",
                              "volumeMounts", "livenessProbe", "readinessProbe", "startupProbe",
                              "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy"}
CLOUD_RUN_MAX_TIMEOUT = 3600

# KServe: the container KServe serves from, and what its ModelSpec adds to a
# container (not container fields).
KSERVE_CONTAINER = "kserve-container"
KSERVE_MODEL_ONLY = {"modelFormat", "runtime", "runtimeVersion", "protocolVersion", "storageUri", "storage"}
KSERVE_MODEL_DIR = "/mnt/models"

CHURN_PROBES = {"startupProbe": "/health", "readinessProbe": "/health/ready", "livenessProbe": "/health/live"}


def name_of(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def env_value(container: dict, name: str):
    for e in container.get("env") or []:
        if e.get("name") == name:
            return e.get("value", e.get("valueFrom"))
    return None


def knative_pod(spec: dict, where: str) -> list[str]:
    """Knative's rules for a revision template's spec (or a KServe predictor pod)."""
    errors = []
    for field in spec:
        if field in KNATIVE_REVISION_FIELDS or field in KNATIVE_POD_FIELDS:
            continue
        flag = KNATIVE_FLAGGED_POD_FIELDS.get(field)
        errors.append(f"{where}.{field}: Knative refuses it" + (f" unless feature flag {flag} is enabled" if flag else ""))
    if spec.get("automountServiceAccountToken") is True:
        errors.append(f"{where}.automountServiceAccountToken: Knative accepts only false")
    timeout = spec.get("timeoutSeconds")
    if timeout is not None and not 0 < timeout <= KNATIVE_MAX_TIMEOUT:
        errors.append(f"{where}.timeoutSeconds: {timeout} is outside Knative's default 1-{KNATIVE_MAX_TIMEOUT}")
    cc = spec.get("containerConcurrency")
    if cc is not None and not 0 <= cc <= KNATIVE_MAX_CONCURRENCY:
        errors.append(f"{where}.containerConcurrency: {cc} is outside 0-{KNATIVE_MAX_CONCURRENCY}")
    for i, vol in enumerate(spec.get("volumes") or []):
        for source in set(vol) - {"name"} - KNATIVE_VOLUME_SOURCES:
            errors.append(f"{where}.volumes[{i}].{source}: not a volume type Knative allows by default")
    containers = spec.get("containers") or []
    serving = [c for c in containers if c.get("ports")]
    if len(containers) == 1 and not serving:
        serving = containers
    if len(serving) != 1:
        errors.append(f"{where}.containers: exactly one container must have a port (the one Knative routes to)")
    for i, c in enumerate(containers):
        at = f"{where}.containers[{i}]"
        for field in set(c) - KNATIVE_CONTAINER_FIELDS:
            errors.append(f"{at}.{field}: Knative refuses it")
        ports = c.get("ports") or []
        if len(ports) > 1:
            errors.append(f"{at}.ports: Knative allows one port per container")
        for p in ports[:1]:
            if p.get("name", "") not in KNATIVE_PORT_NAMES:
                errors.append(f"{at}.ports[0].name: {p.get('name')!r} is not one of '', 'http1', 'h2c'")
            if p.get("protocol", "TCP") != "TCP":
                errors.append(f"{at}.ports[0].protocol: Knative allows only TCP")
            if p.get("containerPort") in KNATIVE_RESERVED_PORTS:
                errors.append(f"{at}.ports[0].containerPort: {p['containerPort']} is reserved by Knative's queue-proxy")
            for field in set(p) - {"name", "containerPort", "protocol"}:
                errors.append(f"{at}.ports[0].{field}: Knative refuses it")
        for e in c.get("env") or []:
            if e.get("name") in KNATIVE_RESERVED_ENV:
                errors.append(f"{at}.env {e['name']}: reserved, Knative sets it")
        sc = c.get("securityContext") or {}
        for field in set(sc) - KNATIVE_SECURITY_CONTEXT:
            errors.append(f"{at}.securityContext.{field}: Knative refuses it")
        if sc.get("privileged") is True:
            errors.append(f"{at}.securityContext.privileged: Knative accepts only false")
        if (sc.get("capabilities") or {}).get("add"):
            errors.append(f"{at}.securityContext.capabilities.add: Knative refuses it by default")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            pr = c.get(probe)
            if not pr:
                continue
            for field in set(pr) - KNATIVE_PROBE_FIELDS:
                errors.append(f"{at}.{probe}.{field}: Knative refuses it")
            handler = pr.get("httpGet") or pr.get("tcpSocket")
            if handler and ports and "port" in handler:
                port = handler["port"]
                if isinstance(port, str) and port != ports[0].get("name"):
                    errors.append(f"{at}.{probe}: port {port!r} must be the container port's name or number")
                if isinstance(port, int) and port != ports[0].get("containerPort"):
                    errors.append(f"{at}.{probe}: port {port} is not the container port")
        for i_m, m in enumerate(c.get("volumeMounts") or []):
            for field in set(m) - {"name", "readOnly", "mountPath", "subPath"}:
                errors.append(f"{at}.volumeMounts[{i_m}].{field}: Knative refuses it by default")
    return errors


def knative_scale(annotations: dict, where: str) -> list[str]:
    errors, values = [], {}
    for bound, keys in KNATIVE_SCALE.items():
        present = [k for k in keys if k in annotations]
        if len(present) > 1:
            errors.append(f"{where}: both {present[0]} and {present[1]}")
        for k in present:
            v = annotations[k]
            if not re.fullmatch(r"\d+", str(v)):
                errors.append(f"{where}.{k}: {v!r} is not a whole number")
            else:
                values[bound] = int(v)
    if values.get("max", 0) and values.get("min", 0) > values["max"]:
        errors.append(f"{where}: min scale {values['min']} is above max scale {values['max']}")
    return errors


def knative_service(doc: dict) -> list[str]:
    template = doc.get("spec", {}).get("template", {})
    where = f"{name_of(doc)} spec.template"
    return (knative_scale((template.get("metadata") or {}).get("annotations") or {}, f"{where}.metadata.annotations")
            + knative_pod(template.get("spec") or {}, f"{where}.spec"))


def cloud_run_service(doc: dict) -> list[str]:
    errors = []
    where = f"{name_of(doc)} spec.template.spec"
    spec = doc.get("spec", {}).get("template", {}).get("spec") or {}
    for field in set(spec) - CLOUD_RUN_REVISION_FIELDS:
        errors.append(f"{where}.{field}: not in Cloud Run's API")
    if spec.get("timeoutSeconds", 0) > CLOUD_RUN_MAX_TIMEOUT:
        errors.append(f"{where}.timeoutSeconds: Cloud Run allows at most {CLOUD_RUN_MAX_TIMEOUT}")
    if doc.get("metadata", {}).get("namespace"):
        errors.append(f"{name_of(doc)} metadata.namespace: on Cloud Run this is the project; leave it to gcloud")
    for i, c in enumerate(spec.get("containers") or []):
        at = f"{where}.containers[{i}]"
        for field in set(c) - CLOUD_RUN_CONTAINER_FIELDS:
            errors.append(f"{at}.{field}: not supported by Cloud Run")
        limits = (c.get("resources") or {}).get("limits") or {}
        for res in ("cpu", "memory"):
            if res not in limits:
                errors.append(f"{at}.resources.limits.{res}: Cloud Run sizes instances by limits; set it")
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref and not re.fullmatch(r"latest|\d+", str(ref.get("key", ""))):
                errors.append(f"{at}.env {e.get('name')}: secretKeyRef.key must be a Secret Manager version (a number or latest)")
    return errors


def probe_port(container: dict) -> int | None:
    ports = container.get("ports") or []
    return ports[0].get("containerPort") if ports else None


def churn_container(container: dict, where: str, image_tag: str | None, platform: str) -> list[str]:
    """The churn-serve image's needs: it listens on CHURN_PORT, else PORT
    (which Knative and Cloud Run set to the container port)."""
    errors = []
    image = container.get("image", "")
    if image_tag and not image.endswith(f":{image_tag}"):
        errors.append(f"{where}.image: {image!r} is not the release tag {image_tag} (k8s/base/kustomization.yaml)")
    port = probe_port(container)
    churn_port = env_value(container, "CHURN_PORT")
    if platform == "kserve-standard" and churn_port is None:
        errors.append(f"{where}.env CHURN_PORT: KServe's Standard mode sets no PORT; set CHURN_PORT to the container port")
    if churn_port is not None and str(churn_port) != str(port):
        errors.append(f"{where}.env CHURN_PORT={churn_port}: the service would not listen on the container port {port}")
    for probe, path in CHURN_PROBES.items():
        get = (container.get(probe) or {}).get("httpGet")
        if container.get(probe) and not get:
            errors.append(f"{where}.{probe}: expected an httpGet probe on {path}")
        elif get and get.get("path") != path:
            errors.append(f"{where}.{probe}.httpGet.path: {get.get('path')!r}, the service answers it on {path}")
    if not container.get("startupProbe") or not container.get("livenessProbe"):
        errors.append(f"{where}: startupProbe and livenessProbe are required")
    return errors


# ---- KServe -----------------------------------------------------------------

def kserve_mode(isvc: dict) -> str:
    mode = (isvc.get("metadata", {}).get("annotations") or {}).get("serving.kserve.io/deploymentMode", "")
    return "kserve-standard" if mode in ("Standard", "RawDeployment") else "kserve-knative"


def render_placeholders(value, meta: dict):
    """KServe runs the runtime container through Go's text/template with the
    InferenceService's ObjectMeta; the fields used in practice."""
    if isinstance(value, str):
        def sub(m):
            key = m.group(1)
            if key not in ("Name", "Namespace"):
                raise ValueError(f"unsupported placeholder {m.group(0)}")
            return meta.get(key.lower(), "")
        return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", sub, value)
    if isinstance(value, list):
        return [render_placeholders(v, meta) for v in value]
    if isinstance(value, dict):
        return {k: render_placeholders(v, meta) for k, v in value.items()}
    return value


def merge_container(runtime: dict, override: dict) -> dict:
    """A strategic merge as KServe does it: env and ports by name, the rest replaced."""
    merged = copy.deepcopy(runtime)
    for key, value in override.items():
        if key in ("env", "ports", "volumeMounts") and isinstance(value, list):
            by = "mountPath" if key == "volumeMounts" else "name"
            items = {item.get(by): item for item in merged.get(key) or []}
            for item in value:
                items[item.get(by)] = item
            merged[key] = list(items.values())
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def kserve_pod(isvc: dict, runtimes: dict, component_fields: set[str]) -> tuple[dict | None, list[str]]:
    """The predictor pod KServe would create, and what is wrong on the way."""
    errors = []
    where = f"{name_of(isvc)} spec.predictor"
    meta = isvc.get("metadata", {})
    predictor = isvc.get("spec", {}).get("predictor") or {}
    model = predictor.get("model")
    if not model:
        return None, [f"{where}.model: expected a model (this repository's InferenceServices use a ServingRuntime)"]
    runtime_name = model.get("runtime")
    key = (meta.get("namespace"), runtime_name)
    runtime = runtimes.get(key) or runtimes.get((None, runtime_name))
    if runtime is None:
        return None, [f"{where}.model.runtime: no ServingRuntime {runtime_name!r} in namespace {meta.get('namespace')!r} among the rendered manifests"]
    rspec = runtime["spec"]
    fmt = model.get("modelFormat") or {}
    supported = [f for f in rspec.get("supportedModelFormats") or []
                 if f.get("name") == fmt.get("name") and (fmt.get("version") is None or f.get("version") == fmt.get("version"))]
    if not supported:
        errors.append(f"{where}.model.modelFormat: {fmt} is not in ServingRuntime {runtime_name}'s supportedModelFormats")
    protocol = model.get("protocolVersion")
    if protocol and protocol not in (rspec.get("protocolVersions") or []):
        errors.append(f"{where}.model.protocolVersion: {protocol} is not one of the runtime's {rspec.get('protocolVersions')}")
    containers = rspec.get("containers") or []
    main = [c for c in containers if c.get("name") == KSERVE_CONTAINER]
    if len(main) != 1:
        return None, errors + [f"ServingRuntime/{runtime_name}: needs one container named {KSERVE_CONTAINER}"]
    override = {k: v for k, v in model.items() if k not in KSERVE_MODEL_ONLY}
    try:
        container = render_placeholders(merge_container(main[0], override), meta)
    except ValueError as e:
        return None, errors + [f"ServingRuntime/{runtime_name}: {e}"]
    container["name"] = KSERVE_CONTAINER
    pod_spec = {k: copy.deepcopy(v) for k, v in rspec.items()
                if k not in ("supportedModelFormats", "protocolVersions", "multiModel", "disabled", "builtInAdapter",
                             "storageHelper", "grpcEndpoint", "grpcDataEndpoint", "httpDataEndpoint", "replicas",
                             "workerSpec", "annotations", "labels", "containers")}
    for k, v in predictor.items():
        if k in component_fields or k == "model":
            continue
        if k == "volumes":
            pod_spec["volumes"] = list({v_["name"]: v_ for v_ in (pod_spec.get("volumes") or []) + v}.values())
        else:
            pod_spec[k] = copy.deepcopy(v)
    pod_spec["containers"] = [container] + [copy.deepcopy(c) for c in containers if c.get("name") != KSERVE_CONTAINER]
    # The storage initializer's volume, which KServe adds with the init container.
    if model.get("storageUri"):
        pod_spec.setdefault("volumes", []).append({"name": "kserve-provision-location", "emptyDir": {}})
        container.setdefault("volumeMounts", []).append(
            {"name": "kserve-provision-location", "mountPath": KSERVE_MODEL_DIR, "readOnly": True})
    mode = kserve_mode(isvc)
    if mode == "kserve-knative":
        errors += knative_pod({k: v for k, v in pod_spec.items()}, f"{where} (as Knative runs it)")
        # KServe's own fields that it passes to Knative.
        for k in ("containerConcurrency", "timeout"):
            if k in predictor and not isinstance(predictor[k], int):
                errors.append(f"{where}.{k}: expected a whole number")
    # churn-serve's contract under KServe.
    if container.get("image", "").split("@")[0].split(":")[0].endswith("churn-serve"):
        name = env_value(container, "CHURN_MODEL_NAME")
        if name != meta.get("name"):
            errors.append(f"{where}: CHURN_MODEL_NAME is {name!r}; KServe routes /v2/models/{meta.get('name')}/ to it")
        if model.get("storageUri"):
            path = env_value(container, "MODEL_PATH") or ""
            if not str(path).startswith(KSERVE_MODEL_DIR + "/") or env_value(container, "MODEL_URI"):
                errors.append(f"{where}: with storageUri the model is under {KSERVE_MODEL_DIR}/ (MODEL_PATH), and MODEL_URI must be unset")
        elif not env_value(container, "MODEL_URI"):
            errors.append(f"{where}: without storageUri, MODEL_URI must say where the model comes from")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{meta.get('name')}-predictor",
            "namespace": meta.get("namespace"),
            "labels": dict(rspec.get("labels") or {}, **(predictor.get("labels") or {})),
            "annotations": dict(rspec.get("annotations") or {}, **(predictor.get("annotations") or {})),
        },
        "spec": pod_spec,
    }
    return pod, errors


def knative_revision_pod(doc: dict) -> dict:
    """The revision pod's spec as a core Pod: Knative's own fields removed,
    probe ports filled in as Knative does (it points them at the user port)."""
    template = copy.deepcopy(doc.get("spec", {}).get("template") or {})
    spec = {k: v for k, v in (template.get("spec") or {}).items() if k not in KNATIVE_REVISION_FIELDS}
    for c in spec.get("containers") or []:
        port = probe_port(c) or 8080
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            for handler in ("httpGet", "tcpSocket"):
                h = (c.get(probe) or {}).get(handler)
                if h is not None and "port" not in h:
                    h["port"] = port
    meta = doc.get("metadata", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{meta.get('name')}-revision", "namespace": meta.get("namespace"),
                     "labels": (template.get("metadata") or {}).get("labels") or {},
                     "annotations": {}},
        "spec": spec,
    }
