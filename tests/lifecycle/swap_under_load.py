"""Hot swaps under load: 20 swaps between two registry versions while 64
keep-alive clients predict, and not one request fails or is answered by a
mix of the two models.

    python swap_under_load.py BINARY   (MLFLOW_TRACKING_URI set)

Run with the lifecycle venv's python (it needs mlflow). Registers the
shipped model (1.0.0, alias champion) and the challenger (2.0.0) as versions
of their own registered model, starts the service on its champion alias with
2 workers and no polling, and has --clients threads send single predictions
over persistent connections, each a random customer that both golden files
hold (matched by customer_id). After --steady-secs of that load (the
steady-state latency), the main thread moves the alias to the other version
and POSTs /admin/model/reload, --swaps times; each reload must say
"swapped". Every response must be 200 (a connection error counts as a
failure too: clients never retry) and carry 1.0.0 or 2.0.0 with that
version's golden probability for its customer (within 1e-5), and both
versions must answer. Prints one summary line (requests, failures,
mismatches, answers per version, p50/p99 at steady state against the p99
while swapping, which is printed, not asserted, and the server's peak RSS);
exits 1 if a check failed.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "mlflow"))
from common import ROOT, call, golden, peak_mib, start, stop  # noqa: E402
from register import register  # noqa: E402

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

NAME = "churn-swap"
TOLERANCE = 1e-5
HEADERS = {"Content-Type": "application/json"}


class Client(threading.Thread):
    """One keep-alive connection predicting until `done`; what it saw."""

    def __init__(self, port, customers, expected, phase, done):
        super().__init__(daemon=True)
        self.port, self.customers, self.expected, self.phase, self.done = port, customers, expected, phase, done
        self.requests = self.failures = self.mismatches = 0
        self.versions = {}
        self.latency = {}
        self.errors = []

    def run(self):
        rng = random.Random()
        conn = None
        while not self.done.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            cid, body = rng.choice(self.customers)
            phase = self.phase[0]
            self.requests += 1
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/predict", body=body, headers=HEADERS)
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as e:
                self.fail(f"{type(e).__name__}: {e}")
                conn.close()
                conn = None
                continue
            self.latency.setdefault(phase, []).append(time.perf_counter() - t0)
            if response.status != 200:
                self.fail(f"status {response.status}: {raw[:200]!r}")
                continue
            answer = json.loads(raw)
            version = answer.get("model_version")
            self.versions[version] = self.versions.get(version, 0) + 1
            golden = self.expected.get(version, {}).get(cid)
            if golden is None or abs(answer["churn_probability"] - golden) > TOLERANCE:
                self.mismatches += 1
                if len(self.errors) < 3:
                    self.errors.append(f"{cid}: {version} {answer['churn_probability']} (golden {golden})")
        if conn is not None:
            conn.close()

    def fail(self, why):
        self.failures += 1
        if len(self.errors) < 3:
            self.errors.append(why)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] * 1000 if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--steady-secs", type=float, default=3.0)
    args = parser.parse_args()
    tracking = args.tracking_uri.rstrip("/")

    main_rows = golden("models/golden.jsonl")
    challenger_rows = golden("tests/fixtures/churn_challenger.golden.jsonl")
    both = sorted(set(main_rows) & set(challenger_rows))
    differ = [cid for cid in both if main_rows[cid][0] != challenger_rows[cid][0]]
    if not both or differ:
        raise SystemExit(f"the golden files share {len(both)} customer_ids, {len(differ)} of them with other fields")
    customers = [(cid, json.dumps(main_rows[cid][0]).encode()) for cid in both]
    expected = {"1.0.0": {cid: main_rows[cid][1] for cid in both},
                "2.0.0": {cid: challenger_rows[cid][1] for cid in both}}

    mlflow.set_tracking_uri(tracking)
    client = MlflowClient(tracking)
    v1 = register(client, NAME, ROOT / "models" / "churn_pipeline.onnx", alias="champion")
    v2 = register(client, NAME, ROOT / "tests" / "fixtures" / "churn_challenger.onnx")
    key = secrets.token_hex(16)
    server, port = start(args.binary, MODEL_URI=f"models:/{NAME}@champion", MLFLOW_TRACKING_URI=tracking,
                         CHURN_WORKERS="2", CHURN_MODEL_POLL_SECS="0", CHURN_ADMIN_API_KEYS=key)
    problems = []
    try:
        phase, done = ["warm-up"], threading.Event()
        clients = [Client(port, customers, expected, phase, done) for _ in range(args.clients)]
        for c in clients:
            c.start()
        time.sleep(0.5)  # connections opened, not measured
        phase[0] = "steady"
        time.sleep(args.steady_secs)
        phase[0] = "swaps"
        t0 = time.monotonic()
        reload_secs = []
        for i in range(args.swaps):
            version, want = (v2, "2.0.0") if i % 2 == 0 else (v1, "1.0.0")
            client.set_registered_model_alias(NAME, "champion", version)
            r0 = time.perf_counter()
            status, answer = call(port, "POST", "/admin/model/reload", headers={"Authorization": f"Bearer {key}"})
            reload_secs.append(time.perf_counter() - r0)
            if status != 200 or answer.get("result") != "swapped" or answer.get("model_version") != want:
                problems.append(f"swap {i + 1} to v{version}: {status} {answer}")
            if time.monotonic() - t0 > 40:
                problems.append(f"only {i + 1} swaps in 40 s")
                break
        swap_secs = time.monotonic() - t0
        phase[0] = "after"
        done.set()
        for c in clients:
            c.join(timeout=35)
        if any(c.is_alive() for c in clients):
            problems.append("a client was still running 35 s after the end")
        peak = peak_mib(server.pid)
    finally:
        stop(server)

    requests = sum(c.requests for c in clients)
    failures = sum(c.failures for c in clients)
    mismatches = sum(c.mismatches for c in clients)
    versions = {}
    for c in clients:
        for v, n in c.versions.items():
            versions[v] = versions.get(v, 0) + n
    steady = [x for c in clients for x in c.latency.get("steady", [])]
    swapping = [x for c in clients for x in c.latency.get("swaps", [])]
    errors = [e for c in clients for e in c.errors][:3]
    if failures:
        problems.append(f"{failures} failed requests, e.g. {errors}")
    if mismatches:
        problems.append(f"{mismatches} answers not their version's golden probability, e.g. {errors}")
    if set(versions) != {"1.0.0", "2.0.0"}:
        problems.append(f"answers by version: {versions}")
    p99_steady, p99_swaps = percentile(steady, 0.99), percentile(swapping, 0.99)
    print(f"{'FAIL' if problems else 'ok'}: {requests} requests, {failures} failed, {mismatches} mismatched, "
          f"by version {dict(sorted(versions.items()))}; {args.swaps} swaps in {swap_secs:.1f} s "
          f"(reload p50 {percentile(reload_secs, 0.5):.0f} ms, max {max(reload_secs) * 1000:.0f} ms); "
          f"steady p50 {percentile(steady, 0.5):.1f} ms p99 {p99_steady:.1f} ms ({len(steady)} requests), "
          f"while swapping p99 {p99_swaps:.1f} ms ({len(swapping)} requests), ratio {p99_swaps / p99_steady:.2f}; "
          f"server peak RSS {peak:.0f} MiB", flush=True)
    for p in problems:
        print(f"  {p}", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
