"""Test plugins without a platform: ``MockContext`` records every call, ``make_event`` builds events.

The mock APIs are generated from the same method table as the real ``Context`` (``_api``), so
they take the same parameter names and defaults and apply the same local checks. Each mock
method also accepts its parameters positionally, as the 0.5.x mocks did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from . import _api, _canned
from ._errors import CapabilityError, KvQuotaError, ValidationError
from ._validate._catalogue import CATALOGUE
from .events import make_event

__all__ = ["MockClock", "MockContext", "call_dashboard", "dispatch", "make_event", "run_ready", "tick"]

#: Every capability of the catalogue (contract §7.1): what ``MockContext()`` grants by default.
ALL_CAPABILITIES = frozenset(CATALOGUE)
KV_KEY_QUOTA = 10_000


class MockClock:
    """Time for the mocks: wall-clock by default, or frozen at ``start`` and moved only by ``advance()``."""

    def __init__(self, start: float | None = None) -> None:
        self._now = None if start is None else float(start)

    def now(self) -> float:
        return time.time() if self._now is None else self._now

    def advance(self, seconds: float) -> None:
        if self._now is None:
            raise RuntimeError("MockClock() follows the wall clock; create MockClock(start=<epoch>) to advance it")
        if seconds < 0:
            raise ValueError(f"MockClock.advance() takes seconds >= 0, got {seconds!r}")
        self._now += seconds

    def __repr__(self) -> str:
        return "MockClock(wall clock)" if self._now is None else f"MockClock(start={self._now!r})"


class _MockApi:
    """Shared plumbing: capability check, local checks, then the per-method behaviour ``_do_<name>``."""

    def __init__(self, ctx: MockContext) -> None:
        self._ctx = ctx

    def _mock(self, spec: _api.Method, args: dict[str, Any]) -> Any:
        if spec.capability is not None and spec.capability not in self._ctx.capabilities:
            raise CapabilityError(f"capability {spec.capability} is not granted for {spec.rpc_method}")
        spec.validate(args)
        return getattr(self, "_do_" + spec.name)(**args)


def _mock_methods(methods: tuple[_api.Method, ...]) -> dict[str, Callable[..., Any]]:
    return _api.build_methods(methods, "_mock", mock=True, module=__name__)


# -- discord ------------------------------------------------------------------------------

_RECORDED: dict[str, tuple[str, tuple[str, ...]]] = {
    "send_message": ("messages_sent", ("channel_id", "content", "embeds", "components", "files")),
    "edit_message": ("messages_edited", ("channel_id", "message_id", "content", "embeds", "components")),
    "delete_message": ("messages_deleted", ("channel_id", "message_id")),
    "pin_message": ("messages_pinned", ("channel_id", "message_id")),
    "unpin_message": ("messages_unpinned", ("channel_id", "message_id")),
    "add_reaction": ("reactions_added", ("channel_id", "message_id", "emoji")),
    "add_role": ("roles_added", ("user_id", "role_id", "reason")),
    "remove_role": ("roles_removed", ("user_id", "role_id", "reason")),
    "ban_member": ("members_banned", ("user_id", "reason", "delete_message_seconds")),
    "unban_member": ("members_unbanned", ("user_id",)),
    "kick_member": ("members_kicked", ("user_id", "reason")),
    "timeout_member": ("members_timed_out", ("user_id", "duration_seconds", "reason")),
    "set_nickname": ("nicknames_set", ("user_id", "nickname")),
    "create_channel": ("channels_created", ("name", "channel_type", "category_id", "topic", "user_limit")),
    "edit_channel": ("channels_edited", ("channel_id", "name", "topic", "user_limit")),
    "delete_channel": ("channels_deleted", ("channel_id",)),
    "create_thread": ("threads_created", ("channel_id", "name", "thread_type", "auto_archive_duration")),
    "edit_thread": ("threads_edited", ("thread_id", "archived", "locked", "name", "auto_archive_duration")),
    "set_channel_permissions": ("permissions_set", ("channel_id", "target_id", "allow", "deny", "target_type")),
    "delete_channel_permission": ("permissions_deleted", ("channel_id", "target_id")),
    "create_webhook": ("webhooks_created", ("channel_id", "name")),
    "execute_webhook": (
        "webhooks_executed",
        ("webhook_id", "webhook_token", "content", "embeds", "username", "avatar_url"),
    ),
    "delete_webhook": ("webhooks_deleted", ("webhook_id",)),
}
DISCORD_LISTS: tuple[str, ...] = tuple(dict.fromkeys(lst for lst, _ in _RECORDED.values()))
_READS = frozenset(m.name for m in _api.DISCORD if m.capability == "discord:read")


class _MockDiscordBase(_MockApi):
    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        for name in DISCORD_LISTS:
            setattr(self, name, [])
        self._channel_ids = 100
        self._thread_ids = 200
        self._webhook_ids = 300

    def _record(self, method: str, args: dict[str, Any], **more: Any) -> None:
        lst, keys = _RECORDED[method]
        getattr(self, lst).append({**{k: args[k] for k in keys}, **more})

    def _next(self, attr: str) -> str:
        value = getattr(self, attr)
        setattr(self, attr, value + 1)
        return str(value)

    def _new_id(self, kind: str) -> str:
        return self._ctx._next_message_id() if kind == "message" else self._next(f"_{kind}_ids")

    def _answer(self, method: str, args: dict[str, Any]) -> Any:
        return _canned.answer(f"discord.{method}", args, self._new_id)

    def _do_send_message(self, **a: Any) -> dict[str, Any]:
        result = {"ok": True, **self._answer("send_message", a)}
        self._record("send_message", a, message_id=result["message_id"])
        return result

    def _do_edit_message(self, **a: Any) -> dict[str, Any]:
        self._record("edit_message", a)
        return {"ok": True, **self._answer("edit_message", a)}

    def _do_bulk_delete_messages(self, channel_id: Any, message_ids: Any) -> None:
        for mid in message_ids:
            self.messages_deleted.append({"channel_id": channel_id, "message_id": mid})

    def _bulk(self, bulk: str, method: str, user_ids: Any, **a: Any) -> dict[str, Any]:
        ids = list(user_ids)
        for uid in ids:
            self._record(method, {**a, "user_id": uid})
        return self._answer(bulk, {"user_ids": ids})

    def _do_timeout_bulk(self, user_ids: Any, duration_seconds: Any, reason: Any = "") -> dict[str, Any]:
        return self._bulk("timeout_bulk", "timeout_member", user_ids, duration_seconds=duration_seconds, reason=reason)

    def _do_kick_bulk(self, user_ids: Any, reason: Any = "") -> dict[str, Any]:
        return self._bulk("kick_bulk", "kick_member", user_ids, reason=reason)

    def _do_add_role_bulk(self, user_ids: Any, role_id: Any, reason: Any = "") -> dict[str, Any]:
        return self._bulk("add_role_bulk", "add_role", user_ids, role_id=role_id, reason=reason)

    def _do_remove_role_bulk(self, user_ids: Any, role_id: Any, reason: Any = "") -> dict[str, Any]:
        return self._bulk("remove_role_bulk", "remove_role", user_ids, role_id=role_id, reason=reason)

    def _do_create_channel(self, **a: Any) -> dict[str, Any]:
        channel = self._answer("create_channel", a)
        self._record("create_channel", a, id=channel["id"])
        return channel

    def _do_edit_channel(self, **a: Any) -> dict[str, Any]:
        self._record("edit_channel", a)
        return self._answer("edit_channel", a)

    def _do_create_thread(self, **a: Any) -> dict[str, Any]:
        thread = self._answer("create_thread", a)
        self._record("create_thread", a, id=thread["id"])
        return thread

    def _do_create_webhook(self, **a: Any) -> dict[str, Any]:
        hook = self._answer("create_webhook", a)
        self._record("create_webhook", a, id=hook["id"], token=hook["token"])
        return hook

    def _do_execute_webhook(self, **a: Any) -> dict[str, Any]:
        result = self._answer("execute_webhook", a)
        self._record("execute_webhook", a, message_id=result["message_id"])
        return result

    def __getattr__(self, name: str) -> Any:
        # Plain recorders returning None: delete/pin/unpin/reaction/roles/ban/kick/timeout/... .
        if name.startswith("_do_") and name[4:] in _RECORDED:
            method = name[4:]
            return lambda **a: self._record(method, a)
        # The reads (get_guild, list_roles, get_member, ...) record nothing and return the canned value.
        if name.startswith("_do_") and name[4:] in _READS:
            method = name[4:]
            return lambda **a: self._answer(method, a)
        raise AttributeError(name)


_MockDiscord = type(
    "_MockDiscord",
    (_MockDiscordBase,),
    {"__module__": __name__, "__doc__": "ctx.discord of a MockContext.", **_mock_methods(_api.DISCORD)},
)


# -- interaction ----------------------------------------------------------------------------


class _MockInteractionBase(_MockApi):
    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self.responses: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.defers: list[dict[str, Any]] = []
        self.modals_sent: list[dict[str, Any]] = []
        self._followup_ids = 1

    def _do_respond(self, **a: Any) -> None:
        self.responses.append(dict(a))

    def _next_followup_id(self, kind: str) -> str:
        value = self._followup_ids
        self._followup_ids += 1
        return str(value)

    def _do_followup(self, **a: Any) -> dict[str, Any]:
        self.followups.append(dict(a))
        return _canned.answer("interaction.followup", a, self._next_followup_id)

    def _do_defer(self, ephemeral: Any = False) -> None:
        self.defers.append({"ephemeral": ephemeral})

    def _do_send_modal(self, **a: Any) -> None:
        self.modals_sent.append(dict(a))


_MockInteraction = type(
    "_MockInteraction",
    (_MockInteractionBase,),
    {"__module__": __name__, "__doc__": "ctx.interaction of a MockContext.", **_mock_methods(_api.INTERACTION)},
)


# -- kv --------------------------------------------------------------------------------------


def _json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _MockKvBase(_MockApi):
    """An in-memory KV store with the platform's semantics (TTL on the ctx clock, quotas, paging)."""

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self._store: dict[str, tuple[Any, float | None]] = {}
        self._expiring: set[str] = set()

    def _live(self) -> dict[str, tuple[Any, float | None]]:
        """The store without expired keys (they are removed first, never while iterating)."""
        if self._expiring:
            now = self._ctx.clock.now()
            expired = [k for k in self._expiring if self._store[k][1] <= now]  # type: ignore[operator]
            for k in expired:
                del self._store[k]
                self._expiring.discard(k)
        return self._store

    def _remove(self, key: str) -> None:
        self._store.pop(key, None)
        self._expiring.discard(key)

    def _put(self, key: str, value: Any, expires: float | None) -> None:
        live = self._live()
        if key not in live and len(live) + 1 > KV_KEY_QUOTA:
            raise KvQuotaError(f"kv quota reached: {KV_KEY_QUOTA} keys per server; delete keys before adding more")
        live[key] = (_json_copy(value), expires)
        if expires is None:
            self._expiring.discard(key)
        else:
            self._expiring.add(key)

    def _value(self, key: str) -> Any:
        live = self._live()
        return _json_copy(live[key][0]) if key in live else None

    def _do_get(self, key: str) -> Any:
        return self._value(key)

    def _do_set(self, key: str, value: Any, ttl_seconds: int = 0) -> None:
        if value is None:
            self._remove(key)
            return
        self._put(key, value, self._ctx.clock.now() + ttl_seconds if ttl_seconds else None)

    def _do_delete(self, key: str) -> None:
        self._remove(key)

    def _do_exists(self, key: str) -> bool:
        return self._value(key) is not None

    def _do_increment(self, key: str, amount: Any = 1, path: str = "") -> Any:
        live = self._live()
        expires = live[key][1] if key in live else None
        current = self._value(key)
        if not path:
            if current is None:
                current = 0
            if not _is_number(current):
                raise ValidationError(f"invalid value for key {key!r}: increment needs a number, found {current!r}")
            new = current + amount
            self._put(key, new, expires)
            return new
        root = {} if current is None else current
        if not isinstance(root, dict):
            raise ValidationError(f"invalid path {path!r}: key {key!r} does not hold a JSON object")
        node = root
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValidationError(f"invalid path {path!r}: {part!r} is not an object")
            node = child
        leaf = node.get(parts[-1], 0)
        if not _is_number(leaf):
            raise ValidationError(f"invalid path {path!r}: increment needs a number, found {leaf!r}")
        node[parts[-1]] = new = leaf + amount
        self._put(key, root, expires)
        return new

    def _do_decrement(self, key: str, amount: Any = 1) -> Any:
        return self._do_increment(key, -amount)

    def _page(self, prefix: str, limit: Any, start_after: str | None) -> list[str]:
        limit = int(max(1, min(100, limit)))
        keys = sorted(k for k in self._live() if k.startswith(prefix) and (start_after is None or k > start_after))
        return keys[:limit]

    def _do_list(self, prefix: str = "", limit: Any = 100, start_after: str | None = None) -> list[str]:
        return self._page(prefix, limit, start_after)

    def _do_list_values(self, prefix: str = "", limit: Any = 100, start_after: str | None = None) -> dict[str, Any]:
        return {k: self._value(k) for k in self._page(prefix, limit, start_after)}

    def _do_count(self, prefix: str = "") -> int:
        return sum(1 for k in self._live() if k.startswith(prefix))

    def _do_get_many(self, keys: Any) -> dict[str, Any]:
        live = self._live()
        return {k: _json_copy(live[k][0]) for k in keys if k in live}

    def _do_set_many(self, entries: dict[str, Any]) -> None:
        live = self._live()
        new = [k for k in entries if k not in live and entries[k] is not None]
        if len(live) + len(new) > KV_KEY_QUOTA:
            raise KvQuotaError(f"kv quota reached: {KV_KEY_QUOTA} keys per server; set_many would add {len(new)}")
        for k, v in entries.items():
            if v is None:
                self._remove(k)
            else:
                self._put(k, v, None)


