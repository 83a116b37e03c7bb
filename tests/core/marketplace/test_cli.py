"""``maidcore review``, ``maidcore tokens`` and ``maidcore marketplace`` against a real data directory."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from maidcore.cli import make_cli
from maidcore.extensions import Extensions
from tests.extensions.maidcore_review.bundles import BASE_MAIN, make_zip, manifest, write_plugin, zip_dir

SERVER = "333333333333333333"


@pytest.fixture(scope="module")
def extensions() -> Extensions:
    return Extensions.load()


@pytest.fixture
def invoke(tmp_path, extensions, monkeypatch, pg_fresh_url):
    monkeypatch.setenv("MAIDCORE_SANDBOX_BACKEND", "process")
    monkeypatch.setenv("MAIDCORE_STORAGE__DATABASE_URL", pg_fresh_url)
    data_dir = tmp_path / "data"
    cli = make_cli(extensions)

    def run(*args: str, code: int = 0):
        result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def test_review_exits_0_on_a_clean_plugin_and_1_on_errors(invoke, tmp_path):
    good = write_plugin(tmp_path / "good")
    assert invoke("review", str(good)).output.strip() == "0 finding(s), 0 error(s): would be approved"
    bad = write_plugin(tmp_path / "bad", files={"__main__.py": BASE_MAIN + "\nexec('1')\n"})
    out = invoke("review", str(bad), code=1).output
    assert "ERROR forbidden_call __main__.py:" in out
    report = json.loads(invoke("review", str(zip_dir(bad, tmp_path / "bad.zip")), "--json", code=1).output)
    assert report["status"] == "rejected" and report["ok"] is False
    assert {"severity": "error", "code": "forbidden_call"}.items() <= report["findings"][0].items()


def test_review_reports_intake_refusals(invoke, tmp_path):
    bad = make_zip(tmp_path / "b.zip", [("/abs.py", b"x")])
    report = json.loads(invoke("review", str(bad), "--json", code=1).output)
    assert [f["code"] for f in report["findings"]] == ["unsafe_path"]


def test_review_warnings_alone_exit_0(invoke, tmp_path):
    root = write_plugin(tmp_path / "p", manifest_data=manifest(homepage="https://x.org"))
    assert "WARNING manifest_unknown_key manifest.json" in invoke("review", str(root)).output


def test_tokens_create_prints_a_token_once(invoke):
    data = json.loads(invoke("tokens", "create", "--developer", "jane", "--json").output)
    assert data["token"].startswith("mc_") and data["role"] == "developer" and data["subject"] == "jane"
    assert invoke("tokens", "create", "--reviewer", "rita").output.startswith("mc_")
    plain = json.loads(invoke("tokens", "create", "--reviewer", "--json").output)
    assert (plain["role"], plain["subject"]) == ("reviewer", "reviewer")
    assert "exactly one" in invoke("tokens", "create", "--reviewer", "a", "--admin", "b", code=2).output
    assert "guild id" in invoke("tokens", "create", "--server-admin", "not-a-guild", code=1).output
    assert invoke("tokens", "revoke", data["token"]).output.strip() == "revoked"


def test_the_marketplace_commands_match_the_api(invoke, tmp_path):
    v1 = write_plugin(tmp_path / "v1")
    out = invoke("marketplace", "upload", str(v1), "--developer", "jane").output
    assert out.startswith("dice_roller 1.0.0: approved")
    assert "published dice_roller 1.0.0" in invoke("marketplace", "publish", "dice_roller", "1.0.0").output
    [listing] = json.loads(invoke("marketplace", "list", "--json").output)
    shown = [c["capability"] for c in listing["capabilities"]]
    subset = invoke("marketplace", "install", SERVER, "dice_roller", "--approve", "discord:send_message,storage:kv")
    assert subset.output.startswith(f"dice_roller 1.0.0 on server {SERVER}: granted discord:send_message, storage:kv")
    out = invoke("marketplace", "install", SERVER, "dice_roller", "--approve", ",".join(shown)).output
    assert out.startswith(f"dice_roller 1.0.0 on server {SERVER}: granted")

    read_main = BASE_MAIN.replace("def daily_summary(ctx):\n", "def daily_summary(ctx):\n    ctx.discord.get_guild()\n")
    v2 = write_plugin(
        tmp_path / "v2",
        manifest_data=manifest(
            version="1.1.0", capabilities_required=["discord:send_message", "storage:kv", "discord:read"]
        ),
        files={"__main__.py": read_main},
    )
    assert "needs_human_review" in invoke("marketplace", "upload", str(v2), "--developer", "jane").output
    [waiting] = json.loads(invoke("marketplace", "reviews", "--json").output)
    assert waiting["version"] == "1.1.0"
    assert "1.1.0: approved" in invoke("marketplace", "approve", "dice_roller", "1.1.0", "--note", "ok").output
    assert "waiting for approval on 1" in invoke("marketplace", "publish", "dice_roller", "1.1.0").output
    assert "needs discord:read (Safe)" in invoke("marketplace", "upgrades", SERVER).output
    out = invoke("marketplace", "grant", SERVER, "dice_roller", "--capability", "discord:read").output
    assert out.startswith(f"dice_roller 1.1.0 on server {SERVER}")
    assert invoke("marketplace", "upgrades").output.strip() == "no pending upgrade"
    assert json.loads(invoke("marketplace", "show", "dice_roller", "1.1.0", "--json").output)["status"] == "published"
    assert invoke("marketplace", "logs", "dice_roller").output.strip() == "no log entries"
    assert invoke("marketplace", "dead-letters", "dice_roller").output.strip() == "no dead letters"
    assert "uninstalled" in invoke("marketplace", "uninstall", SERVER, "dice_roller").output
    assert "reject" in invoke("marketplace", "reject", "dice_roller", "1.1.0", "--note", "x", code=1).output


def test_upload_of_a_rejected_bundle_exits_1(invoke, tmp_path):
    bad = write_plugin(tmp_path / "bad", files={"__main__.py": BASE_MAIN + "\nimport socket\n"})
    out = invoke("marketplace", "upload", str(bad), "--developer", "jane", code=1).output
    assert "rejected" in out and "forbidden_import" in out


def test_review_of_a_manifest_that_is_not_json_has_no_misleading_capability_finding(invoke, tmp_path):
    bad = write_plugin(tmp_path / "bad", manifest_text='{"id": "dice_roller",, }')
    report = json.loads(invoke("review", str(bad), "--json", code=1).output)
    assert [f["code"] for f in report["findings"] if f["severity"] == "error"] == ["manifest_invalid"]
