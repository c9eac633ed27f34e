"""What the reliability tests share: the example customer, and starting the
release binary on a free 127.0.0.1 port (stopped by the caller, by PID)."""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BODY = json.dumps({
    "credit_score": 619, "geography": "France", "gender": "Female", "age": 42, "tenure": 2,
    "balance": 0.0, "num_of_products": 1, "has_cr_card": 1, "is_active_member": 1,
    "estimated_salary": 101348.88,
}).encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, **env):
    """(process, port) of the binary serving with its defaults plus `env`,
    once it accepts connections (within 30 s)."""
    port = free_port()
    environment = {**os.environ, "CHURN_HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "warn", **env}
    process = subprocess.Popen([binary], env=environment, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                raise SystemExit(f"server did not start: {process.stderr.read().decode()[-400:]}")
            time.sleep(0.05)


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_mib(pid):
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")
