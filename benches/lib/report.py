#!/usr/bin/env python3
"""Turns the measurements collected by benches/run.sh into benches/results.md.

usage: report.py RESULTS_JSONL CRITERION_DIR OUT_MD  (metadata via BENCH_META_* env)
Every input line is a JSON object with a "kind": raw | startup | wrk.
"""
import json
import os
import statistics
import sys

MIB = 1024 * 1024


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def criterion_rows(root):
    """(rows, mean ns, low ns, high ns) from criterion's estimates.json files."""
    out = []
    base = os.path.join(root, "onnx_predict", "rows")
    if not os.path.isdir(base):
        return out
    for name in sorted(os.listdir(base), key=lambda n: int(n) if n.isdigit() else 1 << 60):
        est = os.path.join(base, name, "new", "estimates.json")
        if name.isdigit() and os.path.isfile(est):
            with open(est, encoding="utf-8") as f:
                mean = json.load(f)["mean"]
            ci = mean["confidence_interval"]
            out.append((int(name), mean["point_estimate"], ci["lower_bound"], ci["upper_bound"]))
    return out


def fmt_time_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def fmt_rate(x):
    return f"{x:,.0f}"


def non2xx(w):
    """Responses that were not 2xx: from the status counts when the Lua
    callback ran, else wrk's own count (statuses >= 400)."""
    if w.get("statuses"):
        return sum(n for code, n in w["statuses"].items() if not code.startswith("2"))
    return w["status_errors"]


def socket_errors(w):
    return w["connect"] + w["read"] + w["write"]


def errors(w):
    return non2xx(w) + socket_errors(w) + w["timeout"]


def rps(w):
    return w["requests"] / (w["duration_us"] / 1e6)


def status_counts(w):
    """Responses by status. wrk counts them itself only with post.lua's
    per-response Lua callback (results before run 10); run.sh now runs wrk
    without it, because the callback costs wrk CPU on the server's cores, and
    more per request at 1024 connections than at 64. Then the 200s are wrk's
    responses less its own non-2xx count (exact), and the other statuses come
    from the server's own counter (which also counts the few requests still
    in flight when wrk stopped)."""
    if w.get("statuses"):
        return w["statuses"]
    counts = {code: n for code, n in w.get("server_statuses", {}).items() if code != "200"}
    if w["status_errors"] and not counts:
        counts["non-2xx"] = w["status_errors"]  # a server without metrics
    counts["200"] = w["requests"] - w["status_errors"]
    return counts


def other_statuses(w):
    return sum(n for code, n in status_counts(w).items() if code not in ("200", "503"))


def ok_rps(w, code="200"):
    return status_counts(w).get(code, 0) / (w["duration_us"] / 1e6)


def cpu_us_per_req(w):
    return w["cpu_s"] * 1e6 / w["requests"] if w["requests"] else float("nan")


def wrk_us_per_req(w):
    return w.get("wrk_cpu_s", float("nan")) * 1e6 / w["requests"] if w["requests"] else float("nan")


def kinsn_per_req(w):
    """Server instructions (user + kernel) per request, in thousands, or None."""
    if "insn_u" not in w or "insn_k" not in w or not w["requests"]:
        return None
    return (w["insn_u"] + w["insn_k"]) / w["requests"] / 1e3


def fmt_kinsn(w):
    k = kinsn_per_req(w) if w else None
    return "–" if k is None else f"{k:,.0f}k"


def switches_per_kreq(w):
    """Context switches per 1,000 requests: (server vol, server invol, wrk vol, wrk invol), or None."""
    keys = ("server_vcsw", "server_ivcsw", "wrk_vcsw", "wrk_ivcsw")
    if not w or not w["requests"] or any(k not in w for k in keys):
        return None
    return tuple(w[k] * 1000 / w["requests"] for k in keys)


def fmt_switches(w):
    c = switches_per_kreq(w)
    return "–" if c is None else "{:.0f} / {:.0f} · {:.0f} / {:.0f}".format(*c)


