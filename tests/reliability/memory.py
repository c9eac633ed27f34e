"""Memory under worst-case bodies: peak RSS stays within the documented budget.

    python3 memory.py BINARY [--budget-mib M]

For each worst-case body of `worst_bodies.py` (every endpoint, each just
under max_body_bytes and built to make its parser allocate), starts the
release binary with its defaults on a free 127.0.0.1 port, sends N of them
at once, where N is two more than max_inflight_body_bytes / max_body_bytes
lets in (the budget's concurrency + 2), checks that every answer is a
documented 4xx/503 and that the server still answers /health/ready, and
reads the process's peak RSS (VmHWM). Prints one line per body and a
summary; exits 1 if any peak is over the budget or any answer is a 5xx
other than 503.
"""

import argparse
import http.client
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import peak_mib, start, stop  # noqa: E402
from worst_bodies import bodies  # noqa: E402

MAX_BODY = 2 * 1024 * 1024  # max_body_bytes default
INFLIGHT = 16 * 1024 * 1024  # max_inflight_body_bytes default


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return response.status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--budget-mib", type=float, required=True)
    args = parser.parse_args()
    parallel = INFLIGHT // MAX_BODY + 2
    worst = 0.0
    failures = []
    for name, path, body in bodies(MAX_BODY - 64):
        server, port = start(args.binary)
        try:
            at_rest = peak_mib(server.pid)
            statuses = []

            def post():
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                statuses.append(response.status)

            threads = [threading.Thread(target=post) for _ in range(parallel)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            healthy = get(port, "/health/ready") == 200
            peak = peak_mib(server.pid)
        finally:
            stop(server)
        worst = max(worst, peak)
        bad = [s for s in statuses if s >= 500 and s != 503]
        ok = peak <= args.budget_mib and not bad and healthy and len(statuses) == parallel
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {parallel} x {len(body) / 2**20:.2f} MiB, statuses "
              f"{sorted(set(statuses))}, peak RSS {at_rest:.0f} -> {peak:.0f} MiB, healthy {healthy}")
        if not ok:
            failures.append(name)
    print(f"memory: {parallel} parallel worst-case bodies per endpoint, peak RSS {worst:.0f} MiB "
          f"(budget {args.budget_mib:.0f} MiB), {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
