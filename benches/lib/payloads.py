#!/usr/bin/env python3
"""Writes the benchmark request bodies from models/golden.jsonl.

usage: payloads.py GOLDEN OUTDIR
  OUTDIR/single.json     one customer (POST /api/v1/predict)
  OUTDIR/batch100.json   {"customers": [100 customers]}
  OUTDIR/batch1000.json  {"customers": [1000 customers]}
"""
import itertools
import json
import sys


def main() -> None:
    golden, outdir = sys.argv[1], sys.argv[2]
    with open(golden, encoding="utf-8") as f:
        customers = [json.loads(line)["customer"] for line in f if line.strip()]
    if not customers:
        sys.exit(f"{golden}: no customers")
    with open(f"{outdir}/single.json", "w", encoding="utf-8") as f:
        json.dump(customers[0], f, separators=(",", ":"))
    for n in (100, 1000):
        rows = list(itertools.islice(itertools.cycle(customers), n))
        with open(f"{outdir}/batch{n}.json", "w", encoding="utf-8") as f:
            json.dump({"customers": rows}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
