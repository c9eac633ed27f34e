#!/usr/bin/env bash
# The benchmark, one command: raw in-process ONNX rate vs the HTTP server.
#
#   bash benches/run.sh        (or `make bench`)
#
# Installs what it needs (wrk from Debian, ONNX Runtime), builds release
# binaries, then, on this machine and in this one run:
#   1. criterion: raw ONNX call at 1/32/1000 rows (skip: BENCH_CRITERION=0)
#   2. examples/raw_rate: raw rate with threads = nproc at 1 and 1000 rows
#   3. start-to-first-healthy-answer time (median of BENCH_STARTUP_RUNS)
#   4. wrk: single predictions at 1/16/64/256 connections, batches of 100
#      (16 conns) and 1000 rows (4 conns); the 64-conn run again with
#      LOG_LEVEL=warn; an overload run (small queue, 1024 connections); the
#      HTTP ceiling: examples/bare_http (same JSON parsing, no model) at 64;
#      when perf works, server instructions per request in separate 64-conn
#      runs (perf slows the runs it watches)
#   5. paired rounds for the ratio targets: raw rate, the bare HTTP ceiling
#      @64, single @64, overload and batch 1000 back to back, BENCH_ROUNDS
#      times; targets use the median round
#   6. interleaved pairs of short single @64 and overload runs, alternating
#      order; the report gives the overload figures of the median pair
# wrk runs without post.lua's per-response callback; the server counts
# responses by status
# and writes benches/results.md (printed at the end). Helpers are in
# benches/lib/. Logs, raw wrk output and results.jsonl stay in target/bench/.
#
# Only 127.0.0.1 is contacted; every run is bounded in time; every process
# started here is stopped on exit. Knobs (env): BENCH_DURATION (10 s per wrk
# run), BENCH_WARMUP (3), BENCH_RAW_SECS (5), BENCH_STARTUP_RUNS (5),
# BENCH_CRITERION (1), BENCH_CRITERION_SECS (2), BENCH_OVERLOAD_CONNS (1024),
# BENCH_OVERLOAD_QUEUE (16), BENCH_ROUNDS (5), BENCH_ROUND_SECS (4), BENCH_PAIRS (16),
# BENCH_PAIR_SECS (2), BENCH_NOTE (a line added to the results),
# BENCH_SERVER_ENV (extra server settings for every server started, e.g.
# "CHURN_WORKERS=1 CHURN_BATCH_WAIT_US=100", recorded in the results),
# BENCH_SERVER_BIN (another server binary, e.g. a patched build, to compare;
# recorded in the results), BENCH_RESULTS_MD (where to write the table).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
script_started=$(date +%s)
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
raw_secs=${BENCH_RAW_SECS:-5}
startup_runs=${BENCH_STARTUP_RUNS:-5}
criterion=${BENCH_CRITERION:-1}
criterion_secs=${BENCH_CRITERION_SECS:-2}
overload_conns=${BENCH_OVERLOAD_CONNS:-1024}
overload_queue=${BENCH_OVERLOAD_QUEUE:-16}
overload_timeout=5
rounds=${BENCH_ROUNDS:-5}
round_secs=${BENCH_ROUND_SECS:-4}
pairs=${BENCH_PAIRS:-16}
pair_secs=${BENCH_PAIR_SECS:-2}
out=$root/target/bench
results=$out/results.jsonl
results_md=${BENCH_RESULTS_MD:-$root/benches/results.md}
server_bin=${BENCH_SERVER_BIN:-$root/target/release/churn-serve}
raw_bin=$root/target/release/examples/raw_rate
bare_bin=$root/target/release/examples/bare_http
helpers=$root/benches/lib
nproc=$(nproc)

stage() { printf '\n==== %s ====\n' "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# The server's configuration comes from defaults plus what is set below, not
# from whatever CHURN_* or plain keys happen to be in the caller's shell
# (API_KEYS would turn every request into a 401).
for v in $(compgen -e); do
  case $v in
    CHURN_* | PORT | LOG_LEVEL | LOG_FORMAT | MODEL_PATH | API_KEYS) unset "$v" ;;
  esac
