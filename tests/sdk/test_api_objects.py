"""Errors, components, events, Plugin decorators and cron specs as authors use them."""

from __future__ import annotations

import datetime as dt
import warnings

import mmo_maid_sdk
import pytest
from mmo_maid_sdk import (
    ActionRow,
    Button,
    CapabilityError,
    DiscordApiError,
    KvQuotaError,
    Plugin,
    RateLimitError,
    RpcError,
    RpcTimeoutError,
    SdkError,
    SdkPermissionError,
    SelectMenu,
    SelectOption,
    TextInput,
    ValidationError,
)
from mmo_maid_sdk._cron import CronSpec
from mmo_maid_sdk.events import EVENT_TYPES, SCHEMAS, make_event


def test_package_surface():
    assert mmo_maid_sdk.__version__ == "0.5.5"
    assert set(mmo_maid_sdk.__all__) >= {
        "Plugin", "Context", "ActionRow", "Button", "SelectMenu", "SelectOption", "TextInput", "SdkError",
        "CapabilityError", "RateLimitError", "DiscordApiError", "SdkPermissionError", "PermissionError",
        "ValidationError", "KvQuotaError", "RpcTimeoutError", "TimeoutError", "RpcError",
    }  # fmt: skip
    assert mmo_maid_sdk.PermissionError is SdkPermissionError
    assert mmo_maid_sdk.TimeoutError is RpcTimeoutError
    namespace: dict = {}
    exec("from mmo_maid_sdk import *", namespace)
    assert namespace["PermissionError"] is SdkPermissionError and namespace["TimeoutError"] is RpcTimeoutError


ERRORS = [
    (SdkError, "SDK_ERROR", ""),
    (CapabilityError, "CAPABILITY_DENIED", "Capability not granted"),
    (RateLimitError, "RATE_LIMITED", "Rate limit exceeded"),
    (DiscordApiError, "DISCORD_API_ERROR", "Discord API error"),
    (SdkPermissionError, "BOT_MISSING_PERMISSION", "Missing permission"),
    (ValidationError, "VALIDATION_ERROR", ""),
    (KvQuotaError, "KV_QUOTA_EXCEEDED", ""),
    (RpcTimeoutError, "RPC_TIMEOUT", ""),
    (RpcError, "RPC_ERROR", ""),
]


@pytest.mark.parametrize(("cls", "code", "default"), ERRORS, ids=[e[0].__name__ for e in ERRORS])
def test_error_classes(cls, code, default):
    exc = cls()
    assert exc.code == code and exc.message == default
    assert isinstance(exc, SdkError) and isinstance(exc, Exception)
    assert cls("custom").message == "custom"


def test_error_extra_attributes_by_keyword_or_position():
    assert RateLimitError().retry_after == 0
    assert RateLimitError("x", 3.5).retry_after == 3.5
    assert RateLimitError("x", retry_after=2).retry_after == 2
    assert DiscordApiError("x", 404).status_code == 404 and DiscordApiError().status_code == 0
    assert SdkPermissionError("x", "manage_roles").permission == "manage_roles"
    assert SdkPermissionError().permission == ""
    rpc = RpcError("database down", "sql.query")
    assert rpc.method == "sql.query" and rpc.message == "database down"
    assert str(rpc) == "RPC error (sql.query): database down"
    assert isinstance(rpc, RuntimeError) and isinstance(rpc, SdkError)
    assert str(CapabilityError("capability x is not granted")) == "capability x is not granted"


def test_buttons():
    b = Button("Go" * 50, "id" * 60, style="success", emoji="🎉", disabled=True)
    assert (b.label, b.custom_id, b.style, b.emoji, b.disabled, b.url) == (
        "Go" * 40,
        "id" * 50,
        "success",
        "🎉",
        True,
        None,
    )
    assert b.to_dict() == {"type": 2, "style": 3, "label": "Go" * 40, "emoji": {"name": "🎉"},
                           "custom_id": "id" * 50, "disabled": True}  # fmt: skip
    link = Button("Docs", style="link", url="https://example.com", emoji={"id": "1", "name": "x"})
    assert link.to_dict() == {"type": 2, "style": 5, "label": "Docs", "emoji": {"id": "1", "name": "x"},
                              "url": "https://example.com"}  # fmt: skip
    assert Button("", "x", style="weird").to_dict() == {"type": 2, "style": 1, "custom_id": "x"}
    assert [Button("a", "b", style=s).to_dict()["style"] for s in ("primary", "secondary", "danger")] == [1, 2, 4]


