"""Parameters in and result values out of a plugin's SQL (§4.5), as JSON-friendly types."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any, Literal

from maidcore.errors import InvalidArgument


def bind_params(params: list[Any], dialect: Literal["sqlite", "postgresql"]) -> list[Any]:
    """JSON scalars as they are; lists as arrays (PostgreSQL) or JSON text (SQLite); objects as jsonb / JSON text."""
    out = []
    for i, value in enumerate(params, start=1):
        if value is None or isinstance(value, bool | int | str):
            out.append(int(value) if dialect == "sqlite" and isinstance(value, bool) else value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidArgument(f"params[{i}]", "a finite number")
            out.append(value)
        elif isinstance(value, list | dict):
            if dialect == "sqlite":
                out.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
            elif isinstance(value, dict):
                from psycopg.types.json import Jsonb

                out.append(Jsonb(value))
            else:
                out.append(value)
        else:
            raise InvalidArgument(f"params[{i}]", "a JSON value (string, number, boolean, null, list or object)")
    return out


def to_json(value: Any) -> Any:
    """A database value as JSON: times as ISO 8601, numeric as a number, bytes as base64, uuid as a string."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)