def cost_of_connections(at64, over):
    """One sentence comparing what a request cost at 64 connections and under overload, or ""."""
    if not at64 or not over:
        return ""
    text = (f"Per request, {over['conns']} connections cost the server {fmt_us(cpu_us_per_req(over))} of CPU "
            f"(64 connections: {fmt_us(cpu_us_per_req(at64))}) and wrk {fmt_us(wrk_us_per_req(over))} "
            f"({fmt_us(wrk_us_per_req(at64))})")
    a, o = switches_per_kreq(at64), switches_per_kreq(over)
    if a and o:
        text += (f"; per 1,000 requests wrk slept {o[2]:.0f} times ({a[2]:.0f}) and the server's threads were "
                 f"preempted {o[1]:.0f} times ({a[1]:.0f})")
    return text + "."


def compared(value, floor, floor_text):
    """The verdict column of an informational row: "≥ 80 %" or "< 80 %"."""
    return f"{'≥' if value >= floor else '<'} {floor_text}"


def met(flag):
    return "**met**" if flag else "**not met**"


def median(xs):
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")


def wrk_runs_by(lines, key):
    """{round or pair number: {run name without its "roundN_" or "pairN_": wrk run}}."""
    out = {}
    for r in lines:
        if r["kind"] == "wrk" and r.get(key):
            out.setdefault(r[key], {})[r["name"].split("_", 1)[1]] = r
    return out


def paired_rounds(lines, nproc):
    """Per round: the raw rates and the wrk runs measured back to back, with
    the ratios the targets compare and the overload share (informational);
    rounds missing a part are left out."""
    out = []
    by_round = wrk_runs_by(lines, "round")
    for n in sorted({r["round"] for r in lines if r.get("round")}):
        raw = {r["rows"]: r for r in lines if r["kind"] == "raw" and r.get("round") == n and r["threads"] == nproc}
        runs = by_round.get(n, {})
        single, batch, over = runs.get("single_64"), runs.get("batch_1000"), runs.get("overload")
        if not (1 in raw and 1000 in raw and single and batch and over):
            continue
        bare = runs.get("bare_64")
        out.append({
            "round": n, "raw1": raw[1], "raw1000": raw[1000], "single": single, "batch": batch, "over": over,
            "single_ratio": rps(single) / raw[1]["rows_per_sec"],
            "batch_ratio": rps(batch) * 1000 / raw[1000]["rows_per_sec"],
            "over_ratio": ok_rps(over) / rps(single),
            "bare": bare, "bare_ratio": rps(bare) / raw[1]["rows_per_sec"] if bare else None,
        })
    return out


def share_of_ceiling(w, rounds):
    """Single @64 as a share of the bare HTTP ceiling measured right before it, per round."""
    paired = [rps(r["single"]) / rps(r["bare"]) for r in rounds if r["bare"]]
    if paired:
        listed = ", ".join(f"{x * 100:.0f}" for x in paired)
        w(f"| (informational) single @64 as a share of the bare HTTP ceiling measured right before it | median round "
          f"**{median(paired) * 100:.0f} %** (rounds: {listed} %) | what the server itself costs, whatever the host "
          f"does; 0.5× raw is 80 % of a 0.625× ceiling |")


def times(x, unit=True):
    return f"{x:.3f}×" if unit else f"{x:.3f}"


def percent(x, unit=True):
    return f"{x * 100:.1f} %"


def ratio_target(w, rounds, target, key, runs_key, floor, floor_text, fmt, separate):
    """Writes one ratio target. The median paired round decides it; the
    figure from the separate runs follows as informational, or decides when
    there are no rounds. `separate` is (measured text, ratio, errors or None)."""
    if rounds:
        ratio = median(r[key] for r in rounds)
        errs = sum(errors(r[runs_key]) for r in rounds) if runs_key else 0
        listed = ", ".join(fmt(r[key], unit=False) for r in rounds)
        w(f"| {target} | median round **{fmt(ratio)}** (rounds: {listed})"
          f"{f', {errs} errors' if runs_key else ''} | {met(ratio >= floor and errs == 0)} |")
    if separate:
        measured, ratio, errs = separate
        if rounds:
            label, verdict = "(informational) the same from the separate runs above", compared(ratio, floor, floor_text)
        else:
            label, verdict = target, met(ratio >= floor and not errs)
        w(f"| {label} | {measured}**{fmt(ratio)}**{'' if errs is None else f', {errs} errors'} | {verdict} |")


