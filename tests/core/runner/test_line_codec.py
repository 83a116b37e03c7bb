"""The host's protocol line decoder: the orjson fast path answers exactly what ``json.loads`` would."""

from __future__ import annotations

import json
import math
import sys

import pytest

from maidcore import metrics
from maidcore.runner import rpc
from maidcore.runner.rpc import FAST_PATH_BRACKETS, ProtocolViolation, decode


def reference(line: bytes):
    """What the decoder answered before the fast path: ``json.loads`` alone."""
    if not line.strip():
        return None
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if type(message) is not dict or message.get("jsonrpc") != "2.0":
        return None
    return message


LINES = [
    b'{"jsonrpc":"2.0","id":1,"method":"discord.send_message","params":{"channel_id":"1","content":"Pong!"}}\n',
    b'{"jsonrpc":"2.0","method":"event.ack","params":{"delivery_id":"d-1"}}',
    b'{"jsonrpc":"2.0","id":2,"result":{"n":1.5e300,"neg":-0,"big":18446744073709551615}}',
    # orjson refuses these; json.loads accepts them, so they must still come back the same
    b'{"jsonrpc":"2.0","id":3,"result":{"huge":184467440737095516160000}}',
    b'{"jsonrpc":"2.0","id":3,"result":[-9223372036854775809, 18446744073709551616,1e400,-1e400]}',
    b'{"jsonrpc":"2.0","id":3,"result":{"snowflake":"1234567890123456789","n":-9223372036854775808}}',
    b'{"jsonrpc":"2.0","id":4,"params":{"x":NaN,"y":Infinity,"z":-Infinity}}',
    b'{"jsonrpc":"2.0","id":5,"params":{"lone":"\\ud800"}}',
    b'\xef\xbb\xbf{"jsonrpc":"2.0","id":6}',
    '{"jsonrpc":"2.0","id":7,"params":{"u":"h\u00e9 \u2028 \U0001f600"}}'.encode(),
    b'{"jsonrpc":"2.0","id":8,"params":{"dup":1,"dup":2}}',
    # not protocol objects: ignored
    b"null",
    b"[1,2,3]",
    b'{"jsonrpc":"1.0","id":1}',
    b'{"jsonrpc":"2.0","id":1',
    b"not json at all",
    b'{"jsonrpc":"2.0","id":1,"params":"\xff\xfe"}',
    b'{"jsonrpc":"2.0","id":1,"params":"\xed\xa0\x80"}',
    b"   \n",
    b"",
]


@pytest.mark.parametrize("line", LINES)
def test_the_decoder_answers_what_json_loads_answers(line: bytes) -> None:
    got, want = decode(line), reference(line)
    if want is None:
        assert got is None
        return
    assert type(got) is dict
    assert repr(got) == repr(want)  # repr tells 1e19 from 10000000000000000000


def test_nan_stays_a_float_for_the_argument_checks_to_refuse() -> None:
    # the host API refuses NaN in arguments by name; the decoder must not turn the line into "ignored"
    message = decode(b'{"jsonrpc":"2.0","id":4,"method":"kv.set","params":{"value":NaN}}')
    assert message is not None and math.isnan(message["params"]["value"])


def nested(depth: int) -> bytes:
    return b'{"jsonrpc":"2.0","id":1,"params":' + b"[" * depth + b"]" * depth + b"}"


def test_lines_past_the_bracket_bound_take_the_reference_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    monkeypatch.setattr(rpc, "_fast_loads", lambda line: calls.append(line) or json.loads(line))
    assert decode(nested(FAST_PATH_BRACKETS - 2)) is not None
    assert len(calls) == 1
    assert decode(nested(FAST_PATH_BRACKETS)) is not None  # still parses, without the fast parser
    assert len(calls) == 1


def test_nesting_past_the_recursion_limit_is_still_a_protocol_violation() -> None:
    with pytest.raises(ProtocolViolation, match="nested deeper"):
        decode(nested(sys.getrecursionlimit() + 100))
    with pytest.raises(ProtocolViolation, match="nested deeper"):
        decode(b'{"jsonrpc":"2.0","params":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}")


def test_metric_children_are_remembered_and_count_into_the_metric() -> None:
    first = metrics.child(metrics.HOST_CALLS, "test.codec_method", "ok")
    assert metrics.child(metrics.HOST_CALLS, "test.codec_method", "ok") is first
    assert first is metrics.HOST_CALLS.labels("test.codec_method", "ok")
    before = first._value.get()
    metrics.child(metrics.HOST_CALLS, "test.codec_method", "ok").inc()
    assert metrics.HOST_CALLS.labels("test.codec_method", "ok")._value.get() == before + 1
