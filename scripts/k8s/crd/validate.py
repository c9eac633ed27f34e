"""Schema checks for custom resources, which kubernetes-validate cannot do.

    validate.py split --k8s-version V RENDERED...
        Write the objects kubernetes-validate knows (Kubernetes V's API) of
        each RENDERED.yaml to RENDERED.core.yaml and the rest to
        RENDERED.custom.yaml; print the counts.
    validate.py check [options] FILE...
        Validate every custom resource in FILE... (multi-document YAML) against
        the schema of its kind, and fail on any kind without one:
          - the CRD schemas of the pinned @kubernetes-models packages
            (package.json here; models.mjs runs them and rejects fields the
            schema does not define),
          - KServe's, built from the pinned KServe SDK wheel (kserve_schema.py),
        plus the rules schemas cannot express (rules.py).
        --kserve-wheel W     the pinned wheel (kserve-requirements.txt)
        --k8s-version V      Kubernetes schemas for the types KServe embeds
        --image-tag T        churn-serve images must carry this tag
        --cloud-run FILE     FILE is also deployed to Cloud Run: its rules too
        --pods-out DIR       write the pods that Knative and KServe would run,
                             one FILE.pods.yaml each, for kubernetes-validate
                             and checkov
    validate.py self-test --kserve-wheel W --k8s-version V
        Every document under selftest/ must come out as its comment says:
        "# expect: valid", or "# expect: <text of an error>".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import kserve_schema  # noqa: E402
import rules  # noqa: E402

# checkov checks that cannot hold for a platform's pods, and why. The derived
# pods carry these as checkov.io/skip annotations, so they show as skipped
# with the reason, and every other check of scripts/check_k8s.sh applies.
SKIPS = {
    "all": {
        "CKV2_K8S_6": "the platform creates these pods; no NetworkPolicy in this repository selects them",
        "CKV_K8S_35": "API_KEYS comes from a secretKeyRef, the way Cloud Run documents (and KServe runtimes use) secrets",
    },
    "knative": {
        "CKV_K8S_29": "Knative refuses a pod-level securityContext by default; the container's carries every setting",
    },
    "cloud-run": {
        "CKV_K8S_9": "Cloud Run gates traffic on the startup probe (the Knative form adds a readiness probe)",
        "CKV_K8S_10": "Cloud Run takes resource limits only",
        "CKV_K8S_12": "Cloud Run takes resource limits only",
        "CKV_K8S_20": "securityContext is not supported by Cloud Run (sandboxed instances)",
        "CKV_K8S_22": "securityContext is not supported by Cloud Run (sandboxed instances)",
        "CKV_K8S_23": "securityContext is not supported by Cloud Run; the image's USER is 65532",
        "CKV_K8S_28": "securityContext is not supported by Cloud Run (sandboxed instances)",
        "CKV_K8S_29": "securityContext is not supported by Cloud Run (sandboxed instances)",
        "CKV_K8S_30": "securityContext is not supported by Cloud Run (sandboxed instances)",
        "CKV_K8S_31": "securityContext is not supported by Cloud Run (sandboxed instances)",
        "CKV_K8S_37": "securityContext is not supported by Cloud Run (sandboxed instances)",
        "CKV_K8S_21": "on Cloud Run the namespace is the Google Cloud project",
        "CKV_K8S_38": "Cloud Run pods get no Kubernetes service account token",
        "CKV_K8S_40": "securityContext is not supported by Cloud Run; the image's USER is 65532",
        "CKV_K8S_41": "Cloud Run's service account is a Google one, set per project",
    },
}


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def dump(docs: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def core_kinds(version: str) -> set[tuple[str, str]]:
    """(apiVersion, kind) pairs of Kubernetes version's own API."""
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    with open(base / "_definitions.json", encoding="utf-8") as f:
        defs = json.load(f)["$defs"]
    kinds = set()
    for schema in defs.values():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            api = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            kinds.add((api, gvk["kind"]))
    return kinds


def kinds_summary(docs: list[dict]) -> str:
    return " ".join(sorted(d.get("kind", "?") for d in docs)) or "-"


