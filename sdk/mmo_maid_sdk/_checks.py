"""Argument checks shared by the real context and the mock (contract §4.10): they raise before anything is sent."""

from __future__ import annotations

import json
import re

from ._errors import KvQuotaError, ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KV_VALUE_LIMIT = 64 * 1024
_METRIC = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.]{0,63}")
_SECRET_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_CUSTOM_EMOJI = re.compile(r"<?(a?:)?[A-Za-z0-9_~]{1,32}:\d{1,20}>?")
PERIODS = ("1h", "24h", "7d", "30d", "90d")
AGGREGATES = ("sum", "count", "avg", "min", "max")


def snowflake(name: str, value: Any) -> str:
    """An id argument as the string sent on the wire; ints are accepted, empty or non-id values are not."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(f"invalid {name}: expected a snowflake string (or int), got {type(value).__name__}")
    text = str(value)
    if not text.strip():
        raise ValidationError(f"invalid {name}: {name} is required and must be a non-empty snowflake")
    return text


def snowflakes(name: str, values: Any, limit: int | None = None) -> list[str]:
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise ValidationError(f"invalid {name}: expected a list of snowflakes, got {type(values).__name__}")
    ids = [snowflake(name, v) for v in values]
    if limit is not None and len(ids) > limit:
        raise ValidationError(f"invalid {name}: at most {limit} ids per call, got {len(ids)}")
    return ids


def emoji(value: Any) -> None:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise ValidationError(f"invalid emoji {value!r}: use a unicode emoji or name:id for a custom emoji")
    if ":" in value:
        if not _CUSTOM_EMOJI.fullmatch(value):
            raise ValidationError(f"invalid emoji {value!r}: a custom emoji is written name:id (e.g. party:1234)")
    elif value.isascii() or len(value) > 16:
        raise ValidationError(f"invalid emoji {value!r}: use a unicode emoji or name:id for a custom emoji")


def one_of(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise ValidationError(f"invalid {name}: {value!r} is not one of {', '.join(map(str, allowed))}")


def integer(name: str, value: Any, *, minimum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        more = f" >= {minimum}" if minimum is not None else ""
        raise ValidationError(f"invalid {name}: expected an int{more}, got {value!r}")


def number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"invalid {name}: expected a number, got {value!r}")


def kv_key(key: Any) -> None:
    if not isinstance(key, str) or not key:
        raise ValidationError(f"invalid key {key!r}: a KV key is a non-empty string")
    if len(key) > 256:
        raise ValidationError(f"invalid key: KV keys are at most 256 characters, got {len(key)}")
    if "\x00" in key:
        raise ValidationError(f"invalid key {key!r}: KV keys may not contain a NUL byte")


def kv_value(key: str, value: Any) -> None:
    try:
        encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"invalid value for key {key!r}: not JSON-serialisable ({exc})") from None
    size = len(encoded.encode("utf-8"))
    if size > KV_VALUE_LIMIT:
        raise KvQuotaError(f"value for key {key!r} is {size} bytes encoded; the limit is {KV_VALUE_LIMIT} (64 KB)")


def ephemeral_key(key: Any) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 256:
        raise ValidationError(f"invalid key {key!r}: ephemeral keys are strings of 1-256 characters")


def metric_name(metric: Any) -> None:
    if not isinstance(metric, str) or not _METRIC.fullmatch(metric):
        raise ValidationError(f"invalid metric name {metric!r}: 1-64 characters matching [a-zA-Z_][a-zA-Z0-9_.]*")


def secret_key(key: Any) -> None:
    if not isinstance(key, str) or not _SECRET_KEY.fullmatch(key):
        raise ValidationError(f"invalid secret key {key!r}: 1-64 letters, digits, '_', '-' or '.'")


def secret_value(value: Any) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 4096:
        raise ValidationError("invalid secret value: a string of 1-4096 characters")


# -- SQL ---------------------------------------------------------------------------------


def sql_placeholders(sql: str) -> tuple[str, int]:
    """``(style, count)`` of the placeholders outside literals, identifiers and comments.

    style is ``"numeric"`` (count = highest ``$N``), ``"format"`` (count = number of ``%s``) or ``"none"``.
    """
    i, n = 0, len(sql)
    highest = 0
    formats = 0
    while i < n:
        c = sql[i]
        if c == "'" or c == '"':
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "$":
            m = re.match(r"\$(\d+)", sql[i:])
            if m:
                highest = max(highest, int(m.group(1)))
                i += len(m.group(0))
                continue
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if m:
                end = sql.find(m.group(0), i + len(m.group(0)))
                i = n if end < 0 else end + len(m.group(0))
                continue
            i += 1
        elif c == "%":
            nxt = sql[i + 1 : i + 2]
            if nxt == "%":
                i += 2
                continue
            if nxt == "s":
                formats += 1
            i += 2 if nxt == "s" else 1
        else:
            i += 1
    if highest and formats:
        raise ValidationError("invalid sql: $N and %s placeholders cannot be mixed in one statement")
    if highest:
        return "numeric", highest
    if formats:
        return "format", formats
    return "none", 0


def _sql_param(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_sql_param(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _sql_param(v) for k, v in value.items()}
    import datetime as _dt  # only for the rarer parameter types: the runtime stays small
    import uuid
    from decimal import Decimal

    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    raise ValidationError(
        f"invalid sql parameter of type {type(value).__name__}: use JSON scalars, list, dict, "
        "datetime/date/time, Decimal or UUID"
    )


def sql_params(sql: Any, params: Any) -> list[Any]:
    """Check the statement's placeholders against ``params`` and return them converted for the wire."""
    if not isinstance(sql, str) or not sql.strip():
        raise ValidationError("invalid sql: expected a non-empty SQL string")
    if params is None:
        params = []
    elif not isinstance(params, (list, tuple)):
        raise ValidationError(f"invalid params: expected a list or tuple, got {type(params).__name__}")
    converted = [_sql_param(p) for p in params]
    style, count = sql_placeholders(sql)
    if style == "numeric" and len(converted) != count:
        raise ValidationError(f"invalid params: the statement uses ${count} but {len(converted)} params were given")
    if style == "format" and len(converted) != count:
        raise ValidationError(f"invalid params: the statement has {count} %s placeholders but {len(converted)} params")
    if style == "none" and converted:
        raise ValidationError(f"invalid params: the statement has no placeholders but {len(converted)} params")
    return converted
