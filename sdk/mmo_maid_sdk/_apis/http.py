"""ctx.http: outbound HTTP through the platform proxy (contract §4.7)."""

from __future__ import annotations

from .._api import WHOLE, Method, url_with_params
from .._errors import ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _http_check(a: dict[str, Any]) -> None:
    if not isinstance(a.get("method", "GET"), str):
        raise ValidationError("invalid method: expected an HTTP method name such as 'GET'")
    # The scheme and host are the host's to judge (an undeclared host is a CapabilityError there).
    if not isinstance(a["url"], str) or not a["url"]:
        raise ValidationError(f"invalid url {a['url']!r}: expected an absolute http:// or https:// URL string")
    if a.get("body") is not None and not isinstance(a["body"], str):
        raise ValidationError(f"invalid body: expected a str or None, got {type(a['body']).__name__}")
    if a.get("params") is not None and not isinstance(a["params"], dict):
        raise ValidationError("invalid params: expected a dict of query values")


def _http_wire(method: str | None) -> Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]:
    def wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "proxy.request", {
            "method": (method or p["method"]).upper(),
            "url": url_with_params(p["url"], p.get("params")),
            "headers": dict(p.get("headers") or {}),
            "body": p.get("body"),
        }

    return wire


_HTTP = "proxy:http"


HTTP: tuple[Method, ...] = (
    Method(
        "http",
        "request",
        "method, url, *, headers=None, body=None, params=None",
        _HTTP,
        WHOLE,
        doc="An HTTP request through the platform proxy to a declared domain.",
        check=_http_check,
        wire=_http_wire(None),
    ),
    Method("http", "get", "url, *, headers=None, params=None", _HTTP, WHOLE, check=_http_check, wire=_http_wire("GET")),
    Method(
        "http",
        "post",
        "url, *, body, headers=None, params=None",
        _HTTP,
        WHOLE,
        check=_http_check,
        wire=_http_wire("POST"),
        mock_signature="url, body='', headers=None, params=None",
    ),
)


METHODS = HTTP
