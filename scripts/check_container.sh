#!/usr/bin/env bash
# Container checks, as CI runs them:
#   1. lint: hadolint (Dockerfile), yamllint, docker compose config, the
#      compose-spec schema, promtool (config, rules, rule unit tests), the
#      Grafana dashboard's JSON;
#   2. build the Dockerfile for real with buildah (overlay storage, or vfs
#      where overlay cannot be mounted; chroot
#      isolation) on local stand-ins for its base images, which cannot be
#      pulled here: debootstrap'ed Debian bookworm roots (their .debs are
#      cached under .cache/container/debs);
#      Base images are pinned by tag@digest in the Dockerfile; the stand-ins
#      take the tag alone and are passed as --build-arg. The build also gets
#      REVISION (git HEAD) and CREATED (build time) for the OCI labels;
#   3. the image's labels (revision = HEAD, created = RFC 3339 within the
#      build) and its SBOM (/app/sbom.cdx.json: CycloneDX schema-valid,
#      churn-serve and its crates at their Cargo.lock versions);
#   4. run the image with podman: /health, non-root UID, `podman healthcheck
#      run`, golden predictions, JSON logs, image size < 120 MB;
#   5. scrape it with Debian's Prometheus using the project's own scrape
#      config and alert rules; every dashboard query runs against it, and
#      every metric the dashboard and the alerts use must be in /metrics;
#   6. SIGTERM stops the container with exit code 0.
# Installs its own tools (apt packages, .venv-container/ from
# scripts/requirements-container.txt, .venv-container-sbom/ from
# scripts/requirements-container-sbom.txt), is bounded in time
# (CONTAINER_CHECK_TIMEOUT, default 40 min) and removes what it starts
# (CONTAINER_CHECK_KEEP=1 keeps the image storage for debugging).
# Needs root (apt-get, buildah/podman with chroot isolation).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
source scripts/lib.sh

if [[ -z "${_CHECK_CONTAINER_BOUNDED:-}" ]]; then
  export _CHECK_CONTAINER_BOUNDED=1
  exec timeout --kill-after=60 "${CONTAINER_CHECK_TIMEOUT:-2400}" bash "$ROOT/scripts/check_container.sh" "$@"
fi

START=$SECONDS
IMAGE="localhost/churn-serve:ci"
LAMBDA_IMAGE="localhost/churn-serve-lambda:ci"
MAX_IMAGE_BYTES=120000000 # 120 MB
CACHE="$ROOT/.cache/container"
VENV="$ROOT/.venv-container"

