"""Scopes and bindings of a bundle's modules: where each name gets its values, gathered in one pass.

``_flow.Program`` asks these tables what a name can be; this module only records what the code
says (assignments, imports, parameters, definitions, attribute stores, container puts, calls),
following Python's scoping rules: function, class and comprehension scopes, ``global`` and
``nonlocal``, walrus targets, ``match`` captures.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._ast import fold

if TYPE_CHECKING:
    from ._flow import Program

#: Decorators that keep a function a plain function called by name.
TRANSPARENT_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "property",
        "functools.wraps",
        "functools.cache",
        "functools.lru_cache",
        "functools.cached_property",
        "abc.abstractmethod",
        "typing.overload",
        "typing.final",
        "contextlib.contextmanager",
        "contextlib.asynccontextmanager",
    }
)
#: ``plugin.<decorator>`` registering a handler the host calls with a context first.
HANDLER_PREFIXES = ("on_",)
HANDLER_NAMES = frozenset({"cron", "schedule"})

_FUNC_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMP_NODES = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(eq=False)
class Binding:
    """One place a name gets a value: ``kind`` says how, ``value`` what to evaluate (an expression or a name)."""

    kind: str  # import, from, assign, aug, param, def, class, for, with, unknown, del
    node: ast.AST
    value: object = None
    path: tuple[int, ...] = ()
    top_level: bool = False  # an unconditional statement of the module body


@dataclass(eq=False)
class Scope:
    kind: str  # module, class, function, comprehension
    node: ast.AST
    parent: Scope | None
    module: ModuleInfo
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals_decl: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    cls: ClassInfo | None = None  # the class whose body this is, or whose method this is
    func: FuncInfo | None = None

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


@dataclass(eq=False)
class FuncInfo:
    fid: int
    node: ast.AST
    name: str
    module: ModuleInfo
    scope: Scope  # the function's own scope
    owner: ClassInfo | None  # the class it is a method of
    kind: str = "function"  # function, method, staticmethod, classmethod, lambda
    handler: bool = False  # registered with the plugin: the host calls it with a context first
    decorated: bool = False  # wrapped by a decorator we do not see through

    @property
    def params(self) -> list[ast.arg]:
        a = self.node.args
        return [*a.posonlyargs, *a.args]


@dataclass(eq=False)
class ClassInfo:
    cid: int
    node: ast.ClassDef
    module: ModuleInfo
    scope: Scope  # the class body
    methods: dict[str, list[FuncInfo]] = field(default_factory=dict)


@dataclass(eq=False)
class ModuleInfo:
    name: str
    path: str
    tree: ast.Module
    constants: dict[str, str]
    scope: Scope = None  # type: ignore[assignment]
    stars: list[str] = field(default_factory=list)  # modules star-imported, absolute names
    first_load: dict[str, int] = field(default_factory=dict)  # name -> first line it is read
    deleted: set[str] = field(default_factory=set)  # names deleted at module level
    dynamic_globals: bool = False  # globals() written with a computed key


class Builder:
    """One pass over a module: scopes, bindings, functions, classes, attribute stores, calls, parents."""

    def __init__(self, program: Program, info: ModuleInfo) -> None:
        self.p = program
        self.info = info
        package = info.name if info.path.endswith("__init__.py") else info.name.rpartition(".")[0]
        self.package = package

    def build(self) -> None:
        info = self.info
        info.scope = Scope("module", info.tree, None, info)
        self.p.scope_of[id(info.tree)] = info.scope
        for stmt in info.tree.body:
            self.stmt(stmt, info.scope, top=True)

    # statements ---------------------------------------------------------------------------

    def stmt(self, node: ast.stmt, scope: Scope, top: bool = False) -> None:
        p = self.p
        p.scope_of[id(node)] = scope
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.function(node, scope, top)
            return
        if isinstance(node, ast.ClassDef):
            self.klass(node, scope, top)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.bind(alias.asname, Binding("import", node, alias.name, top_level=top))
                else:
                    top_name = alias.name.split(".")[0]
                    scope.bind(top_name, Binding("import", node, top_name, top_level=top))
                p.parent[id(alias)] = node
            return
        if isinstance(node, ast.ImportFrom):
            base = self.absolute(node)
            for alias in node.names:
                p.parent[id(alias)] = node
                if alias.name == "*":
                    if base:
                        self.info.stars.append(base)
                    continue
                qual = f"{base}.{alias.name}" if base else alias.name
                scope.bind(alias.asname or alias.name, Binding("from", node, qual, top_level=top))
            return
        if isinstance(node, ast.Global):
            scope.globals_decl.update(node.names)
            return
        if isinstance(node, ast.Nonlocal):
            scope.nonlocals.update(node.names)
            return
        if isinstance(node, ast.Assign):
            self.expr(node.value, scope, node)
            for target in node.targets:
                self.target(target, scope, node, Binding("assign", node, node.value, top_level=top), ())
            return
        if isinstance(node, ast.AnnAssign):
            self.expr(node.annotation, scope, node)
            if node.value is not None:
                self.expr(node.value, scope, node)
                self.target(node.target, scope, node, Binding("assign", node, node.value, top_level=top), ())
            else:
                self.expr(node.target, scope, node, store_only=True)
            return
        if isinstance(node, ast.AugAssign):
            self.expr(node.value, scope, node)
            self.target(node.target, scope, node, Binding("aug", node, node.value, top_level=False), (), load=True)
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter, scope, node)
            self.target(node.target, scope, node, Binding("for", node, node.iter), ())
            for s in node.body + node.orelse:
                self.child(s, node)
                self.stmt(s, scope)
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                p.parent[id(item)] = node
                self.expr(item.context_expr, scope, item)
                if item.optional_vars is not None:
                    self.target(item.optional_vars, scope, item, Binding("with", node, item.context_expr), ())
            for s in node.body:
                self.child(s, node)
                self.stmt(s, scope)
            return
        if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for s in node.body + node.orelse + node.finalbody:
                self.child(s, node)
                self.stmt(s, scope)
            for handler in node.handlers:
                p.parent[id(handler)] = node
                p.scope_of[id(handler)] = scope
                if handler.type is not None:
                    self.expr(handler.type, scope, handler)
                if handler.name:
                    scope.bind(handler.name, Binding("except", handler))
                for s in handler.body:
                    self.child(s, handler)
                    self.stmt(s, scope)
            return
        if isinstance(node, ast.Delete):
            for target in node.targets:
                self.expr(target, scope, node)
                if isinstance(target, ast.Name) and scope.kind == "module":
                    self.info.deleted.add(target.id)
            return
        if isinstance(node, ast.Match):
            self.expr(node.subject, scope, node)
            for case in node.cases:
                p.parent[id(case)] = node
                for sub in ast.walk(case.pattern):
                    p.scope_of[id(sub)] = scope
                    name = getattr(sub, "name", None) or getattr(sub, "rest", None)
                    if isinstance(name, str):
                        scope.bind(name, Binding("unknown", sub))
                    if isinstance(sub, ast.MatchValue):
                        self.expr(sub.value, scope, case)
                    if isinstance(sub, ast.MatchClass):
                        self.expr(sub.cls, scope, case)
                if case.guard is not None:
                    self.expr(case.guard, scope, case)
                for s in case.body:
                    self.child(s, case)
                    self.stmt(s, scope)
            return
        # everything else: expressions and nested statements in the same scope
        for child in ast.iter_child_nodes(node):
            self.child(child, node)
            if isinstance(child, ast.stmt):
                self.stmt(child, scope)
            elif isinstance(child, ast.expr):
                self.expr(child, scope, node)
            else:
                self.expr(child, scope, node)

    def child(self, child: ast.AST, parent: ast.AST) -> None:
        self.p.parent[id(child)] = parent

    def absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = self.package.split(".") if self.package else []
        if node.level > 1:
            parts = parts[: len(parts) - (node.level - 1)]
        return ".".join([*parts, *([node.module] if node.module else [])])

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, top: bool) -> None:
        p = self.p
        for dec in node.decorator_list:
            self.child(dec, node)
            self.expr(dec, scope, node)
        self.arguments(node.args, scope, node)
        if node.returns is not None:
            self.child(node.returns, node)
            self.expr(node.returns, scope, node)
        owner = scope.cls if scope.kind == "class" else None
        kind = "method" if owner is not None else "function"
        handler = False
        decorated = False
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            name = _dotted(target)
            last = name.rsplit(".", 1)[-1] if name else None
            if last == "staticmethod" and owner is not None:
                kind = "staticmethod"
            elif last == "classmethod" and owner is not None:
                kind = "classmethod"
            elif last in ("property", "cached_property") and owner is not None:
                kind = "property"
            elif isinstance(target, ast.Attribute) and (
                target.attr.startswith(HANDLER_PREFIXES) or target.attr in HANDLER_NAMES
            ):
                handler = True
            elif (name and (name in TRANSPARENT_DECORATORS or last in ("wraps", "cache", "lru_cache", "setter"))) or (
                name and name.endswith((".setter", ".getter", ".deleter"))
            ):
                continue
            else:
                decorated = True
        inner = Scope("function", node, scope, self.info, cls=owner)
        info = FuncInfo(len(p.funcs), node, node.name, self.info, inner, owner, kind, handler, decorated)
        inner.func = info
        p.funcs[info.fid] = info
        p.func_of_node[id(node)] = info
        if owner is not None:
            owner.methods.setdefault(node.name, []).append(info)
        scope.bind(node.name, Binding("def", node, info, top_level=top))
        self.params(node.args, inner, info)
        for s in node.body:
            self.child(s, node)
            self.stmt(s, inner)

    def params(self, args: ast.arguments, inner: Scope, info: FuncInfo) -> None:
        for i, a in enumerate([*args.posonlyargs, *args.args]):
            inner.bind(a.arg, Binding("param", a, (info, i, a.arg)))
        for a in args.kwonlyargs:
            inner.bind(a.arg, Binding("param", a, (info, -1, a.arg)))
        for a in (args.vararg, args.kwarg):
            if a is not None:
                inner.bind(a.arg, Binding("unknown", a))

    def arguments(self, args: ast.arguments, scope: Scope, owner: ast.AST) -> None:
        for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.child(d, owner)
            self.expr(d, scope, owner)
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if a is not None:
                self.p.scope_of[id(a)] = scope
                if a.annotation is not None:
                    self.child(a.annotation, a)
                    self.expr(a.annotation, scope, a)

    def klass(self, node: ast.ClassDef, scope: Scope, top: bool) -> None:
        p = self.p
        for child in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.child(child, node)
            self.expr(child, scope, node)
        body = Scope("class", node, scope, self.info)
        info = ClassInfo(len(p.classes), node, self.info, body)
        body.cls = info
        p.classes[info.cid] = info
        p.class_of_node[id(node)] = info
        scope.bind(node.name, Binding("class", node, info, top_level=top))
        for s in node.body:
            self.child(s, node)
            self.stmt(s, body)

    def target(
        self, target: ast.AST, scope: Scope, parent: ast.AST, b: Binding, path: tuple[int, ...], load: bool = False
    ) -> None:
        p = self.p
        p.parent[id(target)] = parent
        p.scope_of[id(target)] = scope
        if isinstance(target, ast.Name):
            bound = Binding(b.kind, b.node, b.value, path, b.top_level and not path)
            if scope.kind == "comprehension":
                scope.bind(target.id, bound)
            else:
                self.bind_name(target.id, scope, bound)
            if load:
                self.note_load(target.id, target.lineno, scope)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for i, elt in enumerate(target.elts):
                self.target(elt, scope, target, b, (*path, i))
        elif isinstance(target, ast.Starred):
            self.target(target.value, scope, target, Binding("unknown", b.node), ())
        elif isinstance(target, ast.Attribute):
            self.expr(target.value, scope, target)
            value = b.value if b.kind == "assign" and not path else None
            p.attr_stores.setdefault(target.attr, []).append((target.value, value))
        elif isinstance(target, ast.Subscript):
            self.expr(target.value, scope, target)
            self.expr(target.slice, scope, target)
            if _is_namespace(target.value):
                p.computed_setattr = True  # x.__dict__[k] = v sets an attribute
            key = _container_key(target.value)
            if key is not None and b.kind in ("assign", "aug") and not path:
                p.container_puts.setdefault(key, []).append((False, b.value))  # type: ignore[arg-type]
            if _is_globals_call(target.value) and fold(target.slice, self.info.constants) is None:
                self.info.dynamic_globals = True
        else:
            self.expr(target, scope, parent)

    def bind_name(self, name: str, scope: Scope, b: Binding) -> None:
        if name in scope.globals_decl and scope.kind != "module":
            self.info.scope.bind(name, Binding(b.kind, b.node, b.value, b.path, False))
        else:
            scope.bind(name, b)

    def note_load(self, name: str, line: int, scope: Scope) -> None:
        first = self.info.first_load.get(name)
        if first is None or line < first:
            self.info.first_load[name] = line

    # expressions ----------------------------------------------------------------------

    def expr(self, node: ast.AST, scope: Scope, parent: ast.AST, store_only: bool = False) -> None:
        p = self.p
        stack: list[tuple[ast.AST, ast.AST, Scope]] = [(node, parent, scope)]
        while stack:
            n, par, sc = stack.pop()
            p.parent[id(n)] = par
            p.scope_of[id(n)] = sc
            if isinstance(n, ast.Name):
                if isinstance(n.ctx, ast.Load):
                    self.note_load(n.id, n.lineno, sc)
                continue
            if isinstance(n, ast.Lambda):
                self.lambda_(n, sc)
                continue
            if isinstance(n, _COMP_NODES):
                self.comprehension(n, sc)
                continue
            if isinstance(n, ast.NamedExpr):
                target_scope = sc
                while target_scope.kind == "comprehension" and target_scope.parent is not None:
                    target_scope = target_scope.parent
                p.parent[id(n.target)] = n
                p.scope_of[id(n.target)] = sc
                self.bind_name(n.target.id, target_scope, Binding("assign", n, n.value))
                stack.append((n.value, n, sc))
                continue
            if isinstance(n, ast.Call):
                p.calls.append(n)
                if (
                    isinstance(n.func, ast.Attribute)
                    and n.func.attr in _NAMESPACE_WRITES
                    and _is_namespace(n.func.value)
                ):
                    p.computed_setattr = True  # vars(x).update(...) / x.__dict__.update(...) set attributes
                if isinstance(n.func, ast.Attribute) and n.func.attr in _PUTS:
                    key = _container_key(n.func.value)
                    if key is not None:
                        start = _PUTS[n.func.attr]
                        spread = n.func.attr in ("extend", "update")
                        p.container_puts.setdefault(key, []).extend(
                            (spread, v) for v in [*n.args[start:], *(k.value for k in n.keywords)]
                        )
                if (
                    isinstance(n.func, ast.Name)
                    and n.func.id == "setattr"
                    and len(n.args) >= 3
                    and fold(n.args[1], self.info.constants) is None
                ):
                    p.computed_setattr = True
                elif isinstance(n.func, ast.Name) and n.func.id == "setattr" and len(n.args) >= 3:
                    attr = fold(n.args[1], self.info.constants)
                    p.attr_stores.setdefault(attr, []).append((n.args[0], n.args[2]))  # type: ignore[arg-type]
            for child in ast.iter_child_nodes(n):
                stack.append((child, n, sc))

    def lambda_(self, node: ast.Lambda, scope: Scope) -> None:
        p = self.p
        self.arguments(node.args, scope, node)
        inner = Scope("function", node, scope, self.info, cls=None)
        info = FuncInfo(len(p.funcs), node, "<lambda>", self.info, inner, None, "lambda")
        inner.func = info
        p.funcs[info.fid] = info
        p.func_of_node[id(node)] = info
        self.params(node.args, inner, info)
        self.expr(node.body, inner, node)

    def comprehension(self, node: ast.AST, scope: Scope) -> None:
        inner = Scope("comprehension", node, scope, self.info)
        for i, gen in enumerate(node.generators):  # type: ignore[attr-defined]
            self.p.parent[id(gen)] = node
            self.p.scope_of[id(gen)] = inner
            self.expr(gen.iter, scope if i == 0 else inner, gen)
            self.target(gen.target, inner, gen, Binding("comp", gen, gen.iter), ())
            for cond in gen.ifs:
                self.expr(cond, inner, gen)
        if isinstance(node, ast.DictComp):
            self.expr(node.key, inner, node)
            self.expr(node.value, inner, node)
        else:
            self.expr(node.elt, inner, node)  # type: ignore[attr-defined]


#: Container methods that put their arguments in (from this position on).
_PUTS = {
    "append": 0,
    "extend": 0,
    "insert": 1,
    "add": 0,
    "update": 0,
    "setdefault": 1,
    "appendleft": 0,
    "push": 0,
    "set": 0,  # contextvars.ContextVar, threading.local-like holders
    "put": 0,
    "put_nowait": 0,
    "__setitem__": 1,
}
#: Methods that hand back something put in before (``CV.get()``, ``queue.get()``, ``d.pop(k)``).
_GETS = frozenset({"get", "get_nowait", "pop", "popleft", "popitem", "__getitem__", "setdefault", "values", "items"})
_NAMESPACE_WRITES = frozenset({"update", "setdefault", "__setitem__"})


def _is_namespace(node: ast.AST) -> bool:
    """``x.__dict__`` or ``vars(x)``: writing into it sets attributes."""
    return (isinstance(node, ast.Attribute) and node.attr == "__dict__") or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "vars" and bool(node.args)
    )


def _container_key(node: ast.AST) -> tuple[str, str] | None:
    if isinstance(node, ast.Name):
        return ("name", node.id)
    if isinstance(node, ast.Attribute):
        return ("attr", node.attr)
    return None


def _is_globals_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("globals", "vars")


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