done
export CHURN_HOST=127.0.0.1
# Request lines as the container writes them (the Dockerfile and k8s set
# LOG_FORMAT=json); `text` is for a person at a terminal.
export LOG_FORMAT=json

# ---- cleanup: stop only what this script started --------------------------
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools ------------------------------------------------------------------
stage "tools"
command -v python3 >/dev/null || die "python3 is required"
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
fi
bash scripts/install_ort.sh
# Optional: hardware counters (server instructions per request) when perf works here.
have_perf=0
if command -v perf >/dev/null && perf stat -x, -e instructions:u true >/dev/null 2>&1; then
  have_perf=1
else
  echo "perf with hardware counters unavailable: no instructions-per-request figures" >&2
fi
# 1024 connections need more than the usual 1024 descriptors (wrk and server).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge $((overload_conns + 256)) ]] ||
  die "open-file limit $(ulimit -n) is too low for $overload_conns connections"

stage "build (release)"
build_started=$(date +%s)
cargo build --release --locked --bin churn-serve --example raw_rate --example bare_http
build_secs=$(($(date +%s) - build_started))

mkdir -p "$out"
rm -f "$out"/*.log "$out"/*.wrk.txt "$out"/*.wrk-cpu "$out"/*.perf "$results"
python3 "$helpers/payloads.py" models/golden.jsonl "$out"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- 1. criterion -------------------------------------------------------------
if [[ $criterion == 1 ]]; then
  stage "criterion: raw ONNX call (1 thread)"
  rm -rf target/criterion/onnx_predict
  BENCH_SECS=$criterion_secs timeout 600 cargo bench --locked --bench inference -- --noplot
fi

# ---- 2. raw in-process rate, same cores, same run ------------------------------
stage "raw in-process rate: threads=$nproc"
raw_rate() { # seconds per row count, [round]: one result line per row count
  timeout $(($1 * 4 + 60)) "$raw_bin" --threads "$nproc" --rows 1,1000 --secs "$1" | tee "$out/raw.txt"
  python3 - "$out/raw.txt" "${2:-0}" >>"$results" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("raw "):
        kv = dict(p.split("=", 1) for p in line.split()[1:])
        print(json.dumps({"kind": "raw", "threads": int(kv["threads"]), "rows": int(kv["rows"]),
                          "calls_per_sec": float(kv["calls_per_sec"]), "rows_per_sec": float(kv["rows_per_sec"]),
                          "p50_us": int(kv["p50_us"]), "p99_us": int(kv["p99_us"]),
                          "cpu_us_per_call": float(kv.get("cpu_us_per_call", "nan")),
                          "round": int(sys.argv[2])}))
PY
}
raw_rate "$raw_secs"

# ---- 3. startup time -----------------------------------------------------------
stage "start to first healthy answer ($startup_runs runs)"
# shellcheck disable=SC2086 # BENCH_SERVER_ENV is a list of VAR=value words
env LOG_LEVEL=info ${BENCH_SERVER_ENV:-} timeout 120 python3 "$helpers/startup_probe.py" "$server_bin" \
  "$startup_runs" "$out/startup.log" | tee "$out/startup.txt"
sed -n 's/^STARTUP //p' "$out/startup.txt" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["kind"]="startup"; print(json.dumps(d))' >>"$results"

# ---- server helpers -------------------------------------------------------------
server_pid=""
port=""
start_server() { # name, then extra VAR=value settings
  local name=$1
  shift
  port=$(free_port)
  # shellcheck disable=SC2086 # BENCH_SERVER_ENV is a list of VAR=value words
  launch "$name" "($*)" env PORT="$port" "$@" ${BENCH_SERVER_ENV:-} "$server_bin"
}
launch() { # name, description, then the command (listening on $port)
  local name=$1 what=$2
  shift 2
  "$@" >/dev/null 2>"$out/server-$name.log" &
  server_pid=$!
  pids+=("$server_pid")
  python3 "$helpers/startup_probe.py" --wait "$port" 30 ||
    { tail -5 "$out/server-$name.log" >&2; die "server $name did not become healthy"; }
  echo "server $name: pid $server_pid on 127.0.0.1:$port $what" >&2
}
warm_up() { # [file for wrk's output]: single predictions at 64 connections
  BENCH_COUNT_STATUS=0 BENCH_BODY=$out/single.json timeout $((warmup + 30)) wrk -t2 -c64 -d"${warmup}s" -s "$helpers/post.lua" \
    "http://127.0.0.1:$port/api/v1/predict" >"${1:-/dev/null}" 2>&1 || die "warm-up failed"
}
stop_server() { # name
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  # One log line per request adds up to hundreds of MB: keep the count and the tail.
  local log=$out/server-$1.log
  echo "server $1 wrote $(wc -l <"$log") log lines ($(du -h "$log" | cut -f1)); keeping the last 1000" >&2
  tail -n 1000 "$log" >"$log.tail" && mv "$log.tail" "$log"
}
cpu_seconds() { # utime + stime of the server, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$server_pid/stat"
}
context_switches() { # voluntary and involuntary, summed over the server's threads
  cat /proc/"$server_pid"/task/*/status 2>/dev/null |
    awk '$1 == "voluntary_ctxt_switches:" { v += $2 } $1 == "nonvoluntary_ctxt_switches:" { n += $2 } END { print v + 0, n + 0 }'
}
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }

