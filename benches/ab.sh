#!/usr/bin/env bash
# Paired A/B of two server binaries with wrk, in interleaved pairs (A B,
# B A, A B, ...), each run against a freshly started server, so drift in the
# machine's speed hits both sides alike.
#
#   bash benches/ab.sh BIN_A BIN_B [PAIRS] [SECS] [CONNS]
#
# Defaults: 10 pairs of 3 s runs at 64 connections, after a 1 s warm-up per
# server. Prints each pair's requests/s, median latency and A/B ratios, then
# the median ratios and their spread (if 1.0 is inside the spread, the two
# are not told apart by this run). AB_BODY=batch1000 posts batches of 1000
# rows instead of single predictions. Extra server settings for both sides:
# AB_SERVER_ENV ("CHURN_WORKERS=1 ..."); for one side, give a wrapper script
# as its binary. Talks only to 127.0.0.1; stops what it starts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ $# -ge 2 ]] || { sed -n '2,13p' "$0"; exit 2; }
bin_a=$1 bin_b=$2 pairs=${3:-10} secs=${4:-3} conns=${5:-64}
body=${AB_BODY:-single}
case $body in single) path="" ;; batch100 | batch1000) path=/batch ;; *) echo "AB_BODY: single, batch100 or batch1000" >&2; exit 2 ;; esac
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
python3 benches/lib/payloads.py models/golden.jsonl "$out"

# rate BIN: requests/s of one run against a fresh server.
rate() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # shellcheck disable=SC2086 # AB_SERVER_ENV is a list of VAR=value words
  env CHURN_HOST=127.0.0.1 PORT="$port" LOG_LEVEL=warn ${AB_SERVER_ENV:-} "$1" >/dev/null 2>"$out/server.log" &
  server_pid=$!
  python3 benches/lib/startup_probe.py --wait "$port" 30 >/dev/null || { tail -5 "$out/server.log" >&2; exit 1; }
  local url="http://127.0.0.1:$port/api/v1/predict$path" args=(-t"$((conns < 2 ? 1 : 2))" "-c$conns" -s benches/lib/post.lua)
  BENCH_COUNT_STATUS=0 BENCH_BODY=$out/$body.json timeout 60 wrk "${args[@]}" -d1s "$url" >/dev/null
  BENCH_COUNT_STATUS=0 BENCH_BODY=$out/$body.json timeout $((secs + 60)) wrk "${args[@]}" "-d${secs}s" "$url" >"$out/wrk.txt"
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  grep -q 'Non-2xx' "$out/wrk.txt" && { echo "non-2xx answers in an A/B run" >&2; cat "$out/wrk.txt" >&2; exit 1; }
  # "requests/s p50_us"
  sed -n 's/^WRK_RESULT //p' "$out/wrk.txt" |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["requests"] * 1e6 / r["duration_us"], r["p50_us"])'
}

echo "A: $bin_a"
echo "B: $bin_b"
echo "$pairs pairs of ${secs}s runs at $conns connections ($body), order alternating"
pairs_out=$out/pairs.txt
for ((i = 1; i <= pairs; i++)); do
  if ((i % 2)); then a=$(rate "$bin_a"); b=$(rate "$bin_b"); else b=$(rate "$bin_b"); a=$(rate "$bin_a"); fi
  echo "$i $a $b" | tee -a "$pairs_out" |
    awk '{printf "pair %2d  A %9.0f req/s p50 %6d us  B %9.0f req/s p50 %6d us  A/B rate %.3f p50 %.3f\n", $1, $2, $3, $4, $5, $2 / $4, $3 / $5}'
done
python3 - "$pairs_out" <<'PY'
import statistics, sys
rows = [list(map(float, line.split()[1:])) for line in open(sys.argv[1])]
for name, a, b in (("requests/s", 0, 2), ("p50 latency", 1, 3)):
    r = sorted(row[a] / row[b] for row in rows)
    print(f"A/B {name}: median {statistics.median(r):.3f} over {len(r)} pairs (min {r[0]:.3f}, max {r[-1]:.3f})")
PY
