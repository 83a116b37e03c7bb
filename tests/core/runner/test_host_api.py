"""Every host method of contract §10.4, reached from a real plugin process on the real SDK."""

from __future__ import annotations

import random

import pytest
from aiohttp import web

from maidcore.capabilities import CATALOGUE
from maidcore.runner.hostapi import METHODS
from tests.core.runner.conftest import PROXY_HOST

EVERYTHING = """
from mmo_maid_sdk import ActionRow, Button, Plugin, TextInput

plugin = Plugin()
PORT = {port}


@plugin.on_event("message_create")
def storage_and_discord(ctx, event):
    kv = ctx.kv
    kv.set("greeting", {{"text": "hi"}}, ttl_seconds=600)
    assert kv.get("greeting") == {{"text": "hi"}}
    kv.increment("stats", 2, path="a.b")
    kv.decrement("count", 3)
    kv.set_many({{"k1": 1, "k2": 2}})
    assert kv.get_many(["k1", "k2", "nope"]) == {{"k1": 1, "k2": 2}}
    assert kv.list("k") == ["k1", "k2"]
    assert kv.list_values("k", start_after="k1") == {{"k2": 2}}
    assert kv.count("k") == 2
    kv.delete("k1")
    kv.set("k2", None)
    assert kv.exists("k2") is False

    sql = ctx.sql
    sql.execute("CREATE TABLE IF NOT EXISTS notes (body TEXT)")
    assert sql.execute("INSERT INTO notes (body) VALUES ($1)", ["first"]) == 1
    assert sql.query("SELECT body FROM notes") == [{{"body": "first"}}]
    assert sql.query_one("SELECT body FROM notes WHERE body = %s", ["first"]) == {{"body": "first"}}

    eph = ctx.ephemeral
    assert eph.counter("c", 60) == 1
    eph.cooldown_set("cd", 30)
    assert eph.cooldown_check("cd")["active"] is True
    assert eph.dedup("d") is True and eph.dedup("d") is False
    eph.flag_set("f", 30)
    assert eph.flag_check("f") is True

    ctx.metrics.record("plays", 2.0, tags={{"mode": "solo"}})
    assert ctx.metrics.total("plays") == 2.0
    assert ctx.metrics.query("plays", period="24h", group_by="mode")["total"] == 2.0

    ctx.secrets.set("token", "s3cret")
    assert ctx.secrets.get("token") == "s3cret"
    ctx.secrets.delete("token")

    reply = ctx.http.get(f"http://PROXY_HOST:{{PORT}}/hello", params={{"q": "1"}})
    assert reply["status"] == 200 and reply["body_bytes"] == "hello from upstream", reply

    d = ctx.discord
    sent = d.send_message(channel_id="10", content="hi", components=[ActionRow(Button("Go", custom_id="go"))])
    d.edit_message(channel_id="10", message_id=sent["message_id"], content="edited")
    d.pin_message(channel_id="10", message_id="5")
    d.unpin_message(channel_id="10", message_id="5")
    d.delete_message(channel_id="10", message_id="5")
    d.bulk_delete_messages(channel_id="10", message_ids=["5", "6"])
    d.add_reaction(channel_id="10", message_id="5", emoji="👍")
    d.get_messages(channel_id="10", limit=5)
    assert d.get_guild()["name"] == "Test Server"
    d.get_channel(channel_id="10")
    d.list_channels()
    d.get_member(user_id="7")
    d.list_members(limit=10)
    d.search_members("te", limit=5)
    d.list_roles()
    made = d.create_channel(name="new", channel_type=0, topic="t")
    d.edit_channel(channel_id=made["id"], name="renamed")
    d.delete_channel(channel_id=made["id"])
    d.set_channel_permissions(channel_id="10", target_id="7", allow="3072", deny="0", target_type=1)
    d.delete_channel_permission(channel_id="10", target_id="7")
    thread = d.create_thread(channel_id="10", name="thread")
    d.edit_thread(thread_id=thread["id"], archived=True)
    d.timeout_member(user_id="7", duration_seconds=60, reason="calm")
    d.timeout_bulk(user_ids=["7", "8"], duration_seconds=60)
    d.set_nickname(user_id="7", nickname="Seven")
    d.ban_member(user_id="7", reason="spam")
    d.unban_member(user_id="7")
    d.kick_member(user_id="8")
    d.kick_bulk(user_ids=["8"])
    d.add_role(user_id="7", role_id="3")
    d.remove_role(user_id="7", role_id="3")
    d.add_role_bulk(user_ids=["7"], role_id="3")
    d.remove_role_bulk(user_ids=["7"], role_id="3")
    hook = d.create_webhook(channel_id="10", name="hook")
    d.execute_webhook(webhook_id=hook["id"], webhook_token=hook["token"], content="via hook")
    d.delete_webhook(webhook_id=hook["id"])
    ctx.kv.set("storage_and_discord", "done")


@plugin.on_slash_command("all")
def interactions(ctx, event):
    ctx.interaction.defer(ephemeral=True)
    ctx.interaction.followup(content="later")
    ctx.interaction.respond(content="now")
    ctx.kv.set("interactions", "done")


@plugin.on_component("modal")
def modal(ctx, event):
    ctx.interaction.send_modal(title="Tell", custom_id="tell", fields=[TextInput("What", "what")])


if __name__ == "__main__":
    plugin.run()
""".replace("PROXY_HOST", PROXY_HOST)


