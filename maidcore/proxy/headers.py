"""Headers that never cross the proxy, in either direction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from maidcore.errors import InvalidArgument

# Hop-by-hop (RFC 9110 §7.6.1) plus those the proxy computes itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# Platform state: cookies never pass (no jar either), forwarding/identity headers are the host's.
PLATFORM = frozenset({"cookie", "set-cookie", "set-cookie2", "forwarded", "via"})
PLATFORM_PREFIXES = ("x-forwarded-", "x-maidcore-", "proxy-", "x-real-ip")
# The body handed to the plugin is already decoded, so its encoding header would lie.
DECODED = frozenset({"content-encoding"})


def stripped(name: str) -> bool:
    """True if a header of this (lower-case) name is removed both ways."""
    return name in HOP_BY_HOP or name in PLATFORM or name.startswith(PLATFORM_PREFIXES)


def request_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The plugin's headers that may go upstream; bad names or values are refused, not fixed."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidArgument("headers", "an object of header names to string values")
    # Connection may name further hop-by-hop headers
    extra = {t.strip().lower() for k, v in headers.items() if str(k).lower() == "connection" for t in str(v).split(",")}
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgument("headers", "an object of header names to string values")
        if not name or any(c in name for c in ":\r\n\0 \t") or not name.isascii():
            raise InvalidArgument("headers", f"valid header names (got {name[:40]!r})")
        if any(c in value for c in "\r\n\0"):
            raise InvalidArgument("headers", f"header values without line breaks (header {name[:40]!r})")
        lower = name.lower()
        if stripped(lower) or lower in extra:
            continue
        out[name] = value
    return out


def response_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Upstream headers for the plugin: lower-case names, repeated ones joined with ``", "``."""
    items = list(items)
    extra = {t.strip().lower() for k, v in items if k.lower() == "connection" for t in v.split(",")}
    out: dict[str, str] = {}
    for name, value in items:
        lower = name.lower()
        if stripped(lower) or lower in DECODED or lower in extra:
            continue
        value = _text(value)
        out[lower] = f"{out[lower]}, {value}" if lower in out else value
    return out


def _text(value: str) -> str:
    """Header bytes that are not UTF-8 (aiohttp keeps them as surrogates) become U+FFFD, so the answer is valid JSON."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