def test_selects_and_text_inputs():
    option = SelectOption("L" * 120, "v", description="d", emoji="😀", default=True)
    assert option.to_dict() == {"label": "L" * 100, "value": "v", "description": "d", "emoji": {"name": "😀"},
                                "default": True}  # fmt: skip
    assert SelectOption("a", "b").to_dict() == {"label": "a", "value": "b"}
    menu = SelectMenu("pick", [option, {"label": "raw", "value": "r"}], placeholder="p" * 200, max_values=2)
    d = menu.to_dict()
    assert d["type"] == 3 and d["custom_id"] == "pick" and d["placeholder"] == "p" * 150
    assert d["options"][1] == {"label": "raw", "value": "r"} and d["max_values"] == 2 and "min_values" not in d
    assert len(SelectMenu("x", [SelectOption(str(i), str(i)) for i in range(30)]).options) == 25
    assert isinstance(menu.options, list)
    text = TextInput("Name" * 20, "name", style="paragraph", placeholder="p", max_length=10, required=False)
    assert text.to_dict() == {"type": 4, "custom_id": "name", "label": ("Name" * 20)[:45], "style": 2,
                              "required": False, "placeholder": "p", "max_length": 10}  # fmt: skip
    assert TextInput("a", "b", value="v" * 5000).value == "v" * 4000


def test_action_rows():
    row = ActionRow(Button("a", "1"), {"type": 2, "style": 1, "custom_id": "raw"})
    assert isinstance(row.children, list) and len(row.children) == 2
    assert row.to_dict() == {"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "1"},
                                                       {"type": 2, "style": 1, "custom_id": "raw"}]}  # fmt: skip
    with pytest.raises(ValueError, match="at most 5"):
        ActionRow(*[Button(str(i), str(i)) for i in range(6)])


def test_event_schema_and_make_event_share_one_definition():
    assert len(EVENT_TYPES) == 16 and set(EVENT_TYPES) == set(SCHEMAS)
    for event_type in EVENT_TYPES:
        assert set(make_event(event_type)) == set(SCHEMAS[event_type].__annotations__), event_type
    message = make_event("message_create", content="hi", extra="kept")
    assert message["type"] == "message_create" and message["content"] == "hi" and message["extra"] == "kept"
    assert message["reference_message_id"] is None and message["timestamp"] == "2026-01-01T00:00:00Z"
    assert make_event("channel_create")["type"] == 0  # channel events carry the channel type
    assert make_event("role_update")["before_name"] == "old-role"
    assert make_event("member_join")["member_count"] == 100 and "member_count" not in make_event("member_leave")
    assert make_event("reaction_add")["emoji"] == "👍"
    assert make_event("nonsense", a=1) == {"type": "nonsense", "a": 1}


def test_make_event_interaction_options_alias():
    event = make_event("interaction_create")
    assert event["options"] is event["command_options"]
    assert event["member"] == {"permissions": "0", "roles": [], "nick": None}
    opts = [{"name": "sides", "type": 4, "value": 6}]
    assert make_event("interaction_create", options=opts)["command_options"] is opts
    assert make_event("interaction_create", command_options=opts)["options"] is opts
    both = make_event("interaction_create", options=opts, command_options=[])
    assert both["options"] is opts and both["command_options"] == []
    a, b = make_event("member_join"), make_event("member_join")
    a["roles"].append("1")
    assert b["roles"] == []


# -- Plugin ---------------------------------------------------------------------------------------


def test_decorators_return_the_original_function_and_stack():
    plugin = Plugin()

    def handler(ctx, event):
        return "direct"

    assert plugin.on_event("message_create")(handler) is handler
    assert plugin.on_slash_command("roll")(handler) is handler
    assert plugin.on_component("c")(handler) is handler
    assert plugin.on_component(prefix="p:")(handler) is handler
    assert plugin.on_modal_submit(prefix="m")(handler) is handler
    assert plugin.on_dashboard("stats")(handler) is handler
    assert handler(None, None) == "direct"
    assert len(plugin._event_handlers["interaction_create"]) == 4
    assert plugin._event_handlers["message_create"] == [handler]

    @plugin.on_ready
    @plugin.on_install
    def both(ctx):
        pass

    assert plugin._ready_handlers == [both]
    assert plugin.on_ready()(both) is both and plugin._ready_handlers == [both, both]