_MockKv = type(
    "_MockKv", (_MockKvBase,), {"__module__": __name__, "__doc__": _MockKvBase.__doc__, **_mock_methods(_api.KV)}
)


# -- sql, ephemeral, http, metrics, secrets -----------------------------------------------------


class _MockSqlBase(_MockApi):
    """Records statements in ``executed``; returns empty results (seed data by replacing a method)."""

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self.executed: list[dict[str, Any]] = []

    def _rec(self, sql: str, params: Any) -> None:
        self.executed.append({"sql": sql, "params": params})

    def _do_execute(self, sql: str, params: Any = None) -> int:
        self._rec(sql, params)
        return 0

    def _do_query(self, sql: str, params: Any = None, limit: Any = 1000) -> _api.SqlRows:
        self._rec(sql, params)
        return _api.SqlRows([], False)

    def _do_query_one(self, sql: str, params: Any = None) -> None:
        self._rec(sql, params)
        return None

    _do_scalar = _do_query_one


_MockSql = type(
    "_MockSql", (_MockSqlBase,), {"__module__": __name__, "__doc__": _MockSqlBase.__doc__, **_mock_methods(_api.SQL)}
)


def _ttl(value: Any) -> float:
    return max(1, min(86400, value))


class _MockEphemeralBase(_MockApi):
    """Counters, cooldowns, dedup and flags on the ctx clock."""

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self._hits: dict[str, list[float]] = {}
        self._cooldowns: dict[str, float] = {}
        self._dedup: dict[str, float] = {}
        self._flags: dict[str, float] = {}

    def _do_counter(self, key: str, window_seconds: Any = 60) -> int:
        now = self._ctx.clock.now()
        start = now - _ttl(window_seconds)
        hits = [t for t in self._hits.get(key, []) if t > start]
        hits.append(now)
        self._hits[key] = hits
        return len(hits)

    def _do_cooldown_set(self, key: str, ttl_seconds: Any = 60) -> None:
        self._cooldowns[key] = self._ctx.clock.now() + _ttl(ttl_seconds)

    def _do_cooldown_check(self, key: str) -> dict[str, Any]:
        remaining = self._cooldowns.get(key, 0.0) - self._ctx.clock.now()
        if remaining > 0:
            return {"active": True, "remaining_seconds": float(remaining)}
        return {"active": False, "remaining_seconds": 0.0}

    def _do_dedup(self, key: str, ttl_seconds: Any = 3600) -> bool:
        now = self._ctx.clock.now()
        if self._dedup.get(key, 0.0) > now:
            return False
        self._dedup[key] = now + _ttl(ttl_seconds)
        return True

    def _do_flag_set(self, key: str, ttl_seconds: Any = 3600) -> None:
        self._flags[key] = self._ctx.clock.now() + _ttl(ttl_seconds)

    def _do_flag_check(self, key: str) -> bool:
        return self._flags.get(key, 0.0) > self._ctx.clock.now()


