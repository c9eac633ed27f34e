"""Request bodies for the differential test, drawn from a seeded generator.

`generate(rng)` returns (path, raw body bytes). Most bodies are customers
with a few fields changed; the changes are the ways clients get bodies wrong
or differently right: boundaries, numbers as strings, whole floats, bools,
pydantic's boolean spellings, wrong JSON types, nested junk, missing, extra
and repeated fields, CamelCase names, long ids, NaN and Infinity. A quarter
are batches; a few are not objects at all, or not JSON.
"""

import json

FIELDS = {
    # name: (data-set column, kind, low, high)
    "credit_score": ("CreditScore", "int", 300, 850),
    "geography": ("Geography", "category", ("France", "Spain", "Germany"), None),
    "gender": ("Gender", "category", ("Male", "Female"), None),
    "age": ("Age", "int", 18, 100),
    "tenure": ("Tenure", "int", 0, 10),
    "balance": ("Balance", "float", 0, 250000),
    "num_of_products": ("NumOfProducts", "int", 1, 4),
    "has_cr_card": ("HasCrCard", "flag", 0, 1),
    "is_active_member": ("IsActiveMember", "flag", 0, 1),
    "estimated_salary": ("EstimatedSalary", "float", 0, 200000),
}

BOOL_WORDS = ["0", "1", "true", "false", "True", "FALSE", "yes", "no", "on", "off", "t", "f", "y", "n", "Y", "N"]
JUNK = [None, [], {}, [1, 2], {"a": [1, {"b": None}]}, "", "abc", " ", "null", "None", "[]", True, False]
BAD_NUMBER_TEXT = ["4 2", "0x10", "1__0", "_1", "1_", "\u0661\u0662", "42.", ".0", "1e", "1,5", "--1", "+-1", "42abc"]
NON_FINITE_TEXT = ["inf", "-inf", "NaN", "nan", "Infinity", "-Infinity", "+inf"]


def valid_value(rng, kind, low, high):
    if kind == "int":
        return rng.randint(low, high)
    if kind == "float":
        return rng.choice([0.0, 0, round(rng.uniform(low, high), 2), rng.randint(low, high)])
    if kind == "flag":
        return rng.choice([0, 1, True, False])
    return rng.choice(low)


def number_spellings(rng, kind, low, high):
    """Values a client might send for a number, valid or not."""
    inside = rng.randint(int(low), int(high))
    edge = rng.choice([low, high, low - 1, high + 1, -1, 0])
    choices = [
        edge,
        float(inside),
        inside + 0.5,
        str(inside),
        f" {inside} ",
        f"{inside}.0",
        f"{inside}.00",
        f"+{inside}",
        f"{inside:_}" if inside < 1000 else f"{inside // 1000}_{inside % 1000:03d}",
        str(float(inside)),
        f"{inside}e0",
        str(edge),
        f"{inside + 0.25}",
        f"0{inside}",
        f"\t{inside}\n",
        True,
        False,
        rng.choice(BAD_NUMBER_TEXT),
        rng.choice(JUNK),
    ]
    if kind == "float":
        choices += ["1e3", "1_000.5", ".5", "5.", "-0", "-0.0", "1E+4", "12_345.67_8"]
    if rng.random() < 0.04:
        choices.append(rng.choice(NON_FINITE_TEXT))
    if rng.random() < 0.01:
        choices.append(rng.choice([1e300, -1e300, 9.3e18, 10**30, -(10**25)]))
    if rng.random() < 0.005:
        # Written as the bare tokens NaN, Infinity, -Infinity (not JSON).
        choices.append(rng.choice([float("nan"), float("inf"), float("-inf")]))
    return rng.choice(choices)


def changed_value(rng, kind, low, high):
    if kind in ("int", "float"):
        return number_spellings(rng, kind, low, high)
    if kind == "flag":
        return rng.choice(
            BOOL_WORDS
            + [0, 1, 2, -1, 0.0, 1.0, 0.5, 2.0, "2", "1.0", "true ", "ja", " yes"]
            + rng.sample(JUNK, 3)
            + ([rng.choice(NON_FINITE_TEXT)] if rng.random() < 0.1 else [])
        )
    allowed = low
    pick = rng.choice(allowed)
    return rng.choice(
        [pick, pick.lower(), pick.upper(), f" {pick}", f"{pick} ", "Italy", 1, 0, True] + rng.sample(JUNK, 3)
    )


def customer(rng, changes):
    body = {}
    if rng.random() < 0.5:
        body["customer_id"] = rng.choice(["C-1", "C-%d" % rng.randint(1, 99999), "é" * 12, "x" * 256])
    for name, (column, kind, low, high) in FIELDS.items():
        key = column if rng.random() < 0.15 else name
        body[key] = valid_value(rng, kind, low, high)
    for _ in range(changes):
        name = rng.choice(list(FIELDS))
        column, kind, low, high = FIELDS[name]
        key = column if column in body else name
        action = rng.random()
        if action < 0.70:
            body[key] = changed_value(rng, kind, low, high)
        elif action < 0.80:
            body.pop(key, None)
        elif action < 0.88:
            # Both names: the snake_case one is read.
            body[name] = valid_value(rng, kind, low, high)
            body[column] = changed_value(rng, kind, low, high)
        elif action < 0.94:
            body[rng.choice(["surname", "RowNumber", "extra", name.upper(), name + "_"])] = rng.choice(JUNK + [1])
        else:
            body["customer_id"] = rng.choice([1, 1.5, True, [], {}, None, "y" * 257, "é" * 257, ""])
    return body


def dump(value):
    if isinstance(value, (dict, list)) or value is None:
        return json.dumps(value, allow_nan=True, ensure_ascii=False)
    return json.dumps(value, allow_nan=True)


def not_a_customer(rng):
    return rng.choice([[], None, 1, "x", True, [1, 2], [{}], {"customers": []}])


def raw_oddity(rng, body_text):
    """Bodies that are not (quite) JSON."""
    text = rng.choice(
        [
            "",
            "{",
            body_text[: max(1, len(body_text) // 2)],
            body_text[:-1] + ",}",
            body_text.replace(":", "=", 1),
            "{'age': 42}",
            body_text + " x",
        ]
    )
    return text.encode()


def generate(rng):
    """One (path, body bytes)."""
    batch = rng.random() < 0.25
    changes = rng.choice([0, 0, 1, 1, 1, 2, 3])
    if batch:
        size = rng.choice([1, 1, 2, 3, 5])
        roll = rng.random()
        if roll < 0.01:
            customers = []
        elif roll < 0.015:
            customers = [customer(rng, 0) for _ in range(1001)]
        else:
            customers = [customer(rng, changes if i == 0 or rng.random() < 0.3 else 0) for i in range(size)]
            if rng.random() < 0.03:
                customers[rng.randrange(size)] = not_a_customer(rng)
        body = {"customers": customers}
        if rng.random() < 0.02:
            body = {"customers": rng.choice(JUNK)}
        elif rng.random() < 0.01:
            body = rng.choice([customers, {}, None, {"Customers": customers}])
        path = "/api/v1/predict/batch"
    else:
        body = customer(rng, changes)
        if rng.random() < 0.02:
            body = not_a_customer(rng)
        path = "/api/v1/predict"
    text = dump(body)
    roll = rng.random()
    if roll < 0.008:
        return path, raw_oddity(rng, text)
    if roll < 0.010:
        return path, text.encode("latin-1", "replace") + b"\xff"
    return path, text.encode()
