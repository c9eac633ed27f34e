"""Overload: 1024 connections against a small queue get only 200 or 503 (with
Retry-After), and latency is back to normal within a second of the load
stopping.

    python3 overload.py BINARY [--secs S] [--queue N]

Starts the release binary with queue_capacity --queue on a free 127.0.0.1
port; measures the p99 of 200 sequential predictions (one keep-alive
connection) at rest; runs wrk with 1024 connections for S seconds (counting
responses by status, and 503s without Retry-After);
waits one second; measures the p99 again. Prints one summary line; exits 1
if any answer was neither 200 nor 503, a 503 lacked Retry-After, wrk saw
connect errors or timeouts, or the p99 after the
load is over max(3 x the p99 at rest, the p99 at rest + 2 ms).
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import BODY, ROOT, start, stop  # noqa: E402

def p99_ms(port, n=200):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/predict", body=BODY, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        times.append((time.perf_counter() - t0) * 1000)
        if response.status != 200:
            raise RuntimeError(f"status {response.status} at rest")
    conn.close()
    times.sort()
    return times[int(n * 0.99) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--secs", type=int, default=3)
    parser.add_argument("--queue", type=int, default=16)
    args = parser.parse_args()
    server, port = start(args.binary, CHURN_QUEUE_CAPACITY=str(args.queue))
    try:
        at_rest = p99_ms(port)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(BODY.decode())
        env_wrk = {**os.environ, "BENCH_BODY": f.name}
        wrk = subprocess.run(
            ["wrk", "-t2", "-c1024", f"-d{args.secs}s", "--timeout", "5s", "-s",
             str(ROOT / "benches/lib/post.lua"), f"http://127.0.0.1:{port}/api/v1/predict"],
            env=env_wrk, capture_output=True, text=True, timeout=args.secs + 60,
        )
        os.unlink(f.name)
        time.sleep(1)
        after = p99_ms(port)
        alive = server.poll() is None
    finally:
        stop(server)
    result = re.search(r"^WRK_RESULT (.*)$", wrk.stdout, re.M)
    if not result:
        print(wrk.stdout[-2000:], wrk.stderr[-2000:])
        return 1
    summary = json.loads(result.group(1))
    statuses = {int(k): v for k, v in summary.get("statuses", {}).items()}
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", wrk.stdout)
    connect, read, write, timeouts = map(int, errors.groups()) if errors else (0, 0, 0, 0)
    # post.lua counts a 503 without Retry-After under status 0.
    no_retry_after = statuses.pop(0, 0)
    others = sum(v for k, v in statuses.items() if k not in (200, 503))
    limit = max(3 * at_rest, at_rest + 2)
    print(
        f"overload: 1024 connections for {args.secs} s, queue {args.queue}: 200 {statuses.get(200, 0)}, "
        f"503 {statuses.get(503, 0)} ({no_retry_after} without Retry-After), other {others}, socket errors connect {connect} read {read} "
        f"write {write} timeout {timeouts}; p99 at rest {at_rest:.2f} ms, 1 s after the load {after:.2f} ms "
        f"(limit {limit:.2f} ms)"
    )
    ok = alive and others == 0 and no_retry_after == 0 and timeouts == 0 and connect == 0 and statuses.get(200, 0) > 0 and after <= limit
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
