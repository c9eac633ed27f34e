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

source scripts/lib.sh
bin=$(release_binary)
VENV=.venv-drift
pinned_venv "$VENV" scripts/requirements-drift.txt
echo "numpy $("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)'), evidently $("$VENV/bin/python" -c 'import evidently; print(evidently.__version__)')"
PYTHONDONTWRITEBYTECODE=1 timeout --kill-after=10 300 "$VENV/bin/python" tests/drift/crosscheck.py "$bin"
