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
Lambda run: a Lambda Runtime API on loopback (the two calls a function makes:
GET .../invocation/next, POST .../invocation/{id}/response) hands the binary
an API Gateway HTTP API event with the same customer; the time is when the
response arrives. What Lambda adds in front (fetching the image, starting the
micro-VM) is not in either figure. Times are from just before the spawn.
Both run from the repository root with its configs/ and models/; only
127.0.0.1 is contacted; every process started here is stopped (by its PID)
before the next run. Prints the runs and one summary line per target.
"""
import http.server
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

TIMEOUT_S = 20.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENT = os.path.join(ROOT, "tests/fixtures/lambda/apigw_http_v2_predict.json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def env(**extra) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "AWS_"))}
    return dict(base, LOG_FORMAT="json", CHURN_HOST="127.0.0.1", **extra)


def server_run(binary: str, body: bytes) -> float:
    port = free_port()
    request = (b"POST /api/v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "serve"], env=env(PORT=str(port)), cwd=ROOT,
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
        stop(proc)


class RuntimeApi(http.server.ThreadingHTTPServer):
    """One invocation per run; later `next` calls wait until the run ends."""
    daemon_threads = True

    def __init__(self, event: bytes):
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.event = event
        self.replies: queue.Queue = queue.Queue()
        self.served = threading.Event()
        self.done = threading.Event()

    def handle_error(self, request, client_address):
        # The function is killed while its next `next` call is held open.
        pass


class RuntimeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        if self.path != "/2018-06-01/runtime/invocation/next":
            self.send_error(404)
            return
        if self.server.served.is_set():
            self.server.done.wait(TIMEOUT_S)
            self.close_connection = True
            return
        self.server.served.set()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:churn-serve")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.event)))
        self.end_headers()
        self.wfile.write(self.server.event)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.replies.put((time.perf_counter(), self.path, body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def lambda_run(binary: str, event: bytes) -> float:
    api = RuntimeApi(event)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    lambda_env = env(AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}",
                     AWS_LAMBDA_FUNCTION_NAME="churn-serve", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
                     AWS_LAMBDA_FUNCTION_VERSION="$LATEST")
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "lambda"], env=lambda_env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        at, path, body = api.replies.get(timeout=TIMEOUT_S)
        reply = json.loads(body)
        if not path.endswith("/cold-1/response") or reply.get("statusCode") != 200:
            raise SystemExit(f"the function answered {path}: {body[:300]!r}")
        return (at - started) * 1000.0
    finally:
        stop(proc)
        api.done.set()
        api.shutdown()
        api.server_close()


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
