"""Unit tests for report.py's paired-round bookkeeping (run by scripts/test.sh):
which cross-CPU state a run is put in decides which median it joins."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import wrk_result  # noqa: E402


def wrk(name, rnd, rps, conns=64):
    return {"kind": "wrk", "name": f"round{rnd}_{name}", "round": rnd, "conns": conns, "requests": int(rps * 4),
            "duration_us": 4_000_000, "statuses": {"200": int(rps * 4)}, "connect": 0, "read": 0, "write": 0,
            "status_errors": 0, "timeout": 0}


def round_lines(rnd, probes, single_rps, bare_rps=None):
    lines = [{"kind": "raw", "round": rnd, "threads": 2, "rows": 1, "rows_per_sec": 200_000.0},
             {"kind": "raw", "round": rnd, "threads": 2, "rows": 1000, "rows_per_sec": 700_000.0},
             wrk("single_64", rnd, single_rps), wrk("batch_1000", rnd, 500, conns=4), wrk("overload", rnd, single_rps)]
    if bare_rps:
        lines.append(wrk("bare_64", rnd, bare_rps))
    for when, ns in zip(("before_single", "before_bare", "after_bare"), probes):
        if ns is not None:
            lines.append({"kind": "cross_cpu", "round": rnd, "when": when, "p50_ns": ns})
    return lines


class CpuState(unittest.TestCase):
    def test_bands_need_both_probes_to_agree(self):
        self.assertEqual(report.cpu_state(110, 130), "near")
        self.assertEqual(report.cpu_state(340, 390), "far")
        self.assertEqual(report.cpu_state(110, 370), "mixed")
        self.assertEqual(report.cpu_state(220, 230), "mixed")  # between the bands
        self.assertEqual(report.cpu_state(None, 110), "unknown")


class PairedRounds(unittest.TestCase):
    def test_each_run_is_classed_by_the_probes_on_its_two_sides(self):
        lines = round_lines(1, (120, 360, 370), 120_000, 130_000)
        (r,) = report.paired_rounds(lines, 2)
        self.assertEqual((r["single_state"], r["bare_state"]), ("mixed", "far"))
        self.assertAlmostEqual(r["single_ratio"], 0.6)
        self.assertAlmostEqual(r["bare_ratio"], 0.65)

    def test_rounds_without_probes_or_bare_run_still_count(self):
        (r,) = report.paired_rounds(round_lines(1, (None, None, None), 100_000), 2)
        self.assertEqual(r["single_state"], "unknown")
        self.assertIsNone(r["bare"])

    def test_the_state_row_gives_each_state_its_own_median(self):
        lines = (round_lines(1, (110, 120, 130), 130_000, 180_000)
                 + round_lines(2, (350, 360, 370), 80_000, 120_000)
                 + round_lines(3, (115, 118, 121), 126_000, 170_000))
        out = []
        report.by_cpu_state(out.append, report.paired_rounds(lines, 2))
        row, share = out
        self.assertIn("near: single @64 0.640× (2 runs), bare ceiling 0.875× (2 runs)", row)
        self.assertIn("median round **72 %** (rounds: 72, 67, 74 %)", share)
        self.assertIn("far: single @64 0.400× (1 run), bare ceiling 0.600× (1 run)", row)
        self.assertNotIn("mixed", row.split("|")[2])

    def test_no_state_row_without_probes(self):
        out = []
        report.by_cpu_state(out.append, report.paired_rounds(round_lines(1, (None, None, None), 100_000), 2))
        self.assertEqual(out, [])


class ContextSwitches(unittest.TestCase):
    def test_switches_are_the_servers_difference_and_wrks_own_counts(self):
        counts = wrk_result.context_switches("1.500 240 7", "100 50 340 1050")
        self.assertEqual(counts, {"wrk_vcsw": 240, "wrk_ivcsw": 7, "server_vcsw": 240, "server_ivcsw": 1000})

    def test_older_cpu_files_without_switches_give_none(self):
        self.assertEqual(wrk_result.context_switches("1.500", ""), {})

    def test_overload_sentence_compares_per_request_costs(self):
        at64 = dict(wrk("single_64", 1, 100_000), cpu_s=4.0, wrk_cpu_s=1.6, server_vcsw=120_000,
                    server_ivcsw=200_000, wrk_vcsw=640_000, wrk_ivcsw=4_000)
        over = dict(wrk("overload", 1, 80_000, conns=1024), cpu_s=4.8, wrk_cpu_s=2.24, server_vcsw=3_200,
                    server_ivcsw=320_000, wrk_vcsw=800_000, wrk_ivcsw=9_600)
        self.assertEqual(report.fmt_switches(at64), "300 / 500 · 1600 / 10")
        text = report.cost_of_connections(at64, over)
        self.assertIn("1024 connections cost the server 15 µs of CPU (64 connections: 10 µs)", text)
        self.assertIn("wrk slept 2500 times (1600) and the server's threads were preempted 1000 times (500)", text)

    def test_runs_without_counts_show_a_dash(self):
        self.assertEqual(report.fmt_switches(wrk("single_64", 1, 100_000)), "–")


if __name__ == "__main__":
    unittest.main()
