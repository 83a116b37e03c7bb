"""The author CLI (``yourbot``, also ``mmo``): new and init (each template's own tests pass, on our SDK and
on the official one), dev, validate, doctor, bundle."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from yourbot_sdk.cli import main, main_mmo
from yourbot_sdk.cli._yaml import YamlError, parse

TEMPLATES = ["basic", "slash", "welcome", "cron"]


def mmo(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "yourbot_sdk.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("projects")
    out = {}
    for template in TEMPLATES:
        target = root / template
        run = main_mmo if template == "welcome" else main  # the old name is the same command
        assert run(["new", f"my_{template}", "--target", str(target), "--template", template]) == 0
        out[template] = target
    return out


@pytest.mark.parametrize("template", TEMPLATES)
def test_new_writes_the_documented_files(projects, template):
    target = projects[template]
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == sorted(["__main__.py", "manifest.json", "README.md", ".gitignore", "requirements.txt",
                            "events.yaml", "tests/test_plugin.py", "tests/conftest.py"])  # fmt: skip
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["id"] == f"my_{template}" and manifest["version"] == "0.1.0"
    assert (target / "requirements.txt").read_text().strip() == "yourbot-sdk>=0.10"
    assert "from yourbot_sdk import" in (target / "__main__.py").read_text()
    assert "mmo_maid_sdk" not in "".join(p.read_text() for p in target.rglob("*") if p.is_file())


@pytest.mark.parametrize("template", TEMPLATES)
def test_generated_projects_pass_their_own_tests(projects, template):
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=projects[template], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert " passed" in out.stdout and "failed" not in out.stdout


@pytest.mark.parametrize("template", TEMPLATES)
def test_generated_projects_pass_their_own_tests_on_the_official_sdk_too(projects, template):
    """The templates use only what yourbot-sdk 0.10 offers, as their requirements.txt promises."""
    from tests.official_sdks import NEWEST, official_python_or_skip

    python = official_python_or_skip(*NEWEST)
    out = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=projects[template], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("template", TEMPLATES)
def test_generated_projects_validate_clean_and_run_in_dev(projects, template, capsys):
    assert main(["validate", str(projects[template])]) == 0
    assert main(["validate", "--path", str(projects[template]), "--id", f"my_{template}", "--version", "0.1.0"]) == 0
    assert main(["dev", "--path", str(projects[template])]) == 0
    out = capsys.readouterr().out
    assert "yourbot dev: done" in out
    expected = {"basic": 'messages_sent: {"channel_id": "42", "content": "Pong!"',
                "slash": 'responses: {"content": "Hello, ada!"',
                "welcome": '"content": "Welcome to Test Server, <@200>!"',
                "cron": 'logs: {"message": "Daily summary: 2 heartbeats'}  # fmt: skip
    assert expected[template] in out


def test_template_manifests_match_the_contract(projects):
    caps = {t: json.loads((projects[t] / "manifest.json").read_text())["capabilities_required"] for t in TEMPLATES}
    assert caps == {
        "basic": ["discord:send_message"],
        "slash": ["interaction:respond"],
        "welcome": ["discord:send_message", "storage:kv", "interaction:respond"],
        "cron": ["discord:send_message", "storage:kv"],
    }
    welcome = json.loads((projects["welcome"] / "manifest.json").read_text())
    assert welcome["slash_commands"][0]["name"] == "welcome-channel"
    assert welcome["slash_commands"][0]["options"][0]["type"] == 7
    cron = json.loads((projects["cron"] / "manifest.json").read_text())
    assert {c["name"]: c["spec"] for c in cron["cron"]} == {"daily_summary": "0 9 * * *", "heartbeat": "*/15 * * * *"}


def test_new_refuses_bad_input(tmp_path, capsys):
    assert main(["new", "X"]) == 2
    assert "invalid plugin id 'X'" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    assert main(["new", "my_plugin", "-t", str(tmp_path / "full")]) == 2
    assert (tmp_path / "full" / "keep.txt").read_text() == "x"
    assert main(["new", "my_plugin", "-t", str(tmp_path / "t"), "--template", "fancy"]) == 2
    assert main(["new"]) == 2
    capsys.readouterr()
    assert main(["new", "--list-templates"]) == 0
    listing = capsys.readouterr().out
    assert all(t in listing for t in TEMPLATES)
    (tmp_path / "empty").mkdir()
    assert main(["new", "my_plugin", "-t", str(tmp_path / "empty")]) == 0


def test_init_asks_then_scaffolds(tmp_path):
    answers = "Bad Id\nmy_helper\n9\n3\n\n"  # a bad id and a bad template are asked again
    done = subprocess.run(
        [sys.executable, "-m", "yourbot_sdk.cli", "init"], cwd=tmp_path, input=answers, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not a valid id" in done.stdout and "is not one of" in done.stdout
    manifest = json.loads((tmp_path / "my_helper" / "manifest.json").read_text())
    assert manifest["slash_commands"][0]["name"] == "hello"  # template 3 is slash
    cancelled = subprocess.run(
        [sys.executable, "-m", "yourbot_sdk.cli", "init"], cwd=tmp_path, input="", capture_output=True, text=True
    )
    assert cancelled.returncode == 1 and "cancelled" in cancelled.stdout


def test_doctor_reports_each_check(projects, tmp_path, capsys):
    assert main(["doctor", "-p", str(projects["cron"])]) == 0
    out = capsys.readouterr().out
    for line in ("[OK] SDK install", "[OK] __main__.py", "[OK] manifest.json", "[OK] capabilities", "[OK] tests/"):
        assert line in out
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "__main__.py").write_text("def broken(:\n")
    (broken / "manifest.json").write_text('{"id": "X"}')
    assert main(["doctor", "--path", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "[XX] __main__.py" in out and "[XX] manifest.json" in out and "FAILED" in out


def test_new_defaults_to_a_folder_named_after_the_plugin(tmp_path):
    assert mmo("new", "dice_roller", cwd=tmp_path).returncode == 0
    assert (tmp_path / "dice_roller" / "__main__.py").is_file()
    assert mmo("bogus", cwd=tmp_path).returncode == 2


def write_plugin(root: Path, main_py: str, events: str, name: str = "events.json") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "__main__.py").write_text(main_py)
    (root / name).write_text(events)
    return root


def test_dev_runs_events_ticks_and_dashboards_and_reports_failures(tmp_path, capsys):
    root = write_plugin(
        tmp_path / "p",
        """
