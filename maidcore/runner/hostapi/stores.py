"""``kv.*``, ``sql.*``, ``ephemeral.*``, ``metrics.*`` and ``secrets.*``.

Each entry checks its params and maps the RPC onto the storage layer exactly
as contract §10.4 names params and result keys. Where a request is plain
arguments its validator is generated from the SDK's method tables
(``generated.validator``); the readers written here add what the spec rules
do not hold (KV value sizes and ``KvQuotaExceeded``, SQL parameter types,
metric tag maps).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from maidcore.errors import InvalidArgument
from maidcore.runner.hostapi.args import Args, kv_key, kv_value
from maidcore.runner.hostapi.generated import validator

if TYPE_CHECKING:
    from maidcore.runner.tenants import Tenant

Perform = Callable[[Any, "Tenant", dict[str, Any]], Awaitable[Any]]
Validator = Callable[[Args], dict[str, Any]]

METRIC_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.]{0,63}")
PERIODS = frozenset({"1h", "24h", "7d", "30d", "90d"})
AGGREGATES = frozenset({"sum", "count", "avg", "min", "max"})
RESERVED_METRIC_PREFIX = "maidcore."  # the runner records its per-plugin counters under it


# --- kv -------------------------------------------------------------------------


def _key(a: Args) -> dict[str, Any]:
    return {"key": kv_key(a.params.get("key"))}


def v_kv_put(a: Args) -> dict[str, Any]:
    return {
        "key": kv_key(a.params.get("key")),
        "value": kv_value(a.json_value("value")),
        "ttl_seconds": a.integer("ttl_seconds", default=0, clamp=(0, 2**31)),
    }


def v_kv_increment(a: Args) -> dict[str, Any]:
    return {
        "key": kv_key(a.params.get("key")),
        "path": a.text("path", default="", max_len=256) or "",
        "amount": a.number("amount", default=1),
    }


def v_kv_decr(a: Args) -> dict[str, Any]:
    return {"key": kv_key(a.params.get("key")), "amount": a.number("amount", default=1)}


def _prefix(a: Args) -> str:
    return a.text("prefix", default="", max_len=256) or ""


def v_kv_list(a: Args) -> dict[str, Any]:
    if a.boolean("count_only", default=False):
        return {"prefix": _prefix(a), "count_only": True}
    return v_kv_list_values(a)


def v_kv_list_values(a: Args) -> dict[str, Any]:
    start_after = a.params.get("start_after")
    return {
        "prefix": _prefix(a),
        "limit": a.integer("limit", default=100, clamp=(1, 100)),
        "start_after": None if start_after is None else a.text("start_after", max_len=256),
    }


def v_kv_mget(a: Args) -> dict[str, Any]:
    keys = a.params.get("keys")
    if not isinstance(keys, list):
        raise InvalidArgument("keys", "a list of keys")
    if len(keys) > 50:
        raise InvalidArgument("keys", f"a list of at most 50 keys (got {len(keys)})")
    return {"keys": [kv_key(k, f"keys[{i}]") for i, k in enumerate(keys)]}


def v_kv_mput(a: Args) -> dict[str, Any]:
    entries = a.mapping("entries", required=True)
    assert entries is not None
    if len(entries) > 25:
        raise InvalidArgument("entries", f"an object of at most 25 keys (got {len(entries)})")
    return {"entries": {kv_key(k, "entries key"): kv_value(v, f"entries[{k[:40]}]") for k, v in entries.items()}}


async def p_kv_get(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"value": await platform.storage.kv.get(tenant.scope, p["key"])}


async def p_kv_put(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    if p["value"] is None:  # the contract's kv.set(key, None) deletes; an older SDK may send it as a put
        await platform.storage.kv.delete(tenant.scope, p["key"])
    else:
        await platform.storage.kv.put(tenant.scope, p["key"], p["value"], p["ttl_seconds"])
    return {}


async def p_kv_del(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    await platform.storage.kv.delete(tenant.scope, p["key"])
    return {}


async def p_kv_increment(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"value": await platform.storage.kv.increment(tenant.scope, p["key"], p["amount"], p["path"])}


async def p_kv_decr(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"value": await platform.storage.kv.increment(tenant.scope, p["key"], -p["amount"], "")}


async def p_kv_list(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    if p.get("count_only"):
        return {"count": await platform.storage.kv.count(tenant.scope, p["prefix"])}
    keys = await platform.storage.kv.list_keys(tenant.scope, p["prefix"], p["limit"], p["start_after"])
    return {"keys": keys}


async def p_kv_list_values(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    values = await platform.storage.kv.list_values(tenant.scope, p["prefix"], p["limit"], p["start_after"])
    return {"values": values}


async def p_kv_mget(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"values": await platform.storage.kv.get_many(tenant.scope, p["keys"])}


async def p_kv_mput(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    await platform.storage.kv.put_many(tenant.scope, p["entries"])
    return {}


# --- sql ------------------------------------------------------------------------


def _sql_params(a: Args) -> list[Any]:
    params = a.params.get("params")
    if params is None:
        return []
    if not isinstance(params, list):
        raise InvalidArgument("params", "a list of values to bind")
    for index, value in enumerate(params):
        if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            raise InvalidArgument(f"params[{index}]", "a JSON value")
    return params


v_sql = validator("sql.execute", fields={"params": _sql_params})  # sql.query_one takes the same
v_sql_query = validator("sql.query", fields={"params": _sql_params})


async def p_sql_execute(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"rowcount": await platform.storage.sql.execute(tenant.scope, p["sql"], p["params"])}


async def p_sql_query(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    rows, truncated = await platform.storage.sql.query(tenant.scope, p["sql"], p["params"], p["limit"])
    return {"rows": rows, "truncated": bool(truncated)}


async def p_sql_query_one(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    rows, _ = await platform.storage.sql.query(tenant.scope, p["sql"], p["params"], 1)
    return {"row": rows[0] if rows else None}


# --- ephemeral --------------------------------------------------------------------


async def p_counter(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"count": await platform.storage.ephemeral.counter(tenant.scope, p["key"], p["window_seconds"])}


async def p_cooldown_set(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    await platform.storage.ephemeral.cooldown_set(tenant.scope, p["key"], p["ttl_seconds"])
    return {}


async def p_cooldown_check(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    active, remaining = await platform.storage.ephemeral.cooldown_check(tenant.scope, p["key"])
    return {"active": bool(active), "remaining_seconds": float(remaining)}


async def p_dedup(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"is_new": bool(await platform.storage.ephemeral.dedup(tenant.scope, p["key"], p["ttl_seconds"]))}


async def p_flag_set(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    await platform.storage.ephemeral.flag_set(tenant.scope, p["key"], p["ttl_seconds"])
    return {}


async def p_flag_check(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"active": bool(await platform.storage.ephemeral.flag_check(tenant.scope, p["key"]))}


# --- metrics ----------------------------------------------------------------------


def _metric(a: Args) -> str:
    name = a.params.get("metric")
    if not isinstance(name, str) or not METRIC_NAME.fullmatch(name):
        raise InvalidArgument("metric", "a name of 1-64 characters matching [a-zA-Z_][a-zA-Z0-9_.]*")
    return name


def v_metrics_record(a: Args) -> dict[str, Any]:
    tags = a.mapping("tags", default={}) or {}
    metric = _metric(a)
    if metric.startswith(RESERVED_METRIC_PREFIX):
        raise InvalidArgument("metric", f"a name not starting with {RESERVED_METRIC_PREFIX!r} (the platform's own)")
    return {
        "metric": metric,
        "value": float(a.number("value", default=1.0)),  # type: ignore[arg-type]
        "tags": {str(k)[:64]: str(v)[:256] for k, v in list(tags.items())[:10]},
    }


def v_metrics_query(a: Args) -> dict[str, Any]:
    return {
        "metric": _metric(a),
        "period": a.choice("period", PERIODS, default="7d"),
        "aggregate": a.choice("aggregate", AGGREGATES, default="sum"),
        "group_by": a.text("group_by", default=None, max_len=64) or None,
    }


v_metrics_total = validator("metrics.total")


async def p_metrics_record(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    await platform.storage.metrics.record(tenant.scope, p["metric"], p["value"], p["tags"])
    return {}


async def p_metrics_query(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return await platform.storage.metrics.query(tenant.scope, p["metric"], p["period"], p["aggregate"], p["group_by"])


async def p_metrics_total(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"total": float(await platform.storage.metrics.total(tenant.scope, p["metric"], p["period"]))}


# --- secrets ------------------------------------------------------------------------


v_secret_key = validator("secrets.get")  # secrets.del takes the same
v_secret_set = validator("secrets.set")


async def p_secret_get(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    return {"value": await platform.storage.secrets.get(tenant.scope, p["key"])}


async def p_secret_set(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    await platform.storage.secrets.set(tenant.scope, p["key"], p["value"])
    return {}


async def p_secret_del(platform: Any, tenant: Tenant, p: dict[str, Any]) -> Any:
    await platform.storage.secrets.delete(tenant.scope, p["key"])
    return {}


TABLE: dict[str, tuple[Validator, Perform]] = {
    "kv.get": (_key, p_kv_get),
    "kv.put": (v_kv_put, p_kv_put),
    "kv.del": (_key, p_kv_del),
    "kv.increment": (v_kv_increment, p_kv_increment),
    "kv.decr": (v_kv_decr, p_kv_decr),
    "kv.list": (v_kv_list, p_kv_list),
    "kv.list_values": (v_kv_list_values, p_kv_list_values),
    "kv.mget": (v_kv_mget, p_kv_mget),
    "kv.mput": (v_kv_mput, p_kv_mput),
    "sql.execute": (v_sql, p_sql_execute),
    "sql.query": (v_sql_query, p_sql_query),
    "sql.query_one": (v_sql, p_sql_query_one),
    "ephemeral.counter": (validator("ephemeral.counter"), p_counter),
    "ephemeral.cooldown_set": (validator("ephemeral.cooldown_set"), p_cooldown_set),
    "ephemeral.cooldown_check": (validator("ephemeral.cooldown_check"), p_cooldown_check),
    "ephemeral.dedup": (validator("ephemeral.dedup"), p_dedup),
    "ephemeral.flag_set": (validator("ephemeral.flag_set"), p_flag_set),
    "ephemeral.flag_check": (validator("ephemeral.flag_check"), p_flag_check),
    "metrics.record": (v_metrics_record, p_metrics_record),
    "metrics.query": (v_metrics_query, p_metrics_query),
    "metrics.total": (v_metrics_total, p_metrics_total),
    "secrets.get": (v_secret_key, p_secret_get),
    "secrets.set": (v_secret_set, p_secret_set),
    "secrets.del": (v_secret_key, p_secret_del),
}
