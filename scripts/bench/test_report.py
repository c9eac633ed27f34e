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
    for when, ns in zip(("before_bare", "before_single", "after_overload"), probes):
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
        # bare between 120 and 360 ns; single @64 and overload between 360 and 370
        self.assertEqual((r["single_state"], r["bare_state"]), ("far", "mixed"))
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


METRICS = 'churn_http_requests_total{{method="POST",route="/api/v1/predict",status="{}"}} {}\n'


class Statuses(unittest.TestCase):
    def test_the_server_counts_what_it_answered_between_two_scrapes(self):
        before = METRICS.format(200, 50) + 'churn_http_requests_total{method="GET",route="/metrics",status="200"} 3\n'
        after = METRICS.format(200, 1050) + METRICS.format(503, 40) + "# HELP x\n"
        self.assertEqual(wrk_result.server_statuses(before, after), {"server_statuses": {"200": 1000, "503": 40}})

    def test_a_server_without_metrics_gives_none(self):
        self.assertEqual(wrk_result.server_statuses("", ""), {})

    def test_200s_are_wrks_own_and_other_statuses_the_servers(self):
        run = dict(wrk("overload", 1, 0, conns=1024), requests=1000, statuses={}, status_errors=30,
                   server_statuses={"200": 1012, "503": 31})
        self.assertEqual(report.status_counts(run), {"200": 970, "503": 31})
        self.assertEqual(report.other_statuses(run), 0)
        self.assertAlmostEqual(report.ok_rps(run), 970 / 4)
        run["server_statuses"]["500"] = 2
        self.assertEqual(report.other_statuses(run), 2)

    def test_non_2xx_from_a_server_without_metrics_count_as_other(self):
        run = dict(wrk("bare_64", 1, 0), requests=100, statuses={}, status_errors=5)
        self.assertEqual(report.other_statuses(run), 5)
        self.assertEqual(report.non2xx(run), 5)

    def test_counts_from_wrks_callback_are_used_as_they_are(self):
        run = dict(wrk("overload", 1, 100), statuses={"200": 390, "503": 10}, status_errors=10)
        self.assertEqual(report.status_counts(run), {"200": 390, "503": 10})


class InterleavedPairs(unittest.TestCase):
    @staticmethod
    def pair(n, single_rps, overload_rps):
        runs = [wrk("single_64", 0, single_rps), wrk("overload", 0, overload_rps, conns=1024)]
        for r in runs:
            r.pop("round")
            r.update(pair=n, name=r["name"].replace("round0", f"pair{n}"))
        return runs

    def test_the_median_pair_decides_and_rounds_are_informational(self):
        lines = self.pair(1, 100_000, 70_000) + self.pair(2, 150_000, 123_000) + self.pair(3, 90_000, 81_000)
        lines += round_lines(1, (None, None, None), 100_000)
        pairs = report.interleaved_pairs(lines)
        self.assertEqual(len(pairs), 3)
        out = []
        report.overload_target(out.append, report.paired_rounds(lines, 2), pairs, None)
        decided, rounds = out
        self.assertIn("median of 3 interleaved pairs **82.0 %** (pairs: 70, 82, 90 %", decided)
        self.assertIn("**met**", decided)
        self.assertIn("(informational) the same, median paired round | 100.0 %", rounds)

    def test_a_pair_missing_a_run_is_left_out(self):
        lines = self.pair(1, 100_000, 90_000)[:1] + self.pair(2, 100_000, 70_000)
        self.assertEqual(len(report.interleaved_pairs(lines)), 1)
        out = []
        report.overload_target(out.append, [], report.interleaved_pairs(lines), None)
        self.assertIn("**70.0 %**", out[0])
        self.assertIn("not met", out[0])


if __name__ == "__main__":
    unittest.main()
