"""The Grafana dashboard in docs/ queries only metrics maidcore exports (a renamed metric breaks this test)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from maidcore import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
METRIC_NAME = re.compile(r"\bmaidcore_[a-z0-9_]+")


def exported_names() -> set[str]:
    """Every sample name the registry can emit (counters' ``_total``, histograms' ``_bucket``/``_count``/``_sum``)."""
    names = set()
    multiprocess_only = [family for metric in metrics.MULTIPROCESS_ONLY for family in metric.describe()]
    for family in [*metrics.METRICS_REGISTRY.collect(), *multiprocess_only]:
        names.add(family.name)
        if family.type == "counter":
            names.update({family.name + "_total", family.name + "_created"})
        if family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum", "_created"))
        names.update(sample.name for sample in family.samples)
    return names


def test_every_panel_query_names_an_exported_metric():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert exprs, "the dashboard has no queries"
    used = {name for expr in exprs for name in METRIC_NAME.findall(expr)}
    missing = sorted(used - exported_names())
    assert not missing, f"dashboard queries metrics maidcore does not export: {missing}"


def test_the_dashboard_covers_every_metric_family():
    used = set(METRIC_NAME.findall(DASHBOARD.read_text(encoding="utf-8")))
    every = [*metrics.METRICS_REGISTRY.collect(), *(f for m in metrics.MULTIPROCESS_ONLY for f in m.describe())]
    families = {f.name for f in every if f.name.startswith("maidcore_")}
    uncovered = sorted(f for f in families if not any(u == f or u.startswith(f + "_") for u in used))
    assert not uncovered, f"metric families without a dashboard panel: {uncovered}"


def test_a_single_serving_process_fills_every_panel_family_the_dashboard_queries():
    """A plain ``maidcore serve`` (no ``--processes``) exports every family the panels ask for; the
    serving-process panels (memory, CPU, restarts, open fds) read it as ``child="0"``."""
    assert metrics.multiprocess_dir() is None
    text = metrics.exposition().decode()
    exported = set(re.findall(r"^# TYPE (maidcore_[a-z0-9_]+)", text, re.MULTILINE))
    queried = set(METRIC_NAME.findall(DASHBOARD.read_text(encoding="utf-8")))
    missing = sorted(q for q in queried if not any(q == f or q.startswith(f + "_") for f in exported))
    assert not missing, f"panels with no data on a single serving process: {missing}"
    memory = re.search(r'^maidcore_process_resident_memory_bytes\{child="0"\} (\S+)$', text, re.MULTILINE)
    assert memory and float(memory.group(1)) > 1_000_000