step() { printf '\n---- [%4ss] %s\n' "$((SECONDS - START))" "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
# skip WHY: this machine cannot run the stage; scripts/test.sh shows WHY (and fails under CI).
skip() {
  printf 'SKIP: %s\n' "$*"
  exit 77
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND once a second.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${limit}s waiting for $what"
    sleep 1
  done
}

WORK=""
CID=""
LAMBDA_NAME="churn-ci-lambda-$$"
PROM_PID=""
DISK_PID=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$CID" ]]; then
    if ((rc != 0)); then
      echo "---- container log (tail) ----" >&2
      podman logs --tail 40 "$CID" >&2 2>&1
    fi
    podman rm -f -t 5 "$CID" >/dev/null 2>&1
  fi
  podman rm -f -t 1 "$LAMBDA_NAME" >/dev/null 2>&1
  if [[ -n "$PROM_PID" ]]; then
    kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
  fi
  if [[ -n "$DISK_PID" ]]; then
    kill "$DISK_PID" 2>/dev/null && wait "$DISK_PID" 2>/dev/null
    [[ -s "$WORK/disk-low" ]] && echo "disk: $avail_mb MB free at the start, lowest $(<"$WORK/disk-low") MB" \
      "(peak use about $((avail_mb - $(<"$WORK/disk-low"))) MB, storage driver $DRIVER)"
  fi
  if [[ -n "$WORK" && -d "$WORK" && -n "${CONTAINER_CHECK_KEEP:-}" ]]; then
    echo "CONTAINER_CHECK_KEEP: kept $WORK (CONTAINERS_STORAGE_CONF=$WORK/storage.conf CONTAINERS_CONF=$WORK/containers.conf)"
  elif [[ -n "$WORK" && -d "$WORK" ]]; then
    # Nothing should be mounted any more; unmount leftovers before deleting.
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$WORK"
  fi
  printf '\ncheck_container: %s after %ss\n' "$(case $rc in 0) echo OK ;; 77) echo SKIPPED ;; *) echo FAILED ;; esac)" "$((SECONDS - START))"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# ---------------------------------------------------------------------------
step "tools"
[[ $(id -u) == 0 ]] || skip "needs root (apt-get, buildah and podman with chroot isolation)"
command -v apt-get >/dev/null || command -v podman >/dev/null ||
  skip "no podman, and no apt-get to install it (Debian or Ubuntu needed)"
apt_packages=(podman buildah runc uidmap debootstrap prometheus curl ca-certificates)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "apt-get install ${missing[*]}"
  # Debian's prometheus package would start a server on :9090: no services.
  created_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  timeout 300 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [[ -z "$created_policy" ]] || rm -f /usr/sbin/policy-rc.d
fi
pinned_venv "$VENV" scripts/requirements-container.txt
# CycloneDX's own Python library validates the SBOM against the schema files
# it ships (no download at check time). Its own venv, because these pins are
# this check's alone; they agree with requirements-container.txt where both
# name a package.
SBOM_VENV="$ROOT/.venv-container-sbom"
pinned_venv "$SBOM_VENV" scripts/requirements-container-sbom.txt
echo "podman $(podman --version | awk '{print $3}'), buildah $(buildah --version | awk '{print $3}'), $(promtool --version 2>&1 | sed -n 1p)"
echo "$("$VENV/bin/hadolint" --version), yamllint $("$VENV/bin/yamllint" --version | awk '{print $2}'), $("$VENV/bin/docker-compose" version)"

# ---------------------------------------------------------------------------
step "lint: Dockerfile (hadolint)"
"$VENV/bin/hadolint" --failure-threshold info Dockerfile
pass "hadolint: Dockerfile has no findings"

ort_script_version="$(sed -n 's/^ORT_VERSION="\${ORT_VERSION:-\(.*\)}"$/\1/p' scripts/install_ort.sh)"
ort_code_version="$(sed -n 's/^pub const ORT_VERSION: &str = "\(.*\)";$/\1/p' src/model/ort_library.rs)"
[[ -n "$ort_script_version" && "$ort_script_version" == "$ort_code_version" ]] ||
  fail "ONNX Runtime version: install_ort.sh '$ort_script_version' != src/model/ort_library.rs '$ort_code_version'"
grep -q 'install_ort.sh /out' Dockerfile || fail "the Dockerfile's ort stage must run scripts/install_ort.sh"
pass "ONNX Runtime $ort_script_version: one pin (scripts/install_ort.sh, used by the Dockerfile) matching src/model/ort_library.rs"
crate_version="$(sed -n '0,/^version = /s/^version = "\(.*\)"$/\1/p' Cargo.toml)"
# The app stage's ARG VERSION labels both images (any other must agree).
docker_version="$(sed -n 's/^ARG VERSION=//p' Dockerfile | sort -u)"
[[ "$crate_version" == "$docker_version" ]] ||
  fail "Dockerfile ARG VERSION=$docker_version != Cargo.toml version $crate_version"
pass "image version label $docker_version = Cargo.toml version"

# Every base image is an ARG pinned as name:tag@sha256:<64 hex>, and every FROM
# names one of those ARGs or an earlier stage, so no unpinned image can enter.
mapfile -t base_args < <(sed -n 's/^ARG \([A-Z_]*_IMAGE\)=.*/\1/p' Dockerfile)
((${#base_args[@]} >= 3)) || fail "expected ARG PYTHON_IMAGE, RUST_IMAGE, RUNTIME_IMAGE in the Dockerfile, found: ${base_args[*]}"
for arg in "${base_args[@]}"; do
  ref="$(sed -n "s/^ARG $arg=//p" Dockerfile)"
  [[ "$ref" =~ ^[a-z0-9.-]+(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$ ]] ||
    fail "Dockerfile ARG $arg=$ref: pin base images as name:tag@sha256:<digest> (scripts/pin_base_images.sh)"
done
stages=()
while read -r image alias; do
  name="${image#\$\{}"
  name="${name%\}}"
  if [[ "$image" == "\${"*"}" && " ${base_args[*]} " == *" $name "* ]] || [[ " ${stages[*]} " == *" $image "* ]]; then
    stages+=("$alias")
  else
    fail "Dockerfile: FROM $image is neither a pinned *_IMAGE ARG nor an earlier stage"
  fi
done < <(sed -n 's/^FROM \(--platform=[^ ]* \)\{0,1\}\([^ ]*\) [Aa][Ss] \([^ ]*\).*/\2 \3/p' Dockerfile)
(($(grep -c '^FROM ' Dockerfile) == ${#stages[@]})) || fail "Dockerfile: every FROM needs an AS name"
pass "base images pinned by tag and digest: ${base_args[*]}; stages ${stages[*]} build only on them"

step "lint: YAML (yamllint --strict, repo .yamllint)"
yaml_files=(docker-compose.demo.yml configs/prometheus configs/grafana)
"$VENV/bin/yamllint" --strict -c .yamllint "${yaml_files[@]}"
pass "yamllint: ${yaml_files[*]}"

step "lint: docker compose config"
"$VENV/bin/docker-compose" -f docker-compose.demo.yml --profile '*' config --quiet
services="$("$VENV/bin/docker-compose" -f docker-compose.demo.yml --profile '*' config --services | sort | tr '\n' ' ')"
[[ "$services" == "api api-mlflow grafana loadgen mlflow mlflow-register prometheus " ]] || fail "compose services: $services"
api_json="$("$VENV/bin/docker-compose" -f docker-compose.demo.yml --profile '*' config --format json)"
"$VENV/bin/python" - "$api_json" <<'PY'
import json, sys
services = json.loads(sys.argv[1])["services"]
for name in ["api", "api-mlflow"]:
    api = services[name]
    problems = [k for k, ok in {
        "read_only": api.get("read_only") is True,
        "cap_drop ALL": api.get("cap_drop") == ["ALL"],
        "no-new-privileges": any(o.startswith("no-new-privileges") for o in api.get("security_opt", [])),
        "tmpfs /tmp": any(t.startswith("/tmp") for t in api.get("tmpfs", [])),
        "healthcheck": "churn-serve" in " ".join(api.get("healthcheck", {}).get("test", [])),
        "port 8000": any(p.get("target") == 8000 for p in api.get("ports", [])),
        "image": api.get("image") == services["api"].get("image"),
    }.items() if not ok]
    if name == "api" and services[name].get("build", {}).get("dockerfile") != "Dockerfile":
        problems.append("build")
    if problems:
        sys.exit(f"{name} service lacks: {', '.join(problems)}")
# The registry demo: the API follows the alias the registration job sets.
env = services["api-mlflow"]["environment"]
register = services["mlflow-register"]
checks = {
    "api-mlflow follows models:/churn@champion": env.get("MODEL_URI") == "models:/churn@champion",
    "api-mlflow polls": int(env.get("CHURN_MODEL_POLL_SECS", "0")) > 0,
    "api-mlflow waits for the registration": services["api-mlflow"]["depends_on"]["mlflow-register"]["condition"]
    == "service_completed_successfully",
    "the job sets champion": "champion" in register["command"],
    "mlflow image pinned": services["mlflow"]["image"].split(":")[-1].startswith("v3."),
}
bad = [k for k, ok in checks.items() if not ok]
if bad:
    sys.exit(f"mlflow profile: {', '.join(bad)}")
PY
pass "docker compose config (profiles *): services $services; api and api-mlflow are read-only, cap_drop ALL, no-new-privileges; the mlflow profile follows champion"
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.demo.yml
pass "compose-spec schema"

step "lint: Prometheus (promtool)"
promtool check config configs/prometheus/prometheus.yml
promtool check rules configs/prometheus/alerts.yml
promtool test rules configs/prometheus/alerts_test.yml
pass "promtool check config, check rules, test rules"

step "lint: Grafana dashboard and provisioning"
"$VENV/bin/python" - <<'PY'
import json, pathlib, sys, yaml
datasources = yaml.safe_load(pathlib.Path("configs/grafana/provisioning/datasources/prometheus.yml").read_text())
uids = {d["uid"] for d in datasources["datasources"]}
providers = yaml.safe_load(pathlib.Path("configs/grafana/provisioning/dashboards/churn.yml").read_text())
assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
for path in sorted(pathlib.Path("configs/grafana/dashboards").glob("*.json")):
    dash = json.loads(path.read_text())  # valid JSON or a traceback
    panels = [p for p in dash.get("panels", []) if p.get("type") != "row"]
    # A datasource variable lets the same dashboard run on any Prometheus
    # (compose's provisioned one, a cluster's); it must offer Prometheus.
    variables = {"${%s}" % v["name"] for v in dash.get("templating", {}).get("list", [])
                 if v.get("type") == "datasource" and v.get("query") == "prometheus"}
    errors = []
    if not dash.get("uid") or not dash.get("title"):
        errors.append("dashboard needs uid and title")
    if len(panels) < 10:
        errors.append(f"only {len(panels)} panels")
    ids = [p.get("id") for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        errors.append("duplicate panel ids")
    for p in panels:
        where = f"panel {p.get('id')} '{p.get('title')}'"
        if not p.get("title") or "gridPos" not in p:
            errors.append(f"{where}: needs title and gridPos")
        if p.get("datasource", {}).get("uid") not in uids | variables:
            errors.append(f"{where}: datasource neither provisioned nor the dashboard's datasource variable")
        if not p.get("targets") or not all(t.get("expr") for t in p["targets"]):
            errors.append(f"{where}: every panel needs PromQL targets")
    if errors:
        sys.exit(f"{path}: " + "; ".join(errors))
    print(f"{path}: valid JSON, {len(panels)} panels, {sum(len(p['targets']) for p in panels)} queries")
PY
pass "Grafana dashboard JSON and provisioning (metric names are checked against a real scrape below)"

# ---------------------------------------------------------------------------
step "stand-in base images"
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/churn-check-container.XXXXXX")"
mkdir -p "$WORK/graph" "$WORK/run" "$WORK/tmp" "$CACHE"
# Storage driver: overlay when this kernel can mount it here, else vfs.
# vfs keeps a full copy of the root for every layer of every stage: with
# --layers=true that is several copies of the Rust toolchain and the
# dependency build, and a CI run died of ENOSPC in the second (Lambda) build.
# overlay stores each layer's changes only. CONTAINER_STORAGE_DRIVER=vfs
# forces the old path (for machines where overlay mounts but misbehaves).
storage_driver() {
  local probe="$WORK/overlay-probe"
  mkdir -p "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
    "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    echo overlay
  else
    echo vfs
  fi
  rm -rf "$probe"
}
DRIVER="${CONTAINER_STORAGE_DRIVER:-$(storage_driver)}"
[[ "$DRIVER" == overlay || "$DRIVER" == vfs ]] || fail "CONTAINER_STORAGE_DRIVER must be overlay or vfs, not $DRIVER"
# Peak disk use of this stage (df, 2 s samples; the stage prints it at the
# end, 2026-12-05): 4.6 GB with overlay and layer reuse, 8.1 GB with vfs and
# none. With vfs the builds keep no layers (--layers=false): reuse would
# multiply the copies.
if [[ "$DRIVER" == overlay ]]; then NEED_MB=5500 LAYERS=true; else NEED_MB=9000 LAYERS=false; fi
avail_mb="$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')"
echo "storage driver $DRIVER; free disk under $(dirname "$WORK"): $avail_mb MB (need about $NEED_MB MB)"
((avail_mb >= NEED_MB)) || fail "only $avail_mb MB free under $(dirname "$WORK"); the image build needs about $NEED_MB MB"
# The lowest free space seen while this stage runs, reported at the end: the
# number to update above when the build changes.
(
  low=$avail_mb
  while sleep 2; do
    now="$(df -Pm "$WORK" 2>/dev/null | awk 'NR == 2 {print $4}')" || break
    [[ -n "$now" ]] || break
    ((now < low)) && low=$now && echo "$low" >"$WORK/disk-low"
  done
) &
DISK_PID=$!
[[ -e "$ROOT/.cache/.gitignore" ]] || printf '*\n' >"$ROOT/.cache/.gitignore"
cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "$DRIVER"
graphroot = "$WORK/graph"
runroot = "$WORK/run"
EOF
cat >"$WORK/containers.conf" <<EOF
[containers]
netns = "host"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
runtime = "runc"
tmp_dir = "$WORK/tmp"
EOF
export CONTAINERS_STORAGE_CONF="$WORK/storage.conf" CONTAINERS_CONF="$WORK/containers.conf"
export BUILDAH_ISOLATION=chroot STORAGE_DRIVER="$DRIVER" TMPDIR="$WORK/tmp"

# A tag@digest reference can only name the registry's image, never a local
# one: each stand-in is stored under the tag alone and passed to the build as
# --build-arg (the Dockerfile's digest pins are checked above).
dockerfile_arg() { sed -n "s/^ARG $1=\([^@]*\).*/\1/p" Dockerfile; }
PYTHON_BASE="$(dockerfile_arg PYTHON_IMAGE)"
RUST_BASE="$(dockerfile_arg RUST_IMAGE)"
RUNTIME_BASE="$(dockerfile_arg RUNTIME_IMAGE)"
echo "Dockerfile bases (stand-ins for their tags): $PYTHON_BASE | $RUST_BASE | $RUNTIME_BASE"
# The Debian mirror apt already uses (deb822 .sources or one-line sources.list).
mirror="$({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } |
  awk '/^URIs:/ {u = $2} /^Suites:/ && / bookworm( |$)/ && !m {m = u} $1 == "deb" && $3 == "bookworm" && !m {m = $2} END {print m}')"
mirror="${mirror:-http://deb.debian.org/debian}"
rust_sysroot="$(rustc --print sysroot)"
rust_version="$(rustc --version | awk '{print $2}')"
rust_pin="$(sed -n 's/.*rust:\([0-9.]*\)-.*/\1/p' <<<"$RUST_BASE")"
[[ "$rust_version" == "$rust_pin".* || "$rust_version" == "$rust_pin" ]] ||
  echo "note: the builder stand-in uses this machine's Rust $rust_version, the Dockerfile pins $rust_pin"
# Only the downloaded .debs are cached (about 100 MB; local re-runs skip the
# download). The roots themselves are streamed into podman's storage and
# deleted: cached as tarballs they took 1.3 GB beside the 1.3 GB of imported
# layers, and a CI run once failed on a full disk while writing them.
find "$CACHE" -maxdepth 1 -name '*.tar' -delete # left by older versions of this script
debs="$CACHE/debs"
mkdir -p "$debs"
# import_tree DIR IMAGE [--change ...]: DIR's contents become IMAGE's one layer.
import_tree() {
  local dir=$1 image=$2
  shift 2
  tar -C "$dir" -cf - . | podman import --quiet "$@" - "$image" >/dev/null
}

rootfs="$WORK/rootfs"
echo "debootstrap bookworm from $mirror"
timeout 900 debootstrap --variant=minbase --cache-dir="$debs" \
  --include=ca-certificates,netbase,python3,python3-pip,gcc,libc6-dev \
  bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
  { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
# This machine reaches package registries through a TLS proxy whose CA is
# in its trust store: the stand-ins trust what the machine trusts, so the
# build's own pip and cargo downloads work (the Dockerfile stays standard).
cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"

# Runtime stand-in, made like distroless cc-debian12 is: the files of a few
# Debian packages (no shell, no package manager) and a nonroot user 65532.
distroless="$WORK/distroless"
mkdir -p "$distroless"
for pkg in base-files netbase tzdata libc6 libgcc-s1 gcc-12-base libstdc++6 libssl3; do
  pkg_debs=("$debs/${pkg}"_*.deb)
  [[ -f "${pkg_debs[0]}" ]] || fail "debootstrap left no $pkg .deb in $debs"
  dpkg-deb -x "${pkg_debs[0]}" "$distroless"
done
rm -rf "$distroless"/usr/share/{doc,man,info,lintian,locale}
mkdir -p "$distroless"/{tmp,home/nonroot,root,etc/ssl/certs}
chmod 1777 "$distroless/tmp"
chown 65532:65532 "$distroless/home/nonroot"
cp /etc/ssl/certs/ca-certificates.crt "$distroless/etc/ssl/certs/"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$distroless/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$distroless/etc/group"
import_tree "$distroless" "$RUNTIME_BASE" --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'USER 65532' --change 'WORKDIR /home/nonroot'
rm -rf "$distroless"

# python:3.11-slim-bookworm stand-in: the debootstrap root (Debian's
# python3 and pip; gcc and libc6-dev ride along for the builder below).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/{doc,man,info}
import_tree "$rootfs" "$PYTHON_BASE" --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["python3"]'

# rust:<pin>-slim-bookworm stand-in: plus this machine's Rust toolchain,
# laid out like the official image (RUSTUP_HOME, CARGO_HOME, PATH).
toolchain="$rootfs/usr/local/rustup/toolchains/$rust_version-x86_64-unknown-linux-gnu"
mkdir -p "$toolchain/bin" "$toolchain/lib/rustlib" "$rootfs/usr/local/cargo/bin"
cp -a "$rust_sysroot"/bin/{cargo,rustc,rustdoc} "$toolchain/bin/"
cp -a "$rust_sysroot"/lib/*.so* "$toolchain/lib/"
cp -a "$rust_sysroot/lib/rustlib/x86_64-unknown-linux-gnu" "$toolchain/lib/rustlib/"
rm -rf "$toolchain/lib/rustlib/x86_64-unknown-linux-gnu/analysis"
for b in cargo rustc rustdoc; do
  ln -s "../../rustup/toolchains/$rust_version-x86_64-unknown-linux-gnu/bin/$b" "$rootfs/usr/local/cargo/bin/$b"
done
import_tree "$rootfs" "$RUST_BASE" --change 'ENV RUSTUP_HOME=/usr/local/rustup' --change 'ENV CARGO_HOME=/usr/local/cargo' \
  --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV RUST_VERSION=$rust_version"
rm -rf "$rootfs"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}'
pass "stand-in base images ready"

# ---------------------------------------------------------------------------
step "build the image (buildah, --pull=never; the release build takes a while)"
build_start=$SECONDS
# The OCI labels' provenance, as `make image` passes it.
revision="$(git -C "$ROOT" rev-parse HEAD)" || fail "git rev-parse HEAD: the image's revision label needs the commit"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# --layers=$LAYERS (true with overlay): the Lambda build below reuses this
# build's ort and builder stages instead of compiling the dependencies again.
# --target runtime: the service image, whatever other targets the file grows.
if ! timeout 1800 buildah bud --pull=never --layers="$LAYERS" --format docker --target runtime \
  --build-arg "PYTHON_IMAGE=$PYTHON_BASE" --build-arg "RUST_IMAGE=$RUST_BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" \
  --build-arg "VERSION=$crate_version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
  -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1; then
  tail -60 "$WORK/build.log"
  fail "image build"
fi
grep -E 'STEP [0-9]+/[0-9]+: (FROM|RUN)|COMMIT|Finished|Installed|ONNX Runtime ready|^churn-serve [0-9]' "$WORK/build.log" | cut -c1-150 || true
pass "image built in $((SECONDS - build_start))s"

image_bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
awk -v b="$image_bytes" 'BEGIN { printf "image size: %d bytes (%.1f MB)\n", b, b / 1e6 }'
((image_bytes < MAX_IMAGE_BYTES)) || fail "image is $image_bytes bytes, over $MAX_IMAGE_BYTES"
pass "image size $((image_bytes / 1000000)) MB < 120 MB"
podman image inspect "$IMAGE" >"$WORK/image.json"
"$VENV/bin/python" - "$WORK/image.json" "$crate_version" "$revision" "$created" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" <<'PY'
import datetime, json, re, sys
image, version, revision = json.load(open(sys.argv[1]))[0], sys.argv[2], sys.argv[3]
cfg = image["Config"]
labels = cfg.get("Labels") or {}
want = {"org.opencontainers.image.title": "churn-serve", "org.opencontainers.image.version": version,
        "org.opencontainers.image.licenses": "Apache-2.0", "org.opencontainers.image.revision": revision}
problems = [f"label {k}={labels.get(k)!r}, want {v!r}" for k, v in want.items() if labels.get(k) != v]
if not re.fullmatch(r"[0-9a-f]{40}", revision):
    problems.append(f"git HEAD {revision!r} is not a full commit hash")
if not labels.get("org.opencontainers.image.source"):
    problems.append("label org.opencontainers.image.source missing")
# created: RFC 3339 (OCI image spec), and this build's time, not a stale or made-up one.
created = labels.get("org.opencontainers.image.created", "")
rfc3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"
if not re.fullmatch(rfc3339, created):
    problems.append(f"label org.opencontainers.image.created={created!r} is not RFC 3339")
else:
    when = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    start, end = (datetime.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in sys.argv[4:6])
    if not start <= when <= end:
        problems.append(f"label org.opencontainers.image.created={created} is outside this build ({sys.argv[4]} .. {sys.argv[5]})")
if cfg.get("User") != "65532:65532":
    problems.append(f"User {cfg.get('User')!r}")
if cfg.get("Entrypoint") != ["/app/churn-serve"]:
    problems.append(f"Entrypoint {cfg.get('Entrypoint')!r}")
if "8000/tcp" not in (cfg.get("ExposedPorts") or {}):
    problems.append("EXPOSE 8000")
if "LOG_FORMAT=json" not in cfg.get("Env", []):
    problems.append("LOG_FORMAT=json")
hc = image.get("Healthcheck") or image.get("HealthCheck") or cfg.get("Healthcheck") or {}
if hc.get("Test") != ["CMD", "/app/churn-serve", "healthcheck"]:
    problems.append(f"HEALTHCHECK {hc.get('Test')!r}")
if problems:
    sys.exit("image config: " + "; ".join(problems))
print(f"user {cfg['User']}, entrypoint {cfg['Entrypoint']} {cfg.get('Cmd')}, healthcheck {hc['Test']}")
print("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k.startswith("org.opencontainers")))
PY
pass "image config: non-root numeric USER, exec-form ENTRYPOINT, EXPOSE 8000, JSON logs, OCI labels (revision = HEAD, created in this build), HEALTHCHECK"

step "SBOM: /app/sbom.cdx.json"
# Read the way a user would: copy it out of a created (never started) container.
sbom_cid="$(podman create "$IMAGE")"
sbom_copied=1
podman cp "$sbom_cid:/app/sbom.cdx.json" "$WORK/sbom.cdx.json" || sbom_copied=""
# podman logs a systemd error for the HEALTHCHECK timer it cannot remove here (see "run the image").
podman rm "$sbom_cid" 2>&1 >/dev/null | grep -v 'unable to get systemd connection' >&2 || true
[[ -n "$sbom_copied" ]] || fail "no /app/sbom.cdx.json in the image"
host_target="$(rustc -vV | sed -n 's/^host: //p')"
# What the release binary is built from: normal dependencies for this target
# (the image is built natively here), per cargo's own feature resolution.
cargo tree --locked -e normal --target "$host_target" --prefix none --format '{p}' >"$WORK/cargo-tree.txt" ||
  fail "cargo tree"
"$SBOM_VENV/bin/python" - "$WORK/sbom.cdx.json" Cargo.lock "$WORK/cargo-tree.txt" "$crate_version" "$host_target" <<'PY'
import json, re, sys, tomllib
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

sbom_file, lock_file, tree_file, version, target = sys.argv[1:]
text = open(sbom_file).read()
sbom = json.loads(text)
if sbom.get("bomFormat") != "CycloneDX" or sbom.get("specVersion") != "1.5":
    sys.exit(f"not a CycloneDX 1.5 document: bomFormat={sbom.get('bomFormat')!r} specVersion={sbom.get('specVersion')!r}")
error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
if error is not None:
    detail = getattr(error, "data", None)
    where = "/".join(map(str, getattr(detail, "absolute_path", []))) or "(document)"
    sys.exit(f"SBOM fails the CycloneDX 1.5 JSON schema at {where}: {getattr(detail, 'message', error)}")
print("valid CycloneDX 1.5 JSON (cyclonedx-python-lib strict schema validation)")

problems = []
root = sbom["metadata"]["component"]
if (root.get("name"), root.get("version"), root.get("type")) != ("churn-serve", version, "application"):
    problems.append(f"metadata.component is {root.get('type')} {root.get('name')} {root.get('version')}, want application churn-serve {version}")
props = {p["name"]: p["value"] for p in sbom["metadata"].get("properties", [])}
if props.get("cdx:rustc:sbom:target:triple") != target:
    problems.append(f"SBOM target {props.get('cdx:rustc:sbom:target:triple')!r} != build target {target!r}")

locked = {}
for pkg in tomllib.load(open(lock_file, "rb"))["package"]:
    locked.setdefault(pkg["name"], set()).add(pkg["version"])
components = {}
for c in sbom.get("components", []):
    components.setdefault(c["name"], set()).add(c["version"])
    if c["version"] not in locked.get(c["name"], set()):
        problems.append(f"component {c['name']} {c['version']} is not in Cargo.lock ({sorted(locked.get(c['name'], []))})")
    if c.get("purl") != f"pkg:cargo/{c['name']}@{c['version']}":
        problems.append(f"component {c['name']} {c['version']}: purl {c.get('purl')!r}")

# Everything compiled into the binary is listed, at its locked version.
built = set()
for line in open(tree_file):
    m = re.match(r"(\S+) v(\S+)", line)
    if m and m.group(1) != "churn-serve":
        built.add((m.group(1), m.group(2)))
missing = sorted(f"{n} {v}" for n, v in built if v not in components.get(n, set()))
if missing:
    problems.append(f"crates compiled into the binary but not in the SBOM: {missing}")
for name in ["ort", "ort-sys", "axum", "tokio", "hyper", "reqwest", "rustls", "prometheus", "serde"]:
    if components.get(name) != locked.get(name):
        problems.append(f"{name}: SBOM {sorted(components.get(name, []))} != Cargo.lock {sorted(locked.get(name, []))}")
# Dev-dependencies and build-only crates are not part of the binary.
for name in ["criterion", "proptest", "serde_norway", "cc", "zip"]:
    if name in components:
        problems.append(f"{name} (dev-dependency or build-only) is listed in the binary's SBOM")
if problems:
    sys.exit("SBOM: " + "\n  ".join(problems))
extra = sorted(f"{n} {v}" for n, vs in components.items() for v in vs if (n, v) not in built)
print(f"{len(sbom['components'])} components for {root['name']} {root['version']} ({target}); "
      + ", ".join(f"{n} {'/'.join(sorted(components[n]))}" for n in ["ort", "axum", "tokio", "reqwest"]))
print(f"all {len(built)} crates of `cargo tree -e normal` listed at their Cargo.lock versions; "
      f"listed but not compiled in (dev-dependency feature unification in cargo metadata): {len(extra)} {extra}")
PY
pass "SBOM in the image: schema-valid CycloneDX 1.5 naming churn-serve $crate_version and the binary's crates at their Cargo.lock versions"

# ---------------------------------------------------------------------------
step "run the image"
API_PORT="$(free_port)"
# runc, not crun, and explicit ulimits: what works on this machine's cgroup
# layout. Host network: ports published on podman's bridge do not answer here.
# Hardened like the compose service: read-only root fs, no capabilities.
CID="$(podman run -d --name "churn-ci-$$" --runtime runc --network host \
  --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  -e "PORT=$API_PORT" "$IMAGE" 2>"$WORK/run.err")" || { cat "$WORK/run.err"; fail "podman run"; }
# podman schedules HEALTHCHECKs with systemd timers; there is no systemd
# here, so it logs an error and the check is run by hand below.
grep -v 'unable to get systemd connection' "$WORK/run.err" || true
API="http://127.0.0.1:$API_PORT"
wait_for 60 "/health on $API" curl -fsS "$API/health"
health="$(curl -sS -w ' HTTP %{http_code}' "$API/health")"
echo "GET /health: $health"
[[ "$health" == *'"status":"healthy"'*' HTTP 200' ]] || fail "/health: $health"
pass "/health answers 200 (read-only root fs, all capabilities dropped)"

pid="$(podman inspect --format '{{.State.Pid}}' "$CID")"
uid_line="$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")"
podman top "$CID" user huser pid hpid args 2>/dev/null
top_uid="$(podman top "$CID" huser 2>/dev/null | awk 'NR == 2 {print $1}')"
echo "container main process: host pid $pid, /proc Uid (real effective saved fs): $uid_line; podman top huser: $top_uid"
[[ "$uid_line" == "65532 65532 65532 65532" && "$top_uid" == 65532 ]] || fail "process does not run as 65532"
pass "runs as non-root UID 65532"

podman healthcheck run "$CID" || fail "podman healthcheck run"
echo "health status: $(podman inspect --format '{{.State.Health.Status}}' "$CID" 2>/dev/null || podman inspect --format '{{.State.Healthcheck.Status}}' "$CID")"
pass "podman healthcheck run: healthy (HEALTHCHECK = churn-serve healthcheck)"

"$VENV/bin/python" - "$API" models/golden.jsonl <<'PY'
import json, sys, urllib.request
api, golden = sys.argv[1], sys.argv[2]
rows = [json.loads(line) for line in open(golden)][:25]
def post(path, body):
    req = urllib.request.Request(api + path, json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)
worst = 0.0
for row in rows[:5]:
    got = post("/api/v1/predict", row["customer"])
    worst = max(worst, abs(got["churn_probability"] - row["churn_probability"]))
    assert got["prediction"] in ("churn", "no_churn") and got["risk_level"] in ("LOW", "MEDIUM", "HIGH"), got
print(f"POST /api/v1/predict {rows[0]['customer']['customer_id']}: {post('/api/v1/predict', rows[0]['customer'])}")
print(f"golden probability: {rows[0]['churn_probability']}")
batch = post("/api/v1/predict/batch", {"customers": [r["customer"] for r in rows]})["predictions"]
assert len(batch) == len(rows)
for p, row in zip(batch, rows):
    worst = max(worst, abs(p["churn_probability"] - row["churn_probability"]))
print(f"max |probability - golden| over {len(rows)} golden rows (single + batch): {worst:.2e}")
if worst > 1e-5:
    sys.exit("golden probabilities differ by more than 1e-5")
PY
pass "golden predictions within 1e-5"

# What the image holds under /app: exactly the files the service needs.
podman export "$CID" | tar -t >"$WORK/files.txt"
app_files="$(grep '^app/.' "$WORK/files.txt" | sed 's|/$||' | sort | tr '\n' ' ')"
echo "/app: $app_files"
for f in $app_files; do
  case "$f" in
    app/churn-serve | app/sbom.cdx.json | app/lib | app/lib/libonnxruntime.so | "app/lib/libonnxruntime.so.$ort_script_version") ;;
    app/models | app/models/churn_pipeline.onnx | app/models/churn_pipeline.json | app/configs | app/configs/*.toml) ;;
    *) fail "unexpected file in the image: /$f" ;;
  esac
done
for f in app/churn-serve app/sbom.cdx.json "app/lib/libonnxruntime.so.$ort_script_version" app/models/churn_pipeline.onnx \
  app/models/churn_pipeline.json app/configs/default.toml; do
  [[ " $app_files" == *" $f "* ]] || fail "missing in the image: /$f"
done
if grep -qE '^(usr/)?bin/(sh|bash|dash)$' "$WORK/files.txt"; then echo "the image has a shell"; else echo "the image has no shell"; fi
pass "image contents: binary, its SBOM, ONNX Runtime, model (.onnx + .json) and config only"

log_line="$(podman logs "$CID" 2>&1 | sed -n 1p)"
echo "first log line: $log_line"
"$VENV/bin/python" -c 'import json, sys; json.loads(sys.argv[1])' "$log_line" || fail "log line is not JSON"
pass "logs are JSON lines"

# ---------------------------------------------------------------------------
step "real scrape: Prometheus with the project's scrape config and rules"
PROM_PORT="$(free_port)"
prom="$WORK/prometheus"
mkdir -p "$prom/data"
sed -e "s/api:8000/127.0.0.1:$API_PORT/" -e "s/localhost:9090/127.0.0.1:$PROM_PORT/" \
  configs/prometheus/prometheus.yml >"$prom/prometheus.yml"
cp configs/prometheus/alerts.yml "$prom/alerts.yml"
grep -q "127.0.0.1:$API_PORT" "$prom/prometheus.yml" || fail "scrape target not rewritten"
promtool check config "$prom/prometheus.yml" >/dev/null
prometheus --config.file="$prom/prometheus.yml" --storage.tsdb.path="$prom/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$prom/prometheus.log" 2>&1 &
PROM_PID=$!
PROM="http://127.0.0.1:$PROM_PORT"
wait_for 60 "Prometheus ready" curl -fsS "$PROM/-/ready"

# Demo traffic through the compose loadgen script (single, batch, malformed).
# 200: drift scores appear from 100 predictions on (README, "Drift").
API_URL="$API" GOLDEN=models/golden.jsonl INTERVAL=0.05 MAX_REQUESTS=200 timeout 120 sh configs/loadgen/loadgen.sh
pass "loadgen script: 200 requests"

prom_value() { # prom_value QUERY: the first sample's value, or nothing
  curl -fsS --max-time 5 -G "$PROM/api/v1/query" --data-urlencode "query=$1" |
    "$VENV/bin/python" -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
up_is_1() { [[ "$(prom_value 'up{job="churn-serve"}')" == 1 ]]; }
wait_for 60 'up{job="churn-serve"} == 1' up_is_1
has_requests() { [[ -n "$(prom_value 'sum(churn_http_requests_total{job="churn-serve"})')" ]]; }
wait_for 60 "churn_http_requests_total in Prometheus" has_requests
up_json="$(curl -fsS -G "$PROM/api/v1/query" --data-urlencode 'query=up{job="churn-serve"}')"
echo "query up{job=\"churn-serve\"}: $up_json"
echo "query sum(churn_http_requests_total): $(prom_value 'sum(churn_http_requests_total{job="churn-serve"})')"
pass "Prometheus scrapes the container: up == 1, churn_http_requests_total present"

curl -fsS "$API/metrics" >"$WORK/metrics.txt"
curl -fsS "$PROM/api/v1/rules" >"$WORK/rules.json"
"$VENV/bin/python" - "$PROM" "$WORK/metrics.txt" "$WORK/rules.json" configs/grafana/dashboards/churn.json configs/prometheus/alerts.yml <<'PY'
import json, re, sys, urllib.parse, urllib.request, yaml
prom, metrics_file, rules_file, dashboard_file, alerts_file = sys.argv[1:]

# What the service exports: family -> label names (from a real scrape).
families, labels = {}, {}
for line in open(metrics_file):
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        families[name] = kind
    elif line.strip() and not line.startswith("#"):
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        labels.setdefault(name, set()).update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', line.split(" ")[0]))
recorded = {r["record"] for g in yaml.safe_load(open(alerts_file))["groups"] for r in g["rules"] if "record" in r}
TARGET_LABELS = {"job", "instance", "service", "namespace", "pod"}  # added by the scrape config (namespace, pod: Kubernetes)
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"}

def metric_refs(expr):
    """(metric, {label names}) for every selector in a PromQL expression."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals
    expr = re.sub(r"\$__\w+|\$\w+", "1m", expr)                # Grafana variables
    expr = re.sub(r"\[[^\]]*\]", "", expr)                    # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    refs = []
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?", expr):
        name, matchers, call = m.groups()
        if call or name in KEYWORDS or re.fullmatch(r"[0-9.e]+", name):
            continue
        refs.append((name, set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*[=!~]", matchers or ""))))
    return refs

def check(expr, where):
    errors = []
    for name, used in metric_refs(expr):
        if name in recorded or name == "up":
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in labels and not (base in families and families[base] == "histogram" and name != base):
            errors.append(f"{where}: metric {name} is not exported by /metrics")
            continue
        known = labels.get(name, set()) | TARGET_LABELS
        if unknown := used - known:
            errors.append(f"{where}: {name} has no label(s) {sorted(unknown)}")
    return errors

def query(expr):
    expr = expr.replace("$__rate_interval", "1m").replace("$__range", "5m").replace("$__interval", "15s")
    for variable in ("$job", "$namespace", "$pod"):  # "All"
        expr = expr.replace(variable, ".*")
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        body = json.load(e)
    return body

errors, exprs = [], 0
dash = json.load(open(dashboard_file))
for p in dash["panels"]:
    for t in p.get("targets", []):
        exprs += 1
        where = f"dashboard panel '{p['title']}' {t['refId']}"
        errors += check(t["expr"], where)
        body = query(t["expr"])
        if body.get("status") != "success":
            errors.append(f"{where}: Prometheus rejects the query: {body.get('error')}")
alerts = [r for g in yaml.safe_load(open(alerts_file))["groups"] for r in g["rules"]]
for r in alerts:
    errors += check(r["expr"], f"rule {r.get('alert') or r.get('record')}")
groups = json.load(open(rules_file))["data"]["groups"]
loaded = [(r["name"], r["health"]) for g in groups for r in g["rules"]]
if len(loaded) != len(alerts) or any(h not in ("ok", "unknown") for _, h in loaded):
    errors.append(f"Prometheus rules not all loaded and healthy: {loaded}")
if errors:
    sys.exit("\n".join(errors))
used = sorted({n for p in dash["panels"] for t in p.get("targets", []) for n, _ in metric_refs(t["expr"])})
print(f"{exprs} dashboard queries run in Prometheus; {len(alerts)} rules loaded: {', '.join(n for n, _ in loaded)}")
print(f"metrics used by the dashboard: {', '.join(used)}")
PY
pass "every dashboard query runs in Prometheus; every metric and label used by the dashboard and alerts is in /metrics"

# ---------------------------------------------------------------------------
step "SIGTERM"
podman stop -t 30 "$CID" >/dev/null 2>"$WORK/stop.err" || { cat "$WORK/stop.err"; fail "podman stop"; }
grep -v 'unable to get systemd connection' "$WORK/stop.err" || true
exit_code="$(podman inspect --format '{{.State.ExitCode}}' "$CID")"
echo "exit code after SIGTERM: $exit_code"
podman logs "$CID" >"$WORK/container.log" 2>&1
tail -3 "$WORK/container.log"
[[ "$exit_code" == 0 ]] || fail "container exited with $exit_code after SIGTERM"
grep -q 'SIGTERM received' "$WORK/container.log" || fail "no 'SIGTERM received' log line"
pass "SIGTERM: graceful shutdown, exit code 0"

# ---------------------------------------------------------------------------
step "Lambda image (--target lambda): build, then answer an API Gateway event"
build_start=$SECONDS
# With overlay, the ort and builder stages come from the layers of the build
# above; only the lambda feature build and the final stage run.
if ! timeout 1800 buildah bud --pull=never --layers="$LAYERS" --format docker --target lambda \
  --build-arg "PYTHON_IMAGE=$PYTHON_BASE" --build-arg "RUST_IMAGE=$RUST_BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" \
  --build-arg "VERSION=$crate_version" \
  -t "$LAMBDA_IMAGE" -f Dockerfile . >"$WORK/build-lambda.log" 2>&1; then
  tail -60 "$WORK/build-lambda.log"
  fail "Lambda image build"
fi
lambda_bytes="$(podman image inspect --format '{{.Size}}' "$LAMBDA_IMAGE")"
((lambda_bytes < MAX_IMAGE_BYTES)) || fail "Lambda image is $lambda_bytes bytes, over $MAX_IMAGE_BYTES"
pass "Lambda image built in $((SECONDS - build_start))s: $((lambda_bytes / 1000000)) MB"
# The Runtime API on loopback (tests/lambda/runtime_api.py) hands the
# container one HTTP API event; the answer must be a 200 with the golden
# probability. Hardened as Lambda runs it: read-only root, no capabilities.
python3 tests/lambda/runtime_api.py tests/fixtures/lambda/apigw_http_v2_predict.json --timeout 60 -- \
  podman run --rm --name "$LAMBDA_NAME" --runtime runc --network host \
  --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  -e "AWS_LAMBDA_RUNTIME_API={api}" -e AWS_LAMBDA_FUNCTION_NAME=churn-serve \
  -e AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 -e 'AWS_LAMBDA_FUNCTION_VERSION=$LATEST' \
  "$LAMBDA_IMAGE" >"$WORK/lambda-run.txt" 2>"$WORK/lambda-run.err" ||
  { cat "$WORK/lambda-run.txt"; grep -v 'unable to get systemd connection' "$WORK/lambda-run.err" | tail -20; fail "Lambda image did not answer the event with 200"; }
cat "$WORK/lambda-run.txt"
golden_1="$(python3 -c 'import json,sys
for line in open("models/golden.jsonl"):
    row = json.loads(line)
    if row["customer"]["customer_id"] == "golden-1":
        print(row["churn_probability"])')"
python3 - "$WORK/lambda-run.txt" "$golden_1" <<'PY2' || fail "Lambda answer differs from the golden probability"
import json, re, sys
text, golden = open(sys.argv[1]).read(), float(sys.argv[2])
p = float(re.search(r'"churn_probability":([0-9.eE+-]+)', text).group(1))
print(f"Lambda churn_probability {p} vs golden {golden}")
sys.exit(0 if abs(p - golden) <= 1e-5 else 1)
PY2
podman rm -f -t 1 "$LAMBDA_NAME" >/dev/null 2>&1 || true
pass "Lambda image answers an API Gateway HTTP API event through the Runtime API with the golden probability"

step "summary"
printf 'image %s: %s bytes, runs as UID 65532, up{job="churn-serve"} = 1 in Prometheus\n' "$IMAGE" "$image_bytes"
printf 'image %s: %s bytes, answers Lambda events\n' "$LAMBDA_IMAGE" "$lambda_bytes"
pass "container checks"
