#!/usr/bin/env python3
"""Turns wrk's WRK_RESULT line (benches/lib/post.lua) plus what benches/run.sh
measured around the run into one JSON line on stdout, and a one-line summary
on stderr.

usage: wrk_result.py WRK_OUTPUT NAME LABEL CONNS THREADS ROWS CPU0 CPU1 VMHWM_KB VMRSS_KB WRK_CPU SERVER_CTX
                     METRICS_BEFORE METRICS_AFTER PERF_STAT_FILE [EXTRA_JSON]
WRK_CPU is run_cpu.py's "CPU_S VOL INVOL" for wrk; SERVER_CTX is "VOL0 INVOL0 VOL1 INVOL1", the
server's context switches (all threads) before and after the run.
METRICS_BEFORE/AFTER are the server's /metrics scraped around the run (empty for a server
without them): wrk runs without the per-response Lua callback, so responses are counted by
status on the server side (`server_statuses`).
PERF_STAT_FILE is `perf stat -x,` output for the server during the run (may be missing).
"""
import json
import re
import sys

# churn_http_requests_total{method="POST",route="/api/v1/predict",status="200"} 12345
REQUESTS = re.compile(r'^churn_http_requests_total\{([^}]*)\}\s+([0-9.e+]+)$')


def read_text(path):
    """The file's text, or "" when it is missing (no perf, no metrics)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def perf_counts(path):
    """{"insn_u": ..., "insn_k": ...} from `perf stat -x,` output, or {}."""
    names = {"instructions:u": "insn_u", "instructions:k": "insn_k"}
    counts = {}
    for line in read_text(path).splitlines():
        parts = line.strip().split(",")
        if len(parts) > 2 and parts[2] in names and parts[0].isdigit():
            counts[names[parts[2]]] = int(parts[0])
    return counts


def context_switches(wrk_cpu, server_ctx):
    """{"wrk_vcsw", "wrk_ivcsw", "server_vcsw", "server_ivcsw"}: switches during the run, or {}."""
    counts = {}
    w = wrk_cpu.split()
    if len(w) == 3:
        counts.update(wrk_vcsw=int(w[1]), wrk_ivcsw=int(w[2]))
    s = server_ctx.split()
    if len(s) == 4:
        v0, i0, v1, i1 = map(int, s)
        counts.update(server_vcsw=v1 - v0, server_ivcsw=i1 - i0)
    return counts


def post_counts(metrics_text):
    """{status: count} of POST requests in a Prometheus text scrape."""
    counts = {}
    for line in metrics_text.splitlines():
        m = REQUESTS.match(line.strip())
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("method") == "POST" and "status" in labels:
            counts[labels["status"]] = counts.get(labels["status"], 0) + int(float(m.group(2)))
    return counts


def server_statuses(before_text, after_text):
    """{"server_statuses": {status: count}}: the POSTs the server answered between two
    scrapes (the run's, plus those in flight when wrk stopped), or {} without metrics."""
    before, after = post_counts(before_text), post_counts(after_text)
    if not after:
        return {}
    diff = {code: n - before.get(code, 0) for code, n in after.items()}
    return {"server_statuses": {code: n for code, n in diff.items() if n}}


def main() -> None:
    path, name, label, conns, threads, rows, cpu0, cpu1, hwm, rss, wrk_cpu, server_ctx = sys.argv[1:13]
    metrics0, metrics1, perf_file = sys.argv[13:16]
    extra = sys.argv[16] if len(sys.argv) > 16 else ""
    with open(path, encoding="utf-8", errors="replace") as f:
        found = [line[len("WRK_RESULT "):] for line in f if line.startswith("WRK_RESULT ")]
    if not found:
        sys.exit(f"{path}: no WRK_RESULT line (wrk output above)")
    d = json.loads(found[-1])
    d.update(
        kind="wrk",
        name=name,
        label=label,
        conns=int(conns),
        threads=int(threads),
        rows=int(rows),
        cpu_s=float(cpu1) - float(cpu0),
        vmhwm_kb=int(hwm),
        vmrss_kb=int(rss),
        wrk_cpu_s=float((wrk_cpu.split() or ["nan"])[0]),
    )
    d.update(context_switches(wrk_cpu, server_ctx))
    d.update(server_statuses(read_text(metrics0), read_text(metrics1)))
    d.update(perf_counts(perf_file))
    d.update(json.loads(extra or "{}"))
    print(json.dumps(d))
    rate = d["requests"] / (d["duration_us"] / 1e6)
    cpu_per_req = d["cpu_s"] * 1e6 / d["requests"] if d["requests"] else float("nan")
    print(
        f"  {rate:,.0f} req/s, p50 {d['p50_us']} us, p90 {d['p90_us']} us, p99 {d['p99_us']} us, "
        f"statuses {d['statuses'] or d.get('server_statuses', {})}, socket errors c/r/w/t {d['connect']}/{d['read']}/{d['write']}/{d['timeout']}, "
        f"server CPU {cpu_per_req:.1f} us/req, wrk CPU {d['wrk_cpu_s'] * 1e6 / max(d['requests'], 1):.1f} us/req, "
        f"VmHWM {int(hwm) / 1024:.1f} MiB"
        + (f", server {(d['insn_u'] + d['insn_k']) / max(d['requests'], 1) / 1e3:.0f}k instructions/req" if "insn_u" in d and "insn_k" in d else ""),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
