"""Test plugins without a platform: ``MockContext`` records every call, ``make_event`` builds events.

The mocks behave like the official testing kit's: what they record (keys and values as passed),
what they return, the capability check (``strict_capabilities=True``: a call without its
capability raises ``CapabilityError``; the default grant is every capability but
``events:message_content`` and ``proxy:websocket``) and the few local rules they apply
(``kv.list`` returns at most 100 keys). The capability each method needs comes from
``yourbot_sdk.spec``, the table the real ``ctx`` is generated from. Additions over the official
kit: ``dispatch``, ``run_ready``, ``tick``, ``call_dashboard``, ``ctx.http.allow_host``, the
``secrets.defaults`` seed and the ``messages_pinned``-style shortcuts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from . import _canned
from ._context import QueryResult
from ._exceptions import CapabilityError
from .events import make_event
from .spec.capabilities import MOCK_DEFAULT_GRANT
from .spec.methods import NAMESPACES, RPC_METHODS

__all__ = [
    "MockClock",
    "MockContext",
    "call_dashboard",
    "canned_answer",
    "canned_result",
    "dispatch",
    "make_event",
    "run_ready",
    "tick",
]

KV_LIST_CAP = 100


def canned_answer(method: str, params: dict[str, Any], new_id: Callable[[str], str], *, server_id: str = "999") -> Any:
    """What ``ctx.<method>`` returns in ``MockContext`` for ``params`` (``"discord.get_guild"``); ``None``: nothing.

    ``new_id(kind)`` hands out the next id of a kind (message, channel, thread, webhook, followup), so a
    caller numbering them as ``MockContext`` does (messages from 1, channels from 100, threads from 200,
    webhooks from 300, follow-ups from 1) gets the same ids a plugin's unit tests saw.
    """
    return _canned.answer(method, params, new_id, server_id=server_id)


def canned_result(
    rpc: str, params: dict[str, Any], new_id: Callable[[str], str], *, server_id: str = "999"
) -> dict[str, Any] | list[Any]:
    """The result a host sends for the ``discord.*``/``interaction.*`` request ``rpc`` so that the SDK returns
    ``canned_answer``: wrapped under the key the method's result is read from (``{"guild": {...}}``), whole
    otherwise, ``{}`` for methods that return nothing. A replaying host answers with this.
    """
    value = canned_answer(rpc, params, new_id, server_id=server_id)
    if value is None:
        return {}
    kinds = [m.result for m in RPC_METHODS.get(rpc, ()) if m.result != "none"]
    if kinds and kinds[0].startswith("key:"):
        return {kinds[0][4:]: value}
    return value


class MockClock:
    """Time for the mocks: the wall clock by default, or frozen at ``start`` and moved only by ``advance()``."""

    def __init__(self, start: float | None = None) -> None:
        self._start = start
        self._now = start

    def now(self) -> float:
        return time.time() if self._now is None else self._now

    def advance(self, seconds: float) -> None:
        if self._now is None:
            raise RuntimeError(
                "MockClock() follows the wall clock and cannot be advanced; create MockClock(start=<epoch>) instead"
            )
        self._now += seconds


def _caps(namespace: str) -> dict[str, str]:
    """Method name -> capability for one ctx namespace (from the spec tables)."""
    return {m.name: m.capability for m in NAMESPACES[namespace] if m.capability}


class _CapGuard:
    """``ctx.<namespace>`` of a ``MockContext``: checks the capability, then calls the mock.

    Attributes resolve on the mock (so replacing ``_MockDiscord.get_guild`` at class level keeps the
    check); assigning on the guard (``ctx.discord.get_guild = fake``) replaces the method outright.
    """

    def __init__(self, target: Any, caps: dict[str, str], has_cap: Callable[[str], bool] | None) -> None:
        self._target = target
        self._caps = caps
        self._has_cap = has_cap

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        cap = self._caps.get(name)
        if cap is None or self._has_cap is None or not callable(attr):
            return attr
        has_cap = self._has_cap

        def _wrapped(*args: Any, **kwargs: Any) -> Any:
            if not has_cap(cap):
                raise CapabilityError(
                    f"capability {cap} required for {name}() — grant it with "
                    f"MockContext(capabilities=['{cap}', ...]) or add it to your manifest"
                )
            return attr(*args, **kwargs)

        _wrapped.__name__ = name
        _wrapped.__doc__ = getattr(attr, "__doc__", None)
        return _wrapped

    def __repr__(self) -> str:
        return f"<capability-checked {type(self._target).__name__}>"


# -- discord -------------------------------------------------------------------------------------

_DISCORD_LISTS = (
    "messages_sent",
    "messages_edited",
    "messages_deleted",
    "messages_pinned",
    "messages_unpinned",
    "reactions_added",
    "roles_added",
    "roles_removed",
    "members_banned",
    "members_unbanned",
    "members_kicked",
    "members_timed_out",
    "nicknames_set",
    "channels_created",
    "channels_edited",
    "channels_deleted",
    "threads_created",
    "threads_edited",
    "permissions_set",
    "permissions_deleted",
    "webhooks_created",
    "webhooks_executed",
    "webhooks_deleted",
)


def _id_number(message: dict[str, Any]) -> int:
    try:
        return int(message.get("id") or 0)
    except (TypeError, ValueError):
        return 0


class _MockDiscord:
    """``ctx.discord`` of a ``MockContext``: records each action in a list, returns canned reads."""

    def __init__(self) -> None:
        for name in _DISCORD_LISTS:
            setattr(self, name, [])
        self._message_store: list[dict[str, Any]] = []
        self._message_ids = 0
        self._webhook_message_ids = 0
        self._channel_ids = 100
        self._thread_ids = 200
        self._webhook_ids = 300

    # messages
    def send_message(
        self, *, channel_id: str, content: str = "", embeds=None, components=None, files=None, allowed_mentions=None
    ) -> dict[str, Any]:
        self._message_ids += 1
        message_id = str(self._message_ids)
        self.messages_sent.append(
            {
                "channel_id": channel_id,
                "content": content,
                "embeds": embeds,
                "components": components,
                "files": files,
                "allowed_mentions": allowed_mentions,
                "message_id": message_id,
            }
        )
        return {"ok": True, "message_id": message_id, "channel_id": channel_id}

    def edit_message(
        self, *, channel_id: str, message_id: str, content=None, embeds=None, components=None, allowed_mentions=None
    ) -> dict[str, Any]:
        self.messages_edited.append(
            {
                "channel_id": channel_id,
                "message_id": message_id,
                "content": content,
                "embeds": embeds,
                "components": components,
                "allowed_mentions": allowed_mentions,
            }
        )
        return {"ok": True}

    def pin_message(self, *, channel_id: str, message_id: str) -> None:
        self.messages_pinned.append({"channel_id": channel_id, "message_id": message_id})

    def unpin_message(self, *, channel_id: str, message_id: str) -> None:
        self.messages_unpinned.append({"channel_id": channel_id, "message_id": message_id})

    def delete_message(self, *, channel_id: str, message_id: str) -> None:
        self.messages_deleted.append({"channel_id": channel_id, "message_id": message_id})

    def bulk_delete_messages(self, *, channel_id: str, message_ids: list[str]) -> None:
        for message_id in message_ids:
            self.messages_deleted.append({"channel_id": channel_id, "message_id": message_id})

    def add_reaction(self, *, channel_id: str, message_id: str, emoji: str) -> None:
        self.reactions_added.append({"channel_id": channel_id, "message_id": message_id, "emoji": emoji})

    # reads
    def set_messages(self, messages: list[dict[str, Any]]) -> None:
        """The history ``get_messages``/``iter_messages`` page through (any order; sorted by id)."""
        self._message_store = list(messages)

    def get_messages(self, *, channel_id: str, limit=50, before=None, after=None) -> list[dict[str, Any]]:
        limit = min(int(limit), 50)
        ordered = sorted(self._message_store, key=_id_number)
        if after is not None:
            page = [m for m in ordered if _id_number(m) > int(after)][:limit]
            return list(reversed(page))
        newest = list(reversed(ordered))
        if before is not None:
            newest = [m for m in newest if _id_number(m) < int(before)]
        return newest[:limit]

    def iter_messages(self, *, channel_id: str, batch_size: int = 50, before=None, after=None):
        size = max(1, min(int(batch_size), 50))
        forward = after is not None
        cursor = after if forward else before
        while True:
            if forward:
                page = self.get_messages(channel_id=channel_id, limit=size, after=cursor)
            else:
                page = self.get_messages(channel_id=channel_id, limit=size, before=cursor)
            yield from page
            if len(page) < size:
                return
            cursor = max(page, key=_id_number).get("id") if forward else page[-1].get("id")
            if cursor is None:
                return

    def get_guild(self) -> dict[str, Any]:
        return _canned.guild()

    def get_channel(self, *, channel_id: str) -> dict[str, Any]:
        return _canned.channel(channel_id)

    def list_channels(self) -> list[dict[str, Any]]:
        return _canned.channels()

    def get_member(self, *, user_id: str) -> dict[str, Any]:
        return _canned.member(user_id)

    def list_members(self, *, role_id=None, limit=100, after=None) -> list[dict[str, Any]]:
        return []

    def search_members(self, query: str, *, limit=25) -> list[dict[str, Any]]:
        return []

    def list_roles(self) -> list[dict[str, Any]]:
        return _canned.roles()

    # channels and threads
    def create_channel(self, *, name: str, channel_type: int = 0, **kwargs: Any) -> dict[str, Any]:
        channel = {"id": str(self._channel_ids), "name": name, "type": channel_type, **kwargs}
        self._channel_ids += 1
        self.channels_created.append(channel)
        return channel

    def edit_channel(self, *, channel_id: str, **kwargs: Any) -> None:
        self.channels_edited.append({"channel_id": channel_id, **kwargs})

    def delete_channel(self, *, channel_id: str) -> None:
        self.channels_deleted.append({"channel_id": channel_id})

    def set_channel_permissions(
        self, *, channel_id: str, target_id: str, allow: str = "0", deny: str = "0", target_type: int = 0
    ) -> None:
        self.permissions_set.append(
            {"channel_id": channel_id, "target_id": target_id, "allow": allow, "deny": deny, "target_type": target_type}
        )

    def delete_channel_permission(self, *, channel_id: str, target_id: str) -> None:
        self.permissions_deleted.append({"channel_id": channel_id, "target_id": target_id})

    def create_thread(
        self, *, channel_id: str, name: str, thread_type: int = 11, auto_archive_duration: int = 1440
    ) -> dict[str, Any]:
        thread = {"id": str(self._thread_ids), "name": name, "type": thread_type, "archived": False}
        self._thread_ids += 1
        self.threads_created.append(thread)
        return thread

    def edit_thread(self, *, thread_id: str, **kwargs: Any) -> None:
        self.threads_edited.append({"thread_id": thread_id, **kwargs})

    # moderation
    def timeout_member(self, *, user_id: str, duration_seconds: int, reason: str = "") -> None:
        self.members_timed_out.append({"user_id": user_id, "duration_seconds": duration_seconds, "reason": reason})

    def set_nickname(self, *, user_id: str, nickname: str | None = None) -> None:
        self.nicknames_set.append({"user_id": user_id, "nickname": nickname})

    def timeout_bulk(self, *, user_ids: list[str], duration_seconds: int, reason: str = "") -> dict[str, Any]:
        for user_id in user_ids:
            self.timeout_member(user_id=user_id, duration_seconds=duration_seconds, reason=reason)
        return {"success": len(user_ids), "failed": 0, "errors": []}

    def ban_member(self, *, user_id: str, reason: str = "", delete_message_seconds: int = 0) -> None:
        self.members_banned.append({"user_id": user_id, "reason": reason})

    def unban_member(self, *, user_id: str) -> None:
        self.members_unbanned.append({"user_id": user_id})

    def kick_member(self, *, user_id: str, reason: str = "") -> None:
        self.members_kicked.append({"user_id": user_id, "reason": reason})

    def kick_bulk(self, *, user_ids: list[str], reason: str = "") -> dict[str, Any]:
        for user_id in user_ids:
            self.kick_member(user_id=user_id, reason=reason)
        return {"success": len(user_ids), "failed": 0, "errors": []}

    def add_role(self, *, user_id: str, role_id: str, reason: str = "") -> None:
        self.roles_added.append({"user_id": user_id, "role_id": role_id, "reason": reason})

    def remove_role(self, *, user_id: str, role_id: str, reason: str = "") -> None:
        self.roles_removed.append({"user_id": user_id, "role_id": role_id, "reason": reason})

    def add_role_bulk(self, *, user_ids: list[str], role_id: str, reason: str = "") -> dict[str, Any]:
        for user_id in user_ids:
            self.add_role(user_id=user_id, role_id=role_id, reason=reason)
        return {"success": len(user_ids), "failed": 0, "errors": []}

    def remove_role_bulk(self, *, user_ids: list[str], role_id: str, reason: str = "") -> dict[str, Any]:
        for user_id in user_ids:
            self.remove_role(user_id=user_id, role_id=role_id, reason=reason)
        return {"success": len(user_ids), "failed": 0, "errors": []}

    # webhooks
    def create_webhook(self, *, channel_id: str, name: str) -> dict[str, Any]:
        hook = {"id": str(self._webhook_ids), "token": "mock_token", "channel_id": channel_id, "name": name}
        self._webhook_ids += 1
        self.webhooks_created.append(hook)
        return hook

    def execute_webhook(
        self, *, webhook_id: str, webhook_token: str, content: str = "", embeds=None, username=None, avatar_url=None
    ) -> dict[str, Any]:
        self._webhook_message_ids += 1
        self.webhooks_executed.append(
            {"webhook_id": webhook_id, "content": content, "embeds": embeds, "username": username}
        )
        return {"message_id": str(self._webhook_message_ids)}

    def delete_webhook(self, *, webhook_id: str) -> None:
        self.webhooks_deleted.append({"webhook_id": webhook_id})


# -- interaction ----------------------------------------------------------------------------------


class _MockInteraction:
    """``ctx.interaction`` of a ``MockContext``: ``responses``, ``followups``, ``defers``, ``modals_sent``."""

    def __init__(self) -> None:
        self.responses: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.defers: list[dict[str, Any]] = []
        self.modals_sent: list[dict[str, Any]] = []

    def respond(
        self,
        *,
        content: str = "",
        embeds=None,
        components=None,
        ephemeral: bool = False,
        allowed_mentions=None,
        update_message: bool = False,
    ) -> None:
        self.responses.append(
            {
                "content": content,
                "embeds": embeds,
                "components": components,
                "ephemeral": ephemeral,
                "allowed_mentions": allowed_mentions,
                "update_message": update_message,
            }
        )

    def defer(self, *, ephemeral: bool = False) -> None:
        self.defers.append({"ephemeral": ephemeral})

    def followup(
        self, *, content: str = "", embeds=None, components=None, ephemeral: bool = False, allowed_mentions=None
    ) -> dict[str, Any]:
        message_id = str(len(self.followups) + 1)
        self.followups.append(
            {
                "content": content,
                "embeds": embeds,
                "components": components,
                "ephemeral": ephemeral,
                "allowed_mentions": allowed_mentions,
                "message_id": message_id,
            }
        )
        return {"message_id": message_id, "channel_id": ""}

    def send_modal(self, *, title: str, custom_id: str, fields=None) -> None:
        self.modals_sent.append({"title": title, "custom_id": custom_id, "fields": fields})


# -- kv ---------------------------------------------------------------------------------------------


class _MockKv:
    """An in-memory KV store; TTLs follow the context's clock; every write is appended to ``writes``."""

    def __init__(self, clock: MockClock | None = None) -> None:
        self._store: dict[str, Any] = {}
        self._ttls: dict[str, float] = {}
        self._lock = threading.RLock()
        self._clock = clock or MockClock()
        self.writes: list[dict[str, Any]] = []

    def _is_expired(self, key: str) -> bool:
        expires = self._ttls.get(key)
        if expires is not None and self._clock.now() > expires:
            self._store.pop(key, None)
            self._ttls.pop(key, None)
            return True
        return False

    def _live_keys(self) -> list[str]:
        return [k for k in list(self._store) if not self._is_expired(k)]

    def get(self, key: str) -> Any:
        with self._lock:
            if self._is_expired(key):
                return None
            return self._store.get(key)

    def set(self, key: str, value: Any, *, ttl_seconds: int = 0) -> None:
        with self._lock:
            self.writes.append({"op": "set", "key": key, "value": value, "ttl_seconds": ttl_seconds})
            self._store[key] = value
            if ttl_seconds and ttl_seconds > 0:
                self._ttls[key] = self._clock.now() + ttl_seconds
            else:
                self._ttls.pop(key, None)

    def delete(self, key: str) -> None:
        with self._lock:
            self.writes.append({"op": "delete", "key": key})
            self._store.pop(key, None)
            self._ttls.pop(key, None)

    def exists(self, key: str) -> bool:
        with self._lock:
            return not self._is_expired(key) and key in self._store

    def increment(self, key: str, amount: int = 1, *, path: str = "") -> Any:
        with self._lock:
            self.writes.append({"op": "increment", "key": key, "path": path, "amount": amount})
            self._is_expired(key)
            current = self._store.get(key)
            if path:
                if not isinstance(current, dict):
                    current = {}
                    self._store[key] = current
                leaf = current.get(path, 0)
                current[path] = new = (leaf if isinstance(leaf, (int, float)) else 0) + amount
                return new
            base = current if isinstance(current, (int, float)) and not isinstance(current, bool) else 0
            self._store[key] = new = base + amount
            return new

    def decrement(self, key: str, amount: int = 1) -> int:
        return self.increment(key, -amount)

    def list(self, prefix: str = "", limit: int = 100, *, start_after: str = "") -> list[str]:
        with self._lock:
            keys = sorted(k for k in self._live_keys() if k.startswith(prefix) and (not start_after or k > start_after))
            return keys[: min(limit, KV_LIST_CAP)]

    def list_values(self, prefix: str = "", limit: int = 100, *, start_after: str = "") -> dict[str, Any]:
        """``start_after`` is an addition (the official mock has none): pages like ``list``."""
        with self._lock:
            keys = sorted(k for k in self._live_keys() if k.startswith(prefix) and (not start_after or k > start_after))
            keys = keys[:limit]
            return {k: self._store[k] for k in keys}

    def count(self, prefix: str = "") -> int:
        with self._lock:
            return sum(1 for k in self._live_keys() if k.startswith(prefix))

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        with self._lock:
            return {k: self._store[k] for k in keys if not self._is_expired(k) and k in self._store}

    def set_many(self, entries: dict[str, Any]) -> None:
        for key, value in entries.items():
            self.set(key, value)


