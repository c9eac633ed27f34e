#!/usr/bin/env python3
"""Cold start: process start to the first prediction answered, for the HTTP
server and for the Lambda build, in interleaved runs.

usage: cold_start.py SERVER_BINARY LAMBDA_BINARY [RUNS]
  SERVER_BINARY  target/release/churn-serve (make build)
  LAMBDA_BINARY  a --features lambda release build, e.g.
                 cargo build --release --features lambda --target-dir target/lambda
                 -> target/lambda/release/churn-serve

Server run: start `serve` on a free loopback port and POST one customer to
/api/v1/predict over a raw socket every ~1 ms until it answers 200.
Lambda run: a Lambda Runtime API on loopback (tests/lambda/runtime_api.py)
hands the binary an API Gateway HTTP API event with the same customer; the
time is when the response arrives. What Lambda adds in front (fetching the image, starting the
micro-VM) is not in either figure. Times are from just before the spawn.
Both run from the repository root with its configs/ and models/; only
127.0.0.1 is contacted; every process started here is stopped (by its PID)
before the next run. Prints the runs and one summary line per target.
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

TIMEOUT_S = 20.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENT = os.path.join(ROOT, "tests/fixtures/lambda/apigw_http_v2_predict.json")
sys.path[:0] = [os.path.join(ROOT, "tests/lambda"), os.path.join(ROOT, "benches/lib")]
import runtime_api  # noqa: E402  (the Runtime API the tests use)
from startup_probe import free_port  # noqa: E402


def server_run(binary: str, body: bytes) -> float:
    port = free_port()
    request = (b"POST /api/v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "serve"], env=runtime_api.clean_env(CHURN_HOST="127.0.0.1", PORT=str(port)), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                    s.sendall(request)
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return (time.perf_counter() - started) * 1000.0
            except OSError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode} before answering")
            if time.perf_counter() - started > TIMEOUT_S:
                raise SystemExit(f"no answer within {TIMEOUT_S} s")
            time.sleep(0.001)
    finally:
        runtime_api.stop(proc)


def lambda_run(binary: str, event: bytes) -> float:
    ms, path, reply = runtime_api.invoke(event, [binary, "lambda"], TIMEOUT_S, cwd=ROOT)
    if not path.endswith("/response") or reply.get("statusCode") != 200:
        raise SystemExit(f"the function answered {path}: {str(reply)[:300]}")
    return ms


def summary(name: str, runs: list) -> str:
    return (f"{name}: median {statistics.median(runs):.1f} ms, min {min(runs):.1f}, max {max(runs):.1f} "
            f"({len(runs)} runs)")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server_bin, lambda_bin = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    event = open(EVENT, "rb").read()
    customer = json.loads(event)["body"].encode()
    server, function = [], []
    for i in range(runs):
        # Alternate which goes first, so neither always gets the warmer cache.
        pair = [("server", lambda: server_run(server_bin, customer)), ("lambda", lambda: lambda_run(lambda_bin, event))]
        for name, run in (pair if i % 2 == 0 else pair[::-1]):
            ms = run()
            (server if name == "server" else function).append(ms)
            print(f"run {i + 1} {name}: {ms:.1f} ms", flush=True)
    print(summary("server, start to first prediction", server))
    print(summary("lambda, start to first invocation answered", function))


if __name__ == "__main__":
    main()
