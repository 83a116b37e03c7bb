"""``GET /metrics`` counts what really happened: events, deliveries, workers, host calls, rate limits, readiness."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from maidcore import metrics
from maidcore.web import create_app

PLUGIN = """
import os
from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event["content"] == "crash" and ctx.kv.increment("crashed") == 1:
        os._exit(3)
    try:
        ctx.discord.send_message(channel_id="10", content="pong")
    except Exception as exc:
        ctx.log(f"send refused: {type(exc).__name__}", level="warning")


if __name__ == "__main__":
    plugin.run()
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: TestClient) -> dict:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(await response.text())


async def test_metrics_count_events_deliveries_workers_host_calls_and_denials(make_stack):
    async with make_stack(limits={"discord_actions_per_minute": 1}) as stack:
        client = TestClient(TestServer(create_app(stack.platform)))
        await client.start_server()
        try:
            before = await scrape(client)
            bundle = stack.plugin("metered", PLUGIN, capabilities=["storage:kv", "discord:send_message"])
            await stack.install(bundle, "111")
            for content in ("one", "two", "crash"):  # one at a time: the crash must take no other event with it
                await stack.publish("message_create", "111", content=content)
                await stack.idle()
            after = await scrape(client)
        finally:
            await client.close()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("maidcore_events_received_total", event_type="message_create") == 3
    assert delta("maidcore_events_queued_total", event_type="message_create") == 3
    assert delta("maidcore_events_delivered_total", event_type="message_create", outcome="acked") == 3
    assert delta("maidcore_delivery_latency_seconds_count", event_type="message_create") == 3
    # one crash: the worker started twice, crashed once, restarted once
    assert delta("maidcore_worker_starts_total", plugin_id="metered") == 2
    assert delta("maidcore_worker_crashes_total", plugin_id="metered") == 1
    assert delta("maidcore_worker_restarts_total", plugin_id="metered") == 1
    # one send passes the 1/minute limit, the other two are refused by it
    assert delta("maidcore_host_calls_total", method="discord.send_message", outcome="ok") == 1
    assert delta("maidcore_host_calls_total", method="discord.send_message", outcome="RATE_LIMITED") == 2
    assert delta("maidcore_rate_limit_denials_total", bucket="discord actions") == 2
    assert value(after, "maidcore_queue_depth", plugin_id="metered", state="waiting") == 0
    assert value(after, "maidcore_queue_capacity", plugin_id="metered") == stack.runner.settings.queue_size
    assert value(after, "maidcore_workers", state="running") >= 1


async def test_healthz_and_readyz_follow_the_platform(make_stack):
    async with make_stack() as stack:
        client = TestClient(TestServer(create_app(stack.platform)))
        await client.start_server()
        try:
            assert (await client.get("/healthz")).status == 200
            ready = await client.get("/readyz")
            assert ready.status == 200, await ready.text()
            stack.platform.events.connected = False  # the source lost its gateway
            not_ready = await client.get("/readyz")
            body = await not_ready.json()
            assert not_ready.status == 503
            assert body["failing"] == ["event_source_connected"]
        finally:
            await client.close()


def test_metric_children_are_remembered_and_count_into_the_metric() -> None:
    first = metrics.child(metrics.HOST_CALLS, "test.codec_method", "ok")
    assert metrics.child(metrics.HOST_CALLS, "test.codec_method", "ok") is first
    assert first is metrics.HOST_CALLS.labels("test.codec_method", "ok")
    before = first._value.get()
    metrics.child(metrics.HOST_CALLS, "test.codec_method", "ok").inc()
    assert metrics.HOST_CALLS.labels("test.codec_method", "ok")._value.get() == before + 1