# -- sql, ephemeral, http, metrics, secrets, ws ------------------------------------------------------


class _MockSql:
    """Records statements in ``executed``; returns empty results (seed data by replacing a method)."""

    def __init__(self) -> None:
        self.executed: list[dict[str, Any]] = []

    def execute(self, sql: str, params: list | None = None) -> int:
        self.executed.append({"sql": sql, "params": params})
        return 0

    def query(self, sql: str, params: list | None = None, *, limit: int = 1000) -> QueryResult:
        self.executed.append({"sql": sql, "params": params, "limit": limit})
        return QueryResult([])

    def query_one(self, sql: str, params: list | None = None) -> dict[str, Any] | None:
        self.executed.append({"sql": sql, "params": params})
        return None

    def scalar(self, sql: str, params: list | None = None) -> Any:
        self.executed.append({"sql": sql, "params": params})
        return None


class _MockEphemeral:
    """Counters (sliding window), cooldowns, dedup and flags on the context's clock."""

    def __init__(self, clock: MockClock | None = None) -> None:
        self._counter_hits: dict[str, list[float]] = {}
        self._cooldowns: dict[str, float] = {}
        self._seen: dict[str, float] = {}
        self._flags: dict[str, float] = {}
        self._clock = clock or MockClock()

    def counter(self, key: str, window_seconds: int = 60) -> int:
        now = self._clock.now()
        hits = [t for t in self._counter_hits.get(key, []) if t > now - window_seconds]
        hits.append(now)
        self._counter_hits[key] = hits
        return len(hits)

    def cooldown_set(self, key: str, ttl_seconds: int = 60) -> None:
        self._cooldowns[key] = self._clock.now() + ttl_seconds

    def cooldown_check(self, key: str) -> dict[str, Any]:
        expires = self._cooldowns.get(key)
        now = self._clock.now()
        if expires is not None and now < expires:
            return {"active": True, "remaining_seconds": float(expires - now)}
        return {"active": False, "remaining_seconds": 0}

    def dedup(self, key: str, ttl_seconds: int = 3600) -> bool:
        now = self._clock.now()
        expires = self._seen.get(key)
        if expires is not None and now < expires:
            return False
        self._seen[key] = now + ttl_seconds
        return True

    def flag_set(self, key: str, ttl_seconds: int = 3600) -> None:
        self._flags[key] = self._clock.now() + ttl_seconds

    def flag_check(self, key: str) -> bool:
        expires = self._flags.get(key)
        return expires is not None and self._clock.now() < expires


