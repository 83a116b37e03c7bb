"""ctx.kv: the per (plugin, server) JSON store (contract §4.4)."""

from __future__ import annotations

from .. import _checks as C
from .._api import Method
from .._errors import ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _kv_key_check(a: dict[str, Any]) -> None:
    C.kv_key(a["key"])


def _kv_set_check(a: dict[str, Any]) -> None:
    C.kv_key(a["key"])
    C.integer("ttl_seconds", a["ttl_seconds"], minimum=0)
    if a["value"] is not None:
        C.kv_value(a["key"], a["value"])


def _kv_set_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if p.get("value") is None:
        return "kv.del", {"key": p["key"]}
    if not p.get("ttl_seconds"):
        p.pop("ttl_seconds", None)
    return "kv.put", p


def _kv_incr_check(a: dict[str, Any]) -> None:
    C.kv_key(a["key"])
    C.number("amount", a["amount"])
    if "path" in a and not isinstance(a["path"], str):
        raise ValidationError(f"invalid path: expected a dotted string, got {a['path']!r}")


def _kv_list_check(a: dict[str, Any]) -> None:
    if not isinstance(a["prefix"], str):
        raise ValidationError(f"invalid prefix: expected a string, got {a['prefix']!r}")
    if a.get("start_after") is not None and not isinstance(a["start_after"], str):
        raise ValidationError(f"invalid start_after: expected a key string, got {a['start_after']!r}")


def _kv_count_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "kv.list", {"prefix": p["prefix"], "limit": 0, "count_only": True}


def _kv_get_many_check(a: dict[str, Any]) -> None:
    keys = a["keys"]
    if isinstance(keys, (str, bytes, dict)) or not hasattr(keys, "__iter__"):
        raise ValidationError("invalid keys: expected a list of keys")
    keys = list(keys)
    if len(keys) > 50:
        raise ValidationError(f"invalid keys: get_many takes at most 50 keys, got {len(keys)}")
    for k in keys:
        C.kv_key(k)


def _kv_get_many_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "kv.mget", {"keys": list(p["keys"])}


def _kv_set_many_check(a: dict[str, Any]) -> None:
    entries = a["entries"]
    if not isinstance(entries, dict):
        raise ValidationError(f"invalid entries: expected a dict of key -> value, got {type(entries).__name__}")
    if len(entries) > 25:
        raise ValidationError(f"invalid entries: set_many takes at most 25 pairs, got {len(entries)}")
    for k, v in entries.items():
        C.kv_key(k)
        C.kv_value(k, v)


_KV = "storage:kv"


KV: tuple[Method, ...] = (
    Method("kv", "get", "key", _KV, "value", doc="The value, or None if missing or expired.", check=_kv_key_check),
    Method(
        "kv",
        "set",
        "key, value, *, ttl_seconds=0",
        _KV,
        doc="Store a JSON value (None deletes); ttl_seconds=0 means no expiry.",
        check=_kv_set_check,
        wire=_kv_set_wire,
        keep_none=("value",),
    ),
    Method("kv", "delete", "key", _KV, rpc="kv.del", check=_kv_key_check),
    Method(
        "kv",
        "exists",
        "key",
        _KV,
        rpc="kv.get",
        check=_kv_key_check,
        decode=lambda r: isinstance(r, dict) and r.get("value") is not None,
    ),
    Method(
        "kv",
        "increment",
        "key, amount=1, *, path=''",
        _KV,
        "value",
        doc="Atomically add amount (at a dotted path inside an object); returns the new value.",
        check=_kv_incr_check,
    ),
    Method("kv", "decrement", "key, amount=1", _KV, "value", rpc="kv.decr", check=_kv_incr_check),
    Method(
        "kv",
        "list",
        "prefix='', limit=100, *, start_after=None",
        _KV,
        "keys",
        doc="Up to 100 keys in ascending order; page with start_after=<last key>.",
        clamps={"limit": (1, 100)},
        check=_kv_list_check,
    ),
    Method(
        "kv",
        "list_values",
        "prefix='', limit=100, *, start_after=None",
        _KV,
        "values",
        clamps={"limit": (1, 100)},
        check=_kv_list_check,
    ),
    Method(
        "kv",
        "count",
        "prefix=''",
        _KV,
        "count",
        check=lambda a: _kv_list_check({**a, "start_after": None}),
        wire=_kv_count_wire,
    ),
    Method("kv", "get_many", "keys", _KV, "values", check=_kv_get_many_check, wire=_kv_get_many_wire),
    Method("kv", "set_many", "entries", _KV, rpc="kv.mput", check=_kv_set_many_check),
)


METHODS = KV
