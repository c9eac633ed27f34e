"""Unit tests for report.py's paired-round bookkeeping (run by scripts/test.sh):
which cross-CPU state a run is put in decides which median it joins."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