def cmd_split(args) -> int:
    known = core_kinds(args.k8s_version)
    for rendered in map(Path, args.rendered):
        docs = load(rendered)
        core = [d for d in docs if (d.get("apiVersion"), d.get("kind")) in known]
        custom = [d for d in docs if (d.get("apiVersion"), d.get("kind")) not in known]
        dump(core, rendered.with_suffix(".core.yaml"))
        dump(custom, rendered.with_suffix(".custom.yaml"))
        print(f"{rendered.name}: {len(docs)} objects = {len(core)} core ({kinds_summary(core)})"
              f" + {len(custom)} custom ({kinds_summary(custom)})")
    return 0


class Validator:
    def __init__(self, wheel: Path, k8s_version: str, image_tag: str | None = None):
        self.kserve = {gvk: jsonschema.Draft202012Validator(s) for gvk, s in kserve_schema.build(wheel, k8s_version).items()}
        self.kserve_source = f"kserve@{wheel.name.split('-')[1]} (SDK models) + Kubernetes {k8s_version}"
        self.component_fields = kserve_schema.sdk_fields(wheel, "V1beta1PredictorSpec") - kserve_schema.sdk_fields(
            wheel, "V1beta1PodSpec")
        self.image_tag = image_tag

    @staticmethod
    def npm_check(docs: list[dict]) -> list[dict]:
        """One node process for all documents (loading the packages is most of its time)."""
        run = subprocess.run(["node", str(HERE / "models.mjs")], input=json.dumps(
            [{"id": i, "doc": d} for i, d in enumerate(docs)]), capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"models.mjs failed:\n{run.stderr}")
        return sorted(json.loads(run.stdout), key=lambda r: r["id"])

    def check(self, files: dict[str, list[dict]], cloud_run: set[str]) -> tuple[dict, dict, dict]:
        """-> (errors by file, summary lines by file, derived pods by file)."""
        errors = {f: [] for f in files}
        sources = {f: [] for f in files}
        pods = {f: [] for f in files}
        # Every kind KServe's schemas do not cover goes to the npm packages;
        # models.mjs answers "no schema" for a kind none of them has.
        flat = [(f, d) for f, docs in files.items() for d in docs if (d.get("apiVersion"), d.get("kind")) not in self.kserve]
        for (f, d), r in zip(flat, self.npm_check([d for _, d in flat]) if flat else []):
            if r["source"] is None:
                errors[f].append(f"{rules.name_of(d)}: no schema for {d.get('apiVersion')} {d.get('kind')} (add a "
                                 "pinned package with its CRD schema, or keep the kind out of the manifests)")
                continue
            sources[f].append(f"{d['kind']} ({r['source']})")
            errors[f] += [f"{rules.name_of(d)} {e}" for e in r["errors"]]
            errors[f] += [f"{rules.name_of(d)} {u[1:]}: unknown field (not in the {d['apiVersion']} {d['kind']} schema)"
                          for u in r["unknown"]]
        runtimes = {}
        for f, docs in files.items():
            for d in docs:
                if (d.get("apiVersion"), d.get("kind")) == ("serving.kserve.io/v1alpha1", "ServingRuntime"):
                    runtimes[(d["metadata"].get("namespace"), d["metadata"]["name"])] = d
        for f, docs in files.items():
            for d in docs:
                gvk = (d.get("apiVersion"), d.get("kind"))
                if gvk in self.kserve:
                    sources[f].append(f"{d['kind']} ({self.kserve_source})")
                    for e in sorted(self.kserve[gvk].iter_errors(d), key=lambda e: list(map(str, e.absolute_path))):
                        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)[1:]
                        if e.validator == "additionalProperties" and e.validator_value is False:
                            for extra in sorted(set(e.instance) - set(e.schema.get("properties", {}))):
                                errors[f].append(f"{rules.name_of(d)} {path + '.' if path else ''}{extra}: unknown field "
                                                 f"(not in the {gvk[0]} {gvk[1]} schema)")
                        else:
                            msg = e.message if len(e.message) < 200 else e.message[:200] + "..."
                            errors[f].append(f"{rules.name_of(d)} {path or '(top)'}: {msg}")
                # Rules and the pods the platforms would run.
                if gvk == ("serving.knative.dev/v1", "Service"):
                    errors[f] += rules.knative_service(d)
                    platform = "knative"
                    if f in cloud_run:
                        errors[f] += rules.cloud_run_service(d)
                        platform = "cloud-run"
                    pod = rules.knative_revision_pod(d)
                    errors[f] += self.churn_rules(pod, platform)
                    pods[f].append(with_skips(pod, platform))
                elif gvk == ("serving.kserve.io/v1beta1", "InferenceService"):
                    pod, errs = rules.kserve_pod(d, runtimes, self.component_fields)
                    errors[f] += errs
                    if pod:
                        mode = rules.kserve_mode(d)
                        errors[f] += self.churn_rules(pod, mode)
                        pods[f].append(with_skips(pod, "knative" if mode == "kserve-knative" else "kserve"))
        return errors, sources, pods

    def churn_rules(self, pod: dict, platform: str) -> list[str]:
        out = []
        for i, c in enumerate(pod["spec"].get("containers") or []):
            if c.get("image", "").split("@")[0].rsplit(":", 1)[0].endswith("churn-serve"):
                out += rules.churn_container(c, f"{pod['metadata']['name']} containers[{i}]", self.image_tag, platform)
        return out


