"""Unit tests for report.py's and wrk_result.py's bookkeeping (run by
scripts/test.sh): paired rounds and their medians, interleaved pairs,
responses by status, context switches.

    python3 -m unittest benches/lib/test_report.py   (from the repository root)
"""
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


def round_lines(rnd, single_rps, bare_rps=None):
    lines = [{"kind": "raw", "round": rnd, "threads": 2, "rows": 1, "rows_per_sec": 200_000.0},
             {"kind": "raw", "round": rnd, "threads": 2, "rows": 1000, "rows_per_sec": 700_000.0},
             wrk("single_64", rnd, single_rps), wrk("batch_1000", rnd, 500, conns=4), wrk("overload", rnd, single_rps)]
    if bare_rps:
        lines.append(wrk("bare_64", rnd, bare_rps))
    return lines


class PairedRounds(unittest.TestCase):
    def test_each_round_gives_its_own_ratios(self):
        (r,) = report.paired_rounds(round_lines(1, 120_000, 130_000), 2)
        self.assertAlmostEqual(r["single_ratio"], 0.6)
        self.assertAlmostEqual(r["bare_ratio"], 0.65)
        self.assertAlmostEqual(r["batch_ratio"], 500 * 1000 / 700_000)
        self.assertAlmostEqual(r["over_ratio"], 1.0)

    def test_rounds_without_a_bare_run_still_count(self):
        (r,) = report.paired_rounds(round_lines(1, 100_000), 2)
        self.assertIsNone(r["bare"])
        self.assertIsNone(r["bare_ratio"])

    def test_a_round_missing_a_run_is_left_out(self):
        lines = [r for r in round_lines(1, 100_000) if r.get("name") != "round1_overload"]
        self.assertEqual(report.paired_rounds(lines + round_lines(2, 90_000), 2)[0]["round"], 2)

    def test_the_median_round_decides_a_ratio_target(self):
        rounds = report.paired_rounds(round_lines(1, 130_000) + round_lines(2, 80_000) + round_lines(3, 126_000), 2)
        out = []
        report.ratio_target(out.append, rounds, "single", "single_ratio", "single", 0.5, "0.5", report.times, None)
        (row,) = out
        self.assertIn("median round **0.630×** (rounds: 0.650, 0.400, 0.630), 0 errors", row)
        self.assertIn("**met**", row)

    def test_the_share_of_the_ceiling_uses_the_bare_run_of_the_same_round(self):
        lines = (round_lines(1, 130_000, 180_000) + round_lines(2, 80_000, 120_000)
                 + round_lines(3, 126_000, 170_000) + round_lines(4, 100_000))
        out = []
        report.share_of_ceiling(out.append, report.paired_rounds(lines, 2))
        (share,) = out
        self.assertIn("median round **72 %** (rounds: 72, 67, 74 %)", share)

    def test_no_share_without_bare_runs(self):
        out = []
        report.share_of_ceiling(out.append, report.paired_rounds(round_lines(1, 100_000), 2))
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

    def test_the_overload_share_is_informational_without_a_verdict(self):
        lines = self.pair(1, 100_000, 70_000) + self.pair(2, 150_000, 123_000) + self.pair(3, 90_000, 81_000)
        lines += round_lines(1, 100_000)
        pairs = report.interleaved_pairs(lines)
        self.assertEqual(len(pairs), 3)
        out = []
        report.overload_share(out.append, report.paired_rounds(lines, 2), pairs, ("80 / 100 = ", 0.8, None))
        from_pairs, from_rounds, separate = out
        self.assertIn("(informational) overload", from_pairs)
        self.assertIn("median of 3 interleaved pairs **82.0 %** (pairs: 70, 82, 90 %", from_pairs)
        self.assertIn("median paired round | 100.0 %", from_rounds)
        self.assertIn("from the separate runs above | 80 / 100 = 80.0 %", separate)
        for row in out:
            self.assertNotIn("met", row)
            self.assertTrue(row.endswith("| – |"))

    def test_a_pair_missing_a_run_is_left_out(self):
        lines = self.pair(1, 100_000, 90_000)[:1] + self.pair(2, 100_000, 70_000)
        self.assertEqual(len(report.interleaved_pairs(lines)), 1)
        out = []
        report.overload_share(out.append, [], report.interleaved_pairs(lines), None)
        (row,) = out
        self.assertIn("median of 1 interleaved pair **70.0 %**", row)


if __name__ == "__main__":
    unittest.main()
