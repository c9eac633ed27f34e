#!/usr/bin/env bash
# Drift scores against independent implementations, on the release binary
# (127.0.0.1 only; the server is stopped by PID): the held-out test split and
# a shifted population (Germany, 15 years older) go through the service, and
# its PSI per feature and for the prediction must equal, within 1e-9, PSI
# computed in numpy from the exact values sent and, given the same bins,
# evidently's own PSI test (tests/drift/crosscheck.py). The drift alert's
# promtool tests run in the container stage; the Rust tests in the rust stage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=target/release/churn-serve
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  bash scripts/install_ort.sh
  cargo build --release --locked --quiet
fi
[[ -x $bin ]] || { echo "no release binary at $bin" >&2; exit 1; }

VENV=.venv-drift
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
# A '*' .gitignore inside the venv keeps it out of git without touching the root .gitignore.
[[ -f "$VENV/.gitignore" ]] || echo '*' >"$VENV/.gitignore"
# Skip pip entirely when the pinned requirements are already installed (fast warm runs).
stamp="$VENV/.requirements.sha256"
want=$(sha256sum scripts/requirements-drift.txt | cut -d' ' -f1)
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "installing scripts/requirements-drift.txt into $VENV" >&2
  timeout 900 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements-drift.txt
  echo "$want" >"$stamp"
fi
echo "numpy $("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)'), evidently $("$VENV/bin/python" -c 'import evidently; print(evidently.__version__)')"
PYTHONDONTWRITEBYTECODE=1 timeout --kill-after=10 300 "$VENV/bin/python" tests/drift/crosscheck.py "$bin"
