"""JSON request bodies: an object within a size and a nesting bound, or a 400/413 that says what is wrong.

Read in chunks and stopped at ``web.max_json_body_bytes`` (a declared ``Content-Length``
over it is refused before a byte is read); decoded as UTF-8, as JSON requires; parsed
with ``NaN``/``Infinity`` refused; nesting over ``web.max_json_depth`` refused, including
the depths at which Python's parser itself gives up. Nothing a client sends ends in a 500.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def _error(exc: type[web.HTTPException], message: str, **kwargs: Any) -> web.HTTPException:
    return exc(text=json.dumps({"error": message}), content_type="application/json", **kwargs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


async def read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The whole body, or 413 once it is over ``max_bytes`` (declared or counted)."""
    declared = request.content_length
    too_large = f"the JSON body is over {max_bytes} bytes; send at most {max_bytes} (web.max_json_body_bytes)"
    if declared is not None and declared > max_bytes:
        raise _error(web.HTTPRequestEntityTooLarge, too_large, max_size=max_bytes, actual_size=declared)
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > max_bytes:
            raise _error(web.HTTPRequestEntityTooLarge, too_large, max_size=max_bytes, actual_size=len(data))
    return bytes(data)


async def json_object(request: web.Request, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    """The body as a JSON object; ``{}`` when there is no body; 400/413 with the reason otherwise."""
    if not request.can_read_body:
        return {}
    raw = await read_limited(request, max_bytes)
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _error(web.HTTPBadRequest, f"the body is not UTF-8 text (byte {exc.start}); JSON must be UTF-8") from None
    too_deep = f"the JSON body nests arrays/objects deeper than {max_depth} levels"
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise _error(web.HTTPBadRequest, too_deep) from None
    except ValueError as exc:
        raise _error(web.HTTPBadRequest, f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _error(web.HTTPBadRequest, f"the body must be a JSON object, not {type(data).__name__}")
    if depth(data) > max_depth:
        raise _error(web.HTTPBadRequest, too_deep)
    return data