def with_skips(pod: dict, platform: str) -> dict:
    skips = dict(SKIPS["all"])
    if platform in ("knative", "cloud-run"):
        skips.update(SKIPS["knative"])
    if platform == "cloud-run":
        skips.update(SKIPS["cloud-run"])
    annotations = pod["metadata"].setdefault("annotations", {})
    for n, (check, why) in enumerate(sorted(skips.items()), 1):
        annotations[f"checkov.io/skip{n}"] = f"{check}={why}"
    return pod


def cmd_check(args) -> int:
    files = {f: load(Path(f)) for f in args.files}
    validator = Validator(Path(args.kserve_wheel), args.k8s_version, args.image_tag)
    errors, sources, pods = validator.check(files, set(args.cloud_run or []))
    failed = False
    for f in args.files:
        docs = files[f]
        name = Path(f).name
        bad = errors[f]
        kinds = ", ".join(sources[f]) or "-"
        if bad:
            failed = True
            print(f"{name}: FAILED ({len(bad)} problems in {len(docs)} custom resources)")
            for e in bad:
                print(f"  {e}")
        else:
            print(f"{name}: {len(docs)} of {len(docs)} custom resources valid: {kinds}")
        if args.pods_out and pods[f]:
            out = Path(args.pods_out) / (Path(f).name.removesuffix(".yaml") + ".pods.yaml")
            dump(pods[f], out)
            print(f"  {len(pods[f])} derived pod(s) -> {out.name}")
    return 1 if failed else 0


def cmd_self_test(args) -> int:
    validator = Validator(Path(args.kserve_wheel), args.k8s_version, "0.1.0")
    cases, expects, cloud_run = {}, {}, set()
    for case in sorted((HERE / "selftest").glob("*.yaml")):
        texts = case.read_text(encoding="utf-8").split("\n---\n")
        for n, text in enumerate(texts):
            expect = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                           if line.startswith("# expect:")), None)
            docs = [d for d in yaml.safe_load_all(text) if d]
            if expect is None or not docs:
                continue
            key = f"{case.name}#{n}"
            cases[key], expects[key] = docs, expect
            if case.name.startswith("cloud-run"):
                cloud_run.add(key)
    # One run: InferenceService cases find the valid ServingRuntime of their
    # file among all the cases (runtimes are looked up by namespace and name).
    errors, _, _ = validator.check(cases, cloud_run)
    failures = 0
    for key, expect in expects.items():
        got = errors[key]
        if not (not got if expect == "valid" else any(expect in e for e in got)):
            failures += 1
            print(f"self-test {key}: expected {expect!r}, got {got or 'no error'}")
    print(f"self-test: {len(expects) - failures} passed, {failures} failed")
    return 1 if failures or not expects else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("rendered", nargs="+")
    s.add_argument("--k8s-version", required=True)
    c = sub.add_parser("check")
    c.add_argument("files", nargs="+")
    c.add_argument("--kserve-wheel", required=True)
    c.add_argument("--k8s-version", required=True)
    c.add_argument("--image-tag")
    c.add_argument("--cloud-run", action="append")
    c.add_argument("--pods-out")
    t = sub.add_parser("self-test")
    t.add_argument("--kserve-wheel", required=True)
    t.add_argument("--k8s-version", required=True)
    args = p.parse_args()
    return {"split": cmd_split, "check": cmd_check, "self-test": cmd_self_test}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
