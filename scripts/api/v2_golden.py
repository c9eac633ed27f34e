"""V2 infer vs native batch on golden rows. Standard library only.

Usage: python3 v2_golden.py BASE_URL GOLDEN_JSONL [ROWS]

Sends the first ROWS (default 3) customers of the golden file to
POST /api/v1/predict/batch and, as one tensor per feature, to
POST /v2/models/{name}/infer; the churn column of the V2 output must equal
the batch probabilities exactly (same model, same rows, same floats).
Tensor names and datatypes come from the server's own V2 model metadata,
and the API-name -> column-name mapping from GET /api/v1/model.
"""

import json
import sys
import urllib.error
import urllib.request


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"     error: {method} {path} -> {e.code}: {e.read()[:500]!r}") from None


def main():
    base, golden = sys.argv[1].rstrip("/"), sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with open(golden, encoding="utf-8") as f:
        customers = [json.loads(line)["customer"] for line in f if line.strip()][:rows]
    if len(customers) != rows:
        raise SystemExit(f"     error: golden file has fewer than {rows} rows")

    model = call(base, "GET", "/api/v1/model")
    alias = {spec["alias"]: spec["name"] for spec in model["inputs"]}
    meta = call(base, "GET", f"/v2/models/{model['name']}")

    def cast(datatype, value):
        if datatype == "BYTES":
            return str(value)
        if datatype.startswith(("INT", "UINT")):
            return int(value)
        return float(value)

    inputs = [
        {
            "name": t["name"],
            "shape": [rows, 1],
            "datatype": t["datatype"],
            "data": [cast(t["datatype"], c[alias[t["name"]]]) for c in customers],
        }
        for t in meta["inputs"]
    ]
    v2 = call(
        base,
        "POST",
        f"/v2/models/{model['name']}/infer",
        {"id": "golden", "inputs": inputs, "outputs": [{"name": "probabilities"}]},
    )
    batch = call(base, "POST", "/api/v1/predict/batch", {"customers": customers})

    (output,) = v2["outputs"]
    if output["shape"] != [rows, 2] or len(output["data"]) != 2 * rows:
        raise SystemExit(f"     error: output shape {output['shape']}, expected [{rows}, 2]")
    v2_churn = output["data"][1::2]
    batch_churn = [p["churn_probability"] for p in batch["predictions"]]
    print(f"     v2 churn column:    {v2_churn}")
    print(f"     batch probabilities: {batch_churn}")
    if v2["id"] != "golden":
        raise SystemExit(f"     error: id not echoed: {v2.get('id')!r}")
    if v2_churn != batch_churn:
        raise SystemExit("     error: V2 churn column differs from /api/v1/predict/batch")
    with open(golden, encoding="utf-8") as f:
        golden_p = [json.loads(line)["churn_probability"] for line in f if line.strip()][:rows]
    drift = max(abs(a - b) for a, b in zip(v2_churn, golden_p))
    print(f"     max |p - golden| = {drift:.3g} (informational; golden tolerance is tested in Rust)")
    print(f"ok   infer on {rows} golden rows equals /api/v1/predict/batch exactly")


if __name__ == "__main__":
    main()
