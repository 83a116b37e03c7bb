"""One description of every ``ctx`` method (contract §4, §10.4).

Each ``Method`` says the signature, RPC name, capability, the local checks, the cuts and
clamps, which ``None`` arguments are omitted and which result key is returned. The real
``Context`` and the testing kit's mocks are both generated from these tables, so their names,
defaults and checks cannot drift apart. The tables live in ``_apis/<namespace>.py`` and are
imported on first use (``group()``), which keeps a plugin process small and quick to start.
"""

from __future__ import annotations

from . import _checks as C
from ._components import component_dict

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: keep typing out of the plugin process (start time, memory)
    from collections.abc import Callable
    from typing import Any


WHOLE = "<whole result>"


def _cut(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return value[:n]
    if isinstance(value, (list, tuple)):
        return list(value)[:n]
    if isinstance(value, dict):
        return dict(list(value.items())[:n])
    return value


def _clamp(name: str, value: Any, lo: float, hi: float) -> Any:
    C.number(name, value)
    return type(value)(max(lo, min(hi, value))) if isinstance(value, int) else max(lo, min(hi, value))


def components_wire(items: Any) -> list[Any]:
    return [component_dict(c) for c in (items or [])]


def modal_rows(fields: Any) -> list[Any]:
    """Modal fields as action rows: bare ``TextInput``s get a row each; rows and raw dicts pass through."""
    rows = []
    for f in list(fields or [])[:5]:
        d = component_dict(f)
        if isinstance(d, dict) and d.get("type") == 4:
            d = {"type": 1, "components": [d]}
        rows.append(d)
    return rows


class Method:
    """How one ctx method behaves; see the module docstring."""

    __slots__ = (
        "_plain",
        "_rpc_method",
        "_structural",
        "always",
        "api",
        "bot_perm",
        "capability",
        "check",
        "choices",
        "clamps",
        "components",
        "cuts",
        "decode",
        "doc",
        "id_lists",
        "ids",
        "keep_none",
        "mock_signature",
        "name",
        "opt_ids",
        "result",
        "rpc",
        "signature",
        "wire",
    )

    def __init__(
        self,
        api: str,
        name: str,
        signature: str,
        capability: str | None,
        result: str | None = None,  # result key, WHOLE, or None (the method returns None)
        *,
        doc: str = "",
        ids: tuple[str, ...] = (),  # required snowflakes
        opt_ids: tuple[str, ...] = (),  # optional snowflakes (None allowed)
        id_lists: dict[str, int | None] | None = None,  # list-of-id args -> ValidationError above n
        cuts: dict[str, int] | None = None,
        clamps: dict[str, tuple[float, float]] | None = None,
        choices: dict[str, tuple[Any, ...]] | None = None,
        components: tuple[str, ...] = (),
        keep_none: tuple[str, ...] = (),
        always: dict[str, Any] | None = None,  # wire keys always sent; value used when None
        check: Callable[[dict[str, Any]], None] | None = None,
        wire: Callable[[dict[str, Any]], tuple[str, dict[str, Any]]] | None = None,
        decode: Callable[[Any], Any] | None = None,
        rpc: str = "",
        bot_perm: str = "",
        mock_signature: str = "",
    ) -> None:
        self.api = api
        self.name = name
        self.signature = signature
        self.capability = capability
        self.result = result
        self.doc = doc
        self.ids = ids
        self.opt_ids = opt_ids
        self.id_lists = id_lists or {}
        self.cuts = cuts or {}
        self.clamps = clamps or {}
        self.choices = choices or {}
        self.components = components
        self.keep_none = keep_none
        self.always = always or {}
        self.check = check
        self.wire = wire
        self.decode = decode
        self.rpc = rpc
        self.bot_perm = bot_perm
        self.mock_signature = mock_signature
        self._rpc_method = rpc or f"{api}.{name}"
        # Nothing to cut, clamp or convert: the wire params are the arguments minus the Nones.
        self._plain = not (ids or opt_ids or id_lists or cuts or clamps or components or keep_none or always)
        self._structural = bool(ids or opt_ids or id_lists or choices)

    @property
    def qualname(self) -> str:
        return f"{self.api}.{self.name}"

    @property
    def rpc_method(self) -> str:
        return self._rpc_method

    def validate(self, args: dict[str, Any]) -> None:
        """The local checks (§4.10 and impossible arguments); raise ``ValidationError``/``KvQuotaError``."""
        if not self._structural:
            if self.check is not None:
                self.check(args)
            return
        for n in self.ids:
            C.snowflake(n, args[n])
        for n in self.opt_ids:
            if args[n] is not None:
                C.snowflake(n, args[n])
        for n, limit in self.id_lists.items():
            C.snowflakes(n, args[n], limit)
        for n, allowed in self.choices.items():
            if args[n] is not None:
                C.one_of(n, args[n], allowed)
        if self.check is not None:
            self.check(args)

    def to_wire(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The RPC method and params after cuts and clamps, with unset optional arguments omitted."""
        if self._plain:
            params = {n: v for n, v in args.items() if v is not None}
            return self.wire(params) if self.wire is not None else (self._rpc_method, params)
        params = {}
        for n, v in args.items():
            if v is None:
                if n in self.keep_none:
                    params[n] = None
                elif n in self.always:
                    params[n] = self.always[n]
                continue
            if n in self.ids or n in self.opt_ids:
                v = str(v)
            elif n in self.id_lists:
                v = [str(i) for i in v]
            if n in self.cuts:
                v = _cut(v, self.cuts[n])
            if n in self.clamps:
                v = _clamp(n, v, *self.clamps[n])
            if n in self.components:
                v = components_wire(v)
            params[n] = v
        if self.wire is not None:
            return self.wire(params)
        return self.rpc_method, params

    def from_wire(self, result: Any) -> Any:
        if self.decode is not None:
            return self.decode(result)
        if self.result is None:
            return None
        if self.result == WHOLE:
            return result
        return result.get(self.result) if isinstance(result, dict) else None


def _names(signature: str) -> list[str]:
    """Parameter names of a signature written in this table (simple literals as defaults, no commas in them)."""
    names = []
    for part in signature.split(","):
        part = part.strip()
        if part and part != "*":
            names.append(part.split("=")[0].strip())
    return names


class SqlRows(list):  # type: ignore[type-arg]
    """The rows of ``ctx.sql.query``; ``truncated`` says the limit cut the result."""

    def __init__(self, rows: Any = (), truncated: bool = False) -> None:
        super().__init__(rows)
        self.truncated = truncated


def url_with_params(url: str, params: dict[str, Any] | None) -> str:
    """``url`` with ``params`` URL-encoded and appended (``None`` skipped, lists repeated)."""
    if not params:
        return url
    pairs: list[tuple[str, str]] = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            pairs.extend((str(k), str(i)) for i in v if i is not None)
        else:
            pairs.append((str(k), str(v)))
    if not pairs:
        return url
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(pairs)


def build_methods(
    methods: tuple[Method, ...], invoke: str, *, mock: bool = False, module: str = __name__
) -> dict[str, Callable[..., Any]]:
    """Plain functions, one per method, with the documented signature, each calling ``self.<invoke>(spec, args)``.

    ``mock=True`` makes every parameter positional-or-keyword (the 0.5.x mock style). All functions
    of a group are compiled from one generated source, as ``dataclasses`` does for ``__init__``.
    """
    lines = []
    for i, m in enumerate(methods):
        text = m.mock_signature if (mock and m.mock_signature) else m.signature
        if mock:
            text = ", ".join(p.strip() for p in text.split(",") if p.strip() and p.strip() != "*")
        args = ", ".join(f"{n!r}: {n}" for n in _names(text))
        lines.append(
            f"def {m.name}(self{', ' if text else ''}{text}):\n    return self.{invoke}(_spec{i}, {{{args}}})\n"
        )
    namespace: dict[str, Any] = {f"_spec{i}": m for i, m in enumerate(methods)}
    exec(compile("".join(lines), f"<{module} generated>", "exec"), namespace)
    out: dict[str, Callable[..., Any]] = {}
    for m in methods:
        fn = namespace[m.name]
        fn.__doc__ = m.doc or f"``{m.rpc_method}`` (capability: {m.capability or 'none'})."
        fn.__module__ = module
        out[m.name] = fn
    return out


GROUPS = ("discord", "interaction", "kv", "sql", "ephemeral", "http", "metrics", "secrets")
_TABLE_NAMES = {g.upper(): g for g in GROUPS}


def group(name: str) -> tuple[Method, ...]:
    """The methods of ``ctx.<name>``, imported on first use: a plugin process loads only the tables it calls."""
    import importlib

    return importlib.import_module(f"._apis.{name}", __package__).METHODS


def all_methods() -> dict[str, Method]:
    """Every method by ``"<api>.<name>"`` (loads every table)."""
    return {m.qualname: m for g in GROUPS for m in group(g)}


def __getattr__(name: str) -> Any:
    # DISCORD, KV, ..., APIS and METHODS resolve lazily (PEP 562).
    if name in _TABLE_NAMES:
        return group(_TABLE_NAMES[name])
    if name == "APIS":
        return {g: group(g) for g in GROUPS}
    if name == "METHODS":
        return all_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
