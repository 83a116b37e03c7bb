"""Host argument validators generated from the SDK's method tables (``yourbot_sdk.spec.methods``).

Every parameter a request may carry has a ``Rule`` in the spec (its wire key, kind, whether it is
required or nullable, its bounds and choices, and ``cut``: whether the host cuts or clamps a value
past a bound instead of refusing it) and a default (``Param.default``). ``validator(rpc)`` reads
each of them with ``Args`` by those rules, so the host accepts exactly what the spec says a host
accepts and the limits are written once. What is platform policy rather than an argument rule
(decoding attached files, stripping permission bits, a message needing a body) a method adds
with ``fields`` (a reader used instead of the generic one for a key) and ``check`` (run on the
clean params).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yourbot_sdk.spec.methods import RPC_METHODS, WIRE_ONLY, Rule

from maidcore.errors import InvalidArgument
from maidcore.runner.hostapi.args import Args

Validator = Callable[[Args], dict[str, Any]]
Reader = Callable[[Args], Any]
Check = Callable[[dict[str, Any]], None]

#: Every ``interaction.*`` request names the interaction it answers (the SDK adds it; never a ctx argument).
INTERACTION_ID = "_interaction_id"
_INTERACTION_RULE = Rule("snowflake")


@dataclass(frozen=True, slots=True)
class Field:
    """One request parameter as the host reads it."""

    key: str
    rule: Rule
    default: Any  # ``None``: absent unless given
    only_true: bool  # a flag the SDK sends only when set (``update_message``): kept only when true


def fields_of(rpc: str) -> tuple[Field, ...]:
    """The parameters of ``rpc`` in wire order, from every ctx method that sends it (first one wins a key)."""
    methods = RPC_METHODS.get(rpc)
    if not methods:
        raise KeyError(f"yourbot_sdk.spec has no ctx method sending {rpc!r}")
    seen: dict[str, Field] = {}
    if rpc.startswith("interaction."):
        seen[INTERACTION_ID] = Field(INTERACTION_ID, _INTERACTION_RULE, None, False)
    if rpc in WIRE_ONLY:  # built by a wire function (HTTP, WebSocket, counts): the spec lists its keys itself
        seen.update((key, Field(key, rule, None, False)) for key, rule in WIRE_ONLY[rpc])
        return tuple(seen.values())
    for method in methods:
        for param in method.wire_params():
            if param.rule is not None and param.key not in seen:
                default = None if param.required else param.default
                seen[param.key] = Field(param.key, param.rule, default, param.send == "truthy" and default is False)
    return tuple(seen.values())


def _bitfield(a: Args, field: Field) -> str:
    value = a.params.get(field.key)
    if value is None:
        value = field.default if field.default is not None else "0"
    if type(value) is int and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return value
    raise InvalidArgument(field.key, "a permission bitfield (a decimal string)")


def _integer(a: Args, field: Field) -> int | None:
    rule = field.rule
    bounds = None if rule.minimum is None or rule.maximum is None else (int(rule.minimum), int(rule.maximum))
    value = a.integer(field.key, default=field.default, required=rule.required, clamp=bounds if rule.cut else None)
    too_low = value is not None and rule.minimum is not None and value < rule.minimum
    too_high = value is not None and rule.maximum is not None and value > rule.maximum
    if not rule.cut and (too_low or too_high):
        low = "" if rule.minimum is None else f" at least {rule.minimum:g}"
        high = "" if rule.maximum is None else f" at most {rule.maximum:g}"
        raise InvalidArgument(field.key, f"an integer{low}{' and' if low and high else ''}{high}")
    return value


def read(a: Args, field: Field) -> Any:
    """The clean value of one parameter by its spec rule; ``None`` leaves it out (unless nullable)."""
    rule, key = field.rule, field.key
    kind = rule.kind
    if kind == "snowflake":
        return a.snowflake(key, required=rule.required)
    if kind == "snowflakes":
        return a.snowflakes(
            key, cut=rule.max_items if rule.cut and rule.max_items else 10**6, at_least=rule.min_items or 0
        )
    if kind == "bitfield":
        return _bitfield(a, field)
    if kind == "string":
        text = a.text(
            key,
            required=rule.required and not rule.nullable,
            default=field.default if isinstance(field.default, str) else None,
            cut=rule.max_length if rule.cut else None,
            max_len=None if rule.cut else rule.max_length,
            non_empty=bool(rule.min_length),
        )
        if text is not None and rule.pattern is not None and not re.fullmatch(rule.pattern, text):
            raise InvalidArgument(key, f"a string matching {rule.pattern}")
        return text
    if kind == "list":
        value = a.params.get(key)
        if value is not None and not isinstance(value, list):
            raise InvalidArgument(key, "a list")
        return value
    if kind == "integer":
        return _integer(a, field)
    if kind == "number":
        return a.number(key, default=field.default, required=rule.required)
    if kind == "boolean":
        value = a.boolean(key, default=field.default)
        return True if field.only_true and value else None if field.only_true else value
    if kind == "choice":
        choices = rule.choices or ()
        if all(isinstance(c, str) for c in choices):
            return a.choice(key, choices, default=field.default)
        return a.integer(key, default=field.default, required=rule.required, choices=choices)
    if kind == "object":
        return a.mapping(key, required=rule.required)
    if kind == "objects":
        return a.objects(key, cut=rule.max_items if rule.cut else None, max_items=None if rule.cut else rule.max_items)
    if kind == "strings":
        items = a.params.get(key)
        if items is None and not rule.required:
            return None
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise InvalidArgument(key, "a list of strings")
        if rule.max_items is not None and len(items) > rule.max_items:
            if not rule.cut:
                raise InvalidArgument(key, f"a list of at most {rule.max_items} strings (got {len(items)})")
            items = items[: rule.max_items]
        return items
    if kind == "json":
        value = a.json_value(key, required=rule.required)
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidArgument(key, "a JSON value (no NaN or infinity)") from None
        return value
    raise AssertionError(f"yourbot_sdk.spec rule kind {kind!r} of {key} has no host reader")


def validator(
    rpc: str,
    *,
    fields: Mapping[str, Reader] | None = None,
    extra: Mapping[str, Reader] | None = None,
    check: Check | None = None,
) -> Validator:
    """The validator of ``rpc``: every spec parameter read by its rule (or by ``fields[key]``), then ``check``.

    ``extra`` reads keys this host accepts beyond the spec (kept when not ``None``).
    """
    spec_fields = fields_of(rpc)
    overrides = dict(fields or {})
    unknown = set(overrides) - {f.key for f in spec_fields}
    if unknown:
        raise KeyError(f"{rpc} has no parameter {', '.join(sorted(unknown))} in yourbot_sdk.spec")

    def validate(a: Args) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in spec_fields:
            reader = overrides.get(field.key)
            value = reader(a) if reader is not None else read(a, field)
            if value is not None or field.rule.nullable:
                out[field.key] = value
        for key, reader in (extra or {}).items():
            value = reader(a)
            if value is not None:
                out[key] = value
        if check is not None:
            check(out)
        return out

    validate.__name__ = validate.__qualname__ = f"validate_{rpc.replace('.', '_')}"
    validate.__doc__ = f"``{rpc}`` params by the rules of yourbot_sdk.spec.methods."
    return validate
