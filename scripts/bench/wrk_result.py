#!/usr/bin/env python3
"""Turns wrk's WRK_RESULT line (scripts/bench/post.lua) plus what bench.sh
measured around the run into one JSON line on stdout, and a one-line summary
on stderr.

usage: wrk_result.py WRK_OUTPUT NAME LABEL CONNS THREADS ROWS CPU0 CPU1 VMHWM_KB VMRSS_KB WRK_CPU SERVER_CTX PERF_STAT_FILE [EXTRA_JSON]
WRK_CPU is run_cpu.py's "CPU_S VOL INVOL" for wrk; SERVER_CTX is "VOL0 INVOL0 VOL1 INVOL1", the
server's context switches (all threads) before and after the run.
PERF_STAT_FILE is `perf stat -x,` output for the server during the run (may be missing).
"""
import json
import sys


def perf_counts(path):
    """{"insn_u": ..., "insn_k": ...} from `perf stat -x,` output, or {}."""
    names = {"instructions:u": "insn_u", "instructions:k": "insn_k"}
    counts = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[2] in names and parts[0].isdigit():
                    counts[names[parts[2]]] = int(parts[0])
    except OSError:
        pass
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


def main() -> None:
    path, name, label, conns, threads, rows, cpu0, cpu1, hwm, rss, wrk_cpu, server_ctx, perf_file = sys.argv[1:14]
    extra = sys.argv[14] if len(sys.argv) > 14 else ""
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
    d.update(perf_counts(perf_file))
    d.update(json.loads(extra or "{}"))
    print(json.dumps(d))
    rate = d["requests"] / (d["duration_us"] / 1e6)
    cpu_per_req = d["cpu_s"] * 1e6 / d["requests"] if d["requests"] else float("nan")
    print(
        f"  {rate:,.0f} req/s, p50 {d['p50_us']} us, p90 {d['p90_us']} us, p99 {d['p99_us']} us, "
        f"statuses {d['statuses']}, socket errors c/r/w/t {d['connect']}/{d['read']}/{d['write']}/{d['timeout']}, "
        f"server CPU {cpu_per_req:.1f} us/req, wrk CPU {d['wrk_cpu_s'] * 1e6 / max(d['requests'], 1):.1f} us/req, "
        f"VmHWM {int(hwm) / 1024:.1f} MiB"
        + (f", server {(d['insn_u'] + d['insn_k']) / max(d['requests'], 1) / 1e3:.0f}k instructions/req" if "insn_u" in d and "insn_k" in d else ""),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
