#!/usr/bin/env bash
# Where the server's CPU goes per request: runs the release server under
# `perf record` (DWARF call graphs) while wrk sends single predictions at 64
# connections, then prints the hottest symbols and a breakdown by category
# (JSON, logging, metrics, request id, thread handoff, ONNX, HTTP, kernel),
# in µs of server CPU per request.
#
#   bash benches/lib/profile.sh [SECONDS (default 5)] [LOG_LEVEL (default info)] [KIND]
#
# KIND: single (default; /api/v1/predict, 64 connections), batch100 (16
# connections) or batch1000 (4 connections). Extra server settings can be
# passed as CHURN_* variables in PROFILE_SERVER_ENV, e.g. "CHURN_WORKERS=1".
#
# Needs `perf` (Debian: linux-perf; installed here if missing) and a kernel
# that allows it. Talks only to 127.0.0.1; stops everything it starts.
# Output and perf.data stay in target/bench/profile/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
secs=${1:-5}
level=${2:-info}
kind=${3:-single}
case $kind in
  single) conns=64 path=/api/v1/predict ;;
  batch100) conns=16 path=/api/v1/predict/batch ;;
  batch1000) conns=4 path=/api/v1/predict/batch ;;
  *) echo "unknown KIND $kind (single, batch100, batch1000)" >&2; exit 2 ;;
esac
out=$root/target/bench/profile
helpers=$root/benches/lib
mkdir -p "$out"

if ! command -v perf >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
fi
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
bash scripts/install_ort.sh
cargo build --release --locked --bin churn-serve
python3 "$helpers/payloads.py" models/golden.jsonl "$out"

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for v in $(compgen -e); do
  case $v in CHURN_* | PORT | LOG_LEVEL | LOG_FORMAT | MODEL_PATH | API_KEYS) unset "$v" ;; esac
done
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# JSON lines, as the container writes them.
# shellcheck disable=SC2086 # PROFILE_SERVER_ENV is a list of VAR=value words
env CHURN_HOST=127.0.0.1 PORT=$port LOG_LEVEL=$level LOG_FORMAT=json ${PROFILE_SERVER_ENV:-} target/release/churn-serve \
  >/dev/null 2>"$out/server.log" &
server=$!
pids+=("$server")
python3 "$helpers/startup_probe.py" --wait "$port" 30

cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$server/stat"; }
cpu0=$(cpu_seconds)
BENCH_BODY=$out/$kind.json timeout $((secs + 40)) wrk -t2 -c$conns -d$((secs + 4))s --latency -s "$helpers/post.lua" \
  "http://127.0.0.1:$port$path" >"$out/wrk.txt" 2>&1 &
pids+=("$!")
sleep 2
perf record -q -F 499 --call-graph dwarf,16384 -p "$server" -o "$out/perf.data" -- sleep "$secs" 2>"$out/perf-record.log"
wait "${pids[-1]}" || true
cpu1=$(cpu_seconds)
requests=$(sed -n 's/^WRK_RESULT .*"requests":\([0-9]*\).*/\1/p' "$out/wrk.txt")
[[ -n $requests && $requests -gt 0 ]] || { cat "$out/wrk.txt" >&2; exit 1; }
cpu_per_req=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$requests" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
echo "$kind, $conns connections: $(grep -E '^Requests/sec' "$out/wrk.txt"), server CPU $cpu_per_req µs per request" \
  "(whole wrk run, includes perf overhead)"

{ perf report -i "$out/perf.data" -g none --no-children --sort dso,symbol --stdio --percent-limit 0.7 2>/dev/null |
  grep -E '^ +[0-9]' | sed 's/ *$//' | head -40; } >"$out/top-symbols.txt" || true
perf script -i "$out/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null >"$out/perf-script.txt"
echo "== hottest symbols (self time, server process, LOG_LEVEL=$level) =="
cat "$out/top-symbols.txt"
echo
python3 "$helpers/categorize.py" "$out/perf-script.txt" "$cpu_per_req"
