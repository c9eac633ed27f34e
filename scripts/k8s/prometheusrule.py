"""Writes k8s/components/prometheus-operator/prometheusrule.yaml from
configs/prometheus/alerts.yml, so compose's Prometheus and a Prometheus
Operator load the same recording rules and alerts (one source of truth).

    python3 scripts/k8s/prometheusrule.py

Needs PyYAML (.venv-k8s has it). tests/k8s_manifests.rs fails when the
generated file and alerts.yml disagree: run this after editing alerts.yml.
"""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "configs/prometheus/alerts.yml"
TARGET = ROOT / "k8s/components/prometheus-operator/prometheusrule.yaml"


class Dumper(yaml.SafeDumper):
    pass


def text(dumper, value):
    """Multi-line strings (PromQL, descriptions) as literal blocks, as written by hand."""
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, text)


def main():
    groups = yaml.safe_load(SOURCE.read_text())["groups"]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "churn-serve",
            "labels": {"app.kubernetes.io/name": "churn-serve", "app.kubernetes.io/component": "monitoring"},
        },
        "spec": {"groups": groups},
    }
    body = yaml.dump(rule, Dumper=Dumper, sort_keys=False, width=150, allow_unicode=True)
    header = ("# Generated from configs/prometheus/alerts.yml by scripts/k8s/prometheusrule.py;\n"
              "# edit alerts.yml and run the script again (tests/k8s_manifests.rs checks they agree).\n---\n")
    TARGET.write_text(header + body)
    print(f"wrote {TARGET.relative_to(ROOT)}: {len(groups)} groups, {sum(len(g['rules']) for g in groups)} rules")


if __name__ == "__main__":
    main()
