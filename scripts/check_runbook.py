"""Every alert in configs/prometheus/alerts.yml has a runbook_url, and it
points to a section of docs/runbook.md (GitHub's anchor for "## Name" is
"#name"), under the repository named in Cargo.toml; every alert has a
promtool test that fires it and one where it stays quiet. Run by the lint
stage (no dependencies: the files are read with regular expressions).
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
alerts = (ROOT / "configs/prometheus/alerts.yml").read_text()
tests = (ROOT / "configs/prometheus/alerts_test.yml").read_text()
runbook = (ROOT / "docs/runbook.md").read_text()
repository = re.search(r'^repository = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
base = f"{repository}/blob/main/docs/runbook.md#"
anchors = {h.strip().lower().replace(" ", "-") for h in re.findall(r"^## (.+)$", runbook, re.M)}

errors = []
blocks = re.split(r"\n      - (?=alert:|record:)", alerts)
names = []
for block in blocks:
    m = re.match(r"alert: (\w+)", block)
    if not m:
        continue
    name = m.group(1)
    names.append(name)
    url = re.search(r'runbook_url: "([^"]+)"', block)
    if not url:
        errors.append(f"{name}: no runbook_url")
    elif not url.group(1).startswith(base) or url.group(1)[len(base):] not in anchors:
        errors.append(f"{name}: runbook_url {url.group(1)} is not a section of docs/runbook.md under {base}")
    cases = re.findall(rf"alertname: {name}\n        exp_alerts:( \[\])?", tests)
    if not any(c == "" for c in cases):
        errors.append(f"{name}: no promtool test where it fires")
    if not any(c == " []" for c in cases):
        errors.append(f"{name}: no promtool test where it must stay quiet")
for e in errors:
    print("FAIL", e)
print(f"runbook: {len(names)} alerts, each with a runbook section and promtool cases that fire and stay quiet"
      if not errors else f"runbook: {len(errors)} problems")
sys.exit(1 if errors else 0)
