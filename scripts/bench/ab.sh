#!/usr/bin/env bash
# Paired A/B of two server binaries: single predictions with wrk, in
# interleaved pairs (A B, B A, A B, ...), each run against a freshly started
# server, so drift in the machine's speed hits both sides alike.
#
#   bash scripts/bench/ab.sh BIN_A BIN_B [PAIRS] [SECS] [CONNS]
#
# Defaults: 10 pairs of 3 s runs at 64 connections, after a 1 s warm-up per
# server. Prints each pair's requests/s and A/B ratio, then the median ratio
# and the spread of the ratios (if the median is inside the spread, the two
# are not told apart by this run). Extra server settings: AB_SERVER_ENV
# ("CHURN_WORKERS=1 ..."). Talks only to 127.0.0.1; stops what it starts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

[[ $# -ge 2 ]] || { sed -n '2,13p' "$0"; exit 2; }
bin_a=$1 bin_b=$2 pairs=${3:-10} secs=${4:-3} conns=${5:-64}
for b in "$bin_a" "$bin_b"; do [[ -x $b ]] || { echo "not an executable: $b" >&2; exit 2; }; done
command -v wrk >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
ulimit -n 65536 2>/dev/null || true
bash scripts/install_ort.sh
out=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -z $server_pid ]] || { kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; }
  rm -rf "$out"
}
trap cleanup EXIT
python3 scripts/bench/payloads.py models/golden.jsonl "$out"

# rate BIN: requests/s of one run against a fresh server.
rate() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # shellcheck disable=SC2086 # AB_SERVER_ENV is a list of VAR=value words
  env CHURN_HOST=127.0.0.1 PORT="$port" LOG_LEVEL=warn ${AB_SERVER_ENV:-} "$1" >/dev/null 2>"$out/server.log" &
  server_pid=$!
  python3 scripts/bench/startup_probe.py --wait "$port" 30 >/dev/null || { tail -5 "$out/server.log" >&2; exit 1; }
  local url="http://127.0.0.1:$port/api/v1/predict" args=(-t2 "-c$conns" -s scripts/bench/post.lua)
  BENCH_COUNT_STATUS=0 BENCH_BODY=$out/single.json timeout 60 wrk "${args[@]}" -d1s "$url" >/dev/null
  BENCH_COUNT_STATUS=0 BENCH_BODY=$out/single.json timeout $((secs + 60)) wrk "${args[@]}" "-d${secs}s" "$url" >"$out/wrk.txt"
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  grep -q 'Non-2xx' "$out/wrk.txt" && { echo "non-2xx answers in an A/B run" >&2; cat "$out/wrk.txt" >&2; exit 1; }
  awk '/^Requests\/sec:/ {print $2}' "$out/wrk.txt"
}

echo "A: $bin_a"
echo "B: $bin_b"
echo "$pairs pairs of ${secs}s runs at $conns connections, order alternating"
ratios=()
for ((i = 1; i <= pairs; i++)); do
  if ((i % 2)); then a=$(rate "$bin_a"); b=$(rate "$bin_b"); else b=$(rate "$bin_b"); a=$(rate "$bin_a"); fi
  r=$(python3 -c "print(f'{$a / $b:.3f}')")
  ratios+=("$r")
  printf 'pair %2d  A %9.0f req/s  B %9.0f req/s  A/B %s\n' "$i" "$a" "$b" "$r"
done
python3 - "${ratios[@]}" <<'PY'
import statistics, sys
r = sorted(float(x) for x in sys.argv[1:])
print(f"A/B median {statistics.median(r):.3f} over {len(r)} pairs (min {r[0]:.3f}, max {r[-1]:.3f})")
PY
