import json

from mmo_maid_sdk.testing import MockContext, dispatch, make_event

CURRENT = {"name": "Oslo", "main": {"temp": -3}, "weather": [{"main": "Snow", "description": "light snow"}]}
FORECAST = {
    "list": [
        {"dt_txt": "2026-01-02 12:00:00", "main": {"temp": -1}},
        {"dt_txt": "2026-01-02 18:00:00", "main": {"temp": -5}},
    ]
}


def ask(plugin, ctx, city):
    dispatch(
        plugin,
        "interaction_create",
        make_event("interaction_create", command_name="weather", options=[{"name": "city", "value": city}]),
        ctx=ctx,
    )
    return ctx.interaction.responses[-1]["content"]


def test_needs_a_key(mmo_plugin):
    assert ask(mmo_plugin.plugin, MockContext(), "Oslo").startswith("no API key yet")


def test_current_and_forecast_cached(mmo_plugin):
    ctx = MockContext()
    ctx.secrets.set("OPENWEATHER_KEY", "k")
    ctx.http.mock_response("/2.5/weather", body=json.dumps(CURRENT))
    ctx.http.mock_response("/2.5/forecast", body=json.dumps(FORECAST))
    assert ask(mmo_plugin.plugin, ctx, "Oslo") == "❄️ **Oslo**: -3°C, light snow\n2026-01-02: -5--1°C"
    ask(mmo_plugin.plugin, ctx, "oslo")
    assert sum("/2.5/weather" in r["url"] for r in ctx.http.requests) == 1
