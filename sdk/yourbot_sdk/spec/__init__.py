"""The platform's rules as data: what the SDK sends, what the host must accept, what review checks.

``yourbot_sdk.spec`` (also ``mmo_maid_sdk.spec``) is the one place these facts live; the SDK's
runtime, testing kit and ``validate`` read them from here, and a host can generate its own
validation from them instead of restating them:

- **capabilities** — ``CAPABILITIES`` (name -> ``Capability(name, tier, summary)``), the tiers
  ``SAFE < RISKY < DANGEROUS``, ``LEGACY_CAPABILITIES``, the four ``CAPABILITY_KEYS`` a manifest
  may use (read as their union by ``declared_capabilities``), ``AUTO_ADDED`` and
  ``effective_capabilities(manifest)``.
- **methods** — ``METHODS`` (``"discord.send_message"`` -> ``Method``): Python signature
  (positional or keyword-only, defaults), the RPC it sends (``Method.rpc``), the capability, the
  Discord permission the bot needs, how each argument goes on the wire and the host ``Rule`` for
  it; ``RPC_METHODS`` (RPC name -> methods), ``rpc_rules(rpc)``, ``param_problem(rule, value)`` and
  ``check_params(rpc, params)`` (what a host refuses; ``Rule.cut`` marks what it cuts or clamps instead).
- **cron** — ``CronSpec`` (the one parser: decorator, ``validate`` and host), ``MAX_CRON_ENTRIES``,
  ``MIN_CRON_INTERVAL_MINUTES``, ``cron_entry_problems(entry)``, ``cron_spec_problem(spec)``.
- **commands** — ``RESERVED_COMMAND_NAMES``, ``COMMAND_NAME_PATTERN``, ``OPTION_TYPES``,
  ``command_name_problem(name)``.
- **manifest** — ``PLUGIN_ID_PATTERN``, ``REQUIRED_FIELDS``, ``KNOWN_KEYS``,
  ``PLACEHOLDER_DESCRIPTIONS``, ``DASHBOARD_WIDTHS``, ``hostname_problem(host)``,
  ``normalised_domain(entry)``, ``proxy_domains(manifest)``,
  ``SDK_DISTRIBUTIONS`` (requirement lines the platform satisfies itself).
- **wire** — ``METRIC_NAME_PATTERN``, ``REJECTION_WARNINGS_PER_HOUR`` and the other protocol
  constants in ``yourbot_sdk.spec.wire``.

Names resolve lazily, so importing this package costs nothing until a name is used.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_HOMES = {
    "capabilities": (
        "AUTO_ADDED",
        "CAPABILITIES",
        "CAPABILITY_KEYS",
        "CAPABILITY_PATTERN",
        "DANGEROUS",
        "LEGACY_CAPABILITIES",
        "MOCK_DEFAULT_GRANT",
        "RISKY",
        "SAFE",
        "TIERS",
        "Capability",
        "declared_capabilities",
        "effective",
        "effective_capabilities",
        "tier_of",
    ),
    "methods": (
        "CORRELATION_KEYS",
        "METHODS",
        "NAMESPACES",
        "REQUIRED",
        "RPC_METHODS",
        "WIRE_ONLY",
        "Method",
        "Param",
        "Rule",
        "check_params",
        "method",
        "methods_of",
        "param_problem",
        "rpc_rules",
    ),
    "cron": (
        "FIELDS",
        "MAX_CRON_ENTRIES",
        "MIN_CRON_INTERVAL_MINUTES",
        "CronSpec",
        "cron_entry_problems",
        "cron_spec_problem",
        "parse_cron",
    ),
    "commands": (
        "CHOICE_TYPES",
        "COMMAND_NAME_PATTERN",
        "MAX_CHOICES",
        "MAX_OPTIONS",
        "OPTION_TYPES",
        "RESERVED_COMMAND_NAMES",
        "command_name_problem",
    ),
    "manifest": (
        "DASHBOARD_WIDTHS",
        "HOSTNAME_LABEL_PATTERN",
        "KNOWN_KEYS",
        "MAX_DESCRIPTION",
        "PLACEHOLDER_DESCRIPTIONS",
        "PLUGIN_ID_PATTERN",
        "REFRESH_SECONDS",
        "REQUIRED_FIELDS",
        "SDK_DISTRIBUTIONS",
        "SDK_IMPORT_NAMES",
        "SEMVER_PATTERN",
        "WIDGET_PERMISSIONS",
        "hostname_problem",
        "normalised_domain",
        "proxy_domains",
    ),
    "wire": (
        "DISPATCH_THREADS",
        "ERROR_CODES",
        "METRIC_NAME_PATTERN",
        "REJECTION_WARNINGS_PER_HOUR",
        "RPC_TIMEOUT_SECONDS",
    ),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