class _MockHttp:
    """Records requests in ``requests``; answers from ``mock_response`` patterns (first match on the URL wins)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._mock_responses: list[tuple[str, dict[str, Any]]] = []

    def mock_response(
        self, url_contains: str, *, status: int = 200, body: str = "", headers: dict | None = None
    ) -> None:
        """Answer every request whose URL contains ``url_contains`` with this status, body and headers."""
        self._mock_responses.append((url_contains, {"status": status, "body_bytes": body, "headers": headers or {}}))

    def _answer(self, method: str, url: str, headers, body, params, secret_auth=None, auth=None) -> dict[str, Any]:
        self.requests.append(
            {
                "method": method,
                "url": url,
                "headers": headers,
                "body": body,
                "params": params,
                "secret_auth": secret_auth,
                "auth": auth,
            }
        )
        for pattern, response in self._mock_responses:
            if pattern in url:
                return {**response, "truncated": False}
        return {"status": 200, "body_bytes": "", "headers": {}, "truncated": False}  # the official key order

    def request(
        self, method: str, url: str, *, headers=None, body=None, params=None, secret_auth=None, auth=None
    ) -> dict[str, Any]:
        return self._answer(method, url, headers, body, params, secret_auth, auth)

    def get(self, url: str, *, headers=None, params=None) -> dict[str, Any]:
        return self._answer("GET", url, headers, None, params)

    def post(self, url: str, *, body: str, headers=None, params=None) -> dict[str, Any]:
        return self._answer("POST", url, headers, body, params)

    def allow_host(self, host: str) -> dict[str, Any]:
        """Recorded in ``allowed_hosts`` (an addition: the official kit has no HTTP host grants)."""
        self.__dict__.setdefault("allowed_hosts", []).append(host)
        return {"ok": True, "host": host}

    def revoke_host(self, host: str) -> dict[str, Any]:
        self.__dict__.setdefault("revoked_hosts", []).append(host)
        return {"ok": True, "host": host}


class _MockMetrics:
    """Records data points in ``recorded``; queries return empty series."""

    def __init__(self) -> None:
        self.recorded: list[dict[str, Any]] = []

    def record(self, metric: str, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        self.recorded.append({"metric": metric, "value": value, "tags": tags or {}})

    def query(self, metric: str, *, period: str = "7d", group_by: str | None = None, aggregate: str = "sum") -> Any:
        return {"labels": [], "series": [], "total": 0}

    def total(self, metric: str, *, period: str = "30d") -> float:
        return 0.0


class _MockSecrets:
    """Per-server secret values; ``defaults`` (an addition) seeds what ``get`` returns for unset keys."""

    def __init__(self) -> None:
        self._store: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def defaults(self) -> dict[str, str]:
        return self.__dict__.setdefault("_defaults", {})

    def get(self, key: str) -> str | None:
        with self._lock:
            if key in self._store:
                return self._store[key]
            return self.__dict__.get("_defaults", {}).get(key)

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._store[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._store.pop(key, None)


class _MockWs:
    """Records ``ensured``, ``sent``, ``closed``, ``allowed_hosts`` and ``revoked_hosts``."""

    def __init__(self) -> None:
        self.ensured: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.closed: list[str] = []
        self.allowed_hosts: list[str] = []
        self.revoked_hosts: list[str] = []

    def ensure(self, name: str, url: str, *, secret_auth=None, auth=None, subscribe=None, binary: bool = False):
        self.ensured.append(
            {
                "name": name,
                "url": url,
                "secret_auth": secret_auth,
                "auth": auth,
                "subscribe": subscribe,
                "binary": binary,
            }
        )
        return {"conn_id": f"mock-{name}", "name": name, "state": "connecting"}

    def send(self, name: str, data: Any) -> dict[str, Any]:
        self.sent.append({"name": name, "data": data})
        return {"ok": True}

    def close(self, name: str) -> dict[str, Any]:
        self.closed.append(name)
        return {"ok": True}

    def allow_host(self, host: str) -> dict[str, Any]:
        self.allowed_hosts.append(host)
        return {"ok": True, "host": host}

    def revoke_host(self, host: str) -> dict[str, Any]:
        self.revoked_hosts.append(host)
        return {"ok": True, "host": host}


# -- the context ------------------------------------------------------------------------------------


def _discord_list(name: str) -> property:
    return property(lambda self: getattr(self.discord, name), doc=f"Same list as ``ctx.discord.{name}``.")


class MockContext:
    """A ``ctx`` for tests: records every call and checks capabilities like the platform.

    ``capabilities=None`` grants every capability but ``events:message_content`` and
    ``proxy:websocket``; a list (even ``[]``) grants exactly those. ``strict_capabilities=False``
    turns the check off.
    """

    def __init__(
        self,
        server_id: str = "999999999",
        plugin_id: str = "test_plugin",
        version: str = "1.0.0",
        capabilities: list[str] | None = None,
        clock: MockClock | None = None,
        strict_capabilities: bool = True,
    ) -> None:
        self.server_id = server_id
        self.plugin_id = plugin_id
        self.version = version
        self.capabilities = set(MOCK_DEFAULT_GRANT if capabilities is None else capabilities)
        self.strict_capabilities = strict_capabilities
        self.clock = clock if clock is not None else MockClock()
        self.log_entries: list[dict[str, Any]] = []
        self._current_interaction_id: str | None = None
        check = self.has_capability if strict_capabilities else None
        self.discord = _CapGuard(_MockDiscord(), _caps("discord"), check)
        self.interaction = _CapGuard(_MockInteraction(), _caps("interaction"), check)
        self.kv = _CapGuard(_MockKv(self.clock), _caps("kv"), check)
        self.sql = _CapGuard(_MockSql(), _caps("sql"), check)
        self.ephemeral = _MockEphemeral(self.clock)
        self.http = _CapGuard(_MockHttp(), _caps("http"), check)
        self.metrics = _MockMetrics()
        self.secrets = _CapGuard(_MockSecrets(), _caps("secrets"), check)
        self.ws = _CapGuard(_MockWs(), _caps("ws"), check)

    @property
    def request_id(self) -> str:
        return self._current_interaction_id or ""

    def has_capability(self, cap: str) -> bool:
        return cap in self.capabilities

    def log(self, message: str, *, level: str = "info", tags: list[str] | None = None, **extra: Any) -> None:
        self.log_entries.append({"message": message, "level": level, "tags": tags or [], **extra})

    @property
    def log_lines(self) -> list[str]:
        """The messages of ``log_entries``, in order."""
        return [entry["message"] for entry in self.log_entries]

    @property
    def kv_writes(self) -> list[dict[str, Any]]:
        """Every KV write in order: ``{"op": "set"|"delete"|"increment", "key", ...}``."""
        return self.kv.writes

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


# -- helpers (additions) -------------------------------------------------------------------------------


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
    fn = plugin._task(name)
    if fn is None:
        known = sorted({f.__name__ for f, _ in (*plugin._scheduled_tasks, *plugin._cron_tasks)})
        raise ValueError(f"no @schedule or @cron function named {name!r}; known: {', '.join(known) or 'none'}")
    ctx = MockContext() if ctx is None else ctx
    fn(ctx)
    return ctx


def call_dashboard(
    plugin: Any, method_name: str, params: dict[str, Any] | None = None, *, ctx: MockContext | None = None
) -> Any:
    """Call the ``on_dashboard`` handler for ``method_name`` and return its result."""
    name = method_name.removeprefix("dashboard.")
    handler = plugin._dashboard(name)
    if handler is None:
        known = ", ".join(sorted(plugin._dashboard_handlers)) or "none"
        raise ValueError(f"no @on_dashboard handler named {name!r}; known: {known}")
    return handler(MockContext() if ctx is None else ctx, dict(params or {}))
