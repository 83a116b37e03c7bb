"""ctx.sql: the private Postgres schema (contract §4.5)."""

from __future__ import annotations

from .. import _checks as C
from .._api import Method, SqlRows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _sql_check(a: dict[str, Any]) -> None:
    C.sql_params(a["sql"], a["params"])


def _sql_wire(rpc: str) -> Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]:
    def wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        out = {"sql": p["sql"], "params": C.sql_params(p["sql"], p.get("params"))}
        if "limit" in p:
            out["limit"] = p["limit"]
        return rpc, out

    return wire


def _sql_rows(result: Any) -> SqlRows:
    result = result if isinstance(result, dict) else {}
    return SqlRows(result.get("rows") or [], bool(result.get("truncated", False)))


def _sql_scalar(result: Any) -> Any:
    row = result.get("row") if isinstance(result, dict) else None
    if not row:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


_SQL = "storage:sql"


SQL: tuple[Method, ...] = (
    Method("sql", "execute", "sql, params=None", _SQL, "rowcount", check=_sql_check, wire=_sql_wire("sql.execute")),
    Method(
        "sql",
        "query",
        "sql, params=None, *, limit=1000",
        _SQL,
        doc="Rows as dicts (a list with .truncated); limit 1-1000.",
        clamps={"limit": (1, 1000)},
        check=_sql_check,
        wire=_sql_wire("sql.query"),
        decode=_sql_rows,
    ),
    Method("sql", "query_one", "sql, params=None", _SQL, "row", check=_sql_check, wire=_sql_wire("sql.query_one")),
    Method(
        "sql",
        "scalar",
        "sql, params=None",
        _SQL,
        check=_sql_check,
        wire=_sql_wire("sql.query_one"),
        decode=_sql_scalar,
    ),
)


METHODS = SQL