# run_wrk NAME LABEL CONNS ROWS BODY [extra wrk args...]: one wrk run, one result line.
run_wrk() {
  local name=$1 label=$2 conns=$3 rows=$4 body=$5
  shift 5
  local threads=$((conns < 2 ? conns : 2))
  local path=/api/v1/predict
  [[ $rows -gt 1 ]] && path=/api/v1/predict/batch
  echo "wrk $label: $conns conns, $threads threads, ${WRK_SECS:-$duration}s, $path" >&2
  local cpu0 cpu1 ctx0 ctx1 perf_pid=""
  rm -f "$out/$name.perf"
  if [[ $have_perf == 1 && ${COUNT_INSN:-0} == 1 ]]; then
    # Instructions per request: the figure a busy machine disturbs least.
    # Only in runs of their own: perf saves and restores its counters on
    # every context switch, which cost 10-25 % req/s at 64 connections and
    # doubled the 503 share under overload (slower worker wake-ups).
    perf stat -x, -e instructions:u,instructions:k -p "$server_pid" -o "$out/$name.perf" -- sleep "$duration" \
      >/dev/null 2>&1 &
    perf_pid=$!
    pids+=("$perf_pid")
  fi
  python3 "$helpers/scrape.py" "$port" "$out/$name.metrics0"
  cpu0=$(cpu_seconds)
  ctx0=$(context_switches)
  # No per-response Lua callback (post.lua): it costs wrk CPU on the server's
  # cores, more per request at 1024 connections than at 64 (16 interleaved
  # 2 s pairs per try: overload 200s/s vs single @64 0.69-0.74 with it in
  # three tries, 0.78-0.82 without in three); the server counts responses by
  # status instead.
  BENCH_COUNT_STATUS=0 BENCH_BODY=$body timeout $((duration + 60)) python3 "$helpers/run_cpu.py" "$out/$name.wrk-cpu" \
    wrk -t"$threads" -c"$conns" -d"${WRK_SECS:-$duration}s" --latency -s "$helpers/post.lua" "$@" \
    "http://127.0.0.1:$port$path" >"$out/$name.wrk.txt" 2>&1 ||
    { cat "$out/$name.wrk.txt" >&2; die "wrk $label failed"; }
  cpu1=$(cpu_seconds)
  ctx1=$(context_switches)
  [[ -z $perf_pid ]] || wait "$perf_pid" || true
  python3 "$helpers/scrape.py" "$port" "$out/$name.metrics1"
  kill -0 "$server_pid" 2>/dev/null || die "server died during $label (see $out/server-*.log)"
  python3 "$helpers/wrk_result.py" "$out/$name.wrk.txt" "$name" "$label" "$conns" "$threads" "$rows" \
    "$cpu0" "$cpu1" "$(status_kb VmHWM)" "$(status_kb VmRSS)" "$(cat "$out/$name.wrk-cpu")" "$ctx0 $ctx1" \
    "$out/$name.metrics0" "$out/$name.metrics1" "$out/$name.perf" "${WRK_EXTRA_JSON:-}" >>"$results" ||
    { cat "$out/$name.wrk.txt" >&2; die "no result from wrk $label"; }
}