_MockEphemeral = type(
    "_MockEphemeral",
    (_MockEphemeralBase,),
    {"__module__": __name__, "__doc__": _MockEphemeralBase.__doc__, **_mock_methods(_api.EPHEMERAL)},
)


class _MockHttpBase(_MockApi):
    """Records requests in ``requests``; answers from ``mock_response`` patterns (first match wins)."""

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self.requests: list[dict[str, Any]] = []
        self._responses: list[tuple[str, int, str, dict[str, str] | None]] = []

    def mock_response(
        self, url_contains: str, *, status: int = 200, body: str = "", headers: dict[str, str] | None = None
    ) -> None:
        """Answer every request whose final URL contains ``url_contains`` with this status, body and headers."""
        self._responses.append((url_contains, status, body, headers))

    def _answer(self, method: str, url: str, headers: Any, body: Any, params: Any) -> dict[str, Any]:
        final = _api.url_with_params(url, params)
        self.requests.append({"method": method.upper(), "url": final, "headers": headers, "body": body})
        for pattern, status, text, hdrs in self._responses:
            if pattern in final:
                return {"status": status, "headers": dict(hdrs or {}), "body_bytes": text, "truncated": False}
        return {"status": 200, "headers": {}, "body_bytes": "", "truncated": False}

    def _do_request(self, method: str, url: str, headers: Any = None, body: Any = None, params: Any = None) -> Any:
        return self._answer(method, url, headers, body, params)

    def _do_get(self, url: str, headers: Any = None, params: Any = None) -> Any:
        return self._answer("GET", url, headers, None, params)

    def _do_post(self, url: str, body: Any = "", headers: Any = None, params: Any = None) -> Any:
        return self._answer("POST", url, headers, body, params)


