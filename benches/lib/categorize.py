#!/usr/bin/env python3
"""Breaks `perf script` call-graph samples of the server into categories.

usage: categorize.py PERF_SCRIPT_OUTPUT [SERVER_CPU_US_PER_REQUEST]

Each sample goes to the category of the frame nearest the leaf that is not
generic (kernel, libc, core/alloc/std): a kernel write() called by
tracing-subscriber is logging, a malloc called by serde_json is JSON parsing.
Wrappers that stay on the stack for the whole request (hyper's dispatcher,
tokio's task harness, tower-http's trace future) only get what nothing more
specific below them claims. With the server's CPU per request (profile.sh
prints it), shares are also shown as microseconds per request.
"""
import re
import sys
from collections import Counter

# Matched against one frame (symbol + dso), first match wins.
CATEGORIES = [
    ("ONNX Runtime (Session::run, input tensors, output)", r"libonnxruntime|\bort::|OnnxModel|build_tensor|read_output"),
    ("logging (tracing spans, fmt, write to stderr)", r"tracing_subscriber::|tracing_core::|\btracing::|tower_http::trace|telemetry::"),
    ("metrics (prometheus)", r"prometheus::|routes::metrics::track"),
    ("request id (uuid v4, getrandom)", r"uuid::|getrandom|request_id|MakeRequestUuid"),
    ("JSON body read + parse + validation", r"serde_json::de|serde_json::read|serde_json::value|domain::customer|parse_customer|http_body_util|axum::json|FromRequest"),
    ("JSON response (serialize)", r"serde_json::ser|serde::ser|PredictionResponse|Serialize"),
    ("inference queue handoff (crossbeam, oneshot, wake-ups, batching)", r"crossbeam_channel|tokio::sync::oneshot|model::pool|InferencePool|Worker<"),
    ("tokio scheduler (park/unpark, task polling)", r"tokio::runtime|tokio::task|tokio::util"),
    ("socket I/O (tokio/mio + kernel TCP)", r"tokio::net|tokio::io|mio::|PollEvented"),
    ("HTTP/1 (hyper, httparse, headers)", r"hyper::|hyper_util|httparse|\bhttp::|bytes::"),
    ("routing + middleware glue (axum, tower, AppState clones)", r"axum::|tower::|tower_http::|matchit|churn_serve::"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in CATEGORIES]
GENERIC = re.compile(r"\[kernel|libc\.so|ld-linux|\[unknown\]|^<?(core|alloc|std)::|^_?_?rust|^0x[0-9a-f]+$")
ALLOC = re.compile(r"malloc|_int_free|\bfree\b|cfree|realloc|memalign|_int_malloc|malloc_consolidate|lll_lock")


def frames(stack):
    """(symbol, dso) per frame, leaf first."""
    out = []
    for line in stack:
        m = re.match(r"^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        sym, dso = (m.group(1), m.group(2)) if m else (line.strip(), "")
        out.append((re.sub(r"\+0x[0-9a-f]+$", "", sym), dso))
    return out


def samples(path):
    stack, header = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                if header is not None:
                    yield header, stack
                stack, header = [], None
            elif line[0] not in " \t":
                header = line.strip()
            else:
                stack.append(line)
    if header is not None:
        yield header, stack


def classify(fr):
    for sym, dso in fr:
        if "libonnxruntime" in dso:
            return CATEGORIES[0][0]
        if GENERIC.search(sym.lstrip("<")) or GENERIC.search(f"[{dso}" if dso.startswith("kernel") else dso):
            continue
        for name, rx in COMPILED:
            if rx.search(sym):
                return name
    return "other (only generic frames: kernel, libc, std)"


def main():
    cpu_per_req = float(sys.argv[2]) if len(sys.argv) > 2 else None
    by_cat, by_thread = Counter(), Counter()
    kernel = alloc = total = 0
    for header, stack in samples(sys.argv[1]):
        fr = frames(stack)
        if not fr:
            continue
        total += 1
        by_thread[re.sub(r"[-\d\s]+$", "", header.split()[0])] += 1
        by_cat[classify(fr)] += 1
        kernel += "kernel" in fr[0][1]
        alloc += bool(ALLOC.search(fr[0][0]))
    if not total:
        sys.exit("no samples")
    unit = f", µs/request at {cpu_per_req:.1f} µs server CPU per request" if cpu_per_req else ""
    print(f"== server CPU by category ({total} samples{unit}) ==")
    for name, n in by_cat.most_common():
        share = n / total
        us = f"{share * cpu_per_req:6.1f} µs  " if cpu_per_req else ""
        print(f"{share * 100:6.1f} %  {us}{name}")
    print("\n== cross-cutting (leaf frame) ==")
    print(f"{kernel / total * 100:6.1f} %  in the kernel (syscalls, scheduler, TCP)")
    print(f"{alloc / total * 100:6.1f} %  in malloc/free (glibc)")
    print("\n== by thread ==")
    for name, n in by_thread.most_common():
        print(f"{n / total * 100:6.1f} %  {name}")


if __name__ == "__main__":
    main()
