"""Our SDK against the official wheels, call by call.

The corpus (``corpus.py``) runs once per SDK, batched: one in-process run of the testing-kit
cases, one plugin process for the ``ctx`` cases (single-server and pool), one for the runtime
scenarios. Every case must give the same outcome on our SDK as on ``yourbot-sdk`` 0.10.1: values
(with their container and number types), recorded lists, exception classes, ``.code`` and
attributes, and — through the real transport — the exact JSON-RPC lines. Deliberate differences
are listed, with the reason, in ``allowed.py``; an entry whose case no longer differs fails, so the
list stays exact. The 0.5.4 line runs too: where 0.5.4 and 0.10.1 agree, ours must agree with both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.official_sdks import NEWEST, official_python_or_skip

from . import corpus
from .allowed import ALLOWED
from .wire_host import boot_params, run_corpus, run_scenarios

HERE = Path(__file__).resolve().parent
OURS = sys.executable
OLD = ("mmo-maid-sdk", "0.5.4")
WIRE_CAPABILITIES = ["storage:kv", "discord:send_message"]


def _strip(value: Any, *, keep_text: bool = False) -> Any:
    """Outcome without what may differ in wording only: exception messages and tracebacks."""
    if isinstance(value, dict):
        drop = {"traceback"} if keep_text else {"traceback", "text"}
        return {k: _strip(v, keep_text=keep_text) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_strip(v, keep_text=keep_text) for v in value]
    return value


def _kit(python: str, sdk: str) -> dict[str, Any]:
    done = subprocess.run(
        [python, "-W", "ignore", str(HERE / "kit_driver.py"), sdk],
        input=json.dumps(corpus.KIT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _wire(python: str, sdk: str, mode: str) -> dict[str, Any]:
    return run_corpus(python, corpus.WIRE, sdk=sdk, mode=mode, capabilities=WIRE_CAPABILITIES)


def _scenarios(python: str, sdk: str) -> dict[str, Any]:
    runs = _side_by_side(
        single=lambda: run_scenarios(python, corpus.SCENARIOS, sdk=sdk, boot=boot_params("single", ["storage:kv"])),
        pool=lambda: run_scenarios(python, corpus.POOL_SCENARIOS, sdk=sdk, boot=boot_params("pool", ["storage:kv"])),
    )
    out, pool = runs["single"], runs["pool"]
    return {**out, **{k: v for k, v in pool.items() if k != "boot"}, "pool_boot": pool["boot"]}


def _side_by_side(**runs: Callable[[], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The named runs at once: each is its own plugin process and mostly waits out settle windows (a scenario
    step listens 0.15-0.4 s for stray lines), so one after another they cost the suite half a minute."""
    with ThreadPoolExecutor(len(runs)) as threads:
        futures = {name: threads.submit(run) for name, run in runs.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def newest() -> str:
    return str(official_python_or_skip(*NEWEST))


@pytest.fixture(scope="module")
def old() -> str:
    return str(official_python_or_skip(*OLD))


@pytest.fixture(scope="module")
def kit_runs(newest: str) -> dict[str, dict[str, Any]]:
    return _side_by_side(official=lambda: _kit(newest, "yourbot_sdk"), ours=lambda: _kit(OURS, "yourbot_sdk"))


@pytest.fixture(scope="module")
def wire_runs(newest: str) -> dict[str, dict[str, Any]]:
    return _side_by_side(
        official=lambda: _wire(newest, "yourbot_sdk", "single"),
        ours=lambda: _wire(OURS, "yourbot_sdk", "single"),
        official_pool=lambda: _wire(newest, "yourbot_sdk", "pool"),
        ours_pool=lambda: _wire(OURS, "yourbot_sdk", "pool"),
    )


@pytest.fixture(scope="module")
def scenario_runs(newest: str) -> dict[str, dict[str, Any]]:
    return _side_by_side(
        official=lambda: _scenarios(newest, "yourbot_sdk"), ours=lambda: _scenarios(OURS, "yourbot_sdk")
    )


def _judge(key: str, official: Any, ours: Any) -> None:
    """Equal, or listed in ``allowed.py`` (and then really different)."""
    if key in ALLOWED:
        assert official != ours, f"{key} is in allowed.py but no longer differs; remove the entry"
        return
    assert ours == official, f"{key}: ours differs from the official SDK"


@pytest.mark.parametrize("case", corpus.KIT, ids=lambda c: c["id"])
def test_testing_kit_case(kit_runs: dict[str, dict[str, Any]], case: dict[str, Any]) -> None:
    official = _strip(kit_runs["official"][case["id"]])
    ours = _strip(kit_runs["ours"][case["id"]])
    _judge(f"kit:{case['id']}", official, ours)


@pytest.mark.parametrize("mode", ["single", "pool"])
@pytest.mark.parametrize("case", corpus.WIRE, ids=lambda c: c["id"])
def test_wire_case(wire_runs: dict[str, dict[str, Any]], case: dict[str, Any], mode: str) -> None:
    """The JSON-RPC lines (request bytes, warnings, acks) and the outcome of one ctx call."""
    suffix = "_pool" if mode == "pool" else ""
    keep_text = case["id"].startswith("error.")
    official = wire_runs["official" + suffix]["cases"][case["id"]]
    ours = wire_runs["ours" + suffix]["cases"][case["id"]]
    _judge(
        f"wire:{case['id']}",
        {"lines": official["lines"], "outcome": _strip(official["outcome"], keep_text=keep_text)},
        {"lines": ours["lines"], "outcome": _strip(ours["outcome"], keep_text=keep_text)},
    )


def test_wire_boot(wire_runs: dict[str, dict[str, Any]]) -> None:
    assert wire_runs["ours"]["boot"] == wire_runs["official"]["boot"]
    assert wire_runs["ours_pool"]["boot"] == wire_runs["official_pool"]["boot"]


@pytest.mark.parametrize("step", ["boot", "pool_boot", *(s["id"] for s in corpus.SCENARIOS + corpus.POOL_SCENARIOS)])
def test_runtime_scenario(scenario_runs: dict[str, dict[str, Any]], step: str) -> None:
    """What the plugin writes back for each host message: acks, fails, logs, answers, correlation ids."""
    _judge(f"scenario:{step}", scenario_runs["official"][step], scenario_runs["ours"][step])


def test_the_old_line_agrees_where_the_official_line_did_not_change(
    old: str, newest: str, kit_runs: dict[str, dict[str, Any]], wire_runs: dict[str, dict[str, Any]]
) -> None:
    """mmo-maid-sdk 0.5.4: every case whose outcome 0.5.4 and 0.10.1 share, ours shares too."""
    old_kit = _kit(old, "mmo_maid_sdk")
    old_wire = _wire(old, "mmo_maid_sdk", "single")
    shared = changed = 0
    mismatches = []
    for case in corpus.KIT:
        a, b, c = (_strip(r[case["id"]]) for r in (old_kit, kit_runs["official"], kit_runs["ours"]))
        if a != b:
            changed += 1
        elif f"kit:{case['id']}" not in ALLOWED:
            shared += 1
            if c != a:
                mismatches.append(f"kit:{case['id']}")
    for case in corpus.WIRE:
        a, b, c = (
            {"lines": r["cases"][case["id"]]["lines"], "outcome": _strip(r["cases"][case["id"]]["outcome"])}
            for r in (old_wire, wire_runs["official"], wire_runs["ours"])
        )
        if a != b:
            changed += 1
        elif f"wire:{case['id']}" not in ALLOWED:
            shared += 1
            if c != a:
                mismatches.append(f"wire:{case['id']}")
    assert shared > 50, f"only {shared} cases behave the same on 0.5.4 and 0.10.1 ({changed} changed)"
    assert not mismatches, f"ours differs from 0.5.4 where 0.5.4 and 0.10.1 agree: {mismatches}"


def test_the_allow_list_names_real_cases() -> None:
    known = {f"kit:{c['id']}" for c in corpus.KIT} | {f"wire:{c['id']}" for c in corpus.WIRE}
    known |= {f"scenario:{s['id']}" for s in corpus.SCENARIOS + corpus.POOL_SCENARIOS}
    known |= {"scenario:boot", "scenario:pool_boot"}
    assert not set(ALLOWED) - known, f"allowed.py names unknown cases: {sorted(set(ALLOWED) - known)}"
    assert all(isinstance(reason, str) and len(reason) > 20 for reason in ALLOWED.values())


_OLD_NAME_PROBE = """
import importlib, json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import mmo_maid_sdk
names = %r
found = []
for name in names:
    try:
        importlib.import_module("mmo_maid_sdk." + name)
    except ImportError:
        continue
    found.append(name)
print(json.dumps({"warnings": [[w.category.__name__, str(w.message)] for w in caught], "modules": found}))
"""
_SUBMODULES = [
    "cli", "dashboard", "events", "responses", "testing", "pytest_plugin", "_api", "_canned",
    "_components", "_context", "_exceptions", "_plugin", "_transport", "_validation", "_validate",
]  # fmt: skip


def test_the_old_import_name_warns_and_serves_what_the_official_shim_serves(newest: str) -> None:
    """``import mmo_maid_sdk`` on 0.10.1: the same DeprecationWarning, word for word, and ours serves
    every ``mmo_maid_sdk.<submodule>`` the official shim serves."""
    runs = {}
    for who, python in (("official", newest), ("ours", OURS)):
        done = subprocess.run(
            [python, "-c", _OLD_NAME_PROBE % (_SUBMODULES,)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr[-2000:]
        runs[who] = json.loads(done.stdout)
    assert runs["ours"]["warnings"] == runs["official"]["warnings"]
    assert set(runs["official"]["modules"]) <= set(runs["ours"]["modules"]), runs