# run_single64 NAME LABEL [JSON fields]: single predictions at 64 connections
# on the current server (the figure the ratio targets compare).
run_single64() {
  WRK_EXTRA_JSON=${3:+"{$3}"} run_wrk "$1" "$2" 64 1 "$out/single.json"
}

# run_overload NAME LABEL [JSON fields]: one overload run on the current server
# ($overload_conns connections, wrk --timeout), recorded with the queue size.
run_overload() {
  WRK_EXTRA_JSON="{${3:+$3, }\"queue\": $overload_queue, \"timeout_s\": $overload_timeout}" \
    run_wrk "$1" "$2" "$overload_conns" 1 "$out/single.json" --timeout "${overload_timeout}s"
}

# ---- 4. HTTP load ---------------------------------------------------------------
stage "HTTP: default config, LOG_LEVEL=info, stderr to $out/server-main.log"
start_server main LOG_LEVEL=info
echo "warm-up: ${warmup}s at 64 connections" >&2
warm_up "$out/warmup.wrk.txt"
for c in 1 16 64 256; do
  run_wrk "single_$c" "single" "$c" 1 "$out/single.json"
done
run_wrk batch_100 "batch 100" 16 100 "$out/batch100.json"
run_wrk batch_1000 "batch 1000" 4 1000 "$out/batch1000.json"
COUNT_INSN=1 run_single64 single_64_insn "single, perf stat attached"
stop_server main

stage "HTTP: LOG_LEVEL=warn (logging cost)"
start_server warn LOG_LEVEL=warn
warm_up
run_single64 single_64_warn "single, LOG_LEVEL=warn"
COUNT_INSN=1 run_single64 single_64_warn_insn "single, LOG_LEVEL=warn, perf stat attached"
stop_server warn

stage "HTTP: overload (queue_capacity=$overload_queue, $overload_conns connections)"
start_server overload LOG_LEVEL=info CHURN_QUEUE_CAPACITY="$overload_queue"
warm_up
run_overload overload "overload"
stop_server overload

stage "HTTP ceiling: bare axum handler (same JSON parsing, no model, no middleware)"
port=$(free_port)
launch bare "(examples/bare_http)" "$bare_bin" "$port"
warm_up
run_single64 bare_64 "HTTP ceiling (bare axum, no model)"
stop_server bare

