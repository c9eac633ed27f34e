"""Model lifecycle against a real MLflow tracking server: the registry's
aliases decide what serves, a bad candidate never does, and a source that
cannot be read stops startup with one clear line but not a running service.

    python registry.py BINARY --mlflow-pid PID   (MLFLOW_TRACKING_URI set)

Run with the lifecycle venv's python (it needs mlflow). Registers the
shipped model (v1, alias champion), the challenger fixture (v2) and
wrong_inputs.onnx (v3) with scripts/mlflow/register.py, starts the service
on models:/<name>@champion polling every second, then:

  a. it serves 1.0.0 from v1;
  b. champion -> v2: the poll swaps to 2.0.0 within 10 s; predictions match
     the challenger's golden rows; churn_model_info names 2.0.0 only;
  c. champion -> v1, POST /admin/model/reload: "swapped", 1.0.0 again,
     predictions match the main golden rows;
  d. champion -> v3: the reload is refused (422), 1.0.0 goes on serving,
     the failure names the inputs and is counted; champion back to v1;
  f. startup failures exit 1 with one last `error:` line naming the cause
     (registry unreachable, no such alias, wrong sha256 pin, truncated
     download), and an http(s) source with the right pin serves;
  e. last, because it stops the tracking server (PID --mlflow-pid, its
     process group): polls fail and are counted, predictions go on with
     1.0.0, the failure names the tracking URL.

One PASS/FAIL line per scenario; exits 1 if any failed.
"""

import argparse
import hashlib
import http.server
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from common import ROOT, call, free_port, golden, metric, metric_samples, run_to_exit, start, stop  # noqa: E402

from mlflow import MlflowClient  # noqa: E402

NAME = "churn"
REGISTER = ROOT / "scripts" / "mlflow" / "register.py"
MAIN = golden("models/golden.jsonl")
CHALLENGER = golden("tests/fixtures/churn_challenger.golden.jsonl")
TOLERANCE = 1e-5


class Failed(Exception):
    pass


def check(ok, why):
    if not ok:
        raise Failed(why)


def register(tracking, model, *flags):
    """The version number register.py prints (its only stdout line): the
    CLI that CI and the compose demo use."""
    cmd = [sys.executable, str(REGISTER), "--name", NAME, "--model", str(ROOT / model), "--tracking-uri", tracking,
           *flags]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    if out.returncode != 0 or len(out.stdout.splitlines()) != 1:
        raise SystemExit(f"register.py {model} {flags}: exit {out.returncode}, stdout {out.stdout!r}, "
                         f"stderr ends {out.stderr[-600:]}")
    return out.stdout.strip()


def serving(port):
    status, model = call(port, "GET", "/api/v1/model")
    check(status == 200, f"GET /api/v1/model: {status}")
    return model


def predictions_match(port, rows, version):
    """Every golden row of `rows` is answered by `version` with its golden
    probability (a fresh keep-alive connection, one request per row)."""
    wrong = []
    for cid, (customer, p) in rows.items():
        status, answer = call(port, "POST", "/api/v1/predict", body=customer)
        if status != 200:
            wrong.append(f"{cid}: status {status}")
        elif answer["model_version"] != version or abs(answer["churn_probability"] - p) > TOLERANCE:
            wrong.append(f"{cid}: {answer['model_version']} {answer['churn_probability']} (golden {p})")
    check(not wrong, f"{len(wrong)} of {len(rows)} predictions not {version}'s golden ones, e.g. {wrong[:2]}")


def reloads(port, trigger, result):
    return metric(port, "churn_model_reload_total", trigger=trigger, result=result)


def after_a_poll(port):
    """Returns just after a poll finished (within 5 s), so that the next
    starts a second later: an alias moved now is reloaded through the admin
    route before a poll can take it."""
    seen = sum(reloads(port, "poll", r) for r in ("success", "unchanged", "failed"))
    deadline = time.monotonic() + 5
    while sum(reloads(port, "poll", r) for r in ("success", "unchanged", "failed")) == seen:
        check(time.monotonic() < deadline, "no poll finished within 5 s")
        time.sleep(0.02)


def reload(port, key):
    return call(port, "POST", "/admin/model/reload", headers={"Authorization": f"Bearer {key}"})


