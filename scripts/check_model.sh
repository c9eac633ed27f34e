#!/usr/bin/env bash
# Regenerates the model from scratch (`make model`) and fails if anything
# differs from what is committed: the shipped artifact must be reproducible.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/model.sh
if ! git diff --exit-code --stat -- models/ tests/fixtures/; then
  echo "FAIL: make model does not reproduce the committed model artifacts" >&2
  exit 1
fi
echo "PASS: make model reproduces models/ and tests/fixtures/ byte for byte"