# ---- 5. paired rounds for the ratio targets ---------------------------------------
# HTTP throughput on a shared VM drifts from second to second while the raw
# ONNX rate stays put, so a ratio of two figures measured minutes apart mostly
# measures the drift. Each round measures what a target compares back to back
# and the targets use the median round.
stage "paired rounds: raw rate, bare @64, single @64, overload, batch 1000 ($rounds rounds of ${round_secs}s runs)"
start_server rounds_main LOG_LEVEL=info
main_pid=$server_pid main_port=$port
warm_up
start_server rounds_overload LOG_LEVEL=info CHURN_QUEUE_CAPACITY="$overload_queue"
over_pid=$server_pid over_port=$port
warm_up
port=$(free_port)
launch rounds_bare "(examples/bare_http)" "$bare_bin" "$port"
bare_pid=$server_pid bare_port=$port
warm_up
# Order: the bare ceiling, then single @64, then overload, so that single @64
# is next to both figures it is compared with (before run 10 overload came
# last, two runs after single @64).
for r in $(seq "$rounds"); do
  echo "round $r of $rounds" >&2
  raw_rate "$round_secs" "$r"
  server_pid=$bare_pid port=$bare_port
  WRK_SECS=$round_secs run_single64 "round${r}_bare_64" "round $r: bare HTTP ceiling" "\"round\": $r"
  server_pid=$main_pid port=$main_port
  WRK_SECS=$round_secs run_single64 "round${r}_single_64" "round $r: single" "\"round\": $r"
  server_pid=$over_pid port=$over_port
  WRK_SECS=$round_secs run_overload "round${r}_overload" "round $r: overload" "\"round\": $r"
  server_pid=$main_pid port=$main_port
  WRK_SECS=$round_secs WRK_EXTRA_JSON="{\"round\": $r}" run_wrk "round${r}_batch_1000" "round $r: batch 1000" 4 1000 "$out/batch1000.json"
done
server_pid=$bare_pid
stop_server rounds_bare

# ---- 6. interleaved pairs for the overload ratio ----------------------------------
# Even back to back, two 4 s runs often straddle a change in the host's speed
# (single @64 ranged 102-166k req/s within one run). Many short pairs,
# alternating which run goes first, give both figures the same mix of host
# states; the report gives the overload figures of the median pair.
stage "interleaved pairs: single @64 and overload ($pairs pairs of ${pair_secs}s runs, alternating order)"
pair_run() { # pair, which (single | overload)
  if [[ $2 == single ]]; then
    server_pid=$main_pid port=$main_port
    WRK_SECS=$pair_secs run_single64 "pair${1}_single_64" "pair $1: single" "\"pair\": $1"
  else
    server_pid=$over_pid port=$over_port
    WRK_SECS=$pair_secs run_overload "pair${1}_overload" "pair $1: overload" "\"pair\": $1"
  fi
}
for p in $(seq "$pairs"); do
  if ((p % 2)); then pair_run "$p" single; pair_run "$p" overload; else pair_run "$p" overload; pair_run "$p" single; fi
done
server_pid=$over_pid
stop_server rounds_overload
server_pid=$main_pid
stop_server rounds_main

# ---- report -----------------------------------------------------------------------
stage "report"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || commit="$commit (+ uncommitted changes)"
BENCH_META_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
BENCH_META_NPROC=$nproc
BENCH_META_CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
BENCH_META_MEM=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
BENCH_META_KERNEL="Linux $(uname -r)"
BENCH_META_LOAD="$load_at_start (at start), $(cut -d' ' -f1-3 /proc/loadavg) (at end)"
BENCH_META_COMMIT=$commit
BENCH_META_RUSTC=$(rustc --version | cut -d' ' -f1-2)
BENCH_META_ORT=$(find .ort/lib -name 'libonnxruntime.so.*' -printf '%f\n' | sed 's/^libonnxruntime\.so\.//' | head -1)
BENCH_META_WRK=$({ wrk --version 2>&1 || true; } | head -1 | cut -d' ' -f1-2)
export BENCH_META_DATE BENCH_META_NPROC BENCH_META_CPU BENCH_META_MEM BENCH_META_KERNEL BENCH_META_LOAD
export BENCH_META_COMMIT BENCH_META_RUSTC BENCH_META_ORT BENCH_META_WRK
export BENCH_META_DURATION=$duration BENCH_META_WARMUP=$warmup BENCH_META_CRITERION=$criterion
export BENCH_META_LOGDIR=target/bench
export BENCH_META_NOTE=${BENCH_NOTE:-}
export BENCH_META_SERVER_ENV=${BENCH_SERVER_ENV:-}
export BENCH_META_SERVER_BIN=${BENCH_SERVER_BIN:-}
python3 "$helpers/report.py" "$results" target/criterion "$results_md"
echo "wrote $results_md (raw data: $out); script time $(($(date +%s) - script_started)) s, of which build ${build_secs} s" >&2
