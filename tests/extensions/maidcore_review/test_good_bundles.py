"""Good plugins pass: the examples, every ``mmo new`` template, realistic plugins, and code that only looks suspicious.

``good_plugins/`` holds realistic plugins written for this corpus (moderation, leveling, raffles, polls,
tickets, tags, reminders, a starboard, welcome cards, role menus, a feed poller, a dashboard-heavy and a
SQL-heavy plugin with migrations...), each with helpers across several modules and its own ``tests/``.
They must pass review with no error and no warning, as a directory and as the zip ``mmo bundle`` makes,
and their own suites must pass (so they are plugins that work, not shapes that happen to pass).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from maidcore_review import extension
from mmo_maid_sdk._validate import validate
from mmo_maid_sdk.cli._bundle import command_bundle

from maidcore.extensions import Extensions
from maidcore.marketplace.review import review_path
from tests.extensions.maidcore_review.bundles import BASE_MAIN, manifest, write_plugin, zip_dir

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "manifest.json").is_file())
TEMPLATES = ["basic", "slash", "welcome", "cron"]
GOOD = Path(__file__).resolve().parent / "good_plugins"
GOOD_PLUGINS = sorted(p for p in GOOD.iterdir() if (p / "manifest.json").is_file())


@pytest.fixture(scope="module")
def checks():
    exts = Extensions(strict=True)
    exts.register(extension, name="review")
    return exts.review_checks()


def assert_clean(path: Path, checks) -> None:
    findings = validate(path)
    assert [str(f) for f in findings if f.severity in ("error", "warning")] == []
    report = review_path(checks, path)
    problems = [f for f in report.findings if f.severity.value in ("error", "warning") and f.code != "tier_shift"]
    assert problems == []


def test_the_base_plugin_is_clean(tmp_path, checks):
    root = write_plugin(tmp_path / "plugin")
    assert_clean(root, checks)
    assert_clean(zip_dir(root, tmp_path / "plugin.zip"), checks)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_pass_with_no_error_or_warning(example, checks):
    assert_clean(example, checks)


@pytest.mark.parametrize("template", TEMPLATES)
def test_mmo_new_templates_pass_with_no_error_or_warning(template, tmp_path, checks):
    target = tmp_path / template
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mmo_maid_sdk.cli",
            "new",
            f"tpl_{template}",
            "--target",
            str(target),
            "--template",
            template,
        ],
        check=True,
        capture_output=True,
    )
    assert (target / "manifest.json").is_file()
    assert_clean(target, checks)


NEAR_MISSES = """
import ast
import json
import re
from re import compile as re_compile

try:
    import ujson as fast_json
except ImportError:
    fast_json = json

PATTERN = re.compile(r"\\d+")
OTHER = re_compile("x")


def _eval(text):
    return ast.literal_eval(text)


class Store:
    def __init__(self, ctx):
        self.ctx = ctx

    def remember(self, key, value):
        self.ctx.kv.set(key, value)


class LocalCache:
    # its own .kv, .secrets and .sql: not the context's, so no capability is needed for them

    def __init__(self):
        self.kv = {}
        self.secrets = {}
        self.sql = QueryLog()

    def remember(self, key, value):
        self.kv[key] = value
        self.sql.execute("remembered " + key)
        return self.secrets.get(key)


class QueryLog:
    def __init__(self):
        self.lines = []

    def execute(self, text):
        self.lines.append(text)


@plugin.on_event("member_join")
def on_join(ctx, event):
    table = "members"
    ctx.sql.execute("CREATE TABLE IF NOT EXISTS members (id TEXT)")
    ctx.sql.execute("INSERT INTO members (id) VALUES ($1)", [event["user_id"]])
    query = "SELECT count(*) FROM " + "members"
    ctx.sql.scalar(query)
    rows = ctx.sql.query("SELECT * FROM members WHERE id = %s", (event["user_id"],))
    message = f"{len(rows)} members in {table}"
    Store(ctx).remember("last", _eval("1"))
    LocalCache().remember(event["user_id"], 1)
    ctx.http.get("https://api.example.com/v1/users", params={"id": event["user_id"]})
    ctx.log(message)
"""


def test_code_that_only_looks_suspicious_is_not_flagged(tmp_path, checks):
    head, guard = BASE_MAIN.split('if __name__ == "__main__":')
    root = write_plugin(
        tmp_path / "plugin",
        manifest_data=manifest(
            capabilities_required=["discord:send_message", "storage:kv", "storage:sql"],
            proxy_domains_requested=["api.example.com"],
        ),
        files={"__main__.py": f'{head}{NEAR_MISSES}\n\nif __name__ == "__main__":{guard}'},
    )
    assert_clean(root, checks)


def test_a_shim_main_that_imports_the_plugin_reaches_run(tmp_path, checks):
    root = write_plugin(
        tmp_path / "plugin",
        files={
            "__main__.py": "from bot.app import main\n\nmain()\n",
            "bot/__init__.py": "",
            "bot/app.py": BASE_MAIN.replace(
                'if __name__ == "__main__":\n    plugin.run()\n', "def main():\n    plugin.run()\n"
            ),
        },
    )
    assert [f for f in validate(root) if f.code == "run_missing"] == []


def test_the_realistic_corpus_holds_at_least_20_plugins_each_with_modules_and_tests():
    assert len(GOOD_PLUGINS) >= 20
    for root in GOOD_PLUGINS:
        modules = [p for p in root.rglob("*.py") if "tests" not in p.relative_to(root).parts]
        assert len(modules) >= 3, f"{root.name}: helpers across several modules"
        assert list((root / "tests").glob("test_*.py")), f"{root.name}: its own tests"


@pytest.mark.parametrize("root", GOOD_PLUGINS, ids=[p.name for p in GOOD_PLUGINS])
def test_realistic_plugin_passes_review_as_directory_and_bundle(root, tmp_path, checks):
    assert_clean(root, checks)
    bundle = tmp_path / f"{root.name}.zip"
    assert command_bundle(str(root), str(bundle)) == 0  # what `mmo bundle` writes
    with zipfile.ZipFile(bundle) as zf:
        assert not [n for n in zf.namelist() if n.startswith("tests/")]
    assert_clean(bundle, checks)


def test_realistic_plugins_own_suites_pass():
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("run_plugin_suites.py")), *map(str, GOOD_PLUGINS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["plugin"] for r in runs} == {p.name for p in GOOD_PLUGINS}
    failed = {r["plugin"]: r["output"] for r in runs if r["exit_code"] != 0}
    assert failed == {}
