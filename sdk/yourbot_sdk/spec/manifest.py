"""``manifest.json``: its fields, their patterns and limits, and the host-name rule for proxied domains."""

from __future__ import annotations

import re

from .capabilities import CAPABILITY_KEYS

__all__ = [
    "DASHBOARD_WIDTHS",
    "HOSTNAME_LABEL_PATTERN",
    "KNOWN_KEYS",
    "MAX_DESCRIPTION",
    "PLACEHOLDER_DESCRIPTIONS",
    "PLUGIN_ID_PATTERN",
    "REQUIRED_FIELDS",
    "SDK_DISTRIBUTIONS",
    "SDK_IMPORT_NAMES",
    "SEMVER_PATTERN",
    "WIDGET_PERMISSIONS",
    "hostname_problem",
    "normalised_domain",
    "proxy_domains",
]

#: The plugin id: a lowercase letter, then 2-31 of a-z, 0-9 and ``_``.
PLUGIN_ID_PATTERN = r"^[a-z][a-z0-9_]{2,31}$"
#: ``MAJOR.MINOR.PATCH`` (pre-release/build suffixes allowed); other versions are a warning.
SEMVER_PATTERN = r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$"
#: Required top-level fields and what each holds.
REQUIRED_FIELDS: dict[str, str] = {
    "id": 'the plugin id (e.g. "my_plugin")',
    "name": "the display name shown on the marketplace",
    "version": 'the version string (e.g. "1.0.0")',
    "description": "1-2000 characters saying what the plugin does",
}
MAX_DESCRIPTION = 2000
#: Descriptions still holding template text (whole words, case-insensitive) get a warning.
PLACEHOLDER_DESCRIPTIONS: tuple[str, ...] = (
    "todo",
    "tbd",
    "fill me in",
    "lorem ipsum",
    "placeholder",
    "description goes here",
    "edit this",
)
#: Top-level keys the platform reads; others are reported as warnings and ignored.
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "id",
        "name",
        "version",
        "description",
        "author",
        "slash_commands",
        "proxy_domains_requested",
        "cron",
        "icon_url",
        "tags",
        "dashboard_manifest",
        *CAPABILITY_KEYS,
    }
)
#: Widget widths a dashboard may use.
DASHBOARD_WIDTHS: frozenset[str] = frozenset({"quarter", "third", "half", "two_thirds", "full"})
#: Who may see a dashboard page or widget.
WIDGET_PERMISSIONS: frozenset[str] = frozenset({"viewer", "manager", "owner"})
#: ``refresh_seconds`` bounds of a dashboard widget.
REFRESH_SECONDS = (5, 3600)

#: One DNS label: 1-63 of a-z, 0-9 and ``-``, not starting or ending with ``-``.
HOSTNAME_LABEL_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
_LABEL = re.compile(HOSTNAME_LABEL_PATTERN)

#: Requirement names (normalised, PEP 503) the platform satisfies itself: never installed from an index.
SDK_DISTRIBUTIONS: frozenset[str] = frozenset({"yourbot-sdk", "mmo-maid-sdk"})
#: Import names of the SDK (one implementation; ``mmo_maid_sdk`` is the alias).
SDK_IMPORT_NAMES: tuple[str, ...] = ("yourbot_sdk", "mmo_maid_sdk")


def hostname_problem(host: object) -> str | None:
    """Why ``host`` is not a bare DNS host name as ``proxy_domains_requested`` needs (``None`` when it is).

    Lowercase letters, digits, ``-`` and ``.``; at least two labels; no scheme, port, path,
    user info, wildcard or IP literal; at most 253 characters.
    """
    if not isinstance(host, str) or not host:
        return "must be a non-empty string"
    if "://" in host:
        return "has a scheme; list the bare host name"
    if any(c in host for c in "/?#@:"):
        return "holds a port, path or user info; list the bare host name"
    if "*" in host:
        return "wildcards are not allowed; list each host name"
    if host != host.lower():
        return f'must be lowercase ("{host.lower()}")'
    if len(host) > 253:
        return "is longer than 253 characters"
    labels = host.split(".")
    if len(labels) < 2:
        return "needs at least two labels (e.g. api.example.com)"
    if all(label.isdigit() for label in labels):
        return "is an IP address; only host names are allowed"
    bad = next((label for label in labels if not _LABEL.match(label)), None)
    if bad is not None:
        return f"label {bad!r} must be 1-63 of a-z, 0-9 and '-' (not at either end)"
    return None


def normalised_domain(entry: object) -> tuple[str | None, str | None]:
    """The bare host an entry of ``proxy_domains_requested`` stands for, and why it is unusable if it is.

    Published plugins write ``https://api.example.com`` or ``API.example.com:443`` too; a host
    matches the name they mean. Wildcards, IP addresses and one-label names match nothing.
    """
    if not isinstance(entry, str) or not entry.strip():
        return None, "must be a non-empty string"
    host = entry.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    problem = hostname_problem(host)
    return (None, problem) if problem else (host, None)


def proxy_domains(manifest: dict) -> frozenset[str]:
    """The hosts a plugin may reach by its manifest: every usable ``proxy_domains_requested`` entry, normalised."""
    entries = manifest.get("proxy_domains_requested")
    hosts = (normalised_domain(d)[0] for d in entries) if isinstance(entries, list) else ()
    return frozenset(h for h in hosts if h)
