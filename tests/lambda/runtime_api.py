#!/usr/bin/env python3
"""A Lambda Runtime API on loopback, for running the `lambda` build outside AWS.

usage: runtime_api.py EVENT_JSON [--timeout S] -- COMMAND [ARG...]

Serves EVENT_JSON as one invocation (the two calls a function makes: GET
/2018-06-01/runtime/invocation/next, then POST .../{id}/response or
.../{id}/error), runs COMMAND with AWS_LAMBDA_RUNTIME_API and the other
variables Lambda sets in its environment ("{api}" in an argument becomes
host:port too, for `podman run -e`), waits for the answer, stops COMMAND (by
its PID: SIGTERM, then SIGKILL) and prints one line:
    answered 200 in 41.3 ms (start to answer): {"customer_id": ...
Exits 0 when the answer is an HTTP 200 response, 1 otherwise. Only 127.0.0.1
is used. benches/cold_start.py times the same way.
"""
import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

REQUEST_ID = "local-1"
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "churn-serve",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
}


class RuntimeApi(http.server.ThreadingHTTPServer):
    """One invocation; a later `next` is held open until `close`, as Lambda
    holds it until the next event."""
    daemon_threads = True

    def __init__(self, event: bytes):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.event = event
        self.replies: queue.Queue = queue.Queue()
        self.served = threading.Event()
        self.done = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address):
        # The function is stopped while its next `next` call is held open.
        pass

    def reply(self, timeout: float):
        """(perf_counter time, path, body) of the function's answer."""
        return self.replies.get(timeout=timeout)

    def close(self) -> None:
        self.done.set()
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        if self.path != "/2018-06-01/runtime/invocation/next":
            self.send_error(404)
            return
        if self.server.served.is_set():
            self.server.done.wait(120)
            self.close_connection = True
            return
        self.server.served.set()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", REQUEST_ID)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:eu-west-1:123456789012:function:churn-serve")
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


def clean_env(**extra) -> dict:
    """This environment without its CHURN_* and AWS_* variables (a developer's
    settings must not leak into a run), with JSON logs and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "AWS_"))}
    return dict(env, LOG_FORMAT="json", **extra)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def invoke(event: bytes, command: list, timeout: float, cwd=None, quiet=True):
    """Runs COMMAND against a fresh Runtime API; returns (ms from spawn to
    answer, answer path, answer JSON). Raises SystemExit on no answer."""
    api = RuntimeApi(event)
    env = clean_env(**LAMBDA_ENV, AWS_LAMBDA_RUNTIME_API=api.address)
    command = [arg.replace("{api}", api.address) for arg in command]
    out = subprocess.DEVNULL if quiet else None
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=out)
    try:
        at, path, body = api.reply(timeout)
    except queue.Empty:
        raise SystemExit(f"no answer within {timeout} s from {' '.join(command)}")
    finally:
        stop(proc)
        api.close()
    return (at - started) * 1000.0, path, json.loads(body)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = sys.argv[1:]
    if "--" not in args or not args[0] or args.index("--") == len(args) - 1:
        raise SystemExit(__doc__)
    split = args.index("--")
    options, command = args[:split], args[split + 1:]
    event_file = options[0]
    timeout = float(options[options.index("--timeout") + 1]) if "--timeout" in options else 30.0
    ms, path, reply = invoke(open(event_file, "rb").read(), command, timeout, quiet=False)
    status = reply.get("statusCode")
    print(f"answered {status} in {ms:.1f} ms (start to answer) at {path}: {str(reply.get('body'))[:200]}")
    if not path.endswith(f"/{REQUEST_ID}/response") or status != 200:
        sys.exit(1)


if __name__ == "__main__":
    main()
