"""JSON Schemas for KServe's custom resources, built from the pinned KServe
Python SDK wheel (kserve-requirements.txt) and the Kubernetes API schemas
that ship with kubernetes-validate.

No registry package carries KServe's CRD YAML. The SDK's models are
generated (openapi-generator) from the OpenAPI document that KServe produces
from its Go API types, the same types controller-gen turns into the CRDs, so
they name every field of every KServe type. Each model is read with `ast`
(nothing is imported: the SDK's dependencies are not installed):

    openapi_types = {'storage_uri': 'str', 'containers': 'list[V1Container]', ...}
    attribute_map = {'storage_uri': 'storageUri', ...}

KServe types become closed objects (additionalProperties false, as the API
server prunes and strict field validation rejects unknown fields); fields
whose setter refuses None (required in the Go types) are required. Kubernetes
types (V1Container, V1Volume, ...) resolve to kubernetes-validate's strict
definitions for the Kubernetes version asked for. What the SDK does not
carry, and so is not checked here: enums, patterns and bounds from
kubebuilder markers, and CEL rules (rules.py checks what matters for
this repository).
"""

from __future__ import annotations

import ast
import functools
import json
import re
import zipfile
from pathlib import Path

import kubernetes_validate

MODELS = "kserve/models/"

# apiVersion/kind -> the SDK model of the whole object.
KINDS = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "V1beta1InferenceService",
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): "V1alpha1ServingRuntime",
    ("serving.kserve.io/v1alpha1", "ClusterServingRuntime"): "V1alpha1ClusterServingRuntime",
}

# SDK names of Kubernetes types that the Kubernetes schemas name differently.
K8S_ALIASES = {
    "ResourceQuantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "V1Time": "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
}
# Types the SDK names but does not define (generator gaps; the Go types are
# WorkerSpec of v1alpha1, MetricQuantity, and a Knative status type): left
# open. Any other unknown name stops the build, so a new gap is seen.
SDK_GAPS = {"V1alpha1WorkerSpec", "V1beta1MetricQuantity", "KnativeDevServingPkgApisServingV1TrafficTarget"}
# Where a Kubernetes type name is looked for, in this order (V1Condition and
# friends exist in several groups; the core and meta ones are what KServe embeds).
K8S_PREFIXES = (
    "io.k8s.api.core.v1.",
    "io.k8s.apimachinery.pkg.apis.meta.v1.",
    "io.k8s.apimachinery.pkg.api.resource.",
    "io.k8s.api.apps.v1.",
    "io.k8s.api.autoscaling.v2.",
    "io.k8s.api.networking.v1.",
)


@functools.cache
def read_models(wheel: Path) -> dict[str, dict]:
    """SDK class name -> {"types": {attr: type}, "json": {attr: key}, "required": {attr}}."""
    models = {}
    with zipfile.ZipFile(wheel) as whl:
        for name in whl.namelist():
            if not (name.startswith(MODELS) and name.endswith(".py")) or name.endswith("__init__.py"):
                continue
            tree = ast.parse(whl.read(name).decode("utf-8"), filename=name)
            for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
                model = {"types": {}, "json": {}, "required": set()}
                for stmt in cls.body:
                    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                        if stmt.targets[0].id == "openapi_types":
                            model["types"] = ast.literal_eval(stmt.value)
                        elif stmt.targets[0].id == "attribute_map":
                            model["json"] = ast.literal_eval(stmt.value)
                    # Required fields: the generated setter raises "Invalid value
                    # for `x`, must not be `None`".
                    if isinstance(stmt, ast.FunctionDef):
                        for const in ast.walk(stmt):
                            if isinstance(const, ast.Constant) and isinstance(const.value, str):
                                m = re.match(r"Invalid value for `(\w+)`, must not be `None`", const.value)
                                if m:
                                    model["required"].add(m.group(1))
                if model["types"]:
                    models[cls.name] = model
    if not models:
        raise SystemExit(f"{wheel}: no models under {MODELS}")
    return models


def k8s_definitions(version: str) -> dict:
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    with open(base / "_definitions.json", encoding="utf-8") as f:
        return json.load(f)


