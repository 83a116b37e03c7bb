"""Platform assembly: layers built by name, started in order, closed in reverse, and the sandbox isolation policy."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel

from maidcore.extensions import ExtensionError, UnknownImplementation
from maidcore.hookspecs import hookimpl
from maidcore.layers import LayerContext
from maidcore.platform import PlatformError
from maidcore.records import InstallRecord
from maidcore.testing.layers import RecordingEvents, RecordingLayer, RecordingStorage


@pytest.fixture
def make_platform(recording_platform, recording_extension):
    """A platform on the recording layers (``maidcore.testing``), and the extension registering them."""

    def build(*, local=True, sandbox="isolating", unavailable=None, unsafe=None, runner=True):
        recording_extension.local = local
        recording_extension.isolating_unavailable = unavailable
        platform = recording_platform(sandbox_backend=sandbox, unsafe_no_isolation=unsafe, runner=runner)
        return platform, recording_extension

    return build


async def test_layers_start_in_order_and_close_in_reverse(make_platform, log):
    platform, ext = make_platform()
    await platform.start()
    assert log == [
        "start storage",
        "start limiter",
        "start sandbox isolating",
        "startup hook",
        "start runner",
        "start local",
        "start events",
    ]
    assert platform.local is not None and platform.local.name == "recording local"
    assert platform.proxy is not None and type(platform.proxy).__name__ == "HttpProxy"
    assert ext.startup_saw["storage"] is platform.storage and ext.startup_saw["runner"] is None
    assert platform.records is platform.storage.records
    # the event source is connected to the runner's router as its sink, with the types installed plugins handle
    assert platform.events.start_args == (platform.runner.router, frozenset({"message_create"}))
    assert platform.chosen == {
        "storage_backend": "recording",
        "rate_limiter": "recording",
        "sandbox_backend": "isolating",
        "event_source": "recording",
    }
    assert platform.data_dir.is_dir()
    log.clear()
    await platform.close()
    # the source (and its local stand-in) closes after the runner drained: draining workers still call it
    assert log == [
        "close runner",
        "shutdown hook",
        "close events",
        "close local",
        "close sandbox isolating",
        "close limiter",
        "close storage",
    ]


async def test_failed_start_closes_what_started(make_platform, log):
    platform, _ = make_platform(local=False, unavailable="no engine")
    with pytest.raises(PlatformError):
        await platform.start()
    assert log == ["start storage", "start limiter", "unavailable sandbox isolating", "close limiter", "close storage"]


async def test_unknown_layer_name_lists_the_registered_ones(make_platform, log):
    platform, _ = make_platform(sandbox="kubernetes")
    with pytest.raises(
        UnknownImplementation, match=r"unknown sandbox_backend 'kubernetes': registered ones are isolating, process"
    ):
        await platform.start()


async def test_unavailable_sandbox_serving_real_users_fails_saying_how_to_fix(make_platform, log):
    platform, _ = make_platform(local=False, unavailable="Docker engine is not reachable")
    with pytest.raises(PlatformError) as info:
        await platform.start()
    message = str(info.value)
    assert "Docker engine is not reachable" in message
    assert "start the Docker engine" in message and "MAIDCORE_SANDBOX_BACKEND" in message
    assert "unavailable sandbox isolating" in log and "start sandbox process" not in log


async def test_unavailable_sandbox_in_local_mode_falls_back_to_process(make_platform, log, caplog):
    platform, _ = make_platform(local=True, unavailable="Docker engine is not reachable")
    with caplog.at_level(logging.WARNING, logger="maidcore.platform"):
        await platform.start()
    try:
        assert platform.sandbox.name == "process"
        assert platform.chosen["sandbox_backend"] == "process"
        assert platform.sandbox_fallback == "Docker engine is not reachable"
        assert any(
            "falls back to the 'process' backend" in r.message and "NO isolation" in r.message for r in caplog.records
        )
    finally:
        await platform.close()
    assert "close sandbox process" in log


async def test_the_fallback_backend_is_a_setting(make_platform, log):
    platform, _ = make_platform(local=True, unavailable="Docker engine is not reachable")
    platform.settings = platform.settings.model_copy(update={"fallback_sandbox_backend": ""})
    with pytest.raises(PlatformError, match=r"sandbox backend 'isolating' is unavailable: Docker engine"):
        await platform.start()
    assert "start sandbox process" not in log


async def test_without_local_mode_the_event_source_serves_real_users(make_platform, log):
    platform, _ = make_platform(local=False)
    await platform.start()
    await platform.close()
    assert platform.local is None and "start local" not in log


async def test_process_backend_serving_real_users_is_refused(make_platform, log):
    platform, _ = make_platform(local=False, sandbox="process")
    with pytest.raises(PlatformError, match=r"gives no isolation.*--unsafe-no-isolation"):
        await platform.start()
    assert "start sandbox process" not in log


async def test_process_backend_serving_real_users_runs_when_forced_with_a_warning(make_platform, log, caplog):
    platform, _ = make_platform(local=False, sandbox="process", unsafe=True)
    with caplog.at_level(logging.WARNING, logger="maidcore.platform"):
        await platform.start()
    await platform.close()
    assert "start sandbox process" in log
    assert any(r.message.startswith("UNSAFE: sandbox backend 'process' gives NO isolation") for r in caplog.records)


async def test_process_backend_in_local_mode_needs_no_flag(make_platform, log):
    platform, _ = make_platform(local=True, sandbox="process")
    await platform.start()
    await platform.close()
    assert "start sandbox process" in log


async def test_installs_changed_by_another_process_reach_the_runner(make_platform, log):
    platform, _ = make_platform()
    await platform.start()
    try:
        records = platform.records
        await records.put_install(InstallRecord("111", "dice_roller", "1.0.0", frozenset()))
        assert await platform.check_installs() == [("111", "dice_roller")]
        assert platform.runner.changed == [("111", "dice_roller")]
        assert await platform.check_installs() == []  # unchanged: nothing repeated
        await records.put_install(InstallRecord("111", "dice_roller", "1.0.0", frozenset({"storage:kv"})))
        await platform.install_changed("111", "dice_roller")  # an in-process change tells the runner directly...
        assert await platform.check_installs() == []  # ...and the watcher does not repeat it
        assert platform.runner.changed == [("111", "dice_roller")] * 2
    finally:
        await platform.close()


async def test_hook_maidcore_startup(make_platform, log):
    platform, ext = make_platform()
    await platform.start()
    await platform.close()
    # runs once the layers are built, before the runner and the event source start
    assert log.index("startup hook") == log.index("start sandbox isolating") + 1
    assert ext.startup_saw["sandbox"].name == "isolating"


async def test_hook_maidcore_shutdown(make_platform, log):
    platform, _ = make_platform()
    await platform.start()
    log.clear()
    await platform.close()
    # after the runner stopped, before the layers close
    assert log.index("close runner") < log.index("shutdown hook") < log.index("close sandbox isolating")


class TwoStepEvents(RecordingEvents):
    """A third-party source offering the optional first closing step."""

    async def stop_intake(self) -> None:
        self.log.append("stop intake events")


class TwoStepSource:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    @hookimpl
    def register_event_sources(self, register):
        register("two_step", lambda context: TwoStepEvents(self.log, "two_step"))


async def test_a_source_offering_stop_intake_stops_it_first_and_closes_after_the_runner(
    recording_platform, log, monkeypatch
):
    from maidcore.proxy import HttpProxy
    from maidcore.proxy.websocket import WebSocketBroker

    for what, cls in (("proxy", HttpProxy), ("websocket", WebSocketBroker)):  # services the workers' calls use

        async def close(self, what=what, original=cls.close) -> None:
            log.append(f"close {what}")
            await original(self)

        monkeypatch.setattr(cls, "close", close)
    platform = recording_platform(TwoStepSource(log), event_source="two_step")
    await platform.start()
    log.clear()
    await platform.close()
    # no event comes in while the runner drains; every service its workers call closes after it
    assert log == [
        "stop intake events",
        "close runner",
        "shutdown hook",
        "close events",
        "close websocket",
        "close proxy",
        "close sandbox isolating",
        "close limiter",
        "close storage",
    ]


class TeamSettings(BaseModel):
    quota: int = 5


async def test_factories_get_a_narrow_context_with_their_own_settings_section(recording_platform):
    seen: dict[str, LayerContext] = {}

    class Team:
        @hookimpl
        def register_settings(self, register):
            register("team", TeamSettings)

        @hookimpl
        def register_rate_limiters(self, register):
            def build(context):
                seen["limiter"] = context
                return RecordingLayer("limiter", [], "team")

            register("team", build, settings="team")

        @hookimpl
        def register_storage(self, register):
            def build(context):
                seen["storage"] = context
                with pytest.raises(LookupError, match="record store is not open yet"):
                    context.records  # noqa: B018
                return RecordingStorage([], name="team")

            register("team", build)

    platform = recording_platform(Team(), rate_limiter="team", storage_backend="team", team={"quota": 9})
    await platform.start()
    try:
        limiter = seen["limiter"]
        assert isinstance(limiter, LayerContext) and not hasattr(limiter, "platform")
        assert limiter.name == "team" and limiter.settings == TeamSettings(quota=9)
        assert limiter.data_dir == platform.data_dir and limiter.records is platform.records
        assert limiter.event_types is platform.event_types
        assert limiter.log.name == "maidcore.rate_limiter.team"
        assert seen["storage"].settings is None  # registered without a section
    finally:
        await platform.close()


async def test_a_factory_naming_an_unregistered_section_fails_clearly(recording_platform):
    class Orphan:
        @hookimpl
        def register_rate_limiters(self, register):
            register("orphan", lambda context: None, settings="nowhere")

    platform = recording_platform(Orphan())
    with pytest.raises(ExtensionError, match=r"rate_limiter 'orphan' is built with settings section 'nowhere'"):
        platform.build_layer("rate_limiter", "orphan")
