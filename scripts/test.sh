#!/usr/bin/env bash
# The whole test suite, as CI runs it. Each stage installs what it needs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stage() { printf '\n==== %s ====\n' "$*"; }

# Disk is shared and sometimes short; a failing run should show how much was free.
echo "free disk: $(df -Ph . | awk 'NR == 2 {print $4 " of " $2}') ($PWD)"

stage "ONNX Runtime"
bash scripts/install_ort.sh

stage "format and lint"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings

stage "Rust tests"
cargo test --locked

stage "benchmark report (scripts/bench/report.py)"
python3 -m unittest scripts/bench/test_report.py

stage "model: make model reproduces the shipped artifacts"
bash scripts/check_model.sh

stage "Kubernetes manifests"
bash scripts/check_k8s.sh

stage "API contract: OpenAPI, schemathesis, Swagger UI in Chromium, V2"
bash scripts/check_api.sh

stage "container image and compose demo (buildah/podman)"
bash scripts/check_container.sh

stage "all checks passed"
