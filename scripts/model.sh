#!/usr/bin/env bash
# Regenerate the churn model artifacts from scratch: synthetic data (models/data/, git-ignored),
# models/churn_pipeline.{onnx,json}, models/golden.jsonl and tests/fixtures/*.
# Build-time only; uses its own virtualenv .venv-model/ at the repo root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv-model
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# A '*' .gitignore inside the venv keeps it out of git without touching the root .gitignore.
[ -f "$VENV/.gitignore" ] || echo '*' > "$VENV/.gitignore"

# Skip pip entirely when the pinned requirements are already installed (fast warm runs).
stamp="$VENV/.requirements.sha256"
want=$(sha256sum models/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r models/requirements.txt
  echo "$want" > "$stamp"
fi

# No .pyc files in the work tree; fixed hash seed so nothing depends on set/dict hashing order.
export PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0
"$VENV/bin/python" models/generate_data.py
"$VENV/bin/python" models/train.py
"$VENV/bin/python" scripts/make_fixtures.py
