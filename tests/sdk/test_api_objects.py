"""Package names, errors, components, events, decorators, cron and the spec tables, as authors and hosts use them."""

from __future__ import annotations

import datetime as dt
import inspect
import subprocess
import sys

import pytest
import yourbot_sdk
from yourbot_sdk import (
    ActionRow,
    Button,
    CapabilityError,
    DiscordApiError,
    KvQuotaError,
    Plugin,
    QueryResult,
    RateLimitError,
    RpcError,
    RpcTimeoutError,
    SdkError,
    SdkPermissionError,
    SelectMenu,
    SelectOption,
    TextInput,
    ValidationError,
    spec,
)
from yourbot_sdk._context import namespace_class
from yourbot_sdk._exceptions import error_from_response
from yourbot_sdk.events import EVENT_TYPE_TO_SCHEMA, EVENT_TYPES, SCHEMAS, make_event
from yourbot_sdk.spec.cron import CronSpec, cron_entry_problems

OFFICIAL_ALL = [
    "Plugin", "Context", "QueryResult", "SdkError", "CapabilityError", "RateLimitError", "DiscordApiError",
    "SdkPermissionError", "PermissionError", "ValidationError", "KvQuotaError", "RpcError", "RpcTimeoutError",
    "TimeoutError", "ActionRow", "Button", "SelectMenu", "SelectOption", "TextInput",
]  # fmt: skip
SUBMODULES = [
    "testing", "events", "responses", "dashboard", "pytest_plugin", "cli", "spec", "_exceptions", "_context",
    "_components", "_plugin", "_transport", "_validation", "_validate", "_validate._catalogue", "_api",
]  # fmt: skip


def test_package_surface_and_version():
    assert yourbot_sdk.__version__ == "0.11.0"
    assert yourbot_sdk.__all__ == OFFICIAL_ALL
    assert yourbot_sdk.PermissionError is SdkPermissionError
    assert yourbot_sdk.TimeoutError is RpcTimeoutError


