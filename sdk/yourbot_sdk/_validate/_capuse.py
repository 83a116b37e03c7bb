"""Which capabilities the code uses: every ctx API reached, however the context travels.

The context is what the host passes first to a registered handler (or a
parameter annotated ``Context``). ``_flow`` follows it into helpers that receive
it, attributes that hold it (``self.ctx = ctx``), aliases (``kv = ctx.kv``,
``send = ctx.discord.send_message``) and ``getattr`` with a constant name. An
object review cannot identify that is used like a context (``x.kv.set(...)``)
counts as one, so use cannot be hidden; an object known to be something else
(``self.cache.kv`` where ``self.cache = Cache()``) does not.
"""

from __future__ import annotations

import ast
import contextlib
import re
from urllib.parse import urlsplit

from ..spec.manifest import proxy_domains
from ._ast import nodes
from ._catalogue import API_METHODS, DISCORD_METHODS, UNUSED_EXEMPT, declared_capabilities, effective_capabilities
from ._findings import Finding, error, warning
from ._flow import API_GROUPS, UNKNOWN, Program, api_methods, program
from ._manifest import manifest_problem

#: ctx API methods whose argument is a URL the proxy must allow: (api, method) → argument position.
URL_ARGUMENTS = {("http", "get"): 0, ("http", "post"): 0, ("http", "request"): 1, ("ws", "ensure"): 1}


#: Calls that read their first argument's attributes visibly (a computed name is reported on its own).
_READERS = frozenset(
    {"builtins.getattr", "builtins.hasattr", "inspect.getattr_static", "builtins.vars", "builtins.isinstance"}
)


#: Attribute names a ctx API or method can be read by (anything else cannot be one).
_API_NAMES = frozenset(API_GROUPS) | frozenset(m for api in API_GROUPS for m in api_methods(api)) | {"__getattribute__"}


def capability_of(api: str, method: str) -> str | None:
    if api == "discord":
        return DISCORD_METHODS.get(method)
    entry = API_METHODS.get(api)
    return entry[0] if entry is not None and method in entry[1] else None


def api_capabilities(api: str) -> set[str]:
    """Every capability some method of ``ctx.<api>`` needs."""
    if api == "discord":
        return set(DISCORD_METHODS.values())
    entry = API_METHODS.get(api)
    return {entry[0]} if entry is not None else set()


class Uses:
    """What the code of a bundle does with the context, gathered in one pass."""

    def __init__(self, bundle) -> None:
        prog = program(bundle)
        self.prog = prog
        self.calls: dict[str, list[tuple[str, int, str]]] = {}  # capability -> [(path, line, "ctx.api.method")]
        self.mentioned: set[str] = set()
        self.dynamic: list[tuple[str, int, str, set[str]]] = []  # (path, line, what, capabilities it may need)
        self.url_calls: list[tuple[str, ast.Call, str, str]] = []  # (path, call, api, method)
        for info in prog.modules.values():
            path = info.path
            for node in nodes(info.tree):
                if isinstance(node, ast.Attribute):
                    if node.attr in _API_NAMES and isinstance(node.ctx, ast.Load):
                        self._reference(path, node)
                elif isinstance(node, ast.Call):
                    if (isinstance(node.func, ast.Name) and node.func.id in ("getattr", "getattr_static")) or (
                        isinstance(node.func, ast.Attribute) and node.func.attr == "__getattribute__"
                    ):
                        self._reference(path, node)  # getattr(ctx, "kv")
                    self._call(path, node)

    def _reference(self, path: str, node: ast.expr) -> None:
        values = self.prog.values(node)
        for v in values:
            if v[0] == "method":
                cap = capability_of(v[1], v[2])
                if cap:
                    self.calls.setdefault(cap, []).append((path, node.lineno, f"ctx.{v[1]}.{v[2]}"))
            elif v[0] == "api":
                caps = api_capabilities(v[1])
                if len(caps) == 1:
                    self.mentioned |= caps
                if self._escapes(node):
                    if len(caps) == 1:
                        cap = next(iter(caps))
                        self.calls.setdefault(cap, []).append((path, node.lineno, f"ctx.{v[1]}"))
                    elif caps:
                        self.dynamic.append(
                            (path, node.lineno, f"ctx.{v[1]} is passed where review cannot follow", caps)
                        )

    def _escapes(self, node: ast.AST) -> bool:
        prog = self.prog
        parent = prog.parent.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return False
        if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            return not all(isinstance(t, ast.Name) for t in targets)
        if isinstance(parent, ast.Call) and parent.func is not node:
            callee = prog.values(parent.func)
            if callee and all(v[0] in ("func", "class") for v in callee):
                return False  # a bundled function: followed through its parameter
            return not ({v[1] for v in callee if v[0] == "ref"} & _READERS and parent.args and parent.args[0] is node)
        return not isinstance(parent, (ast.Compare, ast.If, ast.While, ast.Return, ast.Expr, ast.Assert))

    def _call(self, path: str, call: ast.Call) -> None:
        prog = self.prog
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "has_capability" and call.args:
            names = prog.strings(call.args[0])
            if names:
                self.mentioned |= set(names)
        callee = prog.values(func)
        for v in callee:
            if v[0] == "method" and (v[1], v[2]) in URL_ARGUMENTS:
                self.url_calls.append((path, call, v[1], v[2]))
        refs = {v[1] for v in callee if v[0] == "ref"}
        receiver = name = None
        if (
            refs & {"builtins.getattr", "inspect.getattr_static", "builtins.object.__getattribute__"}
            and len(call.args) >= 2
        ):
            receiver, name = call.args[0], call.args[1]
        elif isinstance(func, ast.Attribute) and func.attr == "__getattribute__" and len(call.args) == 1:
            receiver, name = func.value, call.args[0]
        elif refs & {"builtins.vars"} and call.args:
            receiver = call.args[0]
        if receiver is None or (name is not None and prog.strings(name) is not None):
            return
        what = "getattr() with a computed name" if name is not None else "vars()"
        for v in prog.values(receiver):
            if v[0] == "ctx":
                caps = set()
                for api in API_METHODS:
                    caps |= api_capabilities(api)
                caps |= api_capabilities("discord")
                self.dynamic.append((path, call.lineno, f"{what} on the context", caps))
            elif v[0] == "api":
                self.dynamic.append((path, call.lineno, f"{what} on ctx.{v[1]}", api_capabilities(v[1])))


