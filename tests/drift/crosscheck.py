"""Drift scores, cross-checked against an independent implementation.

    python crosscheck.py BINARY

Starts the release binary, sends the held-out test split (the 1000 golden
rows) through /api/v1/predict/batch, then a shifted population (every
customer in Germany and 15 years older; with the default window of 1000 it
replaces the first one), and after each compares the service's PSI per
feature and for the prediction (GET /api/v1/model/drift) with PSI computed
here in numpy from the exact values sent (and the probabilities the service
returned) and the reference in the model's metadata: they must agree within
1e-9. Where evidently is installed, it gets the same bins (each value
replaced by its bin, the training split rebuilt from the reference shares
and its 8000 rows) and must agree within 1e-9 too. Also checks the
thresholds: test split PSI < 0.1 everywhere; shifted: geography, age and
the prediction > 0.25, the rest < 0.1. Prints the PSI table; exits 1 on a
failed check.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from common import ROOT, call, golden, start, stop  # noqa: E402

TOLERANCE = 1e-9
METADATA = json.loads((ROOT / "models" / "churn_pipeline.json").read_text())
DRIFT = METADATA["drift"]
TRAIN_ROWS = METADATA["metrics"]["train_rows"]


def bins_of(values, entry):
    """Each value's bin, as train.py and the service bin it."""
    if "values" in entry:
        return np.array([entry["values"].index(v) for v in values])
    return np.searchsorted(np.asarray(entry["edges"], dtype=np.float64), np.asarray(values, dtype=np.float64),
                           side="right")


def psi(bins, entry, floor=DRIFT["psi_floor"]):
    live = np.bincount(bins, minlength=len(entry["reference"])) / len(bins)
    a, e = np.maximum(live, floor), np.maximum(np.asarray(entry["reference"]), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def evidently_psi(bins, entry):
    """evidently's own PSI test on bin labels, the reference rebuilt from its shares."""
    import pandas as pd
    from evidently.legacy.calculations.stattests.psi import psi_stat_test
    from evidently.legacy.core import ColumnType
    counts = [round(share * TRAIN_ROWS) for share in entry["reference"]]
    reference = pd.Series(np.repeat(np.arange(len(counts)), counts).astype(str))
    current = pd.Series(np.asarray(bins).astype(str))
    return float(psi_stat_test.func(reference, current, ColumnType.Categorical, 0.1)[0])


def run(port, customers, label, expect_high):
    """Sends `customers`, compares the scores; the failures it found."""
    probabilities = []
    for start_row in range(0, len(customers), 500):
        status, body = call(port, "POST", "/api/v1/predict/batch", {"customers": customers[start_row:start_row + 500]})
        assert status == 200, body
        probabilities += [p["churn_probability"] for p in body["predictions"]]
    status, drift = call(port, "GET", "/api/v1/model/drift")
    assert status == 200 and drift["observations"] == len(customers), drift
    served = {q["name"]: q["psi"] for q in drift["features"] + [drift["prediction"]]}
    have_evidently = importlib.util.find_spec("evidently") is not None
    failures, rows = [], []
    for entry in DRIFT["features"] + [dict(DRIFT["prediction"], api_name="prediction")]:
        name = entry["api_name"]
        values = probabilities if name == "prediction" else [c[name] for c in customers]
        bins = bins_of(values, entry)
        mine = psi(bins, entry)
        theirs = evidently_psi(bins, entry) if have_evidently else None
        rows.append((name, served[name], mine, theirs))
        if abs(served[name] - mine) > TOLERANCE:
            failures.append(f"{label} {name}: service {served[name]!r} vs numpy {mine!r}")
        if theirs is not None and abs(theirs - mine) > TOLERANCE:
            failures.append(f"{label} {name}: evidently {theirs!r} vs numpy {mine!r}")
        high = name in expect_high
        if (served[name] > 0.25) != high or (not high and served[name] >= 0.1):
            failures.append(f"{label} {name}: PSI {served[name]:.4f} ({'> 0.25' if high else '< 0.1'} expected)")
    print(f"\n{label} ({len(customers)} rows):")
    print(f"  {'feature':<18}{'service':>12}{'numpy':>12}{'evidently':>12}")
    for name, s, m, e in rows:
        print(f"  {name:<18}{s:>12.6f}{m:>12.6f}{'' if e is None else f'{e:>12.6f}':>12}")
    worst = max(abs(s - m) for _, s, m, _ in rows)
    print(f"  largest |service - numpy|: {worst:.2e}" + ("" if have_evidently else "  (evidently not installed)"))
    return failures


def main():
    binary = sys.argv[1]
    customers = [customer for customer, _ in golden("models/golden.jsonl").values()]
    shifted = [dict(c, geography="Germany", age=min(c["age"] + 15, 100)) for c in customers]
    process, port = start(binary, CHURN_WORKERS="2")
    try:
        failures = run(port, customers, "held-out test split", set())
        failures += run(port, shifted, "shifted: Germany, 15 years older", {"geography", "age", "prediction"})
    finally:
        stop(process)
    for f in failures:
        print("FAIL", f)
    print(f"\ndrift cross-check: {'ok' if not failures else f'{len(failures)} failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