def interleaved_pairs(lines):
    """[(single @64 run, overload run)] of each interleaved pair, in order."""
    pairs = wrk_runs_by(lines, "pair")
    return [(p["single_64"], p["overload"]) for _, p in sorted(pairs.items()) if "single_64" in p and "overload" in p]


def overload_share(w, rounds, pairs, separate):
    """Informational, no target: overload 200s/s as a share of single @64
    req/s, from the median interleaved pair, the median paired round and the
    separate runs, whichever there are."""
    label = "(informational) overload: 200s/s as a share of single @64 req/s"
    if pairs:
        ratios = [ok_rps(o) / rps(s) for s, o in pairs]
        of_medians = median(ok_rps(o) for _, o in pairs) / median(rps(s) for s, _ in pairs)
        listed = ", ".join(f"{x * 100:.0f}" for x in ratios)
        w(f"| {label} | median of {len(pairs)} interleaved pair{'s' if len(pairs) > 1 else ''} **{percent(median(ratios))}** (pairs: {listed} %; "
          f"ratio of the medians {percent(of_medians)}) | – |")
    if rounds:
        listed = ", ".join(percent(r["over_ratio"]) for r in rounds)
        w(f"| {label}, median paired round | {percent(median(r['over_ratio'] for r in rounds))} (rounds: {listed}) | – |")
    if separate:
        measured, value, _ = separate
        w(f"| {label}, from the separate runs above | {measured}{percent(value)} | – |")