def test_decorator_misuse_raises_value_error():
    plugin = Plugin()
    misuses = [
        lambda: plugin.on_component(),
        lambda: plugin.on_component("a", prefix="b"),
        lambda: plugin.on_modal_submit(),
        lambda: plugin.schedule(0),
        lambda: plugin.schedule(1.5),
        lambda: plugin.schedule(True),
        lambda: plugin.cron("* * *"),
        lambda: plugin.cron("0 0 31 2 *"),
    ]
    for bad in misuses:
        with pytest.raises(ValueError):
            bad()

    @plugin.schedule(60)
    def task(ctx):
        pass

    with pytest.raises(ValueError, match="already exists"):
        plugin.cron("* * * * *")(task)


def test_slash_command_names_that_can_never_match_warn():
    plugin = Plugin()
    with pytest.warns(UserWarning, match="can never match"):
        plugin.on_slash_command("Roll")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plugin.on_slash_command("group-admin_2")


def test_lifecycle_and_dashboard_registrations_replace():
    plugin = Plugin()

    @plugin.on_install
    def first(ctx):
        pass

    @plugin.on_install()
    def second(ctx):
        pass

    @plugin.on_dashboard("dashboard.stats")
    def stats_one(ctx, params):
        return {}

    @plugin.on_dashboard("stats")
    def stats_two(ctx, params):
        return {}

    assert plugin._lifecycle == {"install": second}
    assert plugin._dashboards == {"stats": stats_two}


def test_plugin_construction_is_inert():
    import threading

    before = threading.active_count()
    Plugin()
    assert threading.active_count() == before


# -- cron ------------------------------------------------------------------------------------------

UTC = dt.timezone.utc  # noqa: UP017 - the SDK supports Python 3.10


@pytest.mark.parametrize(
    "spec",
    ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 7", "5/10 * * * *", "*/0 * * * *",
     "10-5 * * * *", "MON * * * *", "? * * * *", "0 0 31 2 *", "0 0 30 2 *", "* * * * * *", "1,,2 * * * *"],
)  # fmt: skip
def test_invalid_cron_specs(spec):
    with pytest.raises(ValueError):
        CronSpec(spec)


def test_cron_matching_and_next_firing():
    spec = CronSpec("*/15 9-17 * * 1-5")
    monday_9 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert spec.matches(monday_9) and not spec.matches(monday_9.replace(minute=7))
    assert not spec.matches(dt.datetime(2026, 1, 4, 9, 0, tzinfo=UTC))  # Sunday
    assert spec.next_after(monday_9) == monday_9.replace(minute=15)
    assert spec.next_after(monday_9.replace(hour=17, minute=45)) == dt.datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    either = CronSpec("0 0 13 * 5")  # the 13th OR any Friday
    assert either.matches(dt.datetime(2026, 1, 13, tzinfo=UTC))  # Tuesday the 13th
    assert either.matches(dt.datetime(2026, 1, 2, tzinfo=UTC))  # Friday
    assert not either.matches(dt.datetime(2026, 1, 3, tzinfo=UTC))
    only_dom = CronSpec("0 0 13 * *")
    assert not only_dom.matches(dt.datetime(2026, 1, 2, tzinfo=UTC))
    assert CronSpec("0 0 29 2 *").next_after(dt.datetime(2026, 3, 1, tzinfo=UTC)).year == 2028
    assert CronSpec("0,30 1-3/2 * * 0").matches(dt.datetime(2026, 1, 4, 3, 30, tzinfo=UTC))


def test_cron_fallback_waits_until_the_next_firing_at_most_ten_minutes():
    noon_30 = dt.datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC)
    assert CronSpec("* * * * *").wait_seconds(noon_30) == 30.0
    assert CronSpec("5 12 * * *").wait_seconds(noon_30) == 270.0
    assert CronSpec("0 9 * * *").wait_seconds(noon_30) == 600.0  # woken every 10 minutes at most
    at_firing = dt.datetime(2026, 1, 5, 12, 5, tzinfo=UTC)
    assert CronSpec("5 12 * * *").wait_seconds(at_firing) == 600.0  # the next firing is tomorrow, never the same minute