_MockHttp = type(
    "_MockHttp",
    (_MockHttpBase,),
    {"__module__": __name__, "__doc__": _MockHttpBase.__doc__, **_mock_methods(_api.HTTP)},
)


class _MockMetricsBase(_MockApi):
    """Records data points in ``recorded``; queries return empty series."""

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self.recorded: list[dict[str, Any]] = []

    def _do_record(self, metric: str, value: Any = 1.0, tags: Any = None) -> None:
        self.recorded.append({"metric": metric, "value": value, "tags": tags})

    def _do_query(self, metric: str, period: str = "7d", group_by: Any = None, aggregate: str = "sum") -> Any:
        return {"labels": [], "series": [], "total": 0.0}

    def _do_total(self, metric: str, period: str = "30d") -> float:
        return 0.0


_MockMetrics = type(
    "_MockMetrics",
    (_MockMetricsBase,),
    {"__module__": __name__, "__doc__": _MockMetricsBase.__doc__, **_mock_methods(_api.METRICS)},
)


class _MockSecretsBase(_MockApi):
    """Per-server values over developer ``defaults`` (seed ``defaults`` in tests)."""

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self.defaults: dict[str, str] = {}
        self._values: dict[str, str] = {}

    def _do_get(self, key: str) -> str | None:
        if key in self._values:
            return self._values[key]
        return self.defaults.get(key)

    def _do_set(self, key: str, value: str) -> None:
        self._values[key] = value

    def _do_delete(self, key: str) -> None:
        self._values.pop(key, None)


