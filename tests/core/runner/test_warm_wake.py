"""An idle plugin woken by an event runs in a warm spare of the process backend (the default pool), end to end."""

from __future__ import annotations

from maidcore.runner.worker import SlotState

GREETER = """
from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def greet(ctx, event):
    ctx.discord.send_message(channel_id=event["channel_id"], content="hi " + event["content"])


if __name__ == "__main__":
    plugin.run()
"""


async def test_an_idle_plugin_wakes_in_a_spare_started_before_the_event(make_stack):
    async with make_stack(idle_stop_seconds=1.0) as stack:
        backend = stack.platform.sandbox
        assert backend.name == "process" and backend.settings.warm_pool_size == 2  # the documented default
        await stack.install(stack.plugin("greeter", GREETER, capabilities=["discord:send_message"]), "111")
        slot = stack.slot("greeter")

        def idle_with_a_full_pool() -> bool:
            return slot.state is SlotState.IDLE and len(backend.pool) == 2 and not backend.pool.filling

        for word in ("one", "two"):
            await stack.wait_for(idle_with_a_full_pool, what="an idle greeter and two spares")
            spares, hits = set(backend.pool.pids), backend.pool.hits
            await stack.publish("message_create", "111", channel_id="900", content=word)
            answer = await stack.wait_for(
                lambda word=word: [
                    m for m in stack.discord.methods("discord.send_message") if m["content"] == f"hi {word}"
                ],
                what=f"the answer to {word}",
            )
            assert answer
            pids = set(backend._workers)  # the woken worker (its reaper's pid)
            assert len(pids) == 1 and pids <= spares and backend.pool.hits == hits + 1
            assert not pids & set(backend.pool.pids)  # it left the pool for good
        assert slot.stats()["restarts"] == 0 and slot.stats()["idle_stops"] >= 1
