import json

import pytest
from conftest import frame
from plugin_main import closed, disabled, installed, opened, relay, symbols_chosen, tick
from yourbot_sdk import CapabilityError, ValidationError
from yourbot_sdk.testing import MockContext, make_event


def start(ctx, relay_event, region="eu", threshold=None):
    options = {"channel": "55", "region": region}
    if threshold is not None:
        options["threshold"] = threshold
    relay(ctx, relay_event("start", **options))


def test_install_picks_default_symbols(ctx):
    installed(ctx)
    assert ctx.kv.get("symbols") == ["AAPL", "SAP"]


def test_start_opens_the_platform_held_socket(ctx, relay_event):
    installed(ctx)
    start(ctx, relay_event, threshold=1.5)
    ensured = ctx.ws.ensured[-1]
    assert ensured["name"] == "prices:eu"
    assert ensured["url"] == "wss://feed.relay.test/v1/stream?region=eu"
    assert ensured["auth"] == {"scheme": "bearer", "secret": "FEED_TOKEN"}
    assert ensured["secret_auth"] is None and ensured["binary"] is False
    assert [json.loads(s) for s in ensured["subscribe"]] == [{"op": "subscribe", "symbols": ["AAPL", "SAP"]}]
    assert ctx.kv.get("feed:eu") == {"channel": "55", "threshold": 1.5}
    reply = ctx.interaction.responses[-1]
    assert reply["ephemeral"] is True and reply["content"].startswith("Relaying EU moves over 1.5% to <#55>")


def test_refused_connection_is_explained(ctx, relay_event):
    def refuse(*args, **kwargs):
        raise ValidationError("host feed.relay.test is not in proxy_domains_requested")

    ctx.ws.ensure = refuse
    start(ctx, relay_event)
    assert ctx.kv.get("feed:eu") is None
    assert ctx.interaction.responses[-1]["content"] == (
        "Could not connect: host feed.relay.test is not in proxy_domains_requested"
    )


def test_big_moves_of_watched_symbols_are_posted_once(ctx, relay_event):
    installed(ctx)
    start(ctx, relay_event)
    move = {"type": "move", "symbol": "SAP", "change_pct": -3.25, "seq": 7}
    tick(ctx, frame("prices:eu", json.dumps(move)))
    tick(ctx, frame("prices:eu", json.dumps(move)))  # replayed after a reconnect
    tick(ctx, frame("prices:eu", json.dumps({**move, "symbol": "MSFT", "seq": 8})))  # not watched
    tick(ctx, frame("prices:eu", json.dumps({**move, "change_pct": 0.5, "seq": 9})))  # too small
    tick(ctx, frame("prices:us", json.dumps({**move, "seq": 10})))  # no US relay
    assert [m["content"] for m in ctx.messages_sent] == ["📉 SAP -3.2% (EU)"]
    assert ctx.messages_sent[0]["channel_id"] == "55"
    assert ctx.kv.get("stats") == {"posted": 1}


def test_other_frames_are_counted(ctx, relay_event):
    start(ctx, relay_event)
    tick(ctx, frame("prices:eu", "welcome"))
    tick(ctx, frame("prices:eu", json.dumps({"type": "heartbeat"})))
    assert ctx.kv.get("stats") == {"other_frames": 1}


def test_symbol_menu_and_choice(ctx, relay_event):
    installed(ctx)
    relay(ctx, relay_event("symbols"))
    menu = ctx.interaction.responses[-1]["components"][0].to_dict()["components"][0]
    assert menu["type"] == 3 and menu["custom_id"] == "relay:symbols" and menu["max_values"] == 5
    assert [o["value"] for o in menu["options"] if o.get("default")] == ["AAPL", "SAP"]
    start(ctx, relay_event, region="us")
    symbols_chosen(
        ctx, make_event("interaction_create", interaction_type=3, custom_id="relay:symbols", values=["NVDA", "BOGUS"])
    )
    assert ctx.kv.get("symbols") == ["NVDA"]
    assert ctx.ws.sent[-1] == {"name": "prices:us", "data": json.dumps({"op": "subscribe", "symbols": ["NVDA"]})}
    reply = ctx.interaction.responses[-1]
    assert reply["update_message"] is True and reply["content"] == "Watching NVDA."


def test_stop_and_disable_close_the_socket(ctx, relay_event):
    start(ctx, relay_event, region="us")
    relay(ctx, relay_event("stop", region="us"))
    assert ctx.ws.closed == ["prices:us"] and ctx.kv.get("feed:us") is None
    start(ctx, relay_event, region="eu")
    disabled(ctx)
    assert ctx.ws.closed == ["prices:us", "prices:eu"]


def test_open_and_close_hooks(ctx):
    opened(ctx)
    opened(ctx)
    assert ctx.kv.get("stats") == {"opens": 2}
    closed(ctx, {"reason": "going away", "will_reconnect": True})
    assert ctx.log_entries == []
    closed(ctx, {"reason": "revoked", "will_reconnect": False})
    assert ctx.log_entries[-1]["reason"] == "revoked"


def test_websocket_needs_its_dangerous_capability(relay_event):
    ctx = MockContext()  # the default grant leaves proxy:websocket out
    with pytest.raises(CapabilityError):
        start(ctx, relay_event)
