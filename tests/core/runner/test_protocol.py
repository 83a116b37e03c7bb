"""The wire protocol seen from hostile or old plugins: raw JSON-RPC scripts, no SDK."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from maidcore.replay.canned import CannedDiscord

# A plugin without SDK: answers host.boot (optionally with plugin.register), runs ON_EVENT for each event.
RAW = """
import json, sys, time

out = sys.stdout
_next = [0]


def send(message):
    out.write(json.dumps({{"jsonrpc": "2.0", **message}}) + "\\n")
    out.flush()


stash = []


def call(method, **params):
    _next[0] += 1
    send({{"id": _next[0], "method": method, "params": params}})
    while True:
        reply = json.loads(sys.stdin.readline())
        if reply.get("id") == _next[0] and "method" not in reply:
            return reply
        stash.append(reply)  # a delivery that arrived meanwhile: handled after this one


def messages():
    while True:
        while stash:
            yield stash.pop(0)
        line = sys.stdin.readline()
        if not line:
            return
        yield json.loads(line)


REGISTER = {register}
for message in messages():
    method = message.get("method", "")
    params = message.get("params", {{}})
    if method == "host.boot" and REGISTER:
        send({{"method": "plugin.register", "params": {{"sdk_version": "raw", "event_types": ["message_create"]}}}})
    elif method.startswith("event."):
        event = params["event"]
{on_event}
        send({{"method": "event.ack", "params": {{"event_id": params["event_id"]}}}})
    elif "id" in message and method:  # a request it does not know (host.ping, host.install): a JSON-RPC peer answers
        send({{"id": message["id"], "error": {{"code": "RPC_ERROR", "message": "unknown method: " + method}}}})
"""


def raw_plugin(on_event: str, *, register: bool = True) -> str:
    body = "\n".join("        " + line for line in on_event.strip().splitlines())
    return RAW.format(register=register, on_event=body)


async def test_non_protocol_stdout_lines_are_ignored_and_logged(make_stack):
    code = raw_plugin("""
print("hello from a print() before the SDK took over")
print("[1, 2, 3]")
print(json.dumps({"no": "jsonrpc"}))
reply = call("kv.put", key="k", value=1, discord_srv_id=params["discord_srv_id"])
assert "result" in reply, reply
""")
    async with make_stack() as stack:
        await stack.install(stack.plugin("chatty", code, capabilities=["storage:kv"]), "111")
        await stack.publish("message_create", "111")
        await stack.idle()
        slot = stack.slot("chatty")
        assert slot.garbage_lines == 3
        assert slot.restarts == 0 and stack.runner.counters["acked"] == 1
        assert await stack.platform.storage.kv.get(stack.runner.tenant("111", "chatty").scope, "k") == 1


async def test_an_oversized_line_restarts_only_that_worker(make_stack):
    oversized = raw_plugin("""
if event["content"] == "big":
    out.write("x" * (2 * 1024 * 1024) + "\\n")
    out.flush()
    time.sleep(5)
""")
    counter = raw_plugin("""
call("kv.increment", key="n", amount=1, path="", discord_srv_id=params["discord_srv_id"])
""")
    async with make_stack() as stack:
        await stack.install(stack.plugin("oversized", oversized), "111")
        await stack.install(stack.plugin("steady", counter, capabilities=["storage:kv"]), "111")
        await stack.publish("message_create", "111", content="big")
        slot = stack.slot("oversized")
        await stack.wait_for(lambda: slot.restarts == 1, what="the restart")
        for _ in range(3):
            await stack.publish("message_create", "111", content="small")
        await stack.idle()
        assert stack.slot("steady").restarts == 0
        assert await stack.platform.storage.kv.get(stack.runner.tenant("111", "steady").scope, "n") == 4
        assert "stdout line over 1048576 bytes" in (await _crash_logs(stack, "oversized"))


async def _crash_logs(stack, plugin_id: str) -> str:
    await stack.runner.logs.flush()
    logs = await stack.platform.storage.records.list_logs(plugin_id=plugin_id)
    return "\n".join(log.message for log in logs)


async def test_a_garbage_flood_restarts_the_worker(make_stack):
    flood = raw_plugin("""
if event["content"] == "flood":
    for i in range(1500):
        out.write("garbage %d\\n" % i)
    out.flush()
    time.sleep(5)
