"""ctx.secrets: encrypted per-server secrets (contract §4.9)."""

from __future__ import annotations

from .. import _checks as C
from .._api import Method

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _secret_key_check(a: dict[str, Any]) -> None:
    C.secret_key(a["key"])


def _secret_set_check(a: dict[str, Any]) -> None:
    C.secret_key(a["key"])
    C.secret_value(a["value"])


_SECRETS = "storage:secrets"


SECRETS: tuple[Method, ...] = (
    Method("secrets", "get", "key", _SECRETS, "value", check=_secret_key_check),
    Method("secrets", "set", "key, value", _SECRETS, check=_secret_set_check),
    Method("secrets", "delete", "key", _SECRETS, rpc="secrets.del", check=_secret_key_check),
)


METHODS = SECRETS
