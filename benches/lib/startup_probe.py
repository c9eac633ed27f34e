#!/usr/bin/env python3
"""Start-to-first-healthy-answer time of the server binary.

usage: startup_probe.py BINARY RUNS LOGFILE
       startup_probe.py --wait PORT SECONDS   (exit 0 once /health answers 200)
Each run: pick a free loopback port, start BINARY with PORT/CHURN_HOST set
(other settings come from the environment), poll GET /health over a raw
socket every ~1 ms until it answers 200, then stop the server (SIGTERM,
SIGKILL after 5 s). Times are from just before the process is spawned.
Prints one line:  STARTUP {"runs_ms": [...], "median_ms": ...}
Bounded: a run that is not healthy within 20 s fails the probe.
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def one_run(binary: str, log) -> float:
    port = free_port()
    env = dict(os.environ, PORT=str(port), CHURN_HOST="127.0.0.1")
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        while True:
            if healthy(port):
                return (time.perf_counter() - started) * 1000.0
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode} before answering /health")
            if time.perf_counter() - started > TIMEOUT_S:
                raise SystemExit(f"server not healthy within {TIMEOUT_S} s")
            time.sleep(0.001)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait(port: int, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while not healthy(port):
        if time.perf_counter() > deadline:
            raise SystemExit(f"127.0.0.1:{port}/health did not answer 200 within {seconds} s")
        time.sleep(0.01)


def main() -> None:
    # `timeout` and Ctrl-C: run the `finally` that stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if sys.argv[1] == "--wait":
        wait(int(sys.argv[2]), float(sys.argv[3]))
        return
    binary, runs, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(logfile, "ab") as log:
        times = [one_run(binary, log) for _ in range(runs)]
    print("STARTUP " + json.dumps({"runs_ms": [round(t, 1) for t in times], "median_ms": round(statistics.median(times), 1)}))


if __name__ == "__main__":
    main()
