"""One pool worker, several servers, on the official wheels: concurrency where the SDK correlates its calls,
one-server lanes where it cannot, every call attributed to its own server, nothing lost at boot."""

from __future__ import annotations

import asyncio

from maidcore import installs
from tests.official_sdks import official_site_or_skip, store_on_site

SLOW = """
import time

from yourbot_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.kv.set("started:" + event["message_id"], event["guild_id"])
    time.sleep(0.4)
    ctx.kv.increment("handled")
    ctx.kv.set("seen:" + event["message_id"], ctx.server_id)


@plugin.on_dashboard("who")
def who(ctx, params):
    ctx.kv.set("dashboard", ctx.server_id)
    return {"server": ctx.server_id}


plugin.run()
"""

SLOW_05 = SLOW.replace("yourbot_sdk", "mmo_maid_sdk")  # as the 0.5.x lines' authors import it
A, B = "111", "222"


async def publish_pairs(stack) -> None:
    """Two events for each server at once, message ids telling them apart."""
    await asyncio.gather(
        *(stack.publish("message_create", server, message_id=f"{server}{n}") for server in (A, B) for n in (1, 2))
    )


async def run_two_tenants(stack, bundle, site) -> tuple[set[frozenset[str]], int]:
    """Install on both servers, publish, and return every set of servers seen in flight at once and the most
    deliveries in flight at once."""
    await stack.install(bundle, A, site_dir=site)
    await stack.install(bundle, B, site_dir=site)
    slot = stack.slot("slow")
    seen: set[frozenset[str]] = set()
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            seen.add(frozenset(slot.window.servers))
            peak = max(peak, len(slot.window.in_flight))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    await publish_pairs(stack)
    await stack.idle()
    done.set()
    await watcher
    return seen, peak


async def assert_each_call_acted_for_its_own_server(stack) -> None:
    kv = stack.platform.storage.kv
    for server in (A, B):
        scope = stack.runner.tenant(server, "slow").scope
        assert await kv.get(scope, "handled") == 2
        for n in (1, 2):
            assert await kv.get(scope, f"started:{server}{n}") == server
        other = A if server == B else B
        assert await kv.get(scope, f"started:{other}1") is None
    assert stack.errors("kv.set") == [] and stack.errors("kv.increment") == []
    for call in stack.calls:
        params = call["params"]
        if call["method"] == "kv.set" and params["key"].startswith("started:"):
            assert call["server_id"] == params["value"]


async def test_two_tenants_on_one_0_10_1_worker_run_concurrently_each_call_for_its_server(make_stack):
    site = official_site_or_skip("yourbot-sdk", "0.10.1")
    async with make_stack() as stack:
        bundle = stack.plugin("slow", SLOW, capabilities=["storage:kv"])
        together, peak = await run_two_tenants(stack, bundle, site)
        assert frozenset({A, B}) in together  # both servers' deliveries in flight at once
        assert peak >= 3
        assert stack.slot("slow").attribution.correlates
        await assert_each_call_acted_for_its_own_server(stack)
        correlated = [c for c in stack.calls if c["method"] == "kv.set"]
        assert all("_event_id" in c["params"] and "_pool_discord_srv_id" in c["params"] for c in correlated)


async def test_an_sdk_that_names_no_server_gets_one_server_at_a_time(make_stack):
    site = official_site_or_skip("mmo-maid-sdk", "0.5.4")
    async with make_stack() as stack:
        bundle = stack.plugin("slow", SLOW_05, capabilities=["storage:kv"])
        together, peak = await run_two_tenants(stack, bundle, site)
        assert all(len(servers) <= 1 for servers in together)  # never two servers in flight: calls stay exact
        assert peak == 2  # but a server's own deliveries run together
        assert not stack.slot("slow").attribution.correlates
        await assert_each_call_acted_for_its_own_server(stack)


async def test_a_dashboard_request_waits_for_its_lane_and_is_attributed(make_stack):
    site = official_site_or_skip("mmo-maid-sdk", "0.5.4")
    async with make_stack() as stack:
        bundle = stack.plugin("slow", SLOW_05, capabilities=["storage:kv"])
        await stack.install(bundle, A, site_dir=site)
        await stack.install(bundle, B, site_dir=site)
        await stack.publish("message_create", A, message_id="A9")
        await stack.wait_for(lambda: stack.slot("slow").window.servers, what="A in flight")
        answer = await stack.runner.call_dashboard(B, "slow", "who")  # B's dashboard while A is busy
        assert answer == {"server": B}
        scope_b = stack.runner.tenant(B, "slow").scope
        assert await stack.platform.storage.kv.get(scope_b, "dashboard") == B
        await stack.idle()
        scope_a = stack.runner.tenant(A, "slow").scope
        assert await stack.platform.storage.kv.get(scope_a, "dashboard") is None


async def test_events_sent_right_after_boot_are_handled_not_dropped(make_stack):
    site = official_site_or_skip("yourbot-sdk", "0.10.1")
    async with make_stack() as stack:
        bundle = stack.plugin("slow", SLOW, capabilities=["storage:kv"])
        await store_on_site(stack.platform, bundle, site)
        await installs.install(stack.platform, bundle, A, installs.ALL)  # no wait: the worker is starting
        await stack.publish("message_create", A, message_id="first")
        await stack.idle()
        scope = stack.runner.tenant(A, "slow").scope
        assert await stack.platform.storage.kv.get(scope, "seen:first") == A, (stack.settled, stack.logs, stack.calls)
