"""Worst-case request bodies for the memory test: each is just under
max_body_bytes and built to make a parser allocate as much as it can."""

import json

FEATURES = ["CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance", "NumOfProducts",
            "HasCrCard", "IsActiveMember", "EstimatedSalary"]


def ones(limit, prefix, suffix):
    """prefix + "1,1,...,1" + suffix, as long as fits in limit bytes."""
    n = (limit - len(prefix) - len(suffix)) // 2
    return (prefix + ",".join(["1"] * n) + suffix).encode(), n


def bodies(limit):
    """(name, path, bytes) of each worst body for a body limit of `limit` bytes."""
    v2_prefix = '{"inputs":[{"name":"CreditScore","shape":[%d,1],"datatype":"INT64","data":['
    raw, n = ones(limit - 16, v2_prefix % 10**6, "]}]}")
    v2 = (v2_prefix % n).encode() + raw[len(v2_prefix % 10**6):]
    yield "v2 one tensor of 1-element rows", "/v2/models/churn_pipeline/infer", v2
    yield "batch of numbers", "/api/v1/predict/batch", ones(limit, '{"customers":[', "]}")[0]
    yield "batch of one nested array", "/api/v1/predict/batch", ones(limit, '{"customers":[[', "]]}")[0]
    yield "single: an array", "/api/v1/predict", ones(limit, "[", "]")[0]
    yield "single: an array as one field", "/api/v1/predict", ones(limit, '{"age":[', "]}")[0]
    row = {f: 1 for f in FEATURES} | {"Geography": "France", "Gender": "Male", "Age": 40,
                                         "CreditScore": 600, "customer_id": "x" * 200}
    text = json.dumps(row)
    count = (limit - 20) // (len(text) + 1)
    yield "batch of long valid rows", "/api/v1/predict/batch", (
        '{"customers":[' + ",".join([text] * count) + "]}").encode()
