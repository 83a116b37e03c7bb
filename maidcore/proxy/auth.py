"""Secret-backed ``Authorization`` for ``ctx.http`` and ``ctx.ws`` (``secret_auth=`` / ``auth={scheme, secret}``).

The plugin names a domain-bound secret that a server admin or its developer
stored (``maidcore secrets set-auth``); the host reads it, checks the target
host is one the secret is bound to, and adds the header itself. The plugin
never sees the value, and a request that uses secret auth cannot carry an
``Authorization`` header of the plugin's own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from maidcore.errors import CapabilityDenied, InvalidArgument
from maidcore.scope import Scope

#: ``auth.scheme`` → the header's scheme word. ``basic`` secrets hold ``user:password``.
SCHEMES = {"bearer": "Bearer", "token": "Token", "basic": "Basic"}
CAPABILITY = "storage:secrets"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


@dataclass(frozen=True, slots=True)
class AuthRef:
    """Which secret goes into ``Authorization``, and how."""

    scheme: str
    secret: str


def auth_ref(secret_auth: Any, auth: Any) -> AuthRef | None:
    """The requested secret auth from the call's ``secret_auth`` / ``auth`` params, or ``None``."""
    if secret_auth is not None and auth is not None:
        raise InvalidArgument("auth", "given alone: pass either secret_auth or auth, not both")
    if secret_auth is not None:
        return AuthRef("bearer", _secret_name("secret_auth", secret_auth))
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise InvalidArgument("auth", 'an object {"scheme": "bearer"|"basic"|"token", "secret": "<name>"}')
    scheme = auth.get("scheme", "bearer")
    if not isinstance(scheme, str) or scheme.lower() not in SCHEMES:
        raise InvalidArgument("auth.scheme", "one of " + ", ".join(sorted(SCHEMES)))
    return AuthRef(scheme.lower(), _secret_name("auth.secret", auth.get("secret")))


def _secret_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not set(value) <= _NAME_CHARS:
        raise InvalidArgument(field, "the name of an auth secret: 1-64 letters, digits, '_', '-' or '.'")
    return value


def header_value(scheme: str, value: str) -> str:
    """The ``Authorization`` value for a secret; a basic secret must hold ``user:password``."""
    if scheme == "basic":
        if ":" not in value:
            raise InvalidArgument("auth.scheme", "basic only for a secret holding user:password")
        return "Basic " + base64.b64encode(value.encode("utf-8")).decode("ascii")
    return f"{SCHEMES[scheme]} {value}"


async def authorization(
    secrets: Any, scope: Scope, ref: AuthRef, host: str, *, capabilities: frozenset[str], method: str
) -> str:
    """The header for ``ref`` on a request to ``host``: refused without ``storage:secrets``, an unknown
    secret, or a host the secret is not bound to."""
    if CAPABILITY not in capabilities:
        raise CapabilityDenied(CAPABILITY, method, detail="secret auth reads a secret")
    found = await secrets.get_auth(scope, ref.secret)
    if found is None:
        raise InvalidArgument(
            "secret_auth",
            f"the name of an auth secret set for this plugin (there is no {ref.secret!r}: a server admin sets "
            f"it with `maidcore secrets set-auth`)",
        )
    value, hosts = found
    if host.rstrip(".").lower() not in hosts:
        raise CapabilityDenied(
            CAPABILITY, method, detail=f"secret {ref.secret} is bound to {', '.join(hosts)}, not {host}"
        )
    return header_value(ref.scheme, value)