""")
    async with make_stack() as stack:
        await stack.install(stack.plugin("flood", flood), "111")
        await stack.publish("message_create", "111", content="flood")
        slot = stack.slot("flood")
        await stack.wait_for(lambda: slot.restarts == 1, what="the restart")
        assert "non-protocol stdout lines" in await _crash_logs(stack, "flood")


async def test_a_plugin_cannot_act_for_a_server_by_naming_it(make_stack):
    code = raw_plugin("""
other = "222" if params["discord_srv_id"] == "111" else "111"
stolen = call("kv.put", key="owned", value="by 111", discord_srv_id=other)
own = call("kv.put", key="owned", value=params["discord_srv_id"], discord_srv_id=params["discord_srv_id"])
nameless = call("kv.get", key="owned")
send({"method": "plugin.log", "params": {"level": "info", "message": json.dumps([stolen, own, nameless])}})
""")
    async with make_stack(lifecycle_attribution_seconds=0.05) as stack:
        bundle = stack.plugin("thief", code, capabilities=["storage:kv"])
        await stack.install(bundle, "111")
        await stack.install(bundle, "222")  # installed there too, but no delivery for 222 is in flight
        await asyncio.sleep(0.1)  # past the window host.install opened for 222
        await stack.publish("message_create", "111")
        await stack.idle()
        await stack.wait_for(lambda: stack.logs, what="the plugin's report")
        stolen, own, nameless = json.loads(stack.logs[0][2])
        assert stolen["error"]["data"]["code"] == "CAPABILITY_DENIED"
        assert "server 222 has no delivery in flight on this worker" in stolen["error"]["message"]
        assert "result" in own
        # A registered (pool) worker must name the server of its delivery.
        assert nameless["error"]["data"]["code"] == "VALIDATION_ERROR"
        kv, runner = stack.platform.storage.kv, stack.runner
        assert await kv.get(runner.tenant("222", "thief").scope, "owned") is None
        assert await kv.get(runner.tenant("111", "thief").scope, "owned") == "111"
        assert stack.logs[0][0] == "111"  # the log line is attributed to the delivery's server
        await stack.runner.logs.flush()
        stored = await stack.platform.storage.records.list_logs(plugin_id="thief", server_id="111")
        assert [log.message for log in stored] == [stack.logs[0][2]]


async def test_a_worker_that_never_registers_gets_one_delivery_at_a_time(make_stack):
    # Like the reference SDK 0.5.4: no plugin.register, no discord_srv_id on calls.
    code = raw_plugin(
        """
time.sleep(0.05)
call("kv.put", key="seen", value=event["content"])
""",
        register=False,
    )
    async with make_stack() as stack:
        bundle = stack.plugin("legacy", code, capabilities=["storage:kv"])
        await stack.install(bundle, "111", wait_register=False)
        await stack.install(bundle, "222", wait_register=False)
        slot = stack.slot("legacy")
        peak = 0

        def track(*_):
            nonlocal peak
            peak = max(peak, len(slot.window.in_flight))

        stack.runner.hostapi.observers.append(lambda *a: track())
        for server in ("111", "222", "111", "222"):
            await stack.publish("message_create", server, content=f"for {server}")
        await stack.idle()
        assert slot.registration is None and peak == 1
        kv, runner = stack.platform.storage.kv, stack.runner
        assert await kv.get(runner.tenant("111", "legacy").scope, "seen") == "for 111"
        assert await kv.get(runner.tenant("222", "legacy").scope, "seen") == "for 222"
        assert {c["server_id"] for c in stack.calls} == {"111", "222"}


class ExplodingDiscord(CannedDiscord):
    async def call(self, scope, method, params):
        if params.get("channel_id") == "666":
            raise RuntimeError("boom: a bug in the event source")
        return await super().call(scope, method, params)


async def test_unknown_methods_bad_params_and_layer_bugs_get_error_responses(make_stack):
    code = raw_plugin("""