from yourbot_sdk import Plugin
plugin = Plugin()

@plugin.on_ready
def ready(ctx):
    ctx.log("ready")

@plugin.on_event("message_create")
def on_message(ctx, event):
    if event["content"] == "fail":
        raise RuntimeError("handler blew up")
    ctx.discord.send_message(channel_id=event["channel_id"], content=event["content"].upper())

@plugin.schedule(60)
def sweep(ctx):
    ctx.http.get("https://api.example.com/x", params={"q": 1})

@plugin.on_dashboard("stats")
def stats(ctx, params):
    return {"value": params["n"] * 2}

plugin.run()  # unconditional: yourbot dev must not start the runtime
""",
        json.dumps([
            {"type": "message_create", "content": "hi", "channel_id": "7"},
            {"tick": "sweep"},
            {"dashboard": "stats", "params": {"n": 21}},
            {"type": "message_create", "content": "fail"},
        ]),
    )  # fmt: skip
    assert main(["dev", "--strict", "-p", str(root)]) == 1
    out = capsys.readouterr().out
    assert '"message": "ready"' in out
    assert 'messages_sent: {"channel_id": "7", "content": "HI"' in out
    assert '"url": "https://api.example.com/x", "headers": null, "body": null, "params": {"q": 1}' in out
    assert 'result: {"value": 42}' in out
    assert "RuntimeError: handler blew up" in out
    assert "capabilities: all (no manifest.json)" in out


def test_dev_reports_failures_and_exits_0_like_the_official_tool_unless_strict(tmp_path, capsys):
    root = write_plugin(
        tmp_path / "p",
        "from yourbot_sdk import Plugin\nplugin = Plugin()\n"
        "@plugin.on_event('message_create')\ndef m(ctx, e):\n    raise RuntimeError('handler blew up')\n",
        "- type: message_create\n",
        name="events.yaml",
    )
    assert main(["dev", "-p", str(root)]) == 0
    assert "RuntimeError: handler blew up" in capsys.readouterr().out
    assert main(["dev", "--strict", "-p", str(root)]) == 1
    (root / "events.yaml").unlink()
    assert main(["dev", "-p", str(root)]) == 0
    assert "no events.yaml or events.json" in capsys.readouterr().err
    assert main(["dev", "--strict", "-p", str(root)]) == 2


def test_dev_enforces_manifest_capabilities(tmp_path, capsys):
    root = write_plugin(
        tmp_path / "p",
        "from yourbot_sdk import Plugin\nplugin = Plugin()\n"
        "@plugin.on_event('message_create')\ndef m(ctx, e):\n    ctx.kv.set('a', 1)\n",
        "- type: message_create\n",
        name="events.yaml",
    )
    (root / "manifest.json").write_text(json.dumps({"capabilities_required": ["discord:send_message"]}))
    assert main(["dev", "--strict", "-p", str(root)]) == 1
    assert "CapabilityError: capability storage:kv required for set()" in capsys.readouterr().out


def test_dev_usage_errors(tmp_path, capsys):
    assert main(["dev", "--strict", "-p", str(tmp_path)]) == 2
    root = write_plugin(tmp_path / "p", "from yourbot_sdk import Plugin\nplugin = Plugin()\n", "{}")
    assert main(["dev", "--strict", "-p", str(root)]) == 2
    assert "must hold a list" in capsys.readouterr().err


def test_dev_watch_reruns_after_a_change(tmp_path):
    root = write_plugin(
        tmp_path / "w",
        "from yourbot_sdk import Plugin\nplugin = Plugin()\n"
        "@plugin.on_event('message_create')\ndef m(ctx, e):\n    ctx.log('version one')\n",
        '[{"type": "message_create"}]',
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "yourbot_sdk.cli", "dev", "--watch", "-p", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        while "watching" not in "".join(lines):
            line = proc.stdout.readline()
            assert line, f"yourbot dev --watch exited early: {''.join(lines)}"
            lines.append(line)
        time.sleep(0.6)
        (root / "__main__.py").write_text((root / "__main__.py").read_text().replace("version one", "version two"))
        deadline = time.monotonic() + 10
        while "version two" not in "".join(lines) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        assert "version one" in text and "change detected" in text and "version two" in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_builtin_yaml_subset_parser():
    text = """
