"""The pytest plugin extension authors get, used the way they use it: from a test suite of their own."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

AUTHOR_TESTS = f"""
import asyncio

from mmo_maid_sdk.testing import make_event

from maidcore import installs
from maidcore.hookspecs import hookimpl
from maidcore.layers import Decision

pytest_plugins = ["maidcore.testing.pytest_plugin"]

EXAMPLE = {str(ROOT / "examples" / "ping_pong")!r}


async def test_the_real_platform_on_the_fake_event_source(maidcore_platform, canned_discord, maidcore_data_dir):
    async with maidcore_platform(runner={{"shutdown_grace_seconds": 1.0}}) as platform:
        assert platform.data_dir == maidcore_data_dir and platform.chosen["event_source"] == "canned"
        await installs.install(platform, EXAMPLE, "42", installs.ALL)
        event = make_event("message_create", guild_id="42", channel_id="10", content="!ping")
        assert await canned_discord.emit("message_create", event) == 1
        assert await platform.runner.wait_idle(30)
        assert canned_discord.methods("discord.send_message")[0]["content"] == "Pong!"


class Never:
    name = "never"

    def hit_nowait(self, bucket, scope, cost=1):
        return Decision(False, retry_after=1.0)

    async def hit(self, bucket, scope, cost=1):
        return self.hit_nowait(bucket, scope, cost)

    async def close(self):
        pass


class MyLimiterExtension:
    @hookimpl
    def register_rate_limiters(self, register):
        register("never", lambda context: Never())


async def test_my_extension_among_recording_layers(recording_platform, recording_log):
    platform = recording_platform(MyLimiterExtension(), rate_limiter="never")
    await platform.start()
    await platform.close()
    assert isinstance(platform.limiter, Never)
    assert recording_log[0] == "start storage" and recording_log[-1] == "close storage"


def test_a_factory_alone(layer_context, maidcore_data_dir):
    context = layer_context({{"limit": 3}}, name="never")
    assert context.settings == {{"limit": 3}} and context.data_dir == maidcore_data_dir
"""


def test_an_extension_author_tests_against_the_real_host(pytester):
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_my_extension=AUTHOR_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
