"""What the reliability and lifecycle tests share: the example customer,
starting the release binary on a free 127.0.0.1 port (stopped by the caller,
by PID) or running it until it exits, small HTTP and /metrics helpers, and
the golden files."""

import http.client
import json
import os
import re
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


def environment(port, env):
    return {**os.environ, "CHURN_HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "warn", **env}


def start(binary, **env):
    """(process, port) of the binary serving with its defaults plus `env`,
    once it accepts connections (within 30 s)."""
    port = free_port()
    process = subprocess.Popen([binary], env=environment(port, env), cwd=ROOT, stdout=subprocess.DEVNULL,
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


def run_to_exit(binary, timeout=30, **env):
    """(exit status, stderr lines) of the binary started as start() does, for
    settings it must refuse at startup: it has to exit within `timeout` s
    (None if it did not, and then it is stopped)."""
    process = subprocess.Popen([binary], env=environment(free_port(), env), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        _, err = process.communicate()
        return None, err.decode(errors="replace").splitlines()
    return process.returncode, err.decode(errors="replace").splitlines()


def call(port, method, path, body=None, headers=None, timeout=30):
    """(status, decoded JSON body, or the text when it is not JSON) of one
    request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode(errors="replace")


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metric_samples(port, name):
    """[(labels, value)] of metric `name` on /metrics."""
    status, text = call(port, "GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    samples = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1) == name:
            samples.append((dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return samples


def metric(port, name, **labels):
    """The sum of the samples of `name` that carry `labels` (0 if none)."""
    return sum(v for have, v in metric_samples(port, name) if labels.items() <= have.items())


def golden(path):
    """{customer_id: (customer, churn_probability)} of a golden file."""
    rows = {}
    with open(ROOT / path) as f:
        for line in f:
            row = json.loads(line)
            rows[row["customer"]["customer_id"]] = (row["customer"], row["churn_probability"])
    return rows
