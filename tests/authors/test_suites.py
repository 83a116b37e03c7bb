"""The promise, as plugin authors check it: a suite that passes on the official SDK 0.10.1 passes unchanged on ours.

Three plugins written the way an author writes them against the newest official wheel (moderation,
leveling/economy with a dashboard, a status-page watcher): each one's own pytest suite runs on the
official testing kit (in the cached venv of ``tests/official_sdks.py``) and on ours, and every
test must end the same way on both; ``yourbot validate`` and ``yourbot doctor`` must exit the same
way. A test that passes on the official kit and fails on ours names the difference to fix in ``sdk/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.authors.plugins import NAMES, copy_project, run_suite
from tests.official_sdks import NEWEST, official_python_or_skip

OURS = Path(sys.executable)


@pytest.fixture(scope="module")
def official() -> Path:
    return official_python_or_skip(*NEWEST)


def test_there_are_author_plugins():
    assert {"guardian", "levels", "pulse"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_suite_passes_unchanged_on_ours_as_on_the_official_sdk(name, official, tmp_path):
    theirs = run_suite(official, copy_project(name, tmp_path / "official"))
    assert theirs.returncode == 0 and theirs.outcomes, f"{name}'s suite must pass on {NEWEST}:\n{theirs.output}"
    assert set(theirs.outcomes.values()) == {"PASSED"}
    ours = run_suite(OURS, copy_project(name, tmp_path / "ours"))
    differing = {t: (o, ours.outcomes.get(t)) for t, o in theirs.outcomes.items() if ours.outcomes.get(t) != o}
    assert differing == {}, f"(official, ours) per test:\n{differing}\n{ours.output}"
    assert ours.outcomes == theirs.outcomes and ours.returncode == 0


def _yourbot(python: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = python.parent / "yourbot"
    return subprocess.run([str(script), *args], cwd=project, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("command", ["validate", "doctor"])
def test_cli_exits_as_the_official_one(name, command, official, tmp_path):
    theirs = _yourbot(official, copy_project(name, tmp_path / "official"), command)
    ours = _yourbot(OURS, copy_project(name, tmp_path / "ours"), command)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr  # the author fixed every error the official tool saw
    assert ours.returncode == theirs.returncode, ours.stdout + ours.stderr


# --- ``yourbot validate`` on what authors change: the same verdict as the official tool ----------------------


def _manifest(change):
    def apply(project: Path) -> None:
        path = project / "manifest.json"
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest))

    return apply


def _code(change):
    def apply(project: Path) -> None:
        path = project / "__main__.py"
        path.write_text(change(path.read_text()))

    return apply


#: Changes to pulse an author may make, and whether the official ``yourbot validate`` accepts them (exit 0).
VARIANTS = {
    # accepted by the official tool: ours must accept them too
    "domain_as_url": (_manifest(lambda m: m.update(proxy_domains_requested=["https://status.pulse.test"])), 0),
    "legacy_capability_key": (_manifest(lambda m: m.update(capabilities_requested=m.pop("capabilities_required"))), 0),
    "unknown_manifest_key": (_manifest(lambda m: m.update(colour="blue")), 0),
    "schedule": (_code(lambda s: s + "\n\n@plugin.schedule(60)\ndef tick(ctx):\n    pass\n"), 0),
    "handler_without_command": (
        _code(lambda s: s + '\n\n@plugin.on_slash_command("extra")\ndef extra(ctx, e):\n    pass\n'),
        0,
    ),
    "threading": (_code(lambda s: "import threading\n" + s), 0),
    "extra_requirement": (lambda p: (p / "requirements.txt").write_text("yourbot-sdk>=0.10\nrequests==2.32.3\n"), 0),
    # refused by the official tool: ours refuses them too
    "cron_too_often": (
        lambda p: (
            _manifest(lambda m: m.update(cron=[{"name": "poll_status", "spec": "*/2 * * * *"}]))(p),
            _code(lambda s: s.replace('cron("*/5 * * * *")', 'cron("*/2 * * * *")'))(p),
        ),
        1,
    ),
    "six_crons": (
        _manifest(lambda m: m.update(cron=[{"name": f"c{i}", "spec": f"{i * 7} * * * *"} for i in range(6)])),
        1,
    ),
    "uppercase_command": (_code(lambda s: s.replace('on_slash_command("pulse")', 'on_slash_command("Pulse")')), 1),
    "reserved_command": (
        lambda p: (
            _manifest(lambda m: m["slash_commands"][0].update(name="help"))(p),
            _code(lambda s: s.replace('on_slash_command("pulse")', 'on_slash_command("help")'))(p),
        ),
        1,
    ),
    "subprocess": (_code(lambda s: "import subprocess\n" + s), 1),
    "eval": (_code(lambda s: s + "\n\ndef x(a):\n    return eval(a)\n"), 1),
    "websocket_undeclared": (
        _code(lambda s: s + "\n\ndef w(ctx):\n    ctx.ws.ensure('f', 'wss://status.pulse.test/x')\n"),
        1,
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_validate_gives_the_official_verdict_on_author_changes(variant, official, tmp_path):
    change, official_exit = VARIANTS[variant]
    projects = {}
    for which in ("official", "ours"):
        projects[which] = copy_project("pulse", tmp_path / which)
        change(projects[which])
    theirs = _yourbot(official, projects["official"], "validate")
    assert theirs.returncode == official_exit, theirs.stdout  # the table above is what the official tool says
    ours = _yourbot(OURS, projects["ours"], "validate")
    assert ours.returncode == official_exit, ours.stdout + ours.stderr


# --- ``yourbot dev``: the same exit status as the official tool, whatever the events do ------------------------

DEV_CASES = {
    "events_run": lambda p: None,  # guardian's own events.yaml: a message, /strike with options, the undo button
    "handler_fails": lambda p: (p / "events.yaml").write_text(
        "- type: interaction_create\n  interaction_type: 2\n  command_name: strike\n"  # no options: KeyError
    ),
    "no_events": lambda p: (p / "events.yaml").unlink(),
}


@pytest.mark.parametrize("case", sorted(DEV_CASES))
def test_dev_exits_as_the_official_one(case, official, tmp_path):
    runs = {}
    for which, python in (("official", official), ("ours", OURS)):
        project = copy_project("guardian", tmp_path / which)
        DEV_CASES[case](project)
        runs[which] = _yourbot(python, project, "dev")
    assert runs["ours"].returncode == runs["official"].returncode == 0, runs["ours"].stdout + runs["ours"].stderr
    if case == "events_run":  # both ran the strike with its options
        assert "Strike for <@555> (Spam). Total: 1." in runs["ours"].stdout
