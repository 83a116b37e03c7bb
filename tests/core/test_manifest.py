"""The manifest model (SDK contract §2): valid manifests load, each invalid field is named with what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from yourbot_sdk.spec.cron import CronSpec

from maidcore.cli import make_cli
from maidcore.manifest import ManifestError, declared_capabilities, load_manifest, read_manifest, schema_text

ROOT = Path(__file__).resolve().parents[2]

EXAMPLE = {
    "id": "dice_roller",
    "name": "Dice Roller",
    "version": "1.2.0",
    "description": "Roll dice with /roll.",
    "author": "Jane",
    "tags": ["fun"],
    "capabilities_required": ["storage:kv", "discord:send_message"],
    "proxy_domains_requested": ["api.example.com"],
    "cron": [{"name": "daily_summary", "spec": "0 9 * * *"}],
    "slash_commands": [
        {
            "name": "roll",
            "description": "Roll dice",
            "options": [
                {
                    "type": 4,
                    "name": "sides",
                    "description": "Sides",
                    "required": True,
                    "choices": [{"name": "d6", "value": 6}, {"name": "d20", "value": 20}],
                }
            ],
        }
    ],
}


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(ManifestError) as info:
        load_manifest(data)
    return dict(info.value.problems)


def test_contract_example_loads_without_warnings():
    manifest, warnings = load_manifest(EXAMPLE)
    assert warnings == []
    assert manifest.id == "dice_roller"
    assert manifest.slash_commands[0].options[0].choices[1].value == 20


def test_effective_capabilities_add_interaction_and_proxy():
    manifest, _ = load_manifest(EXAMPLE)
    assert manifest.effective_capabilities() == {
        "storage:kv",
        "discord:send_message",
        "interaction:respond",
        "proxy:http",
    }
    bare, _ = load_manifest({**EXAMPLE, "slash_commands": [], "proxy_domains_requested": []})
    assert bare.effective_capabilities() == {"storage:kv", "discord:send_message"}


def test_required_fields_are_named():
    found = problems({"id": "abc"})
    assert found == {"name": "is required", "version": "is required"}


def test_field_errors_say_what_is_wrong():
    found = problems({**EXAMPLE, "id": "Dice"})
    assert found["id"] == "must match ^[a-z][a-z0-9_]{2,31}$, got 'Dice'"


def test_what_published_plugins_write_is_read_with_warnings():
    """Relaxed to match the official platform (docs/review.md): read, fixed or dropped, and said so."""
    data = {k: v for k, v in EXAMPLE.items() if k != "description"}
    manifest, warnings = load_manifest(
        {**data, "icon_url": "http://x.example/i.png", "tags": "fun", "capabilities_required": ["storage:kv"] * 2}
    )
    assert manifest.description == "" and manifest.icon_url is None and manifest.tags == []
    assert manifest.capabilities_required == ["storage:kv"]
    assert "description: empty; the marketplace shows no text for the plugin" in warnings
    assert "icon_url: 'http://x.example/i.png' is not an https:// URL; no icon is shown" in warnings
    assert "tags: not a list of strings; ignored" in warnings
    assert "capabilities_required: duplicates removed" in warnings
    _, warnings = load_manifest({**EXAMPLE, "description": "x" * 2001})
    assert "description: 2001 characters; the first 2000 are shown" in warnings
    named, _ = load_manifest({**EXAMPLE, "dashboard_manifest": "dashboard_manifest.json"})
    assert named.dashboard_manifest == "dashboard_manifest.json"


def test_error_text_lists_one_line_per_field():
    with pytest.raises(ManifestError) as info:
        load_manifest({**EXAMPLE, "id": "X", "version": ""}, source="bundle/manifest.json")
    text = str(info.value)
    assert text.startswith("bundle/manifest.json is invalid:")
    assert "\n  id: must match" in text and "\n  version: " in text


def test_unknown_capability_is_an_error_naming_the_known_ones():
    found = problems({**EXAMPLE, "capabilities_required": ["storage:kvv"]})
    assert found["capabilities_required"].startswith("unknown capability storage:kvv; known: ")
    assert "storage:kv," in found["capabilities_required"]


def test_unknown_keys_are_warnings_not_errors():
    manifest, warnings = load_manifest({**EXAMPLE, "homepage": "https://x", "color": 3})
    assert manifest.unknown_keys == ["color", "homepage"]
    assert warnings == ["color: unknown key, ignored", "homepage: unknown key, ignored"]


@pytest.mark.parametrize("key", ["capabilities_requested", "requested_capabilities", "capabilities"])
def test_legacy_capability_keys_are_read_with_a_warning(key):
    data = {k: v for k, v in EXAMPLE.items() if k != "capabilities_required"}
    manifest, warnings = load_manifest({**data, key: ["storage:kv"]})
    assert manifest.capabilities_required == ["storage:kv"]
    assert warnings == [f"{key}: legacy capability key; rename it to capabilities_required"]


def test_every_capability_key_counts_as_the_official_sdk_reads_them():
    manifest, warnings = load_manifest({**EXAMPLE, "capabilities": ["discord:ban_members", "storage:kv"]})
    assert manifest.capabilities_required == ["storage:kv", "discord:send_message", "discord:ban_members"]
    assert "capabilities: legacy capability key; rename it to capabilities_required" in warnings
    raw = {"capabilities_required": ["storage:kv"], "requested_capabilities": ["discord:ban_members"]}
    assert declared_capabilities(raw) == ["discord:ban_members", "storage:kv"]  # what the runner grants from


def test_legacy_capability_names_warn_and_grant_nothing():
    manifest, warnings = load_manifest({**EXAMPLE, "capabilities_required": ["kv:read", "storage:kv"]})
    assert "capabilities_required: kv:read is a legacy name and grants nothing" in warnings
    assert "kv:read" not in manifest.effective_capabilities()


def test_placeholder_description_warns():
    _, warnings = load_manifest({**EXAMPLE, "description": "TODO: fill me in"})
    assert any(w.startswith("description: looks like placeholder") for w in warnings)


def test_slash_command_rules():
    def command_problem(command: dict) -> str:
        return problems({**EXAMPLE, "slash_commands": [command]})

    assert "reserved" in command_problem({"name": "ban", "description": "d"})["slash_commands[0].name"]
    assert "must match" in command_problem({"name": "Roll", "description": "d"})["slash_commands[0].name"]
    assert "at most 100" in command_problem({"name": "r", "description": "d" * 101})["slash_commands[0].description"]
    option = {"type": 5, "name": "flag", "description": "d", "choices": [{"name": "a", "value": "a"}]}
    found = command_problem({"name": "r", "description": "d", "options": [option]})
    assert found["slash_commands[0].options[0]"] == "choices are allowed only on types 3, 4 and 10, not type 5"
    sub = {"type": 1, "name": "sub", "description": "d", "required": True}
    assert (
        "not allowed on a sub-command"
        in command_problem({"name": "r", "description": "d", "options": [sub]})["slash_commands[0].options[0]"]
    )
    order = [
        {"type": 3, "name": "a", "description": "d"},
        {"type": 3, "name": "b", "description": "d", "required": True},
    ]
    assert (
        "must come before the optional ones"
        in command_problem({"name": "r", "description": "d", "options": order})["slash_commands[0]"]
    )
    group = {"type": 2, "name": "g", "description": "d", "options": [{"type": 3, "name": "x", "description": "d"}]}
    assert (
        "only sub-commands"
        in command_problem({"name": "r", "description": "d", "options": [group]})["slash_commands[0].options[0]"]
    )
    twice = {**EXAMPLE, "slash_commands": [{"name": "r", "description": "d"}, {"name": "r", "description": "e"}]}
    assert "repeated: r" in problems(twice)["manifest"]


def test_choice_value_types_follow_option_type():
    option = {"type": 4, "name": "n", "description": "d", "choices": [{"name": "one", "value": "1"}]}
    found = problems({**EXAMPLE, "slash_commands": [{"name": "r", "description": "d", "options": [option]}]})
    assert found["slash_commands[0].options[0]"] == "choice 'one': value must be an integer"


@pytest.mark.parametrize(
    ("entry", "host"),
    [
        ("https://api.example.com", "api.example.com"),
        ("api.example.com:443", "api.example.com"),
        ("API.example.com", "api.example.com"),
        ("https://user@API.example.com:8443/v1?x#y", "api.example.com"),
    ],
)
def test_other_spellings_of_a_proxy_domain_are_read_as_their_host(entry, host):
    manifest, warnings = load_manifest({**EXAMPLE, "proxy_domains_requested": [entry, "api.example.com"]})
    assert manifest.proxy_domains_requested == [host]
    assert f"proxy_domains_requested: {entry!r} is read as {host!r}" in warnings


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("*.example.com", "wildcards are not allowed"),
        ("localhost", "needs at least two labels"),
        ("10.0.0.1", "is an IP address"),
        ("-bad.example.com", "label '-bad'"),
    ],
)
def test_proxy_domains_that_name_no_host_allow_nothing(entry, problem):
    manifest, warnings = load_manifest({**EXAMPLE, "proxy_domains_requested": [entry]})
    assert manifest.proxy_domains_requested == []
    assert any(w.startswith(f"proxy_domains_requested: {entry!r} ") and problem in w for w in warnings), warnings


def test_cron_rules():
    assert CronSpec("*/30 9 * * 1-5").firings_per_day() == [540, 570]
    assert "5 minutes apart" in problems({**EXAMPLE, "cron": [{"name": "tick", "spec": "*/2 * * * *"}]})["cron[0].spec"]
    # the wrap from 23:58 to 00:01 of the next day is 3 minutes
    assert (
        "5 minutes apart" in problems({**EXAMPLE, "cron": [{"name": "t", "spec": "1,58 0,23 * * *"}]})["cron[0].spec"]
    )
    assert "it needs 5" in problems({**EXAMPLE, "cron": [{"name": "t", "spec": "0 9 * *"}]})["cron[0].spec"]
    assert "0-6" in problems({**EXAMPLE, "cron": [{"name": "t", "spec": "0 9 * * 7"}]})["cron[0].spec"]
    assert "never fires" in problems({**EXAMPLE, "cron": [{"name": "t", "spec": "0 0 31 2 *"}]})["cron[0].spec"]
    load_manifest({**EXAMPLE, "cron": [{"name": "t", "spec": "0 0 29 2 *"}]})  # leap years
    load_manifest({**EXAMPLE, "cron": [{"name": "t", "spec": "0 0 31 2 1"}]})  # or any Monday of February
    six = [{"name": f"c{i}", "spec": f"{i * 10} 9 * * *"} for i in range(6)]
    assert "at most 5" in problems({**EXAMPLE, "cron": six})["cron"]


def test_read_manifest_reports_json_errors_with_line(tmp_path):
    (tmp_path / "manifest.json").write_text('{"id": "abc",\n "name": }')
    with pytest.raises(ManifestError, match=r"not valid JSON: Expecting value at line 2"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestError, match="is missing from"):
        read_manifest(tmp_path / "nowhere")


def test_committed_schema_matches_the_model():
    committed = (ROOT / "schemas" / "manifest.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "run `maidcore schema manifest -o schemas/manifest.schema.json`"


def test_schema_command_checks_and_writes(tmp_path):
    cli = make_cli()
    target = tmp_path / "manifest.schema.json"
    result = CliRunner().invoke(cli, ["schema", "manifest", "-o", str(target), "--check"])
    assert result.exit_code == 1 and "out of date" in result.output
    assert CliRunner().invoke(cli, ["schema", "manifest", "-o", str(target)]).exit_code == 0
    assert CliRunner().invoke(cli, ["schema", "manifest", "-o", str(target), "--check"]).exit_code == 0
    schema = json.loads(target.read_text())
    assert schema["required"] == ["id", "name", "version"]
    assert "storage:kv" in schema["properties"]["capabilities_required"]["items"]["enum"]