def main():
    results, crit_dir, out_md = sys.argv[1], sys.argv[2], sys.argv[3]
    lines = load(results)
    env = os.environ.get
    raw = {(r["threads"], r["rows"]): r for r in lines if r["kind"] == "raw" and not r.get("round")}
    startup = next((r for r in lines if r["kind"] == "startup"), None)
    wrk = {r["name"]: r for r in lines if r["kind"] == "wrk" and not r.get("round") and not r.get("pair")}
    nproc = int(env("BENCH_META_NPROC", "1"))
    rounds = paired_rounds(lines, nproc)
    md = []
    w = md.append

    w("# churn-serve benchmark results")
    w("")
    w(f"Generated by `benches/run.sh` on {env('BENCH_META_DATE', '?')}.")
    w("")
    w("| | |")
    w("| --- | --- |")
    w(f"| machine | {nproc} cores ({env('BENCH_META_CPU', '?')}), {env('BENCH_META_MEM', '?')} RAM, {env('BENCH_META_KERNEL', '?')} |")
    w(f"| load average at start | {env('BENCH_META_LOAD', '?')} |")
    w(f"| commit | `{env('BENCH_META_COMMIT', '?')}` |")
    w(f"| toolchain | {env('BENCH_META_RUSTC', '?')}; ONNX Runtime {env('BENCH_META_ORT', '?')}; {env('BENCH_META_WRK', '?')} |")
    extra = env("BENCH_META_SERVER_ENV", "")
    config = f"extra settings `{extra}`" if extra else f"default config (http_threads = {max(1, nproc // 2)}, workers = {nproc}, queue_capacity 256, max_batch_rows 1024, batch_wait_us 0, intra_op_threads 1)"
    binary = env("BENCH_META_SERVER_BIN", "")
    build = f"binary `{binary}` (not this checkout's build)" if binary else "release build of this checkout"
    w(f"| server | {build}, {config}, bound to 127.0.0.1 |")
    w(f"| server logs | stderr redirected to a file (`{env('BENCH_META_LOGDIR', 'target/bench')}/*.log`), LOG_LEVEL=info (one line per request) unless noted |")
    w(f"| load generator | wrk on the **same {nproc} cores** as the server (threads = min(conns, 2)), {env('BENCH_META_DURATION', '?')} s per run after a {env('BENCH_META_WARMUP', '?')} s warm-up |")
    w("")
    if env("BENCH_META_NOTE"):
        w(f"> {env('BENCH_META_NOTE')}")
        w("")

    crit = criterion_rows(crit_dir) if env("BENCH_META_CRITERION", "1") == "1" else []
    if crit:
        w("## Raw ONNX call, in process (criterion, `cargo bench --bench inference`, 1 thread)")
        w("")
        w("| rows per call | time per call (mean [95% CI]) | rows/s |")
        w("| ---: | --- | ---: |")
        for rows, mean, lo, hi in crit:
            w(f"| {rows} | {fmt_time_ns(mean)} [{fmt_time_ns(lo)} – {fmt_time_ns(hi)}] | {fmt_rate(rows * 1e9 / mean)} |")
        w("")

    if raw:
        w("## Raw ONNX call, in process (`examples/raw_rate`, one session per thread, same run)")
        w("")
        w("| threads | rows per call | calls/s | rows/s | p50 per call | p99 per call | CPU per call |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for (threads, rows), r in sorted(raw.items()):
            w(f"| {threads} | {rows} | {fmt_rate(r['calls_per_sec'])} | {fmt_rate(r['rows_per_sec'])} | "
              f"{fmt_us(r['p50_us'])} | {fmt_us(r['p99_us'])} | {fmt_us(r.get('cpu_us_per_call', float('nan')))} |")
        w("")

    if wrk:
        w("## HTTP through the server (wrk)")
        w("")
        w("| run | endpoint | conns | req/s | rows/s | p50 | p90 | p99 | max | non-2xx | socket errors (connect/read/write/timeout) | server CPU per request | server instructions per request | wrk CPU per request | context switches per 1k requests: server vol / invol · wrk vol / invol | server VmHWM after run |")
        w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        for r in wrk.values():
            endpoint = "/api/v1/predict" if r["rows"] == 1 else f"/predict/batch ({r['rows']} rows)"
            sock = f"{r['connect']}/{r['read']}/{r['write']}/{r['timeout']}"
            w(f"| {r['label']} | {endpoint} | {r['conns']} | {fmt_rate(rps(r))} | {fmt_rate(rps(r) * r['rows'])} | "
              f"{fmt_us(r['p50_us'])} | {fmt_us(r['p90_us'])} | {fmt_us(r['p99_us'])} | {fmt_us(r['max_us'])} | "
              f"{non2xx(r)} | {sock} | {fmt_us(cpu_us_per_req(r))} | {fmt_kinsn(r)} | {fmt_us(wrk_us_per_req(r))} | {fmt_switches(r)} | {r['vmhwm_kb'] / 1024:.1f} MiB |")
        w("")
        w("Server CPU per request = (utime + stime of the server process during the run) / requests, "
          "from /proc/<pid>/stat; wrk CPU per request likewise from wrk's rusage. Both are much less "
          "sensitive to a busy machine than req/s. With the load generator on the same cores, req/s "
          f"cannot exceed {nproc} cores / (server + wrk CPU per request). Instructions are counted "
          "(`perf stat`) only in the runs marked *perf stat attached*: counting slows the server "
          "(10–25 % fewer req/s at 64 connections here), so the other runs are not counted. "
          "Context switches: voluntary ones are sleeps (nothing to do), involuntary ones are preemptions; "
          "every time wrk sleeps and is woken by an answer it takes a core from a server thread.")
        w("")

    info, warn = wrk.get("single_64"), wrk.get("single_64_warn")
    counted = {"info": wrk.get("single_64_insn"), "warn": wrk.get("single_64_warn_insn")}
    if info and warn:
        w("## Logging cost (single prediction, 64 connections)")
        w("")
        w("| LOG_LEVEL | req/s | p50 | p99 | server CPU per request | server instructions per request |")
        w("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, level, r in (("info (1 line per request, to a file)", "info", info),
                               ("warn (no request lines)", "warn", warn)):
            w(f"| {name} | {fmt_rate(rps(r))} | {fmt_us(r['p50_us'])} | {fmt_us(r['p99_us'])} | "
              f"{fmt_us(cpu_us_per_req(r))} | {fmt_kinsn(counted[level])} |")
        w("")
        text = (f"Per request, logging costs {cpu_us_per_req(info) - cpu_us_per_req(warn):.1f} µs of server CPU "
                f"({(rps(warn) / rps(info) - 1) * 100:+.0f} % req/s with LOG_LEVEL=warn)")
        ki, kw = (kinsn_per_req(counted[k]) if counted[k] else None for k in ("info", "warn"))
        if ki is not None and kw is not None:
            text += f" and {ki - kw:,.1f}k instructions ({(ki - kw) / ki * 100:.0f} % of the server's instructions)"
        w(text + ". On a busy machine trust the instruction count over the CPU time and req/s.")
        w("")

    over = wrk.get("overload")
    if over:
        st = status_counts(over)
        other = other_statuses(over)
        w(f"## Overload (queue_capacity = {over.get('queue', '?')}, {over['conns']} connections, wrk --timeout {over.get('timeout_s', '?')} s)")
        w("")
        w("| 200 | 503 | other statuses | socket errors (connect/read/write) | timeouts | 200s per second | 200s/s vs 64-conn req/s | p99 | max | server VmHWM |")
        w("| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        ratio = ok_rps(over) / rps(info) if info else float("nan")
        w(f"| {st.get('200', 0)} | {st.get('503', 0)} | {other} | {over['connect']}/{over['read']}/{over['write']} | {over['timeout']} | "
          f"{fmt_rate(ok_rps(over))} | {ratio:.3f} | {fmt_us(over['p99_us'])} | {fmt_us(over['max_us'])} | {over['vmhwm_kb'] / 1024:.1f} MiB |")
        w("")
        text = cost_of_connections(info, over)
        if text:
            w(text)
            w("")

    if rounds:
        w(f"## Paired rounds ({len(rounds)} rounds; in each, every figure below was measured back to back)")
        w("")
        w("HTTP throughput on a shared VM drifts from second to second while the raw in-process rate "
          "does not, so the ratio targets compare figures from the same round and use the median round. "
          "Each wrk run lasts the round length; the overload server has its own small queue; the bare "
          "ceiling is `examples/bare_http`.")
        w("")
        w("| round | raw 1-row rows/s | single @64 req/s | ratio | "
          "bare ceiling @64 req/s | ratio | raw 1000-row rows/s | batch-1000 rows/s | ratio | "
          "overload 200s/s | overload 503s/s | 200s vs single @64 | errors (single, batch) | overload other/socket errors/timeouts |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
        for r in rounds:
            o = r["over"]
            other = other_statuses(o)
            bare = f"{fmt_rate(rps(r['bare']))} | {r['bare_ratio']:.3f}×" if r["bare"] else "– | –"
            w(f"| {r['round']} | {fmt_rate(r['raw1']['rows_per_sec'])} | {fmt_rate(rps(r['single']))} | "
              f"{r['single_ratio']:.3f}× | {bare} | "
              f"{fmt_rate(r['raw1000']['rows_per_sec'])} | {fmt_rate(rps(r['batch']) * 1000)} | {r['batch_ratio']:.3f}× | "
              f"{fmt_rate(ok_rps(o))} | {fmt_rate(ok_rps(o, '503'))} | {r['over_ratio'] * 100:.1f} % | "
              f"{errors(r['single'])}, {errors(r['batch'])} | {other}/{socket_errors(o)}/{o['timeout']} |")
        w("")

    w("## Targets")
    w("")
    w("| target | measured | result |")
    w("| --- | --- | --- |")
    raw1 = raw.get((nproc, 1))
    raw1000 = raw.get((nproc, 1000))
    target = f"single @64 conns ≥ 0.5 × raw single-row rate ({nproc} threads), 0 errors"
    separate = None
    if info and raw1:
        separate = (f"{fmt_rate(rps(info))} / {fmt_rate(raw1['rows_per_sec'])} = ", rps(info) / raw1["rows_per_sec"], errors(info))
    ratio_target(w, rounds, target, "single_ratio", "single", 0.5, "0.5", times, separate)
    share_of_ceiling(w, rounds)
    if info and raw1 and raw1.get("cpu_us_per_call"):
        ratio = raw1["cpu_us_per_call"] / cpu_us_per_req(info)
        w(f"| (informational) the same, CPU-normalized: raw CPU per 1-row call / server CPU per request | "
          f"{fmt_us(raw1['cpu_us_per_call'])} / {fmt_us(cpu_us_per_req(info))} = **{ratio:.2f}×** "
          f"(what the ratio would be with the server alone on dedicated cores) | {compared(ratio, 0.5, '0.5')} |")
    if info:
        ratio = info["p99_us"] / max(info["p50_us"], 1)
        w(f"| p99 @64 ≤ 10 × p50 | {fmt_us(info['p99_us'])} / {fmt_us(info['p50_us'])} = **{ratio:.1f}×** | {met(ratio <= 10)} |")
    b1000 = wrk.get("batch_1000")
    target = f"batch-1000 rows/s ≥ 0.7 × raw 1000-row rows/s ({nproc} threads)"
    separate = None
    if b1000 and raw1000:
        separate = (f"{fmt_rate(rps(b1000) * 1000)} / {fmt_rate(raw1000['rows_per_sec'])} = ",
                    rps(b1000) * 1000 / raw1000["rows_per_sec"], errors(b1000))
    ratio_target(w, rounds, target, "batch_ratio", "batch", 0.7, "0.7", times, separate)
    if b1000 and raw1000 and raw1000.get("cpu_us_per_call"):
        ratio = raw1000["cpu_us_per_call"] / cpu_us_per_req(b1000)
        w(f"| (informational) the same, CPU-normalized: raw CPU per 1000-row call / server CPU per 1000-row request | "
          f"{fmt_us(raw1000['cpu_us_per_call'])} / {fmt_us(cpu_us_per_req(b1000))} = **{ratio:.2f}×** | {compared(ratio, 0.7, '0.7')} |")
    bare = wrk.get("bare_64")
    if info and bare:
        ratio = rps(info) / rps(bare)
        w(f"| (informational) single @64 vs the HTTP ceiling (`examples/bare_http`: same JSON parsing, no model, no middleware) | "
          f"{fmt_rate(rps(info))} / {fmt_rate(rps(bare))} = **{ratio * 100:.0f} %**; the ceiling itself is "
          f"{rps(bare) / raw1['rows_per_sec'] if raw1 else float('nan'):.2f}× raw | (0.5× raw = {0.5 * raw1['rows_per_sec'] / rps(bare) * 100 if raw1 else float('nan'):.0f} % of the ceiling) |")
    all_runs = [r for r in lines if r["kind"] == "wrk"]
    normal = [r["vmhwm_kb"] for r in all_runs if "overload" not in r["name"] and "bare_64" not in r["name"]]
    if normal:
        peak = max(normal) / 1024
        w(f"| peak RSS (VmHWM) ≤ 64 MiB, normal runs (≤ 256 conns, batches of 1000) | **{peak:.1f} MiB** | {met(peak <= 64)} |")
    overloads = [r for r in all_runs if "overload" in r["name"]]
    if overloads:
        peak = max(r["vmhwm_kb"] for r in overloads) / 1024
        w(f"| peak RSS (VmHWM) ≤ 64 MiB, overload servers ({overloads[0]['conns']} conns) | **{peak:.1f} MiB** | {met(peak <= 64)} |")
    if startup:
        w(f"| start to first healthy answer ≤ 200 ms | median **{startup['median_ms']:.0f} ms** of {startup['runs_ms']} | {met(startup['median_ms'] <= 200)} |")
    if overloads:
        count = lambda code: sum(status_counts(r).get(code, 0) for r in overloads)
        other = sum(other_statuses(r) for r in overloads)
        sock = sum(socket_errors(r) for r in overloads)
        timeouts = sum(r["timeout"] for r in overloads)
        runs = f"{len(overloads)} overload runs" if len(overloads) > 1 else "the overload run"
        source = "" if all(r.get("statuses") for r in overloads) else \
            " (200s: wrk's responses less its non-2xx; 503s and other statuses: the server's request counter)"
        w(f"| overload: only 200/503 | {runs}: {count('200')} × 200, {count('503')} × 503, {other} other, {sock} socket errors"
          f"{source} | {met(other == 0 and sock == 0)} |")
        w(f"| overload: none hang | {runs}: {timeouts} timeouts (> {overloads[0].get('timeout_s', '?')} s), max latency "
          f"{fmt_us(max(r['max_us'] for r in overloads))} | {met(timeouts == 0)} |")
    separate = None
    if over and info:
        separate = (f"{fmt_rate(ok_rps(over))} / {fmt_rate(rps(info))} = ", ok_rps(over) / rps(info), None)
    overload_share(w, rounds, interleaved_pairs(lines), separate)
    w("")
    text = "\n".join(md) + "\n"
    with open(out_md, "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