_MockSecrets = type(
    "_MockSecrets",
    (_MockSecretsBase,),
    {"__module__": __name__, "__doc__": _MockSecretsBase.__doc__, **_mock_methods(_api.SECRETS)},
)


# -- the context --------------------------------------------------------------------------------


def _discord_list(name: str) -> property:
    return property(lambda self: getattr(self.discord, name), doc=f"Same list as ``ctx.discord.{name}``.")


class MockContext:
    """A ``ctx`` for tests: records every call, enforces an explicit capability list, no platform needed.

    ``capabilities=None`` grants every capability; an explicit list (even ``[]``) grants exactly those.
    """

    def __init__(
        self,
        server_id: str = "999999999",
        plugin_id: str = "test_plugin",
        version: str = "1.0.0",
        capabilities: list[str] | set[str] | None = None,
        clock: MockClock | None = None,
    ) -> None:
        self.server_id = server_id
        self.plugin_id = plugin_id
        self.version = version
        self.capabilities = set(ALL_CAPABILITIES) if capabilities is None else set(capabilities)
        self.clock = clock if clock is not None else MockClock()
        self.log_entries: list[dict[str, Any]] = []
        self._current_interaction_id = ""
        self._message_ids = 1
        self.discord = _MockDiscord(self)
        self.interaction = _MockInteraction(self)
        self.kv = _MockKv(self)
        self.sql = _MockSql(self)
        self.ephemeral = _MockEphemeral(self)
        self.http = _MockHttp(self)
        self.metrics = _MockMetrics(self)
        self.secrets = _MockSecrets(self)

    def _next_message_id(self) -> str:
        value = self._message_ids
        self._message_ids += 1
        return str(value)

    @property
    def request_id(self) -> str:
        return self._current_interaction_id

    def has_capability(self, cap: str) -> bool:
        return cap in self.capabilities

    def log(self, message: Any, level: str = "info", tags: list[str] | None = None, **extra: Any) -> None:
        self.log_entries.append({"message": message, "level": level, "tags": tags or [], **extra})

    messages_sent = _discord_list("messages_sent")
    messages_edited = _discord_list("messages_edited")
    messages_deleted = _discord_list("messages_deleted")
    messages_pinned = _discord_list("messages_pinned")
    messages_unpinned = _discord_list("messages_unpinned")
    reactions_added = _discord_list("reactions_added")
    roles_added = _discord_list("roles_added")
    roles_removed = _discord_list("roles_removed")
    members_banned = _discord_list("members_banned")
    members_kicked = _discord_list("members_kicked")
    members_timed_out = _discord_list("members_timed_out")

    @property
    def modals_sent(self) -> list[dict[str, Any]]:
        """Same list as ``ctx.interaction.modals_sent``."""
        return self.interaction.modals_sent

    def __repr__(self) -> str:
        return f"<MockContext server_id={self.server_id!r} plugin_id={self.plugin_id!r}>"


