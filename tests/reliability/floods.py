"""Connection floods: idle keep-alive connections and slowloris heads must not
lock out a client that sends requests, nor push memory past the budget.

    python3 floods.py BINARY --budget-mib M [--idle N] [--slow N] [--requests N]

Starts the release binary with its defaults (max_connections 1024) on a free
127.0.0.1 port, opens --idle keep-alive connections that each send one
request and then stay open, and --slow connections that each send part of a
request head and then nothing, all held open by this process. Meanwhile a
normal client sends --requests predictions, one connection each, and
measures their latency. Prints one summary line; exits 1 if any normal
request failed (no answer within 30 s, or not 200), the peak RSS passed the
budget, or the server stopped answering.
"""

import argparse
import http.client
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import BODY, peak_mib, start, stop  # noqa: E402

def open_flood(port, payload):
    """A connection that sends `payload` and is then held open (None if the
    kernel did not even complete it within 2 s)."""
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(payload)
        return s
    except OSError:
        s.close()
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--budget-mib", type=float, required=True)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--slow", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    server, port = start(args.binary)
    held = []
    latencies, failures = [], []
    try:
        idle = b"GET /health/live HTTP/1.1\r\nHost: flood\r\n\r\n"
        slow = b"POST /api/v1/predict HTTP/1.1\r\nHost: flood\r\nX-Pad: " + b"a" * 8000
        flood_started = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            payloads = [idle] * args.idle + [slow] * args.slow
            held.extend(s for s in pool.map(lambda p: open_flood(port, p), payloads) if s is not None)
        flood_secs = time.monotonic() - flood_started
        time.sleep(0.5)
        started = time.monotonic()
        for _ in range(args.requests):
            t0 = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/api/v1/predict", body=BODY,
                             headers={"Content-Type": "application/json", "Connection": "close"})
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status != 200:
                    failures.append(response.status)
            except OSError as e:
                failures.append(type(e).__name__)
            latencies.append(time.monotonic() - t0)
        elapsed = time.monotonic() - started
        peak = peak_mib(server.pid)
        alive = server.poll() is None
    finally:
        for s in held:
            s.close()
        stop(server)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"floods: {args.idle} idle + {args.slow} slow connections opened ({len(held)} completed by the kernel in {flood_secs:.1f} s), "
        f"{args.requests} normal requests in {elapsed:.1f} s, {len(failures)} failed, p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, peak RSS {peak:.0f} MiB (budget {args.budget_mib:.0f} MiB)"
    )
    ok = not failures and peak <= args.budget_mib and alive
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