@pytest.fixture
async def upstream():
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello from upstream")

    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port
    await runner.cleanup()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request):
    """SQLite (the small-install choice), and a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return "sqlite://"
    return request.getfixturevalue("pg_fresh_url")


async def test_every_host_method_is_served_from_a_real_plugin(make_stack, upstream, database_url):
    server = str(random.randrange(10**17, 10**18))  # fresh per run: PostgreSQL keeps plugin schemas between runs
    async with make_stack(database_url=database_url) as stack:
        bundle = stack.plugin(
            "everything",
            EVERYTHING.format(port=upstream),
            capabilities=sorted(CATALOGUE),
            proxy_domains_requested=[PROXY_HOST],
            slash_commands=[{"name": "all", "description": "Everything"}],
        )
        await stack.install(bundle, server)
        await stack.publish("message_create", server, content="go")
        await stack.publish("interaction_create", server, "everything", interaction_type=2, command_name="all")
        await stack.publish(
            "interaction_create", server, "everything", interaction_type=3, custom_id="modal", interaction_id="301"
        )
        await stack.idle()
        failures = [c for c in stack.calls if c["error"] is not None]
        assert failures == []
        assert not [entry for entry in stack.logs if entry[1] == "error"], stack.logs
        # ws.* and *.allow_host need a socket upstream and a server admin's slash command: the compatibility
        # matrix (test_official_sdks.py) calls them on every line that has them, ours included
        elsewhere = {m for m in METHODS if m.startswith(("ws.", "http."))}
        assert set(stack.methods()) == set(METHODS) - elsewhere, set(METHODS) - elsewhere - set(stack.methods())
        assert {c["server_id"] for c in stack.calls} == {server}
        kv = stack.platform.storage.kv
        scope = stack.runner.tenant(server, "everything").scope
        assert await kv.get(scope, "storage_and_discord") == "done"
        assert await kv.get(scope, "interactions") == "done"
        assert await kv.get(scope, "stats") == {"a": {"b": 2}}
        # The event source received validated params, bulk targets included, with ADMINISTRATOR-class bits stripped.
        assert stack.discord.methods("discord.timeout_bulk")[0]["user_ids"] == ["7", "8"]
        assert (
            stack.discord.methods("interaction.send_modal")[0]["components"][0]["components"][0]["custom_id"] == "what"
        )


REFUSALS = """
from mmo_maid_sdk import Plugin, ValidationError, KvQuotaError, RateLimitError, RpcError

plugin = Plugin()


@plugin.on_event("message_create")
def refusals(ctx, event):
    outcomes = {}
    for name, call in [
        ("too_big", lambda: ctx.kv.set("big", "x" * 70000)),
        ("bad_channel", lambda: ctx.discord.send_message(channel_id="not-a-snowflake", content="x")),
        ("nothing_to_send", lambda: ctx.discord.execute_webhook(webhook_id="1", webhook_token="t", content="")),
        ("bulk_delete_one", lambda: ctx.discord.bulk_delete_messages(channel_id="1", message_ids=["1"])),
    ]:
        try:
            call()
            outcomes[name] = "ok"
        except (ValidationError, KvQuotaError, RpcError) as exc:
            outcomes[name] = type(exc).__name__
    for i in range(3):
        try:
            ctx.discord.send_message(channel_id="1", content=str(i))
            outcomes[f"send{i}"] = "ok"
        except RateLimitError as exc:
            outcomes[f"send{i}"] = f"RateLimitError {exc.retry_after > 0}"
    ctx.kv.set("outcomes", outcomes)


if __name__ == "__main__":
    plugin.run()
"""


async def test_validation_and_rate_limit_errors_reach_the_plugin_as_typed_errors(make_stack):
    async with make_stack(limits={"discord_actions_per_minute": 2}) as stack:
        bundle = stack.plugin(
            "refusals",
            REFUSALS,
            capabilities=["storage:kv", "discord:send_message", "discord:manage_webhooks", "discord:delete_message"],
        )
        await stack.install(bundle, "111")
        await stack.publish("message_create", "111")
        await stack.idle()
        scope = stack.runner.tenant("111", "refusals").scope
        outcomes = await stack.platform.storage.kv.get(scope, "outcomes")
        assert outcomes == {
            "too_big": "KvQuotaError",
            "bad_channel": "ValidationError",
            "nothing_to_send": "ValidationError",
            "bulk_delete_one": "ValidationError",
            "send0": "ok",
            "send1": "ok",
            "send2": "RateLimitError True",
        }
        # Refused calls never reached Discord.
        assert [p["content"] for p in stack.discord.methods("discord.send_message")] == ["0", "1"]
        assert stack.discord.methods("discord.execute_webhook") == []
        limited = stack.errors("discord.send_message")[-1]
        assert limited["data"]["code"] == "RATE_LIMITED" and limited["data"]["retry_after"] > 0


UNDECLARED_HOST = """
from mmo_maid_sdk import Plugin, CapabilityError

plugin = Plugin()


@plugin.on_event("message_create")
def fetch(ctx, event):
    try:
        ctx.http.get("https://elsewhere.example.org/")
    except CapabilityError as exc:
        ctx.log("refused: " + str(exc))


if __name__ == "__main__":
    plugin.run()
"""


async def test_a_proxy_host_outside_the_manifest_is_refused_before_the_rate_limit(make_stack):
    async with make_stack(limits={"proxy_requests_per_minute": 1}) as stack:
        bundle = stack.plugin("fetcher", UNDECLARED_HOST, proxy_domains_requested=[PROXY_HOST])
        await stack.install(bundle, "111")
        for _ in range(2):
            await stack.publish("message_create", "111")
        await stack.idle()
        errors = stack.errors("proxy.request")
        assert [e["data"]["code"] for e in errors] == ["CAPABILITY_DENIED", "CAPABILITY_DENIED"]
        assert "host elsewhere.example.org is not in proxy_domains_requested and no admin" in errors[0]["message"]