# -- helpers --------------------------------------------------------------------------------------


def dispatch(plugin: Any, event_type: str, event: dict[str, Any] | None = None, *, ctx: MockContext | None = None):
    """Run the handlers for ``event_type`` as production would (same filters, same order); return the ctx."""
    ctx = MockContext() if ctx is None else ctx
    event = make_event(event_type) if event is None else event
    previous = ctx._current_interaction_id
    if event_type == "interaction_create":
        ctx._current_interaction_id = str(event.get("interaction_id") or "")
    try:
        for handler in list(plugin._event_handlers.get(event_type, ())):
            handler(ctx, event)
    finally:
        ctx._current_interaction_id = previous
    return ctx


def run_ready(plugin: Any, *, ctx: MockContext | None = None) -> MockContext:
    """Run the ``on_ready`` handlers in registration order; return the ctx."""
    ctx = MockContext() if ctx is None else ctx
    for handler in list(plugin._ready_handlers):
        handler(ctx)
    return ctx


def tick(plugin: Any, name: str, *, ctx: MockContext | None = None) -> MockContext:
    """Run the ``@schedule`` or ``@cron`` function called ``name``; return the ctx."""
    entry = plugin._schedules.get(name) or plugin._crons.get(name)
    if entry is None:
        known = sorted([*plugin._schedules, *plugin._crons])
        raise ValueError(f"no @schedule or @cron function named {name!r}; known: {', '.join(known) or 'none'}")
    ctx = MockContext() if ctx is None else ctx
    entry[0](ctx)
    return ctx


def call_dashboard(
    plugin: Any, method_name: str, params: dict[str, Any] | None = None, *, ctx: MockContext | None = None
) -> Any:
    """Call the ``on_dashboard`` handler for ``method_name`` and return its result."""
    name = method_name[len("dashboard.") :] if method_name.startswith("dashboard.") else method_name
    handler = plugin._dashboards.get(name)
    if handler is None:
        known = ", ".join(sorted(plugin._dashboards)) or "none"
        raise ValueError(f"no @on_dashboard handler named {name!r}; known: {known}")
    return handler(MockContext() if ctx is None else ctx, dict(params or {}))
