"""Argument checks for host methods: types and the limits of contract §4 and §8.

Numbers the SDK clamps are clamped here too and strings it cuts are cut (an
older SDK may not have), while wrong types, unknown choices and hard limits
raise ``InvalidArgument`` naming the field and what it must be.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from typing import Any

from maidcore.errors import InvalidArgument, KvQuotaExceeded

_MISSING = object()
SNOWFLAKE_MAX_DIGITS = 20


def _is_int(value: Any) -> bool:
    return type(value) is int  # bool is not a number here


def _is_number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def json_size(value: Any) -> int:
    """Size of the compact UTF-8 JSON encoding (the unit of the 64 KB KV limit)."""
    try:
        return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise InvalidArgument("value", f"JSON-serialisable ({exc.__class__.__name__})") from None


class Args:
    """Reads one call's params; each reader returns the clean value or raises ``InvalidArgument``."""

    __slots__ = ("params",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params

    def _get(self, name: str, required: bool) -> Any:
        value = self.params.get(name, _MISSING)
        if value is _MISSING or (value is None and required):
            if required:
                raise InvalidArgument(name, "given")
            return _MISSING
        return value

    def snowflake(self, name: str, *, required: bool = True) -> str | None:
        value = self._get(name, required)
        if value is _MISSING or value is None:
            return None
        if _is_int(value) and value >= 0:
            value = str(value)
        if not isinstance(value, str) or not value.isdigit() or len(value) > SNOWFLAKE_MAX_DIGITS:
            raise InvalidArgument(name, "a Discord id (a string of up to 20 digits)")
        return value

    def snowflakes(self, name: str, *, cut: int, at_least: int = 1) -> list[str]:
        value = self._get(name, True)
        if not isinstance(value, list):
            raise InvalidArgument(name, "a list of Discord ids")
        value = value[:cut]
        out = []
        for index, item in enumerate(value):
            out.append(Args({f"{name}[{index}]": item}).snowflake(f"{name}[{index}]"))
        if len(out) < at_least:
            raise InvalidArgument(name, f"a list of at least {at_least} Discord id{'s' if at_least > 1 else ''}")
        return out  # type: ignore[return-value]

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        default: str | None = "",
        cut: int | None = None,
        non_empty: bool = False,
        max_len: int | None = None,
    ) -> str | None:
        value = self._get(name, required)
        if value is _MISSING or value is None:
            if non_empty and required:
                raise InvalidArgument(name, "a non-empty string")
            return default
        if not isinstance(value, str):
            raise InvalidArgument(name, "a string")
        if max_len is not None and len(value) > max_len:
            raise InvalidArgument(name, f"a string of at most {max_len} characters (got {len(value)})")
        if cut is not None:
            value = value[:cut]
        if non_empty and not value:
            raise InvalidArgument(name, "a non-empty string")
        return value

    def integer(
        self,
        name: str,
        *,
        default: int | None = None,
        required: bool = False,
        clamp: tuple[int, int] | None = None,
        choices: Collection[int] | None = None,
    ) -> int | None:
        value = self._get(name, required)
        if value is _MISSING or value is None:
            return default
        if type(value) is float and value.is_integer():
            value = int(value)
        if not _is_int(value):
            raise InvalidArgument(name, "an integer")
        if choices is not None and value not in choices:
            raise InvalidArgument(name, "one of " + ", ".join(str(c) for c in sorted(choices)))
        if clamp is not None:
            value = min(max(value, clamp[0]), clamp[1])
        return value

    def number(self, name: str, *, default: float | None = None, required: bool = False) -> int | float | None:
        value = self._get(name, required)
        if value is _MISSING or value is None:
            return default
        if not _is_number(value):
            raise InvalidArgument(name, "a finite number")
        return value

    def boolean(self, name: str, *, default: bool | None = False) -> bool | None:
        value = self._get(name, False)
        if value is _MISSING or value is None:
            return default
        if type(value) is not bool:
            raise InvalidArgument(name, "true or false")
        return value

    def choice(self, name: str, choices: Collection[str], *, default: str) -> str:
        value = self._get(name, False)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            raise InvalidArgument(name, "one of " + ", ".join(sorted(choices)))
        return value

    def mapping(self, name: str, *, default: Any = None, required: bool = False) -> dict[str, Any] | None:
        value = self._get(name, required)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, dict):
            raise InvalidArgument(name, "an object")
        return value

    def objects(self, name: str, *, cut: int | None = None, max_items: int | None = None) -> list[dict] | None:
        """A list of JSON objects (embeds, component rows); ``None`` when absent."""
        value = self._get(name, False)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise InvalidArgument(name, "a list of objects")
        if max_items is not None and len(value) > max_items:
            raise InvalidArgument(name, f"a list of at most {max_items} items (got {len(value)})")
        return value[:cut] if cut is not None else value

    def json_value(self, name: str, *, required: bool = True) -> Any:
        value = self.params.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise InvalidArgument(name, "given")
            return None
        return value


# --- shared field rules -----------------------------------------------------------

KV_VALUE_LIMIT = 64 * 1024


def kv_key(value: Any, name: str = "key") -> str:
    if not isinstance(value, str) or not value or len(value) > 256 or "\x00" in value:
        raise InvalidArgument(name, "a non-empty string of at most 256 characters without NUL")
    return value


def kv_value(value: Any, name: str = "value") -> Any:
    size = json_size(value)
    if size > KV_VALUE_LIMIT:
        raise KvQuotaExceeded(f"{name} is {size} bytes of JSON, over the {KV_VALUE_LIMIT} byte limit per value")
    return value