# comment
- type: message_create   # trailing comment
  content: "!ping # not a comment"
  channel_id: '42'
  count: 3
  ratio: 0.5
  bot: false
  nick: null
  options: [{"name": "a", "value": 1}]
  member: {"roles": ["1"]}
  word: hello world
- tick: sweep
-
  dashboard: stats
"""
    assert parse(text) == [
        {"type": "message_create", "content": "!ping # not a comment", "channel_id": "42", "count": 3, "ratio": 0.5,
         "bot": False, "nick": None, "options": [{"name": "a", "value": 1}], "member": {"roles": ["1"]},
         "word": "hello world"},
        {"tick": "sweep"},
        {"dashboard": "stats"},
    ]  # fmt: skip
    nested = """
- type: interaction_create
  options:
  - name: show
    type: 1
    options:
      - name: member
        value: "7"
  member:
    roles: ["1"]
- - a
  - b
"""
    assert parse(nested) == [
        {"type": "interaction_create",
         "options": [{"name": "show", "type": 1, "options": [{"name": "member", "value": "7"}]}],
         "member": {"roles": ["1"]}},
        ["a", "b"],
    ]  # fmt: skip
    with pytest.raises(YamlError, match=r"events\.yaml:3: unexpected indentation"):
        parse("- a: 1\n  b: 2\n    c: 3")
    with pytest.raises(YamlError, match=r"events\.yaml:1"):
        parse("type: message_create")
    with pytest.raises(YamlError, match="must be JSON"):
        parse("- options: [a, b]")


def test_validate_prints_findings_with_locations_and_json(tmp_path, capsys):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps({"id": "bad_one", "name": "Bad", "version": "1.0.0",
                                                    "description": "Broken on purpose.",
                                                    "capabilities_required": ["discord:send_message"]}))  # fmt: skip
    (root / "__main__.py").write_text(
        "from yourbot_sdk import Plugin\nimport subprocess\nplugin = Plugin()\n"
        "@plugin.on_event('message_create')\ndef m(ctx, e):\n    if e['author_bot']:\n        return\n"
        "    ctx.discord.send_message(channel_id='1', content='x')\n"
        "plugin.run()\n"
    )
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "ERROR forbidden_import __main__.py:2:" in out
    assert main(["validate", str(root), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert {
        k: v for k, v in next(f for f in findings if f["code"] == "forbidden_import").items() if k != "message"
    } == {"severity": "error", "code": "forbidden_import", "path": "__main__.py", "line": 2}
    assert main(["validate", str(tmp_path / "missing")]) == 2
    capsys.readouterr()
    assert main(["validate", "-p", str(root), "--id", "other_id", "--version", "9.9.9"]) == 1
    out = capsys.readouterr().out
    assert "ERROR manifest_plugin_id_mismatch manifest.json" in out and "ERROR manifest_version_mismatch" in out


def test_bundle_is_deterministic_and_leaves_out_dev_files(projects, tmp_path, capsys):
    root = projects["basic"]
    for extra in ("tests/__pycache__/x.pyc", "venv/lib.py", "notes/.hidden", "conftest.py", "data/words.txt"):
        (root / extra).parent.mkdir(parents=True, exist_ok=True)
        (root / extra).write_text("x")
    one, two = tmp_path / "one.zip", tmp_path / "two.zip"
    assert main(["bundle", str(root), "-o", str(one)]) == 0
    time.sleep(1.1)
    assert main(["bundle", str(root), "--output", str(two)]) == 0
    assert hashlib.sha256(one.read_bytes()).digest() == hashlib.sha256(two.read_bytes()).digest()
    with zipfile.ZipFile(one) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in zf.infolist())
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in zf.infolist())
    assert names == ["README.md", "__main__.py", "data/words.txt", "manifest.json", "requirements.txt"]
    assert str(one) in capsys.readouterr().out
    assert main(["bundle", str(root)]) == 0
    assert (root / "dist" / "my_basic-0.1.0.zip").is_file()
    assert main(["validate", str(root / "dist" / "my_basic-0.1.0.zip")]) == 0


def test_bundle_refuses_a_plugin_with_errors_or_over_the_limits(tmp_path, projects, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "__main__.py").write_text("print('no manifest')\n")
    assert main(["bundle", str(broken)]) == 1
    assert not (broken / "dist").exists()
    big = tmp_path / "big"
    subprocess.run(["cp", "-r", str(projects["slash"]), str(big)], check=True)
    for i in range(201):
        (big / f"data{i}.txt").write_text(str(i))
    assert main(["bundle", str(big)]) == 1
    assert not list((big / "dist").glob("*.zip")) if (big / "dist").exists() else True
    assert "bundle_too_large" in capsys.readouterr().err


def test_distribution_has_both_console_scripts_and_no_pytest_autoload():
    dist = metadata.distribution("yourbot-sdk")
    assert dist.version == "0.11.0"
    groups = {ep.group for ep in dist.entry_points}
    assert "pytest11" not in groups
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"yourbot": "yourbot_sdk.cli:main", "mmo": "yourbot_sdk.cli:main_mmo"}
    # (an editable install adds setuptools' own __editable__ .pth; the distribution itself ships none)
    pth = [f for f in (dist.files or []) if str(f).endswith(".pth") and not str(f).startswith("__editable__")]
    assert pth == []


def test_pytest_plugin_fixtures_when_opted_in(tmp_path):
    (tmp_path / "__main__.py").write_text(
        "from yourbot_sdk import Plugin\nplugin = Plugin()\n"
        "@plugin.on_event('message_create')\ndef m(ctx, e):\n    ctx.kv.set('seen', e['content'], ttl_seconds=60)\n"
        "plugin.run()  # unconditional: the pytest plugin's no-run mode makes importing safe\n"
    )
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["yourbot_sdk.pytest_plugin"]\n')
    (tmp_path / "test_it.py").write_text(
        "from yourbot_sdk.testing import MockContext, dispatch, make_event\n"
        "def test_fixtures(mmo_plugin, mmo_clock, mmo_ctx, yourbot_plugin):\n"
        "    assert yourbot_plugin is mmo_plugin\n"
        "    assert mmo_plugin.__name__ == 'plugin_main'\n"
        "    assert mmo_clock.now() == 1767225600.0\n"
        "    assert mmo_ctx.server_id == '999999999'\n"
        "    ctx = MockContext(clock=mmo_clock)\n"
        "    dispatch(mmo_plugin.plugin, 'message_create', make_event('message_create', content='hi'), ctx=ctx)\n"
        "    assert ctx.kv.get('seen') == 'hi'\n"
        "    mmo_clock.advance(60)\n"
        "    assert ctx.kv.get('seen') == 'hi'  # through its expiry instant, as on the official kit\n"
        "    mmo_clock.advance(0.5)\n"
        "    assert ctx.kv.get('seen') is None\n"
    )
    opted_in = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True, text=True
    )
    assert opted_in.returncode == 0, opted_in.stdout + opted_in.stderr
    (tmp_path / "conftest.py").unlink()
    not_loaded = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "fixture 'mmo_plugin' not found" in not_loaded.stdout


BROKEN_MANIFEST = '{"id": "broken", "version": "1.0.0",, }'
SENDS = (
    "from yourbot_sdk import Plugin\nplugin = Plugin()\n"
    "@plugin.on_event('message_create')\ndef m(ctx, e):\n    if e['author_bot']:\n        return\n"
    "    ctx.discord.send_message(channel_id='1', content='x')\n"
    "if __name__ == '__main__':\n    plugin.run()\n"
)


def test_a_manifest_that_is_not_json_is_one_specific_finding(tmp_path, capsys):
    root = write_plugin(tmp_path / "p", SENDS, "- type: message_create\n", name="events.yaml")
    (root / "manifest.json").write_text(BROKEN_MANIFEST)
    assert main(["validate", str(root), "--json"]) == 1
    errors = [f for f in json.loads(capsys.readouterr().out) if f["severity"] == "error"]
    assert [(f["code"], f["path"]) for f in errors] == [("manifest_invalid", "manifest.json")]
    assert "not valid JSON" in errors[0]["message"] and "line 1 column 37" in errors[0]["message"]


def test_dev_refuses_a_manifest_that_is_not_json_instead_of_granting_everything(tmp_path, capsys):
    root = write_plugin(tmp_path / "p", SENDS, "- type: message_create\n", name="events.yaml")
    (root / "manifest.json").write_text(BROKEN_MANIFEST)
    assert main(["dev", "--strict", "-p", str(root)]) == 2
    captured = capsys.readouterr()
    assert "manifest.json is not valid JSON: Expecting property name" in captured.err
    assert "capabilities: all" not in captured.out
