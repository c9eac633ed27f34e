"""Gate on checkov's JSON report: exit 1 unless every requested check ran on
at least one resource and none failed.

Usage: checkov_gate.py REPORT.json CHECK_ID...

A check that matched nothing (renamed or dropped by a checkov upgrade, or a
resource that vanished from the manifests) would otherwise pass silently.
"""

import json
import sys


def main(report_path: str, wanted: list[str]) -> int:
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    # One framework gives an object; several give a list of them.
    reports = report if isinstance(report, list) else [report]
    passed, failed = [], []
    parsing_errors = 0
    for r in reports:
        results = r.get("results", {})
        passed += results.get("passed_checks", [])
        failed += results.get("failed_checks", [])
        parsing_errors += r.get("summary", {}).get("parsing_errors", 0)
    seen = {c["check_id"] for c in passed + failed}
    ok = True
    for c in failed:
        print(f"  FAILED {c['check_id']} {c['check_name']}: {c['resource']} ({c.get('file_path', '?')})")
        ok = False
    missing = [c for c in wanted if c not in seen]
    if missing:
        print(f"  checks that matched no resource: {', '.join(missing)}")
        ok = False
    if parsing_errors:
        print(f"  parsing errors: {parsing_errors}")
        ok = False
    print(
        f"  results: {len(passed)} passed / {len(failed)} failed; "
        f"{len(seen)} of {len(wanted)} requested checks evaluated"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
