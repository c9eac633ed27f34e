#!/usr/bin/env bash
# Model lifecycle checks against the release binary and a real MLflow
# tracking server (mlflow from PyPI, pinned in scripts/requirements-lifecycle.txt,
# installed into .venv-lifecycle/), each bounded in time, on 127.0.0.1 only,
# stopping (by PID) every server it starts:
#   1. hot swaps under load: 20 alias moves + POST /admin/model/reload while
#      64 keep-alive clients predict: no request fails, every answer is its
#      model version's golden probability, both versions answer;
#   2. the registry scenarios: the champion alias decides what serves (by
#      polling and by the admin route), a candidate with the wrong inputs is
#      refused while the old model serves on, startup failures exit 1 with one
#      `error:` line naming the cause, an unreachable registry during polling
#      is counted and survived. It stops the tracking server (its last
#      scenario), so it runs last.
# One summary line per check; the exit status is non-zero if any failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib.sh
bin=$(release_binary)
VENV=.venv-lifecycle
pinned_venv "$VENV" scripts/requirements-lifecycle.txt
export PYTHONDONTWRITEBYTECODE=1

tmp=$(mktemp -d)
mlflow_pid=
# Whether a process of group $1 runs (zombies, which kill -0 still finds, do not).
group_runs() { ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {found = 1} END {exit !found}'; }
stop_mlflow() {
  # The server and its uvicorn child form their own process group (setsid):
  # stop the group by its leader's PID (15 s, then SIGKILL), then reap it.
  [[ -n $mlflow_pid ]] || return 0
  kill -TERM -- "-$mlflow_pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    group_runs "$mlflow_pid" || break
    sleep 0.1
  done
  kill -KILL -- "-$mlflow_pid" 2>/dev/null || true
  wait "$mlflow_pid" 2>/dev/null || true
  mlflow_pid=
}
trap 'stop_mlflow; rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MLFLOW_TRACKING_URI="http://127.0.0.1:$port"
# One uvicorn worker and no job runner (the huey consumers serve GenAI jobs
# these tests never start): 2 processes instead of 13, and /health answers
# in about 8 s instead of 12 on 2 cores.
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid "$VENV/bin/mlflow" server --host 127.0.0.1 --port "$port" \
  --workers 1 --backend-store-uri "sqlite:///$tmp/mlflow.db" --artifacts-destination "$tmp/artifacts" \
  >"$tmp/mlflow.log" 2>&1 &
mlflow_pid=$!
if [[ "$(ps -o pgid= -p "$mlflow_pid" | tr -d ' ')" != "$mlflow_pid" ]]; then
  echo "the tracking server (PID $mlflow_pid) does not lead its own process group" >&2
  exit 1
fi
started=$SECONDS
until curl -sf --max-time 2 "$MLFLOW_TRACKING_URI/health" >/dev/null; do
  if ! kill -0 "$mlflow_pid" 2>/dev/null || ((SECONDS - started > 90)); then
    echo "the MLflow tracking server did not answer /health within 90 s; its log ends:" >&2
    tail -20 "$tmp/mlflow.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "MLflow tracking server (PID $mlflow_pid) answered /health at $MLFLOW_TRACKING_URI after $((SECONDS - started)) s"

run "hot swaps under load" "$VENV/bin/python" tests/lifecycle/swap_under_load.py "$bin"
run "registry scenarios" "$VENV/bin/python" tests/lifecycle/registry.py "$bin" --mlflow-pid "$mlflow_pid"
if ((failed)); then
  printf '\nthe tracking server log ends:\n'
  tail -20 "$tmp/mlflow.log"
fi
printf '\ncheck_lifecycle: %d failed\n' "$failed"
[[ $failed -eq 0 ]]
