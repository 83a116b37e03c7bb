"""Compatibility view of ``spec.methods`` for code written against the 0.5.x-era tables (``maidcore replay``).

``group(name)`` lists the methods of ``ctx.<name>`` with ``rpc_method`` and ``result``: the key
the host puts the answer under, ``WHOLE`` when the whole result is the answer, or ``None`` for
methods that return nothing.
"""

from __future__ import annotations

from .spec.methods import NAMESPACES, Method

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GROUPS", "WHOLE", "group"]

WHOLE = "<whole result>"
GROUPS = tuple(NAMESPACES)
_KEYS = {"value": "value", "exists": "value", "count": "count", "rowcount": "rowcount", "scalar": "row"}


class MethodView:
    """``spec.methods.Method`` with the attribute names of the old tables."""

    __slots__ = ("method",)

    def __init__(self, method: Method) -> None:
        self.method = method

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def api(self) -> str:
        return self.method.namespace

    @property
    def qualname(self) -> str:
        return self.method.qualname

    @property
    def rpc_method(self) -> str:
        return self.method.rpc

    @property
    def capability(self) -> str | None:
        return self.method.capability

    @property
    def result(self) -> str | None:
        kind = self.method.result
        if kind == "none":
            return None
        if kind.startswith("key:"):
            return kind[4:]
        return _KEYS.get(kind, WHOLE)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.method, name)


def group(name: str) -> tuple[MethodView, ...]:
    """The methods of ``ctx.<name>``."""
    return tuple(MethodView(m) for m in NAMESPACES[name])