class Builder:
    def __init__(self, models: dict, k8s: dict):
        self.models = models
        self.k8s_defs = k8s["$defs"]
        self.defs: dict[str, dict] = {}
        self.k8s_used: set[str] = set()
        self.unresolved: set[str] = set()
        self.gaps: set[str] = set()

    def k8s_ref(self, sdk_name: str) -> dict:
        if sdk_name in SDK_GAPS:
            self.gaps.add(sdk_name)
            return {}
        if sdk_name in K8S_ALIASES:
            key = K8S_ALIASES[sdk_name]
        elif m := re.fullmatch(r"K8sIoApi([A-Z][a-z]+)(V\d+(?:(?:alpha|beta)\d+)?)(\w+)", sdk_name):
            key = f"io.k8s.api.{m.group(1).lower()}.{m.group(2).lower()}.{m.group(3)}"
        else:
            m = re.fullmatch(r"V1(\w+)", sdk_name)
            key = next((p + m.group(1) for p in K8S_PREFIXES if m and p + m.group(1) in self.k8s_defs), None)
        if key is None or key not in self.k8s_defs:
            self.unresolved.add(sdk_name)
            return {}
        self.k8s_used.add(key)
        return {"$ref": f"#/$defs/{key}"}

    def type_schema(self, t: str) -> dict:
        t = t.strip()
        if m := re.fullmatch(r"list\[(.+)\]", t):
            return {"type": ["array", "null"], "items": self.type_schema(m.group(1))}
        if m := re.fullmatch(r"dict\(str, ?(.+)\)", t):
            return {"type": ["object", "null"], "additionalProperties": self.type_schema(m.group(1))}
        simple = {
            "str": {"type": ["string", "null"]},
            "int": {"type": ["integer", "null"]},
            "float": {"type": ["number", "null"]},
            "bool": {"type": ["boolean", "null"]},
            "datetime": {"type": ["string", "null"]},
            "date": {"type": ["string", "null"]},
            # Go's runtime.RawExtension / apiextensions JSON: any value.
            "object": {},
        }
        if t in simple:
            return simple[t]
        if t in self.models:
            return self.model_ref(t)
        return self.k8s_ref(t)

    def model_ref(self, name: str) -> dict:
        key = f"kserve.{name}"
        if key not in self.defs:
            self.defs[key] = {}  # placeholder against recursion
            model = self.models[name]
            props = {model["json"][a]: self.type_schema(t) for a, t in model["types"].items()}
            self.defs[key] = {
                "type": ["object", "null"],
                "properties": props,
                "required": sorted(model["json"][a] for a in model["required"]),
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{key}"}

    def kind_schema(self, api_version: str, kind: str, model: str) -> dict:
        ref = self.model_ref(model)
        top = dict(self.defs[f"kserve.{model}"])
        props = dict(top["properties"])
        props["apiVersion"] = {"const": api_version}
        props["kind"] = {"const": kind}
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": props,
            "required": sorted(set(top["required"]) | {"apiVersion", "kind", "metadata", "spec"}),
            "additionalProperties": False,
            "$defs": self.defs,
            "$comment": ref["$ref"],
        }


def build(wheel: Path, k8s_version: str) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> a self-contained draft 2020-12 schema."""
    models = read_models(wheel)
    k8s = k8s_definitions(k8s_version)
    builder = Builder(models, k8s)
    schemas = {gvk: builder.kind_schema(*gvk, model) for gvk, model in KINDS.items()}
    if builder.unresolved:
        raise SystemExit(f"kserve_schema: SDK types with no schema: {', '.join(sorted(builder.unresolved))}")
    # The Kubernetes definitions refer to each other as #/$defs/...: carry all.
    for schema in schemas.values():
        schema["$defs"] = {**k8s["$defs"], **builder.defs}
    return schemas


def sdk_fields(wheel: Path, model: str) -> set[str]:
    """JSON field names of one SDK model (rules.py uses it to tell KServe's
    component fields from the embedded PodSpec's)."""
    m = read_models(wheel)[model]
    return set(m["json"].values())
