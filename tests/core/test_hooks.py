"""One test per hook: an implementation registered through the hook is what the platform uses, and the
default extension registers itself through the very same hook."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError

from maidcore.cli import make_cli
from maidcore.cli.state import CliState
from maidcore.extensions import ExtensionError, Extensions
from maidcore.hookspecs import hookimpl
from maidcore.layers import Decision, Finding, LayerContext, Severity
from maidcore.platform import Platform
from maidcore.settings import Settings, settings_class
from maidcore.testing.layers import RecordingLayer, RecordingStorage


def defaults(layer: str, extension: str) -> dict[str, str]:
    """What the installed default ``extension`` registers for ``layer`` (strict: a broken default fails here)."""
    exts = Extensions.load(environ={"MAIDCORE_LOAD_EXTENSIONS": extension}, strict=True)
    return {r.name: r.extension for r in exts.registrations(layer)}


class ReplaySource:
    """An event source that delivers a fixed list of events when started."""

    name = "replay_list"

    def __init__(self, events):
        self.events = events

    async def start(self, sink, event_types):
        for event in self.events:
            await sink.publish(event)

    async def close(self):
        pass

    async def call(self, scope, method, params):
        return {"method": method}

    async def sync_commands(self, server_id, commands):
        pass


async def test_hook_register_event_sources(recording_platform, log, tmp_path):
    class Ext:
        @hookimpl
        def register_event_sources(self, register):
            register("replay_list", lambda context: ReplaySource([{"type": "member_join", "guild_id": "1"}]))

    platform = recording_platform(Ext(), event_source="replay_list")
    await platform.start()
    await platform.close()
    assert isinstance(platform.events, ReplaySource)
    assert "event member_join" in log  # delivered to the runner, the platform's sink
    assert defaults("event_source", "discord") == {"discord": "discord"}


async def test_hook_register_sandbox_backends(recording_platform, log, tmp_path):
    class Backend:
        name = "bubblewrap"

        async def start(self):
            log.append("bubblewrap started")

        async def close(self):
            log.append("bubblewrap closed")

        def isolates(self):
            return True

    class Ext:
        @hookimpl
        def register_sandbox_backends(self, register):
            register("bubblewrap", lambda context: Backend())

    platform = recording_platform(Ext(), sandbox_backend="bubblewrap")
    await platform.start()
    await platform.close()
    assert isinstance(platform.sandbox, Backend)
    assert "bubblewrap started" in log and "bubblewrap closed" in log
    assert defaults("sandbox_backend", "docker") == {"docker": "docker"}
    assert defaults("sandbox_backend", "process") == {"process": "process"}


async def test_hook_register_storage(recording_platform, log, tmp_path):

    class Ext:
        @hookimpl
        def register_storage(self, register):
            register("other_db", lambda context: RecordingStorage(log, name="other_db"))

    platform = recording_platform(Ext(), storage_backend="other_db")
    await platform.start()
    await platform.close()
    assert platform.storage.name == "other_db" and platform.records is platform.storage.records
    assert log[0] == "start storage" and log[-1] == "close storage"
    assert defaults("storage_backend", "sqlmodel") == {"sqlmodel": "sqlmodel"}


async def test_hook_register_rate_limiters(recording_platform, log, tmp_path):
    class Never:
        name = "never"

        async def hit(self, bucket, scope, cost=1):
            return Decision(False, retry_after=1.0)

        def hit_nowait(self, bucket, scope, cost=1):
            return Decision(False, retry_after=1.0)

        async def close(self):
            pass

    class Ext:
        @hookimpl
        def register_rate_limiters(self, register):
            register("never", lambda context: Never())

    platform = recording_platform(Ext(), rate_limiter="never")
    await platform.start()
    await platform.close()
    assert isinstance(platform.limiter, Never)
    assert defaults("rate_limiter", "limits") == {"limits": "limits"}


async def test_hook_register_review_checks(recording_platform, log, tmp_path):
    def no_todo(bundle, previous):
        if "TODO" in (bundle.text("__main__.py") or ""):
            yield Finding("team_todo", Severity.WARNING, "remove TODO before publishing", "__main__.py")

    class Ext:
        @hookimpl
        def register_review_checks(self, register):
            register("team_", no_todo)

    platform = recording_platform(Ext())
    await platform.start()
    await platform.close()
    assert platform.review_checks["team_"] is no_todo

    class Bundle:
        def text(self, path):
            return "# TODO: finish"

    (finding,) = platform.review_checks["team_"](Bundle(), None)
    assert finding.code == "team_todo"
    assert defaults("review_check", "review"), "the review extension registers its checks through the hook"

    # a check may read its own settings section: it is called with settings=<section>
    def banned(bundle, previous, *, settings):
        if settings.quota < 3:
            yield Finding("strict_quota", Severity.INFO, f"quota is {settings.quota}")

    class Strict:
        @hookimpl
        def register_settings(self, register):
            register("team", TeamSettings)

        @hookimpl
        def register_review_checks(self, register):
            register("strict_", banned, settings="team")

    platform = recording_platform(Strict(), team={"quota": 1})
    await platform.start()
    await platform.close()
    (finding,) = platform.review_checks["strict_"](Bundle(), None)
    assert finding.message == "quota is 1"


def test_hook_register_commands():
    class Ext:
        @hookimpl
        def register_commands(self, cli):
            @cli.group("team")
            def team():
                """Team tools."""

            @team.command("hello")
            @click.argument("who")
            def hello(who):
                click.echo(f"hello {who}")

    exts = Extensions(strict=True)
    exts.register(Ext(), name="team")
    cli = make_cli(exts)
    result = CliRunner().invoke(cli, ["team", "hello", "world"])
    assert result.exit_code == 0 and result.output == "hello world\n"
    assert "team" in CliRunner().invoke(cli, ["--help"]).output
    assert "team" not in make_cli(Extensions()).commands  # only what extensions add
    docker = make_cli(Extensions.load(environ={"MAIDCORE_LOAD_EXTENSIONS": "docker"}, strict=True))
    assert "build-image" in docker.commands["sandbox"].commands  # the Docker default adds its own


class TeamSettings(BaseModel):
    quota: int = 3
    label: str = "team"


async def test_hook_register_settings(tmp_path, monkeypatch):
    class Ext:
        @hookimpl
        def register_settings(self, register):
            register("team", TeamSettings)

    exts = Extensions(strict=True)
    exts.register(Ext(), name="team")
    assert exts.settings_sections() == {"team": TeamSettings}
    cls = settings_class(exts.settings_sections())
    assert cls().team == TeamSettings()  # defaults
    monkeypatch.setenv("MAIDCORE_TEAM__QUOTA", "7")
    assert cls().team.quota == 7  # MAIDCORE_<SECTION>__<FIELD>
    with pytest.raises(ValidationError) as info:
        cls(team={"quota": "lots"})
    assert info.value.errors()[0]["loc"] == ("team", "quota")

    # `maidcore config` prints it beside the core's settings; a bad value names the field
    result = CliRunner().invoke(make_cli(exts), ["--data-dir", str(tmp_path), "config", "--format", "json"])
    assert json.loads(result.output)["team"] == {"quota": 7, "label": "team"}
    monkeypatch.setenv("MAIDCORE_TEAM__QUOTA", "many")
    result = CliRunner().invoke(make_cli(exts), ["config"], obj=CliState(exts))
    assert result.exit_code == 1 and "team.quota: Input should be a valid integer" in result.output

    # the platform hands each extension a settings object holding its section
    monkeypatch.delenv("MAIDCORE_TEAM__QUOTA")
    platform = Platform(Settings(data_dir=tmp_path), extensions=exts)
    assert platform.settings.team.quota == 3 and platform.settings.data_dir == tmp_path

    # every default registers its own section through the same hook
    for extension, section in [
        ("discord", "discord"),
        ("docker", "docker"),
        ("process", "process"),
        ("sqlmodel", "storage"),
        ("limits", "limits"),
    ]:
        assert list(defaults("settings_section", extension)) == [section]


def test_a_section_clashing_with_the_core_or_another_extension_is_refused():
    class Core:
        @hookimpl
        def register_settings(self, register):
            register("runner", TeamSettings)

    exts = Extensions(strict=True)
    exts.register(Core(), name="greedy")
    with pytest.raises(ExtensionError, match="extension 'greedy': settings section 'runner' clashes with the core"):
        exts.settings_sections()

    class Twice:
        @hookimpl
        def register_settings(self, register):
            register("team", TeamSettings)

    exts = Extensions(strict=True)
    exts.register(Twice(), name="one")
    exts.register(Twice(), name="two")
    with pytest.raises(ExtensionError, match="settings_section 'team' is registered by both extension"):
        exts.settings_sections()


def test_a_section_of_an_extension_that_is_not_loaded_is_reported_as_such(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maidcore.toml").write_text("[quota]\nlimit = 3\n")
    result = CliRunner().invoke(make_cli(Extensions()), ["config"], obj=CliState(Extensions()))
    assert result.exit_code == 1
    assert "quota: Extra inputs are not permitted" in result.output
    assert "neither a core setting nor the section of a loaded extension" in result.output


async def test_hook_register_local_modes(recording_platform, log, tmp_path):
    class StandIn:
        name = "event file"
        url = None
        demo_server_id = "4242"

        async def start(self):
            log.append("stand-in started")

        async def close(self):
            log.append("stand-in closed")

    seen = {}

    class Ext:
        @hookimpl
        def register_event_sources(self, register):
            def build(context):
                seen["local"] = context.local
                return RecordingLayer("events", log, "from_file")

            register("from_file", build)

        @hookimpl
        def register_local_modes(self, register):
            register("from_file", lambda context: StandIn())

    # a non-isolating backend serves no real users in local mode: no --unsafe-no-isolation needed
    platform = recording_platform(Ext(), event_source="from_file", sandbox_backend="process")
    await platform.start()
    assert isinstance(platform.local, StandIn) and seen["local"] is platform.local
    assert log.index("stand-in started") == log.index("start events") - 1
    await platform.close()
    assert log.index("stand-in closed") == log.index("close events") + 1

    exts = Extensions.load(environ={"MAIDCORE_LOAD_EXTENSIONS": "discord"}, strict=True)
    assert {r.name: r.extension for r in exts.registrations("local_mode")} == {"discord": "discord"}
    from maidcore_discord.local import EmulatorMode
    from maidcore_discord.settings import DiscordSettings

    offer = exts.local_modes()["discord"]
    assert isinstance(offer(LayerContext("discord", DiscordSettings(), tmp_path)), EmulatorMode)  # no token
    assert offer(LayerContext("discord", DiscordSettings(token="a-real-token"), tmp_path)) is None
