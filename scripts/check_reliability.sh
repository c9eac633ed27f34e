#!/usr/bin/env bash
# Reliability checks against the release binary, each bounded in time, on
# 127.0.0.1 only, stopping (by PID) every server it starts:
#   1. SIGTERM under keep-alive load at 64 connections, with a 2 s drain and
#      clients that never retry: every request sent is answered (lost = 0);
#   2. the same without a drain, with clients that retry a request once when
#      a reused connection turns out closed (as HTTP libraries do): lost = 0;
#   3. memory: worst-case bodies on every endpoint, the in-flight budget's
#      concurrency + 2 at once: peak RSS within the README's memory budget;
#   4. floods: 5,000 idle keep-alive and 2,000 slowloris connections held
#      open while a normal client sends 200 predictions: none fails, and the
#      peak RSS stays within the budget;
#   5. overload: wrk with 1,024 connections against a queue of 16: only 200
#      and 503 with Retry-After, and the p99 is back to normal a second later.
# The property-based fuzzing runs in the rust stage (tests/fuzz.rs, 2,000
# cases per property); `make fuzz` runs 1,000,000.
# One summary line per check; the exit status is non-zero if any failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib.sh
bin=$(release_binary)
# The floods hold ~7,000 sockets, wrk 1,024.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if ! command -v wrk >/dev/null; then
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "SKIP: no wrk, and it can only be installed as root with apt-get"
    exit 77
  fi
  timeout 300 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq wrk >/dev/null
fi

# The budget of the default settings (README, "Memory budget"), as the
# binary computes it.
budget_mib=$("$bin" memory-budget)

run "sigterm with a drain, no retries" python3 tests/reliability/sigterm.py "$bin" --drain 2 --no-retry
run "sigterm without a drain, retries" python3 tests/reliability/sigterm.py "$bin" --drain 0
run "memory under worst-case bodies" python3 tests/reliability/memory.py "$bin" --budget-mib "$budget_mib"
run "connection floods" python3 tests/reliability/floods.py "$bin" --budget-mib "$budget_mib"
run "overload" python3 tests/reliability/overload.py "$bin"
printf '\ncheck_reliability: %d failed\n' "$failed"
[[ $failed -eq 0 ]]
