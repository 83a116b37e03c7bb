"""The host's argument validation agrees with ``yourbot_sdk.spec.methods``, method by method, parameter by parameter.

For every request the spec describes and the host serves, each parameter gets probe values of
every shape (missing, null, wrong type, empty, over and under its bounds, outside its choices); a probe
the spec refuses (``param_problem``) is refused by the host with ``InvalidArgument`` naming that
parameter (``VALIDATION_ERROR``, the code the SDK raises ``ValidationError`` for), and a probe the
spec accepts is accepted, cut or clamped into the spec's bounds where ``Rule.cut`` says so.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from yourbot_sdk.spec import ERROR_CODES, RPC_METHODS, param_problem

from maidcore.errors import InvalidArgument
from maidcore.runner.hostapi import METHODS
from maidcore.runner.hostapi.args import Args
from maidcore.runner.hostapi.discord import VALIDATORS
from maidcore.runner.hostapi.generated import Field, fields_of, validator

#: Parameters where the host applies platform policy beyond the spec rule: it may refuse more.
POLICY = {
    ("discord.send_message", "files"),  # each {filename, data_b64}, 8 MB decoded
    ("discord.set_channel_permissions", "allow"),
    ("proxy.request", "url"),  # an absolute http(s) URL
    ("ws.ensure", "url"),  # a wss:// URL
    ("ws.ensure", "auth"),
    ("ws.send", "text"),  # exactly one of text and data_b64
    ("ws.send", "data_b64"),
    ("proxy.request", "headers"),  # string names and values
    ("kv.mget", "keys"),  # each a KV key
    ("kv.mput", "entries"),  # KV keys, 64 KB values
    ("proxy.request", "auth"),  # {secret, scheme}: a stored auth secret's name
    *((rpc, "host") for rpc in ("http.allow_host", "http.revoke_host", "ws.allow_host", "ws.revoke_host")),
}
EVENT_SOURCE_RPCS = sorted(rpc for rpc in RPC_METHODS if rpc.startswith(("discord.", "interaction.")))
#: Every request the host serves that a ctx method of the spec sends (the event source's and the stores').
HOST_RPCS = sorted(rpc for rpc in METHODS if rpc in RPC_METHODS)


def good(field: Field) -> Any:
    """A value the rule accepts."""
    rule = field.rule
    if rule.pattern is not None:
        return next(v for v in ("x", "GET", "metric_1") if re.fullmatch(rule.pattern, v))
    return {
        "snowflake": "123456789012345678",
        "snowflakes": ["111", "222"],
        "strings": ["a", "b"],
        "bitfield": "1024",
        "string": "x" * max(rule.min_length or 1, 1),
        "integer": int(rule.minimum if rule.minimum is not None else 1),
        "number": 1.5,
        "boolean": True,
        "choice": (rule.choices or ("x",))[0],
        "object": {},
        "objects": [{"type": 1, "components": []}],
        "list": [1, "a"],
        "json": {"a": 1},
    }[rule.kind]


def probes(field: Field) -> list[Any]:
    """Values of every shape, and values just past each bound of the rule."""
    rule = field.rule
    values: list[Any] = [None, "", "abc", "123", 7, -1, 1.5, True, [], ["1"], ["x"], {}, [{}], {"a": 1}]
    if rule.max_length is not None:
        values += ["y" * rule.max_length, "y" * (rule.max_length + 1)]
    if rule.max_items is not None:
        values += [["1"] * (rule.max_items + 1), [{}] * (rule.max_items + 1)]
    if rule.min_items is not None:
        values += [["1"] * (rule.min_items - 1)]
    for bound in (rule.minimum, rule.maximum):
        if bound is not None:
            values += [int(bound) - 1, int(bound), int(bound) + 1]
    values += list(rule.choices or ())
    values += ["1" * 21, 10**21, float("inf")]
    return values


def base_params(rpc: str) -> dict[str, Any]:
    params = {f.key: good(f) for f in fields_of(rpc) if f.rule.required}
    if rpc == "proxy.request":
        params["url"] = "https://api.example.com/v1"
    if rpc == "ws.ensure":
        params["url"] = "wss://api.example.com/stream"
    if rpc == "ws.send":
        params["text"] = "hello"  # a frame: text or data_b64 (platform policy)
    if rpc.endswith(("allow_host", "revoke_host")):
        params["host"] = "api.example.com"
    if rpc in ("discord.send_message", "discord.execute_webhook"):
        params.update(content="hello", embeds=[{"title": "t"}])  # a body (platform policy, see test_arguments)
    return params


def host(rpc: str, params: dict[str, Any], validate: Any = None) -> dict[str, Any] | InvalidArgument:
    try:
        return (validate or METHODS[rpc].validate)(Args(params))
    except InvalidArgument as exc:
        return exc


def test_every_event_source_request_of_the_spec_has_a_host_validator_and_no_other():
    assert sorted(VALIDATORS) == EVENT_SOURCE_RPCS
    assert all(METHODS[rpc].validate is VALIDATORS[rpc] for rpc in EVENT_SOURCE_RPCS)


def test_invalid_argument_is_the_spec_validation_error():
    error = InvalidArgument("channel_id", "a Discord id").to_rpc()
    assert ERROR_CODES["VALIDATION_ERROR"][0] == "ValidationError"
    assert error["code"] == error["data"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("rpc", HOST_RPCS)
def test_well_formed_calls_are_accepted(rpc):
    result = host(rpc, base_params(rpc))
    assert isinstance(result, dict), f"{rpc} refused the spec's minimal call: {result}"
    if rpc in EVENT_SOURCE_RPCS:  # generated: only the spec's keys reach the event source (and safe mentions)
        assert set(result) <= {f.key for f in fields_of(rpc)} | {"allowed_mentions"}


def agrees(rpc: str, validate: Any = None, policy: frozenset[tuple[str, str]] | set = POLICY) -> int:
    """Probe every parameter of ``rpc``; returns how many probes were compared."""
    checked = 0
    for field in fields_of(rpc):
        carried = host(rpc, {**base_params(rpc), field.key: good(field)}, validate)
        if isinstance(carried, dict) and field.key not in carried:
            # a parameter this host does not read yet (the spec lists what newer SDKs send)
            assert rpc not in EVENT_SOURCE_RPCS, f"{rpc} drops {field.key}"
            continue
        for value in probes(field):
            params = {**base_params(rpc), field.key: value}
            spec_problem = param_problem(field.rule, value)
            result = host(rpc, params, validate)
            where = f"{rpc} {field.key}={value!r:.60}"
            if spec_problem is not None:
                assert isinstance(result, InvalidArgument), f"{where}: the spec refuses ({spec_problem}), the host not"
                if (rpc, field.key) not in policy:  # a policy rule may name the field it is about
                    assert result.field.split("[")[0] == field.key, f"{where}: the host names {result.field}"
            elif (rpc, field.key) in policy:
                continue
            else:
                assert isinstance(result, dict), f"{where}: the spec accepts, the host refuses: {result}"
                clean = result.get(field.key)
                rule = field.rule
                if rule.cut and isinstance(clean, (str, list)) and rule.max_items is not None:
                    assert len(clean) <= rule.max_items
                if rule.cut and isinstance(clean, str) and rule.max_length is not None:
                    assert len(clean) <= rule.max_length
                if rule.cut and isinstance(clean, int) and rule.minimum is not None and rule.maximum is not None:
                    assert rule.minimum <= clean <= rule.maximum, where
            checked += 1
    return checked


@pytest.mark.parametrize("rpc", HOST_RPCS)
def test_host_refuses_what_the_spec_refuses_and_accepts_the_rest(rpc):
    assert agrees(rpc) or not fields_of(rpc)


@pytest.mark.parametrize("rpc", sorted(RPC_METHODS))
def test_a_validator_generated_for_any_request_of_the_spec_agrees_with_it(rpc):
    """Every rule kind has a host reader: a host could generate all of its validation (``generated.validator``)."""
    assert agrees(rpc, validator(rpc), policy=set()) or not fields_of(rpc)


def test_missing_required_parameters_are_refused_by_name():
    for rpc in HOST_RPCS:
        for field in fields_of(rpc):
            if not field.rule.required or field.rule.nullable:
                continue
            params = base_params(rpc)
            params.pop(field.key)
            result = host(rpc, params)
            assert isinstance(result, InvalidArgument) and result.field == field.key, (rpc, field.key, result)


def test_defaults_come_from_the_spec():
    assert host("discord.get_messages", {"channel_id": "1"})["limit"] == 50
    assert host("discord.create_thread", {"channel_id": "1", "name": "t"})["auto_archive_duration"] == 1440
    assert host("interaction.defer", {"_interaction_id": "9"}) == {"_interaction_id": "9", "ephemeral": False}
