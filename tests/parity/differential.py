"""Differential test: churn-serve against FastAPI itself.

    python differential.py BASE_URL [--bodies N] [--seed S] [--failures PATH]

Generates N request bodies (seeded: valid, boundary, coercible strings and
floats, wrong types, missing and extra fields, nulls, NaN and Infinity,
nested junk, snake_case/CamelCase mixes, batches), sends each to the FastAPI
oracle in `fastapi_app.py` (in process, through Starlette's test client) and
to the churn-serve at BASE_URL, and compares the answers: the same status
code and, on 422, the same set of `(type, loc)` pairs in `detail`. Messages
are compared too and counted separately.

Where churn-serve differs on purpose, DIFFERENCES says how and why, and
`predicted()` turns FastAPI's answer into the answer churn-serve must give
instead: a listed difference is checked as strictly as an agreement. Every
other mismatch fails the test; the first ones are printed and all are written
to --failures as JSON lines. Exit status 0 when no body disagreed and at least
99.9 % agreed or differed only as listed.
"""

import argparse
import http.client
import json
import math
import random
import sys
import urllib.parse
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bodies import generate  # noqa: E402
from fastapi_app import app  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402
from pydantic import TypeAdapter, ValidationError  # noqa: E402

# id: (what differs, why). README.md's "Differences from FastAPI" table has a
# row for each id (checked at start).
DIFFERENCES = {
    "non-json-constants": (
        "A body containing NaN, Infinity or -Infinity (not JSON, RFC 8259) is "
        "422 json_invalid; FastAPI reads them (Python's json module accepts them), "
        "then scores an infinite balance or answers 500 when it echoes a NaN "
        "input in an error.",
        "The model must never see a non-finite number, and a client error must "
        "not count as a server error.",
    ),
    "non-finite-strings": (
        'A number field sent as a string that spells a non-finite value ("inf", '
        '"NaN", "-Infinity") is 422 finite_number; pydantic accepts "inf" and '
        "reports NaN and -inf as out of range.",
        "Same reason: nothing non-finite reaches the model, whatever its spelling.",
    ),
    "json-error-position": (
        "json_invalid is located at [\"body\", n] as in FastAPI, but n, the "
        "character offset where parsing stopped, can differ by a few characters.",
        "Two parsers (serde_json, Python's json) notice some errors at different "
        "characters (e.g. a number with a leading zero); matching Python's byte "
        "for byte would mean writing its parser again.",
    ),
    "huge-float-for-integer": (
        "An integer field given a number of 2^63 or more written as a float "
        "(1e300) is out of range (less_than_equal); pydantic says int_parsing_size.",
        "JSON numbers are read as 64-bit floats, so 1e300 and a 301-digit "
        "integer literal are the same value here; pydantic reports the latter "
        "as out of range too.",
    ),
}

FLOAT_FIELDS = [("balance", "Balance"), ("estimated_salary", "EstimatedSalary")]
INT_FIELDS = [
    ("credit_score", "CreditScore", 300, 850),
    ("age", "Age", 18, 100),
    ("tenure", "Tenure", 0, 10),
    ("num_of_products", "NumOfProducts", 1, 4),
]
FLOAT = TypeAdapter(float)


class Server:
    """churn-serve over one keep-alive connection (reopened if it closes)."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        if url.hostname != "127.0.0.1":
            sys.exit("differential.py talks to 127.0.0.1 only")
        self.port = url.port
        self.conn = None

    def post(self, path, body):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, data
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def answer(status, data):
    """(status, {(type, loc)}, {(type, loc, msg)}) of one response."""
    if status != 422:
        return status, frozenset(), frozenset()
    detail = json.loads(data)["detail"]
    pairs = frozenset((e["type"], tuple(e["loc"])) for e in detail)
    with_msg = frozenset((e["type"], tuple(e["loc"]), e["msg"]) for e in detail)
    return status, pairs, with_msg


def customers_of(path, body):
    """(loc prefix, customer dict) of every customer object in a parsed body."""
    if not isinstance(body, dict):
        return []
    if path.endswith("/batch"):
        items = body.get("customers")
        if not isinstance(items, list) or not 1 <= len(items) <= 1000:
            return []
        return [(("body", "customers", i), c) for i, c in enumerate(items) if isinstance(c, dict)]
    return [(("body",), body)]


def field(customer, names):
    """The key pydantic's AliasChoices reads (first name present), or None."""
    return next((n for n in names if n in customer), None)


def non_finite_text(value):
    if not isinstance(value, str):
        return False
    try:
        return not math.isfinite(FLOAT.validate_python(value))
    except ValidationError:
        return False