srv = params["discord_srv_id"]
answers = [
    call("kv.frobnicate", key="x", discord_srv_id=srv),
    call("discord.send_message", channel_id="666", content="x", discord_srv_id=srv),
    call("discord.send_message", channel_id="1", content=5, discord_srv_id=srv),
]
_next[0] += 1
send({"id": _next[0], "method": "kv.get", "params": ["not", "an", "object"]})
answers.append(json.loads(sys.stdin.readline()))  # the only delivery in flight: nothing else arrives
send({"method": "plugin.log", "params": {"level": "info", "message": json.dumps(answers)}})
""")
    async with make_stack(discord=ExplodingDiscord()) as stack:
        await stack.install(stack.plugin("prober", code, capabilities=["discord:send_message"]), "111")
        await stack.publish("message_create", "111")
        await stack.idle()
        await stack.wait_for(lambda: stack.logs, what="the plugin's report")
        unknown, bug, bad_type, bad_params = (a["error"] for a in json.loads(stack.logs[0][2]))
        assert unknown == {
            "code": "RPC_ERROR",
            "message": "unknown method: kv.frobnicate",
            "data": {"code": "RPC_ERROR"},
        }
        assert bug["code"] == "RPC_ERROR" and bug["data"] == {"code": "RPC_ERROR"}
        assert "boom" not in bug["message"]  # internals stay in the host log
        assert bad_type["data"]["code"] == "VALIDATION_ERROR"
        assert bad_type["message"] == "invalid content: content is required and must be a string"
        assert bad_params["data"]["code"] == "VALIDATION_ERROR"
        assert stack.slot("prober").restarts == 0


async def test_single_mode_boots_one_worker_per_install_and_accepts_only_its_server(make_stack):
    code = raw_plugin(
        """
mine = call("kv.put", key="k", value=1)
theirs = call("kv.put", key="k", value=1, discord_srv_id="222" if params["discord_srv_id"] == "111" else "111")
send({"method": "plugin.log", "params": {"level": "info", "message": json.dumps([mine, theirs])}})
""",
        register=False,
    )
    async with make_stack(mode="single") as stack:
        bundle = stack.plugin("solo", code, capabilities=["storage:kv"])
        await stack.install(bundle, "111", wait_register=False)
        await stack.install(bundle, "222", wait_register=False)
        assert sorted(s.boot_server for s in stack.runner.slots.values()) == ["111", "222"]
        await stack.publish("message_create", "111")
        await stack.idle()
        await stack.wait_for(lambda: stack.logs, what="the plugin's report")
        mine, theirs = json.loads(stack.logs[0][2])
        assert "result" in mine
        assert "serves server 111 only" in theirs["error"]["message"]


async def test_an_event_not_acked_in_time_is_redelivered_with_the_next_attempt(make_stack):
    code = raw_plugin("""
if params["attempt"] == 1:
    continue  # swallow the first delivery: no ack
call("kv.put", key="attempt", value=params["attempt"], discord_srv_id=params["discord_srv_id"])
""")
    async with make_stack(ack_timeout_seconds=0.3) as stack:
        await stack.install(stack.plugin("forgetful", code, capabilities=["storage:kv"]), "111")
        await stack.publish("message_create", "111")
        await stack.idle()
        scope = stack.runner.tenant("111", "forgetful").scope
        assert await stack.platform.storage.kv.get(scope, "attempt") == 2
        assert stack.slot("forgetful").restarts == 0


class SlowDiscord(CannedDiscord):
    async def call(self, scope, method, params):
        await asyncio.sleep(5)
        return await super().call(scope, method, params)


async def test_a_host_call_that_takes_too_long_times_out(make_stack):
    code = raw_plugin("""
reply = call("discord.send_message", channel_id="1", content="x", discord_srv_id=params["discord_srv_id"])
send({"method": "plugin.log", "params": {"level": "info", "message": json.dumps(reply)}})
""")
    async with make_stack(discord=SlowDiscord(), call_timeout_seconds=0.2) as stack:
        await stack.install(stack.plugin("patient", code, capabilities=["discord:send_message"]), "111")
        await stack.publish("message_create", "111")
        await stack.idle()
        await stack.wait_for(lambda: stack.logs, what="the plugin's report")
        error = json.loads(stack.logs[0][2])["error"]
        assert error == {
            "code": "RPC_TIMEOUT",
            "message": "discord.send_message timed out after 0.2s",
            "data": {"code": "RPC_TIMEOUT"},
        }


async def test_close_shuts_workers_down_and_leaves_no_process(make_stack):
    code = raw_plugin('call("kv.put", key="k", value=1, discord_srv_id=params["discord_srv_id"])')
    async with make_stack() as stack:
        await stack.install(stack.plugin("tidy", code, capabilities=["storage:kv"]), "111")
        pid = stack.slot("tidy").worker.pid
        await stack.publish("message_create", "111")
        await stack.idle()
        await stack.runner.close()
        assert stack.runner.stats()["workers"][0]["state"] == "stopped"
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert await stack.platform.storage.records.list_dead_letters() == []
