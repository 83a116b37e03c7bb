"""Extensions installed with pip replace every layer by configuration alone, each with its own settings section.

Two throw-away distributions under ``tests/core/fixtures/`` are pip-installed
into a directory of their own (never into the test environment) and put on
``PYTHONPATH`` of ``maidcore`` subprocesses, exactly as an integrator's
packages would be: ``maidcore-quota-limiter`` (a rate limiter) and
``maidcore-layer-swaps`` (an event source reading a file, a sandbox backend, an
in-memory storage layer and a review check).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
MAIDCORE = Path(sys.executable).with_name("maidcore")
SWAPS = {"file_events", "launcher", "memory_storage", "team_checks"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Both distributions, pip-installed into their own directory."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    for dist in ("quota_limiter_dist", "layer_swaps_dist"):
        subprocess.run(
            [*pip, "--disable-pip-version-check", "--target", str(target), str(FIXTURES / dist)],
            check=True,
            cwd=build,
            env={**os.environ, "PIP_NO_INPUT": "1"},
            capture_output=True,
        )
    assert (target / "maidcore_quota_limiter.py").is_file() and (target / "maidcore_file_events.py").is_file()
    return target


def environment(site: Path, **env: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAIDCORE_")}
    environ.update(PYTHONPATH=str(site), **env)
    return environ


def run(site: Path, args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=environment(site, **env), cwd=ROOT, timeout=120)


def test_installed_extensions_are_listed_with_their_distributions_and_settings_sections(site, tmp_path):
    result = run(site, [str(MAIDCORE), "--data-dir", str(tmp_path), "extensions", "--json"])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    dists = {e["name"]: (e["distribution"], e["version"]) for e in report["loaded"]}
    assert dists["quota"] == ("maidcore-quota-limiter", "0.4.0")
    assert {dists[name] for name in SWAPS} == {("maidcore-layer-swaps", "1.2.0")}
    assert report["layers"]["event_source"]["registered"]["file_events"] == "file_events"
    assert report["layers"]["sandbox_backend"]["registered"]["launcher"] == "launcher"
    assert report["layers"]["storage_backend"]["registered"]["memory"] == "memory_storage"
    assert report["layers"]["review_check"]["registered"]["team_"] == "team_checks"
    sections = report["settings_sections"]
    assert {name: sections[name] for name in ("quota", "file_events", "launcher", "memory_storage", "team_checks")} == {
        "quota": "quota",
        "file_events": "file_events",
        "launcher": "launcher",
        "memory_storage": "memory_storage",
        "team_checks": "team_checks",
    }
    assert report["layers"]["rate_limiter"]["chosen"] == "limits"  # installed is not chosen: defaults stay


def test_their_sections_are_read_printed_and_validated_like_the_cores(site, tmp_path):
    args = [str(MAIDCORE), "--data-dir", str(tmp_path), "config", "--format", "json"]
    result = run(site, args, MAIDCORE_QUOTA__LIMIT="7", MAIDCORE_LAUNCHER__PREFIX='["nice", "-n", "1"]')
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["quota"] == {"limit": 7}
    assert data["launcher"]["prefix"] == ["nice", "-n", "1"]
    assert data["memory_storage"] == {"kv_max_keys": 10000} and data["team_checks"]["banned"] == ["TODO"]
    assert data["docker"]["memory"] == "64m"  # the defaults' sections beside them

    bad = run(site, args, MAIDCORE_MEMORY_STORAGE__KV_MAX_KEYS="0")
    assert bad.returncode == 1
    assert "memory_storage.kv_max_keys: Input should be greater than or equal to 1" in bad.stderr


LIMITER_SCRIPT = textwrap.dedent(
    """
    import asyncio, json
    from maidcore.layers import Bucket
    from maidcore.platform import Platform
    from maidcore.scope import Scope

    async def main():
        platform = Platform()
        limiter = platform.build_layer("rate_limiter", platform.settings.rate_limiter)
        scope = Scope("111", "dice_roller")
        decisions = [await limiter.hit(Bucket.EVENTS, scope) for _ in range(4)]
        print(json.dumps({"class": type(limiter).__module__ + "." + type(limiter).__name__,
                          "allowed": [d.allowed for d in decisions]}))

    asyncio.run(main())
    """
)


def test_configuration_alone_replaces_the_rate_limiter(site, tmp_path):
    chosen = run(
        site,
        [sys.executable, "-c", LIMITER_SCRIPT],
        MAIDCORE_RATE_LIMITER="quota",
        MAIDCORE_QUOTA__LIMIT="3",
        MAIDCORE_DATA_DIR=str(tmp_path),
    )
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout) == {
        "class": "maidcore_quota_limiter.QuotaLimiter",
        "allowed": [True, True, True, False],
    }
    default = run(site, [sys.executable, "-c", LIMITER_SCRIPT], MAIDCORE_DATA_DIR=str(tmp_path))
    assert json.loads(default.stdout) == {"class": "maidcore_limits.limiter.LimitsRateLimiter", "allowed": [True] * 4}


def test_blocking_the_extension_makes_the_choice_fail_clearly(site, tmp_path):
    result = run(
        site,
        [sys.executable, "-c", LIMITER_SCRIPT],
        MAIDCORE_RATE_LIMITER="quota",
        MAIDCORE_BLOCK_EXTENSIONS="quota",
        MAIDCORE_DATA_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "unknown rate_limiter 'quota': registered ones are limits" in result.stderr


def test_an_added_review_check_runs_with_its_own_settings(site, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text((ROOT / "examples" / "ping_pong" / "manifest.json").read_text())
    main = (ROOT / "examples" / "ping_pong" / "__main__.py").read_text()
    (bundle / "__main__.py").write_text(main.replace("plugin = Plugin()", "plugin = Plugin()  # FIXME: split"))
    args = [str(MAIDCORE), "--data-dir", str(tmp_path / "data"), "review", str(bundle), "--json"]

    def team_findings(**env: str) -> list[dict]:
        result = run(site, args, **env)
        assert result.returncode == 0, result.stderr  # warnings only: the review would pass
        return [f for f in json.loads(result.stdout)["findings"] if f["code"].startswith("team_")]

    assert team_findings() == []  # the default banned word is TODO
    (finding,) = team_findings(MAIDCORE_TEAM_CHECKS__BANNED='["FIXME"]')
    assert finding["code"] == "team_banned_word" and finding["path"] == "__main__.py" and finding["line"] == 5
    assert finding["severity"] == "warning" and "'FIXME'" in finding["message"]


def test_replay_runs_on_the_installed_extensions(site, tmp_path):
    spawned = tmp_path / "spawned.log"
    example = ROOT / "examples" / "ping_pong"
    args = [str(MAIDCORE), "replay", str(example), str(example / "events.jsonl"), "--sandbox", "launcher"]
    result = run(site, args, MAIDCORE_LAUNCHER__SPAWN_LOG=str(spawned))
    assert result.returncode == 0, result.stderr
    assert spawned.read_text().startswith("ping_pong 1.0.0 ")  # the third-party backend ran the worker
    sent = json.loads(result.stdout.splitlines()[0])
    assert sent["method"] == "discord.send_message"
    assert sent["result"]["message_id"] == "1" and sent["result"]["channel_id"] == "10"  # the SDK's canned answer


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def actions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def action(path: Path, method: str, **params: str):
    """The first recorded action of ``method`` by ping_pong whose params include ``params``."""
    return next(
        (
            a
            for a in actions(path)
            if a["method"] == method
            and a.get("plugin_id") == "ping_pong"
            and all(a["params"].get(k) == v for k, v in params.items())
        ),
        None,
    )


def synced_commands(path: Path, server_id: str) -> dict | None:
    """The last command set the core had the source sync for ``server_id``."""
    found = [a["params"] for a in actions(path) if a["method"] == "sync_commands" and a["server_id"] == server_id]
    return found[-1] if found else None


@pytest.mark.slow
def test_serve_runs_end_to_end_on_third_party_layers_only(site, tmp_path):
    """Events from a file reach an example plugin; its actions, answers to the core's routing, are recorded."""
    data_dir, events, recorded, spawned = (tmp_path / n for n in ("data", "events.jsonl", "actions.jsonl", "spawned"))
    env = environment(
        site,
        MAIDCORE_DATA_DIR=str(data_dir),
        MAIDCORE_EVENT_SOURCE="file_events",
        MAIDCORE_SANDBOX_BACKEND="launcher",
        MAIDCORE_STORAGE_BACKEND="memory",
        MAIDCORE_RATE_LIMITER="quota",
        MAIDCORE_QUOTA__LIMIT="1000",
        MAIDCORE_FILE_EVENTS__EVENTS_PATH=str(events),
        MAIDCORE_FILE_EVENTS__ACTIONS_PATH=str(recorded),
        MAIDCORE_FILE_EVENTS__SERVER_IDS='["4242"]',
        MAIDCORE_FILE_EVENTS__DEMO_SERVER_ID="4242",
        MAIDCORE_LAUNCHER__SPAWN_LOG=str(spawned),
    )
    server = subprocess.Popen(
        [str(MAIDCORE), "serve", "--no-web", "--log-format", "json"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def send(**event) -> None:
        with events.open("a") as file:
            file.write(json.dumps(event) + "\n")

    try:
        info = wait_for(
            lambda: (data_dir / "serve.json").is_file() and json.loads((data_dir / "serve.json").read_text()),
            60,
            "serve.json",
        )
        assert info["local"] == "event file" and "ping_pong" in info["demo_plugins"]  # its local mode's demo
        commands = wait_for(lambda: (synced_commands(recorded, "4242") or {}).get("ping_pong"), 30, "command sync")
        assert commands == ["ping"]  # the core synced the demo install's commands through the source
        wait_for(lambda: spawned.exists() and "ping_pong" in spawned.read_text(), 30, "the launcher to start it")

        send(type="message_create", content="!ping", channel_id="10")
        pong = wait_for(lambda: action(recorded, "discord.send_message", content="Pong!"), 30, "Pong!")
        assert pong["server_id"] == "4242"
        send(type="interaction_create", interaction_type=2, command_name="ping", interaction_id="9001", user_id="7")
        wait_for(lambda: action(recorded, "interaction.respond", _interaction_id="9001"), 30, "the /ping answer")
        # a click on the plugin's message: the source names the message, the core knows who sent it
        click = {"interaction_type": 3, "custom_id": "pingpong:again", "component_type": 2, "user_id": "7"}
        send(type="interaction_create", interaction_id="9002", origin_message_id="1000", **click)
        wait_for(lambda: action(recorded, "interaction.send_modal", _interaction_id="9002"), 30, "the modal")
        submit = {"interaction_type": 5, "custom_id": "pingpong:feedback", "modal_values": {"comment": "neat"}}
        send(type="interaction_create", interaction_id="9003", user_id="7", **submit)
        thanks = wait_for(lambda: action(recorded, "interaction.respond", _interaction_id="9003"), 30, "Thanks")
        assert thanks["params"]["content"] == "Thanks: neat"
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr[-3000:]
    serving = next(json.loads(line) for line in stderr.splitlines() if '"maidcore serving"' in line)
    assert (serving["event_source"], serving["sandbox_backend"], serving["storage_backend"]) == (
        "file_events",
        "launcher",
        "memory",
    )
    assert serving["rate_limiter"] == "quota"