def predicted(path, raw, oracle, server_pairs):
    """FastAPI's answer turned into the one churn-serve gives, and the listed
    differences that changed it ([] when the two should simply agree)."""
    status, pairs = oracle
    # The character offset the server gave for a JSON syntax error, if any.
    theirs = [loc for t, loc in server_pairs if t == "json_invalid" and len(loc) == 2 and loc[0] == "body"]
    constants = []
    try:
        body = json.loads(raw, parse_constant=lambda c: constants.append(c) or float("nan"))
    except ValueError:
        if status == 422 and theirs and any(t == "json_invalid" for t, _ in pairs):
            fixed = frozenset((t, theirs[0]) if t == "json_invalid" else (t, loc) for t, loc in pairs)
            return (422, fixed), ["json-error-position"]
        return oracle, []
    if constants:
        return (422, frozenset({("json_invalid", theirs[0] if theirs else ("body", "?"))})), ["non-json-constants"]
    used = []
    pairs = set(pairs) if status == 422 else set()
    for prefix, customer in customers_of(path, body):
        for names in FLOAT_FIELDS:
            key = field(customer, names)
            if key and non_finite_text(customer[key]):
                loc = prefix + (key,)
                pairs = {p for p in pairs if p[1] != loc} | {("finite_number", loc)}
                used.append("non-finite-strings")
        for snake, camel, low, high in INT_FIELDS:
            key = field(customer, (snake, camel))
            value = customer.get(key) if key else None
            if isinstance(value, float) and math.isfinite(value) and abs(value) >= 2.0**63:
                loc = prefix + (key,)
                bound = "less_than_equal" if value > 0 else "greater_than_equal"
                pairs = {p for p in pairs if p[1] != loc} | {(bound, loc)}
                used.append("huge-float-for-integer")
    if not used:
        return oracle, []
    return (422, frozenset(pairs)), sorted(set(used))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--bodies", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--failures", type=Path)
    args = parser.parse_args()

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    unlisted = [d for d in DIFFERENCES if f"| `{d}` |" not in readme]
    if unlisted:
        print(f"DIFFERENCES not in README.md's table: {', '.join(unlisted)}")
        return 1

    oracle = TestClient(app, raise_server_exceptions=False)
    server = Server(args.base_url)
    rng = random.Random(args.seed)
    agreed = listed = messages_same = messages_compared = 0
    by_difference = dict.fromkeys(DIFFERENCES, 0)
    by_status = {}
    failures = []
    for n in range(args.bodies):
        path, raw = generate(rng)
        o_status, o_data = (lambda r: (r.status_code, r.content))(
            oracle.post(path, content=raw, headers={"Content-Type": "application/json"})
        )
        s_status, s_data = server.post(path, raw)
        o = answer(o_status, o_data)
        s = answer(s_status, s_data)
        by_status[(o_status, s_status)] = by_status.get((o_status, s_status), 0) + 1
        expected, used = predicted(path, raw, o[:2], s[1])
        if s[:2] == o[:2]:
            agreed += 1
            if o_status == 422:
                messages_compared += 1
                messages_same += o[2] == s[2]
        elif used and s[:2] == expected:
            listed += 1
            for d in used:
                by_difference[d] += 1
        else:
            failures.append(
                {
                    "n": n,
                    "path": path,
                    "body": raw.decode("utf-8", "replace")[:2000],
                    "fastapi": [o_status, sorted(map(list, o[1]))],
                    "churn_serve": [s_status, sorted(map(list, s[1]))],
                    "predicted": [expected[0], sorted(map(list, expected[1]))] if used else None,
                }
            )
    total = args.bodies
    print("answers by status (FastAPI -> churn-serve): " + ", ".join(
        f"{a}->{b}: {c}" for (a, b), c in sorted(by_status.items())))
    print("listed differences seen: " + ", ".join(f"{d} {c}" for d, c in by_difference.items()))
    print(f"messages: identical on {messages_same} of {messages_compared} bodies both answered 422")
    for f in failures[:10]:
        print("DISAGREE " + json.dumps(f)[:1500])
    if args.failures:
        args.failures.write_text("".join(json.dumps(f) + "\n" for f in failures))
    share = (agreed + listed) / total
    print(
        f"parity: {total} bodies compared (seed {args.seed}), {agreed} agreed ({agreed / total:.2%}), "
        f"{listed} differed only as listed ({listed / total:.2%}), {len(failures)} disagreed"
    )
    return 0 if not failures and share >= 0.999 and total >= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