def test_mmo_maid_sdk_is_the_same_package_under_its_old_name():
    """Run in a fresh interpreter: the alias warns once and hands out the very same module objects."""
    code = (
        "import warnings, importlib, sys\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import mmo_maid_sdk\n"
        "import yourbot_sdk\n"
        "assert [w.category.__name__ for w in caught] == ['DeprecationWarning'], caught\n"
        "assert mmo_maid_sdk.Plugin is yourbot_sdk.Plugin and mmo_maid_sdk.__version__ == yourbot_sdk.__version__\n"
        f"for name in {SUBMODULES!r}:\n"
        "    old = importlib.import_module('mmo_maid_sdk.' + name)\n"
        "    assert old is importlib.import_module('yourbot_sdk.' + name), name\n"
        "from mmo_maid_sdk.testing import MockContext\n"
        "from mmo_maid_sdk._exceptions import CapabilityError\n"
        "assert MockContext.__module__ == 'yourbot_sdk.testing'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_importing_either_name_has_no_side_effects():
    code = (
        "import sys, threading, os\n"
        "before = threading.active_count()\n"
        "import yourbot_sdk, mmo_maid_sdk, yourbot_sdk.testing, yourbot_sdk.dashboard, yourbot_sdk.spec\n"
        "assert threading.active_count() == before\n"
        "assert 'pytest' not in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


ERRORS = [
    (SdkError, "SDK_ERROR", ""),
    (CapabilityError, "CAPABILITY_DENIED", ""),
    (RateLimitError, "RATE_LIMITED", "Rate limit exceeded"),
    (DiscordApiError, "DISCORD_API_ERROR", "Discord API error"),
    (SdkPermissionError, "BOT_MISSING_PERMISSION", "Missing permission"),
    (ValidationError, "VALIDATION_ERROR", ""),
    (KvQuotaError, "KV_QUOTA_EXCEEDED", ""),
    (RpcTimeoutError, "RPC_TIMEOUT", ""),
    (RpcError, "RPC_ERROR", ""),
]


@pytest.mark.parametrize(("cls", "code", "default"), ERRORS, ids=[e[0].__name__ for e in ERRORS])
def test_error_classes_have_a_stable_code_and_accept_code(cls, code, default):
    exc = cls()
    assert str(exc) == default and exc.code == code and cls.code == code
    assert cls("m", code="OTHER").code == "OTHER"
    assert isinstance(exc, SdkError)
    with pytest.raises(TypeError):
        cls("m", code="X", unknown=1)


def test_error_attributes():
    assert RateLimitError("m", 2.5).retry_after == 2.5 and RateLimitError(retry_after=1).retry_after == 1
    assert DiscordApiError("m", 404).status_code == 404
    assert SdkPermissionError("m", "kick_members").permission == "kick_members"
    assert isinstance(RpcError("x"), RuntimeError) and str(RpcError("boom")) == "boom"


@pytest.mark.parametrize(
    ("error", "cls", "attrs"),
    [
        ({"code": "RATE_LIMITED", "message": "slow", "retry_after": 3.5}, RateLimitError, {"retry_after": 3.5}),
        ({"code": -32000, "message": "rate limit, retry in 7s"}, RateLimitError, {"retry_after": 7.0}),
        ({"code": -32000, "message": "rate limit (remaining=3/min)"}, RateLimitError, {"retry_after": 20.0}),
        ({"code": -32000, "message": "quota exceeded"}, RateLimitError, {"code": "QUOTA_EXCEEDED", "retry_after": 5.0}),
        ({"code": -32002, "message": "x", "data": {"code": "RATE_LIMITED", "retry_after": 12}}, RateLimitError,
         {"retry_after": 12.0}),
        ({"code": "BOT_MISSING_PERMISSION", "message": "no", "permission": "ban_members"}, SdkPermissionError,
         {"permission": "ban_members"}),
        ({"code": -32004, "message": "Missing permission: kick_members"}, SdkPermissionError,
         {"permission": "kick_members"}),
        ({"code": -32004, "message": "bot lacks permission x", "data": {"permission": "manage_roles"}},
         SdkPermissionError, {"permission": "manage_roles"}),
        ({"code": -32003, "message": "discord api error 404 gone"}, DiscordApiError, {"status_code": 404}),
        ({"code": -32005, "message": "plugin_kv quota exceeded"}, KvQuotaError, {}),
        ({"code": -32602, "message": "invalid key: key is required and must be a string"}, ValidationError, {}),
        ({"code": "RPC_TIMEOUT", "message": "slow"}, RpcError, {}),
        ({"code": -32000, "message": "boom"}, RpcError, {"method": "kv.get"}),
        ("capability denied", CapabilityError, {}),
    ],
)  # fmt: skip
def test_host_errors_map_to_classes_and_attributes(error, cls, attrs):
    exc = error_from_response("kv.get", error)
    assert type(exc) is cls
    for name, value in attrs.items():
        assert getattr(exc, name) == value


def test_error_texts_name_the_fix():
    assert str(error_from_response("kv.get", {"code": "CAPABILITY_DENIED", "message": "nope"})).endswith(
        "(add the capability to capabilities_required in your manifest.json)"
    )
    assert str(error_from_response("kv.get", {"message": "boom"})) == "RPC error (kv.get): boom"


def test_components_emit_discords_shapes_and_cut_to_its_limits():
    assert Button("Go", "go").to_dict() == {"type": 2, "style": 1, "label": "Go", "custom_id": "go"}
    assert Button("Docs", style="link", url="https://x").to_dict() == {"type": 2, "style": 5, "label": "Docs",
                                                                        "url": "https://x"}  # fmt: skip
    assert Button("x" * 100, "y" * 120).to_dict()["label"] == "x" * 80
    menu = SelectMenu("m", [SelectOption(str(i), str(i)) for i in range(30)], min_values=0)
    assert len(menu.to_dict()["options"]) == 25 and menu.to_dict()["min_values"] == 0
    assert list(TextInput("L", "c", placeholder="p").to_dict()) == ["type", "custom_id", "style", "label",
                                                                      "placeholder", "required"]  # fmt: skip
    assert len(ActionRow(*[Button(str(i), str(i)) for i in range(7)]).to_dict()["components"]) == 5
    assert ActionRow({"type": 2, "style": 1, "label": "raw"}).to_dict()["components"][0]["label"] == "raw"


def test_events_official_descriptions_and_make_event_defaults():
    assert list(EVENT_TYPE_TO_SCHEMA) == list(EVENT_TYPES) and len(EVENT_TYPES) == 16
    assert set(SCHEMAS) == set(EVENT_TYPES)  # the platform's payloads, a superset of keys
    for event_type, schema in EVENT_TYPE_TO_SCHEMA.items():
        assert schema.__total__ is False
        assert set(make_event(event_type)) <= set(schema.__annotations__) | {"roles"}
    assert make_event("interaction_create") == {
        "interaction_id": "300", "interaction_type": 2, "guild_id": "999", "channel_id": "1", "user_id": "200",
        "command_name": "", "custom_id": "", "modal_values": {},
    }  # fmt: skip
    assert "member" not in make_event("interaction_create") and "permissions" not in make_event("interaction_create")
    assert make_event("nope", a=1) == {"a": 1}
    one, two = make_event("member_update"), make_event("member_update")
    one["roles"].append("x")
    assert two["roles"] == []


def test_decorators_return_the_function_and_fill_the_official_registries():
    plugin = Plugin()

    def handler(ctx, event=None):
        return "called"

    assert plugin.on_event("message_create")(handler) is handler
    assert plugin.on_slash_command("roll")(handler) is handler
    assert plugin.on_component(prefix="page:")(handler) is handler
    assert plugin.on_modal_submit("form")(handler) is handler
    assert plugin.on_ready(handler) is handler and plugin.on_ready()(handler) is handler
    assert plugin.on_dashboard("stats")(handler) is handler
    assert plugin.on_install(handler) is handler
    assert plugin.on_ws_message("feed:*")(handler) is handler
    assert plugin.schedule(60)(handler) is handler and plugin.cron("*/5 * * * *")(handler) is handler
    assert [h.__name__ for h in plugin._event_handlers["interaction_create"]] == ["filtered_handler"] * 3
    assert plugin._dashboard_handlers == {"stats": handler} and plugin._lifecycle_handlers == {"install": handler}
    assert plugin._scheduled_tasks == [(handler, 60)] and plugin._cron_tasks[0][0] is handler
    assert plugin._ws_handlers == {"feed:*": {"message": [handler]}}
    assert plugin._match_ws_keys("feed:a") == ["feed:*"] and plugin._match_ws_keys("other") == []
    with pytest.raises(ValueError):
        plugin.on_component("a", prefix="b")
    with pytest.raises(ValueError):
        plugin.cron("* * * *")


@pytest.mark.parametrize(
    "text", ["* * * *", "60 * * * *", "* * * * 7", "*/0 * * * *", "MON * * * *", "5-1 * * * *", "@daily", "0 0 L * *"]
)
def test_cron_rejects_what_the_dialect_does_not_have(text):
    with pytest.raises(ValueError):
        CronSpec(text)


def test_cron_dialect_matching_and_spacing():
    assert CronSpec("5/10 * * * *").minutes == {5}  # N/S is just N
    weekdays = CronSpec("*/15 9-17 * * 1-5")
    monday_nine = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)  # noqa: UP017
    assert weekdays.matches(monday_nine) and not weekdays.matches(monday_nine.replace(day=4))
    assert weekdays.next_after(monday_nine) == monday_nine.replace(minute=15)
    either = CronSpec("0 0 13 * 5")  # day 13 OR a Friday
    assert either.matches(dt.datetime(2026, 2, 13)) and either.matches(dt.datetime(2026, 1, 2))
    assert CronSpec("0 0 31 2 *").can_fire() is False
    assert CronSpec("*/2 * * * *").min_gap_minutes() == 2 and CronSpec("0 9 * * *").min_gap_minutes() == 1440
    assert cron_entry_problems({"name": "tick", "spec": "*/5 * * * *"}) == []
    assert "at least 5 minutes" in cron_entry_problems({"name": "tick", "spec": "*/2 * * * *"})[0]
    assert "never fires" in cron_entry_problems({"name": "tick", "spec": "0 0 30 2 *"})[0]
    assert cron_entry_problems({"name": "not a name", "spec": "0 9 * * *"})


def test_spec_catalogue_and_manifest_rules():
    assert spec.CAPABILITIES["proxy:websocket"].tier == spec.DANGEROUS
    assert len(spec.MOCK_DEFAULT_GRANT) == 16 and "proxy:websocket" not in spec.MOCK_DEFAULT_GRANT
    manifest = {
        "capabilities_required": ["storage:kv"],
        "capabilities": ["discord:read"],
        "requested_capabilities": "x",
    }
    assert spec.declared_capabilities(manifest) == ["discord:read", "storage:kv"]
    assert spec.effective_capabilities({**manifest, "slash_commands": [{"name": "a"}]}) == {
        "storage:kv", "discord:read", "interaction:respond",
    }  # fmt: skip
    assert {"help", "yourbot", "support"} <= spec.RESERVED_COMMAND_NAMES
    assert (
        spec.command_name_problem("Hello")
        and spec.command_name_problem("help")
        and not spec.command_name_problem("roll")
    )
    assert spec.hostname_problem("api.example.com") is None and spec.hostname_problem("*.example.com")
    assert spec.normalised_domain("https://API.example.com:443/v1") == ("api.example.com", None)
    assert spec.normalised_domain("*.example.com")[0] is None
    assert spec.proxy_domains({"proxy_domains_requested": ["api.example.com", "10.0.0.1", 5]}) == {"api.example.com"}


def test_spec_methods_generate_the_real_context_exactly():
    """Every table entry is a ctx method with the table's signature (positional vs keyword-only, defaults)."""
    for qualname, method in spec.METHODS.items():
        namespace, name = qualname.split(".")
        real = getattr(namespace_class(namespace), name)
        params = list(inspect.signature(real).parameters.values())[1:]
        assert [p.name for p in params] == [p.name for p in method.params], qualname
        for ours, described in zip(params, method.params, strict=True):
            kind = inspect.Parameter.KEYWORD_ONLY if described.keyword_only else inspect.Parameter.POSITIONAL_OR_KEYWORD
            assert ours.kind == kind, f"{qualname}({ours.name})"
            expected = inspect.Parameter.empty if described.required else described.default
            assert ours.default == expected, f"{qualname}({ours.name})"


def test_every_spec_method_exists_on_the_mock_with_the_same_parameters():
    from yourbot_sdk.testing import MockContext

    ctx = MockContext(capabilities=list(spec.CAPABILITIES))
    for qualname, method in spec.METHODS.items():
        namespace, name = qualname.split(".")
        mock = getattr(getattr(ctx, namespace)._target if hasattr(getattr(ctx, namespace), "_target")
                       else getattr(ctx, namespace), name)  # fmt: skip
        names = [p.name for p in inspect.signature(mock).parameters.values() if p.kind != p.VAR_KEYWORD]
        assert names == [p.name for p in method.params][: len(names)], qualname


def test_check_params_is_what_a_host_can_validate_with():
    assert spec.check_params("discord.send_message", {"channel_id": "1", "content": "hi", "_event_id": "e"}) == []
    problems = spec.check_params("discord.send_message", {"channel_id": "abc", "content": 5, "bogus": 1})
    assert problems == [
        "channel_id must be a snowflake: a decimal id string",
        "content must be a string",
        "bogus is not a parameter of discord.send_message",
    ]
    # a host cuts what Rule.cut marks (content past 2000 characters) and refuses what it does not
    assert spec.check_params("discord.send_message", {"channel_id": "1", "content": "x" * 2001}) == []
    assert spec.check_params("discord.add_reaction", {"channel_id": "1", "message_id": "2", "emoji": "x" * 101}) == [
        "emoji must be at most 100 characters"
    ]
    assert spec.check_params("kv.get", {}) == ["key is required"]
    assert "ensure" in {m.name for m in spec.RPC_METHODS["ws.ensure"]}
    assert spec.method("ws.ensure").capability == "proxy:websocket"
    assert {m.capability for m in spec.NAMESPACES["ephemeral"]} == {None}


def test_query_result_is_a_list_with_truncated():
    rows = QueryResult([{"a": 1}], truncated=True)
    assert rows == [{"a": 1}] and rows.truncated and QueryResult().truncated is False
