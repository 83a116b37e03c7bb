"""Turn what an SDK call returned or raised into plain JSON, the same way under every SDK.

Run inside the interpreter under test (ours or an official wheel's venv): stdlib only, and it
never imports an SDK module itself — the class names, ``.code`` and attributes are read off the
objects the SDK handed back.
"""

from __future__ import annotations

import base64
import json
from typing import Any

#: Attributes an SDK error may carry besides its message (compared when present on either side).
ERROR_ATTRS = ("code", "retry_after", "status_code", "permission")


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON value that keeps what a test could observe: types of containers and numbers included."""
    if depth > 12:
        return {"$deep": repr(value)[:200]}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return {"$float": repr(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, BaseException):
        return encode_error(value)
    if isinstance(value, dict):
        out = {str(k): encode(v, depth + 1) for k, v in value.items()}
        return out if type(value) is dict else {"$type": type(value).__name__, "items": out}
    if isinstance(value, (list, tuple)):
        items = [encode(v, depth + 1) for v in value]
        if type(value) is list:
            return items
        extra = {}
        if hasattr(value, "truncated"):
            extra["truncated"] = encode(value.truncated, depth + 1)
        kind = "tuple" if isinstance(value, tuple) else "list-subclass"
        return {"$type": kind, "items": items, **extra}
    if isinstance(value, (set, frozenset)):
        return {"$set": sorted(encode(v, depth + 1) for v in value if isinstance(v, (str, int)))}
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return {"$obj": type(value).__name__, "to_dict": encode(to_dict(), depth + 1)}
    if hasattr(value, "__next__") and hasattr(value, "__iter__"):
        return {"$iterator": type(value).__name__}
    if callable(value):
        return {"$callable": getattr(value, "__name__", type(value).__name__)}
    return {"$repr": type(value).__name__}


def encode_error(exc: BaseException) -> dict[str, Any]:
    """Class name, the builtin bases a handler could catch, ``.code`` and the structured attributes."""
    out: dict[str, Any] = {"$error": type(exc).__name__}
    for base in ("RuntimeError", "ValueError", "TypeError", "KeyError", "AttributeError", "PermissionError"):
        builtin = __builtins__[base] if isinstance(__builtins__, dict) else getattr(__builtins__, base)
        if isinstance(exc, builtin):
            out.setdefault("builtin", []).append(base)
    for attr in ERROR_ATTRS:
        if hasattr(exc, attr):
            out[attr] = encode(getattr(exc, attr))
    out["sdk_error"] = any(c.__name__ == "SdkError" for c in type(exc).__mro__)
    out["text"] = str(exc)  # compared only where a case asks for it: wording is not part of the contract
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