def _uses(bundle) -> Uses:
    cached = getattr(bundle, "_mmo_uses", None)
    if cached is None:
        cached = Uses(bundle)
        with contextlib.suppress(AttributeError, TypeError):
            bundle._mmo_uses = cached
    return cached


def capability_uses(bundle) -> dict[str, list[tuple[str, int, str]]]:
    """``capability → [(path, line, 'ctx.<api>.<method>')]`` for every use the code makes."""
    return _uses(bundle).calls


def check_capability_use(bundle) -> list[Finding]:
    """Every ctx use needs an effective capability (error); a declared one never used is a warning."""
    if manifest_problem(bundle):  # nothing is declared to compare with: the manifest's own finding says why
        return []
    manifest = bundle.manifest if isinstance(bundle.manifest, dict) else {}
    effective = effective_capabilities(manifest)
    uses = _uses(bundle)
    out: list[Finding] = []
    for cap, places in sorted(uses.calls.items()):
        if cap in effective:
            continue
        by_file: dict[str, list[tuple[int, str]]] = {}
        for path, line, call in places:
            by_file.setdefault(path, []).append((line, call))
        for path, calls in by_file.items():
            line, call = min(calls)
            more = f" (and {len(calls) - 1} more use(s) in this file)" if len(calls) > 1 else ""
            out.append(
                error(
                    "capability_undeclared",
                    f'{call} needs capability "{cap}"; add it to "capabilities_required" in manifest.json{more}',
                    path,
                    line,
                )
            )
    for path, line, what, caps in uses.dynamic:
        missing = sorted(caps - effective)
        if missing:
            out.append(
                error(
                    "capability_dynamic",
                    f"{what} can reach SDK calls needing {', '.join(missing)}, which the manifest does not declare; "
                    "call the ctx methods by name so review can see which capability each needs",
                    path,
                    line,
                )
            )
    _, raw = declared_capabilities(manifest)
    declared = [c for c in raw if isinstance(c, str)] if isinstance(raw, list) else []
    dynamic = set().union(*(caps for *_, caps in uses.dynamic)) if uses.dynamic else set()
    for cap in declared:
        if (
            cap in effective
            and cap not in uses.calls
            and cap not in uses.mentioned
            and cap not in dynamic
            and cap not in UNUSED_EXEMPT
        ):
            out.append(
                warning(
                    "capability_unused",
                    f'"{cap}" is declared but no call needs it; remove it so installers are asked for less',
                    "manifest.json",
                )
            )
    return out


def check_http_domains(bundle) -> list[Finding]:
    """A literal URL given to ``ctx.http`` (or ``ctx.ws``) must name a host in ``proxy_domains_requested``."""
    if manifest_problem(bundle):
        return []
    manifest = bundle.manifest if isinstance(bundle.manifest, dict) else {}
    allowed = proxy_domains(manifest)  # as the host reads them: "https://API.example.com:443" is api.example.com
    uses = _uses(bundle)
    prog = uses.prog
    out = []
    for path, call, api, method in uses.url_calls:
        index = URL_ARGUMENTS[(api, method)]
        node = (
            call.args[index]
            if len(call.args) > index
            else next((k.value for k in call.keywords if k.arg == "url"), None)
        )
        for url in _url_prefixes(prog, node):
            host = (urlsplit(url).hostname or "").lower()
            if host and host not in allowed:
                out.append(
                    error(
                        "http_domain_undeclared",
                        f'ctx.{api}.{method} calls {host}, which is not in "proxy_domains_requested"; '
                        f'add "{host}" to it',
                        path,
                        call.lineno,
                    )
                )
    return out


def _url_prefixes(prog: Program, node: ast.AST | None) -> list[str]:
    """The literal starts of a URL expression up to its host, when visible."""
    if node is None:
        return []
    texts = prog.strings(node)
    candidates = list(texts) if texts else []
    if not candidates and isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        candidates = [str(node.values[0].value)]
    if not candidates and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = prog.strings(node.left)
        candidates = list(left) if left else []
    return [c for c in candidates if re.match(r"^(https?|wss?)://[^/?#]+[/?#]", c + "/")]


__all__ = ["UNKNOWN", "capability_of", "capability_uses", "check_capability_use", "check_http_domains"]
