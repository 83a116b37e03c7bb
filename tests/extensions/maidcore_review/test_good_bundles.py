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
from tests.extensions.maidcore_review.bundles import BASE_MAIN, DROP, manifest, write_plugin, zip_dir

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


# --- what the official platform publishes (docs/review.md, "Relaxed") ------------------------------

OFFICIAL_DASHBOARD = """
import json
import yourbot_sdk.dashboard as d

form = d.Form(rpc="get_settings", save_rpc="save_settings", title="Settings", permission="manager")
form.text("Greeting", key="greeting", required=True).toggle("Enabled", key="enabled")
form.select("Mode", key="mode", options=[d.Option("a", "A"), d.Option("b")]).channel_picker("Channel", key="channel")
page = d.Page("Overview", widgets=[
    d.StatCard("Rolls", rpc="rolls", refresh_seconds=60, permission="viewer"),
    d.Chart.line("Per day", rpc="rolls"), d.Table("Top", rpc="rolls", columns=[d.Column("user", "User")]),
    d.Alert("Status", rpc="rolls", width="quarter"), form])
out = d.Manifest(pages=[page]).to_json()
print(out if isinstance(out, str) else json.dumps(out))
"""

HANDLERS = """
@plugin.on_dashboard("rolls")
def rolls(ctx, params):
    return {"value": ctx.kv.get("rolls") or 0}


@plugin.on_dashboard("get_settings")
def get_settings(ctx, params):
    return {"values": {}}


@plugin.on_dashboard("save_settings")
def save_settings(ctx, params):
    return {"ok": True}
"""


def with_handlers() -> str:
    head, guard = BASE_MAIN.split('if __name__ == "__main__":')
    return f'{head}{HANDLERS}\n\nif __name__ == "__main__":{guard}'


def test_the_official_builders_dashboard_named_from_the_manifest_passes(tmp_path, checks):
    from tests.official_sdks import NEWEST, official_python_or_skip

    python = official_python_or_skip(*NEWEST)
    built = subprocess.run([str(python), "-c", OFFICIAL_DASHBOARD], capture_output=True, text=True, check=True)
    data = manifest(description=DROP, dashboard_manifest="ui/dashboard.json")
    root = write_plugin(
        tmp_path / "plugin",
        manifest_data=data,
        files={"__main__.py": with_handlers(), "ui/dashboard.json": built.stdout},
    )
    findings = validate(root)
    assert [f.code for f in findings if f.severity == "error"] == []
    assert {f.code for f in findings if f.severity == "warning"} == {"description_missing"}
    assert review_path(checks, root).ok


def test_a_schema_2_dashboard_with_containers_passes(tmp_path, checks):
    import json

    widget = {"id": "s", "type": "stat_card", "title": "Rolls", "rpc_method": "dashboard.rolls"}
    dashboard = {
        "schema": 2,
        "pages": [
            {
                "id": "p",
                "title": "P",
                "permission": "owner",
                "widgets": [
                    {"id": "h", "type": "heading", "text": "Dice"},
                    {"id": "i", "type": "image", "src": "dashboard/logo.png"},
                    {"id": "a", "type": "action_button", "label": "Reset", "action_rpc_method": "save_settings"},
                    {
                        "id": "sec",
                        "type": "section",
                        "title": "More",
                        "widgets": [widget, {"id": "d", "type": "divider"}],
                    },
                    {
                        "id": "t",
                        "type": "tabs",
                        "tabs": [
                            {"id": "one", "title": "One", "widgets": [{**widget, "id": "k", "type": "key_value"}]},
                            {"id": "two", "title": "Two", "widgets": [{**widget, "id": "tl", "type": "timeline"}]},
                        ],
                    },
                ],
            }
        ],
    }
    root = write_plugin(
        tmp_path / "plugin",
        files={
            "__main__.py": with_handlers(),
            "dashboard_manifest.json": json.dumps(dashboard),
            "dashboard/logo.png": b"\x89PNG",
        },
    )
    assert [str(f) for f in validate(root) if f.severity in ("error", "warning")] == []
    assert review_path(checks, root).ok


def test_a_websocket_plugin_with_an_exact_host_passes(tmp_path, checks):
    head, guard = BASE_MAIN.split('if __name__ == "__main__":')
    code = f'{head}\n@plugin.on_ws_message("feed")\ndef feed(ctx, msg):\n    ctx.ws.send("feed", "ack")\n\n'
    code += '\n@plugin.on_ready\ndef ready(ctx):\n    ctx.ws.ensure("feed", "wss://stream.example.com/v1")\n'
    code += f'\n\nif __name__ == "__main__":{guard}'
    data = manifest(
        capabilities_required=[*manifest()["capabilities_required"], "proxy:websocket"],
        proxy_domains_requested=["stream.example.com"],
    )
    root = write_plugin(tmp_path / "plugin", manifest_data=data, files={"__main__.py": code})
    assert [str(f) for f in validate(root) if f.severity == "error"] == []
    report = review_path(checks, root)
    assert report.ok, report.findings
    shift = next(f for f in report.findings if f.code == "tier_shift")
    assert "tier rises from Safe to Dangerous (proxy:websocket)" in shift.message, shift.message