class Models(http.server.ThreadingHTTPServer):
    """models/ over http on 127.0.0.1; /truncated/<file> announces the whole
    file but sends half of it and closes."""

    daemon_threads = True

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            truncated = self.path.startswith("/truncated/")
            path = ROOT / "models" / self.path.rsplit("/", 1)[-1]
            if not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if truncated else data)
            if truncated:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

        def log_message(self, *args):
            pass

    def __init__(self):
        super().__init__(("127.0.0.1", 0), self.Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def startup_error(binary, **env):
    """The one `error:` line of a startup that must fail, checked to be the
    last stderr line and the only `error:` one, after exit status 1."""
    status, lines = run_to_exit(binary, **env)
    check(status == 1, f"exit status {status}, not 1; stderr ends {lines[-3:]}")
    errors = [line for line in lines if line.startswith("error:")]
    check(len(errors) == 1 and lines[-1] == errors[0],
          f"expected one `error:` line, the last; got {len(errors)}, last line {lines[-1:]}")
    return errors[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--mlflow-pid", type=int, required=True,
                        help="the tracking server, leader of its own process group (stopped in e)")
    args = parser.parse_args()
    tracking = args.tracking_uri.rstrip("/")
    if not set(CHALLENGER) <= set(MAIN):
        raise SystemExit("the challenger's golden customers are not all in the main golden file")
    client = MlflowClient(tracking)
    key = secrets.token_hex(16)
    failed = 0
    state = {}

    def scenario(label, fn):
        nonlocal failed
        t0 = time.monotonic()
        try:
            detail = fn()
            print(f"PASS {label}: {detail} ({time.monotonic() - t0:.1f} s)", flush=True)
        except (SystemExit, Exception) as e:
            failed += 1
            why = e if isinstance(e, (Failed, SystemExit)) else f"{type(e).__name__}: {e}"
            print(f"FAIL {label}: {why}", flush=True)

    def a():
        state["v1"] = register(tracking, "models/churn_pipeline.onnx", "--alias", "champion")
        state["v2"] = register(tracking, "tests/fixtures/churn_challenger.onnx")
        state["v3"] = register(tracking, "tests/fixtures/wrong_inputs.onnx")
        again = register(tracking, "models/churn_pipeline.onnx", "--alias", "champion", "--if-missing")
        check(again == state["v1"], f"--if-missing with champion on v{state['v1']} printed {again}")
        latest = max(int(v.version) for v in client.search_model_versions(f"name='{NAME}'"))
        check(latest == int(state["v3"]), f"--if-missing registered version {latest}")
        server, port = start(args.binary, MODEL_URI=f"models:/{NAME}@champion", MLFLOW_TRACKING_URI=tracking,
                             CHURN_MODEL_POLL_SECS="1", CHURN_ADMIN_API_KEYS=key)
        state["server"], state["port"] = server, port
        model = serving(port)
        check(model["version"] == "1.0.0", f"serves {model['version']}, not 1.0.0")
        check(model["source"]["registry_version"] == state["v1"],
              f"registry_version {model['source']['registry_version']}, not {state['v1']}")
        check(model["source"]["uri"] == f"models:/{NAME}@champion", f"source uri {model['source']['uri']}")
        check(model["poll_secs"] == 1 and model["last_reload_failure"] is None, f"poll/failure: {model}")
        return (f"registered v{state['v1']}, v{state['v2']}, v{state['v3']} (--if-missing: none); "
                f"serves 1.0.0 from v{state['v1']}")

    def b():
        port = state["port"]
        swaps = reloads(port, "poll", "success")
        t0 = time.monotonic()
        client.set_registered_model_alias(NAME, "champion", state["v2"])
        while (version := serving(port)["version"]) != "2.0.0":
            check(time.monotonic() - t0 < 10, f"still {version} 10 s after champion moved to v{state['v2']}")
            time.sleep(0.05)
        took = time.monotonic() - t0
        model = serving(port)
        check(model["source"]["registry_version"] == state["v2"], f"registry_version {model['source']}")
        check(reloads(port, "poll", "success") == swaps + 1, "churn_model_reload_total{poll,success} not +1")
        predictions_match(port, CHALLENGER, "2.0.0")
        info = metric_samples(port, "churn_model_info")
        check([labels["version"] for labels, _ in info] == ["2.0.0"], f"churn_model_info: {info}")
        return f"polled to 2.0.0 in {took:.1f} s; {len(CHALLENGER)} golden predictions match; churn_model_info 2.0.0 only"

    def c():
        port = state["port"]
        after_a_poll(port)
        client.set_registered_model_alias(NAME, "champion", state["v1"])
        status, answer = reload(port, key)
        check(status == 200 and answer.get("result") == "swapped",
              f"reload: {status} {answer} (a poll may have taken the alias first)")
        check(answer["model_version"] == "1.0.0" and answer["registry_version"] == state["v1"], f"reload: {answer}")
        check(serving(port)["version"] == "1.0.0", "not 1.0.0 after the rollback")
        predictions_match(port, MAIN, "1.0.0")
        return f"reload swapped back to 1.0.0 (v{state['v1']}); {len(MAIN)} golden predictions match"

    def d():
        port = state["port"]
        failures = reloads(port, "api", "failed")
        after_a_poll(port)
        client.set_registered_model_alias(NAME, "champion", state["v3"])
        status, answer = reload(port, key)
        check(status == 422, f"reload of wrong_inputs: {status} {answer}")
        check(isinstance(answer, dict) and "inputs" in answer.get("detail", "") and answer.get("request_id"),
              f"422 body: {answer}")
        model = serving(port)
        check(model["version"] == "1.0.0", f"serves {model['version']} after a refused candidate")
        failure = model["last_reload_failure"]
        check(failure and failure["trigger"] == "api" and "inputs" in failure["error"], f"last_reload_failure: {failure}")
        check(reloads(port, "api", "failed") == failures + 1, "churn_model_reload_total{api,failed} not +1")
        predictions_match(port, dict(list(MAIN.items())[:50]), "1.0.0")
        client.set_registered_model_alias(NAME, "champion", state["v1"])
        after_a_poll(port)
        check(serving(port)["version"] == "1.0.0", "not 1.0.0 after champion went back to v1")
        return f"422, 1.0.0 kept serving, failure names the inputs and is counted; champion back on v{state['v1']}"

    def f():
        models = Models()
        onnx = ROOT / "models" / "churn_pipeline.onnx"
        right = hashlib.sha256(onnx.read_bytes()).hexdigest()
        wrong = hashlib.sha256(b"not the model").hexdigest()
        url = f"{models.url}/churn_pipeline.onnx"
        try:
            dead = f"http://127.0.0.1:{free_port()}"
            line = startup_error(args.binary, MODEL_URI=f"models:/{NAME}@champion", MLFLOW_TRACKING_URI=dead)
            check(dead in line and "connection refused" in line.lower(), f"registry unreachable: {line}")
            line = startup_error(args.binary, MODEL_URI=f"models:/{NAME}@no-such-alias", MLFLOW_TRACKING_URI=tracking)
            # MLflow answers 400 "Registered model alias … not found." (a 404
            # would read "no such model version in the registry").
            check("no-such-alias" in line and ("not found" in line or "no such model version" in line),
                  f"no such alias: {line}")
            line = startup_error(args.binary, MODEL_URI=url, MODEL_SHA256=wrong)
            check("sha256 mismatch" in line and right in line and wrong in line and url in line, f"sha256: {line}")
            line = startup_error(args.binary, MODEL_URI=f"{models.url}/truncated/churn_pipeline.onnx",
                                 MODEL_SHA256=right)
            check("download truncated" in line or "download cut off" in line, f"truncated: {line}")
            server, port = start(args.binary, MODEL_URI=url, MODEL_SHA256=right)
            try:
                model = serving(port)
                check(model["version"] == "1.0.0" and model["source"]["resolved"] == url, f"http source: {model}")
                predictions_match(port, dict(list(MAIN.items())[:50]), "1.0.0")
            finally:
                stop(server)
        finally:
            models.shutdown()
        return "4 startups refused with one last `error:` line each; http source with the right sha256 serves 1.0.0"

    def e():
        port = state["port"]
        failures = reloads(port, "poll", "failed")
        os.killpg(args.mlflow_pid, signal.SIGTERM)
        host, _, mlflow_port = tracking.rpartition("/")[2].partition(":")
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((host, int(mlflow_port)), timeout=1).close()
            except OSError:
                break
            check(time.monotonic() < deadline, "the tracking server still listens 30 s after SIGTERM")
            time.sleep(0.1)
        time.sleep(3)
        predictions_match(port, dict(list(MAIN.items())[:50]), "1.0.0")
        model = serving(port)
        check(model["version"] == "1.0.0", f"serves {model['version']}")
        polls = reloads(port, "poll", "failed") - failures
        check(polls >= 1, "no failed poll counted")
        failure = model["last_reload_failure"]
        check(failure and failure["trigger"] == "poll" and tracking in failure["error"],
              f"last_reload_failure does not name {tracking}: {failure}")
        return f"tracking server stopped: {polls:g} failed polls counted, 1.0.0 still serves, failure names {tracking}"

    try:
        for label, fn in [("a. v1 serves through champion", a), ("b. champion -> v2, polled", b),
                          ("c. rollback to v1 by the admin route", c), ("d. wrong-inputs candidate refused", d),
                          ("f. startup failures", f), ("e. registry unreachable while polling", e)]:
            if label[0] in "bcde" and "port" not in state:
                failed += 1
                print(f"FAIL {label}: the service did not start in a", flush=True)
                continue
            scenario(label, fn)
    finally:
        if "server" in state:
            stop(state["server"])
    print(f"registry: {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
