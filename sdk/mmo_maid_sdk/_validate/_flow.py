"""What names and expressions of a bundle refer to, without running anything.

The code checks (blocked modules and calls, SQL building, capability use) ask one
question of an expression: *what can this be at run time?* This module answers
it over the whole bundle at once, following Python's scoping rules (local,
enclosing, global, builtin; class bodies; comprehensions; ``global``/``nonlocal``),
imports (``import a.b as c``, ``from m import x``, relative and star imports,
bundled modules), aliases (``x = os``), attribute chains, ``getattr`` with a
name that folds to a constant, ``sys.modules[...]``, ``vars(m)[...]``,
``importlib.import_module(...)``, calls of bundled functions (their return
values) and arguments passed to bundled functions (their parameters).

An answer is a set of *values*:

``("ref", "os.system")``
    something outside the bundle, by qualified name (a stdlib or third-party
    module, function, class...); ``shutil.os`` is normalised to ``os``.
``("mod", "pkg.helpers")``
    a bundled module.
``("func", fid, bound)`` / ``("class", cid)`` / ``("inst", cid)``
    a bundled function (``bound``: called through an instance, so the first
    parameter is taken), class or instance of one.
``("ctx",)`` / ``("api", "kv")`` / ``("method", "kv", "set")``
    the plugin's context, one of its APIs, one API method.
``("globals", module)`` / ``("dict_of", value)``
    ``globals()`` of a bundled module / ``vars(x)`` or ``x.__dict__``.
``UNKNOWN``
    could be anything (a parameter of a function called from places we cannot
    see, an item of an unknown container...): checks treat it as possibly any of
    the above, which is what makes them fail closed.
``OTHER``
    known not to be any of the above (literals, data returned by calls...).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .. import _api
from ._ast import facts, fold, module_name, nodes

UNKNOWN = ("?",)
OTHER = ("-",)
CTX = ("ctx",)

#: ``ctx.<name>`` attributes that are SDK APIs (``ctx.kv``, ``ctx.discord``...).
API_GROUPS = frozenset(_api.GROUPS)
SDK_PACKAGES = ("mmo_maid_sdk", "yourbot_sdk")
BUILTIN_NAMES = frozenset(dir(builtins))

#: A module attribute with one of these names is (in every stdlib and SDK module
#: that has it) the module itself: ``shutil.os`` is ``os``, ``tempfile._os`` is ``os``.
MODULE_ALIASES: dict[str, str] = {
    "os": "os",
    "_os": "os",
    "sys": "sys",
    "_sys": "sys",
    "subprocess": "subprocess",
    "_subprocess": "subprocess",
    "_posixsubprocess": "_posixsubprocess",
    "socket": "socket",
    "_socket": "_socket",
    "ctypes": "ctypes",
    "_ctypes": "_ctypes",
    "builtins": "builtins",
    "_builtins": "builtins",
    "__builtins__": "builtins",
    "importlib": "importlib",
    "_imp": "_imp",
    "_bootstrap": "importlib._bootstrap",
    "_bootstrap_external": "importlib._bootstrap_external",
    "marshal": "marshal",
    "pickle": "pickle",
    "_pickle": "_pickle",
    "runpy": "runpy",
    "posix": "posix",
    "pty": "pty",
    "multiprocessing": "multiprocessing",
    "gc": "gc",
    "inspect": "inspect",
    "zipimport": "zipimport",
    "imp": "imp",
    "shelve": "shelve",
    "code": "code",
    "pdb": "pdb",
}

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


class Program:
    """Every scanned module of a bundle, indexed once; ``values(node)`` answers what an expression can be."""

    def __init__(self, bundle) -> None:
        self.bundle = bundle
        self.modules: dict[str, ModuleInfo] = {}
        self.by_path: dict[str, ModuleInfo] = {}
        self.scope_of: dict[int, Scope] = {}
        self.parent: dict[int, ast.AST] = {}
        self.funcs: dict[int, FuncInfo] = {}
        self.func_of_node: dict[int, FuncInfo] = {}
        self.classes: dict[int, ClassInfo] = {}
        self.class_of_node: dict[int, ClassInfo] = {}
        self.attr_stores: dict[str, list[tuple[ast.expr, ast.expr | None]]] = {}  # attr -> [(base, value)]
        self.computed_setattr = False  # setattr(x, <computed>, v) somewhere: attribute values are open
        #: values put into containers after they are made (``d[k] = v``, ``xs.append(v)``), by the container's
        #: name or attribute name: ``("name", "STASH")`` / ``("attr", "items")`` → [value expressions]
        self.container_puts: dict[tuple[str, str], list[tuple[bool, ast.expr]]] = {}  # (spread, value)
        self.calls: list[ast.Call] = []
        for path, mf in facts(bundle).items():
            info = ModuleInfo(module_name(path), path, mf.tree, mf.constants)
            self.modules[info.name] = info
            self.by_path[path] = info
        self.packages = {name.split(".")[0] for name in self.modules}
        self.prefixes = {".".join(name.split(".")[:i]) for name in self.modules for i in range(1, name.count(".") + 2)}
        self._mro: dict[int, list[ClassInfo]] = {}
        self._family: dict[int, set] = {}
        for info in self.modules.values():
            _Builder(self, info).build()
        self._memo: dict[tuple[int, bool], frozenset] = {}
        self._active: set[tuple[int, bool]] = set()
        self._returns: dict[tuple[int, bool], frozenset] = {}
        self._params: dict[tuple[int, int], frozenset] = {}
        self._call_sites: dict[int, list[tuple[ast.Call, bool]]] | None = None
        self._escaping: set[int] = set()
        self.callable_names = {fn.name for fn in self.funcs.values()} | {c.node.name for c in self.classes.values()}

    # --- modules ---------------------------------------------------------------------

    def is_bundled(self, qual: str) -> bool:
        return qual in self.prefixes

    def module_value(self, qual: str) -> tuple:
        """The value of importing ``qual``: a bundled module or an outside reference.

        A bundled module named like a stdlib one is both: the stdlib module may
        already be imported when the plugin's code runs, and then it is what
        ``import`` returns.
        """
        if self.is_bundled(qual) and qual.split(".")[0] not in sys.stdlib_module_names:
            return ("mod", qual)
        return ("ref", normalise(qual))

    def module_values(self, qual: str) -> set:
        out = {self.module_value(qual)}
        if self.is_bundled(qual):
            out.add(("mod", qual))
        return out

    def module_attr(self, mod: str, attr: str, shallow: bool) -> frozenset:
        if attr == "__builtins__":
            return frozenset({("ref", "builtins")})
        out: set = set()
        sub = f"{mod}.{attr}"
        if self.is_bundled(sub):
            out.add(("mod", sub))
        info = self.modules.get(mod)
        if info is not None:
            bindings = info.scope.bindings.get(attr)
            if bindings:
                for b in bindings:
                    out |= self.binding_values(b, shallow)
            for star in info.stars:
                out |= self._star_values(star, attr, shallow)
            if info.dynamic_globals:
                out.add(UNKNOWN)
        for base, value in self.attr_stores.get(attr, ()):
            if value is not None and ("mod", mod) in self.values(base, shallow):
                out |= self.values(value, shallow)
        return frozenset(out) if out else frozenset({UNKNOWN})

    def _star_values(self, star: str, name: str, shallow: bool) -> set:
        if star.split(".")[0] in self.packages and self.is_bundled(star):
            info = self.modules.get(star)
            if info is not None and name in info.scope.bindings and not name.startswith("_"):
                return set(self.module_attr(star, name, shallow))
            return set()
        return {("ref", normalise(f"{star}.{name}"))}

    # --- names --------------------------------------------------------------------------

    def lookup(self, scope: Scope, name: str) -> tuple[list[Binding], bool, list[str]]:
        """``(bindings, may_be_builtin, star_modules)`` for a read of ``name`` in ``scope``."""
        if name in scope.globals_decl:
            return self._module_lookup(scope.module, name)
        if scope.kind != "module" and name not in scope.nonlocals and name in scope.bindings:
            return scope.bindings[name], False, []
        s = scope.parent
        while s is not None and s.kind != "module":
            if s.kind != "class":  # an enclosing class body is not visible to what it contains
                if name in s.globals_decl:
                    break
                if name in s.bindings:
                    return s.bindings[name], False, []
            s = s.parent
        return self._module_lookup(scope.module, name)

    def _module_lookup(self, info: ModuleInfo, name: str) -> tuple[list[Binding], bool, list[str]]:
        bindings = info.scope.bindings.get(name, [])
        builtin = name in BUILTIN_NAMES or name == "__builtins__"
        if builtin and bindings and name not in info.deleted:
            first_use = info.first_load.get(name)
            lines = [b.node.lineno for b in bindings if b.top_level and hasattr(b.node, "lineno")]
            # a module binding hides the builtin only if it surely ran before any read of the name
            if lines and (first_use is None or min(lines) < first_use):
                builtin = False
        return bindings, builtin, info.stars

    def binding_values(self, b: Binding, shallow: bool) -> frozenset:
        kind = b.kind
        if kind == "import" or kind == "from":
            qual: str = b.value  # type: ignore[assignment]
            if kind == "from":
                mod, _, attr = qual.rpartition(".")
                if mod.split(".")[0] in self.packages and self.is_bundled(mod):
                    return self.module_attr(mod, attr, shallow)
            return frozenset(self.module_values(qual) if kind == "import" else {self.module_value(qual)})
        if kind == "assign":
            return self._unpack(b.value, b.path, shallow)  # type: ignore[arg-type]
        if kind == "param":
            return self.param_values(b.value, shallow)  # type: ignore[arg-type]
        if kind == "def":
            return frozenset({("func", b.value.fid, False)})  # type: ignore[union-attr]
        if kind == "class":
            return frozenset({("class", b.value.cid)})  # type: ignore[union-attr]
        if kind in ("for", "comp"):
            return self.element_values(b.value, b.path, shallow)  # type: ignore[arg-type]
        if kind == "with":
            return self._unpack(b.value, b.path, shallow)  # type: ignore[arg-type]
        if kind in ("aug", "except"):
            return frozenset({OTHER})
        if kind == "del":
            return frozenset()
        return frozenset({UNKNOWN})

    def _unpack(self, expr: ast.expr, path: tuple[int, ...], shallow: bool) -> frozenset:
        for index in path:
            if isinstance(expr, (ast.Tuple, ast.List)) and index < len(expr.elts):
                expr = expr.elts[index]
                if isinstance(expr, ast.Starred):
                    return frozenset({UNKNOWN})
            else:
                return self.element_values(expr, (), shallow)
        return self.values(expr, shallow)

    def literal(self, expr: ast.expr, depth: int = 0) -> ast.expr | None:
        """The container literal an expression surely is (through names assigned once), else ``None``."""
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
            return expr
        if isinstance(expr, ast.Name) and depth < 8:
            scope = self.scope_of.get(id(expr))
            if scope is None:
                return None
            bindings, builtin, stars = self.lookup(scope, expr.id)
            if len(bindings) == 1 and not builtin and not stars and bindings[0].kind == "assign":
                b = bindings[0]
                if not b.path:
                    return self.literal(b.value, depth + 1)  # type: ignore[arg-type]
        return None

    def element_values(self, iterable: ast.expr, path: tuple[int, ...], shallow: bool) -> frozenset:
        puts = self.put_values(iterable, shallow)
        if puts:
            return frozenset(puts | {UNKNOWN} if path else puts) | self._element_values(iterable, path, shallow)
        return self._element_values(iterable, path, shallow)

    def _element_values(self, iterable: ast.expr, path: tuple[int, ...], shallow: bool) -> frozenset:
        lit = self.literal(iterable)
        if lit is not None:
            items = lit.keys if isinstance(lit, ast.Dict) else lit.elts
            out: set = set()
            for item in items:
                if item is None or isinstance(item, ast.Starred):
                    out.add(UNKNOWN)
                else:
                    out |= self._unpack(item, path, shallow)
            return frozenset(out)
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id in ("enumerate", "reversed", "sorted", "list", "tuple", "iter")
            and iterable.args
        ):
            if iterable.func.id == "enumerate":
                if path and path[0] == 0:
                    return frozenset({OTHER})
                return self.element_values(iterable.args[0], path[1:], shallow)
            return self.element_values(iterable.args[0], path, shallow)
        seen = self.values(iterable, shallow)
        return frozenset({UNKNOWN}) if UNKNOWN in seen or any(v[0] != "-" for v in seen) else frozenset({OTHER})

    def strings(self, node: ast.AST | None, depth: int = 0) -> frozenset[str] | None:
        """Every string an expression can be, when they are all visible (``None`` otherwise).

        More than ``fold``: a name bound to several constants, a loop variable over
        a literal list of strings, a parameter every caller passes a constant for.
        """
        if node is None or depth > 12:
            return None
        text = fold(node, self.constants_for(node))
        if text is not None:
            return frozenset({text})
        if isinstance(node, ast.IfExp):
            a, b = self.strings(node.body, depth + 1), self.strings(node.orelse, depth + 1)
            return a | b if a is not None and b is not None else None
        if not isinstance(node, ast.Name):
            return None
        scope = self.scope_of.get(id(node))
        if scope is None:
            return None
        bindings, builtin, stars = self.lookup(scope, node.id)
        if not bindings or builtin or stars:
            return None
        out: set[str] = set()
        for b in bindings:
            found: frozenset[str] | None = None
            if b.kind == "assign":
                expr = b.value
                for index in b.path:
                    expr = (
                        expr.elts[index] if isinstance(expr, (ast.Tuple, ast.List)) and index < len(expr.elts) else None
                    )
                found = self.strings(expr, depth + 1)
            elif b.kind in ("for", "comp"):
                lit = self.literal(b.value)
                if lit is not None and not isinstance(lit, ast.Dict):
                    found = frozenset()
                    for item in lit.elts:
                        for index in b.path:
                            item = (
                                item.elts[index]
                                if isinstance(item, (ast.Tuple, ast.List)) and index < len(item.elts)
                                else None
                            )
                        more = self.strings(item, depth + 1)
                        if more is None:
                            return None
                        found |= more
                elif isinstance(lit, ast.Dict) and not b.path:
                    keys = [self.strings(k, depth + 1) if k is not None else None for k in lit.keys]
                    if any(k is None for k in keys):
                        return None
                    found = frozenset().union(*keys)  # type: ignore[arg-type]
            elif b.kind == "param":
                fn, index, name = b.value
                if fn.handler or fn.fid in self._escaping or fn.decorated or fn.kind == "lambda":
                    return None
                sites = self.call_sites().get(fn.fid, [])
                if not sites:
                    return None
                found = frozenset()
                default = self._default(fn, index)
                for call, bound in sites:
                    shift = 1 if bound and fn.kind in ("method", "classmethod") else 0
                    expr = self._argument(call, index - shift, name)
                    if expr is MISSING:
                        expr = default
                    more = self.strings(expr, depth + 1) if expr is not None else None
                    if more is None:
                        return None
                    found |= more
            if found is None:
                return None
            out |= found
        return frozenset(out)

    # --- expressions ------------------------------------------------------------------

    def values(self, node: ast.AST, shallow: bool = False) -> frozenset:
        key = (id(node), shallow)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if key in self._active:
            return frozenset({UNKNOWN})
        self._active.add(key)
        try:
            result = frozenset(self._values(node, shallow))
        finally:
            self._active.discard(key)
        self._memo[key] = result
        return result

    def _values(self, node: ast.AST, shallow: bool) -> Iterable[tuple]:
        if isinstance(node, ast.Name):
            scope = self.scope_of.get(id(node))
            if scope is None:
                return {UNKNOWN}
            if node.id == "__builtins__":
                bindings, builtin, stars = self.lookup(scope, node.id)
                if not bindings:
                    return {("ref", "builtins")}
            bindings, builtin, stars = self.lookup(scope, node.id)
            out: set = set()
            for b in bindings:
                out |= self.binding_values(b, shallow)
            if builtin:
                out.add(("ref", f"builtins.{node.id}") if node.id != "__builtins__" else ("ref", "builtins"))
            if not bindings or node.id not in scope.module.scope.bindings:
                for star in stars:
                    out |= self._star_values(star, node.id, shallow)
            if not out:
                out.add(UNKNOWN if not builtin else OTHER)
            return out
        if isinstance(node, ast.Attribute):
            out = set()
            for v in self.values(node.value, shallow):
                out |= self.attr(v, node.attr, shallow)
            return out
        if isinstance(node, ast.Call):
            return self.call_values(node, shallow)
        if isinstance(node, ast.Subscript):
            return self.subscript_values(node, shallow)
        if isinstance(node, ast.IfExp):
            return self.values(node.body, shallow) | self.values(node.orelse, shallow)
        if isinstance(node, ast.BoolOp):
            out = set()
            for v in node.values:
                out |= self.values(v, shallow)
            return out
        if isinstance(node, (ast.NamedExpr, ast.Await, ast.Starred)):
            return self.values(node.value, shallow)
        if isinstance(node, ast.Lambda):
            info = self.func_of_node.get(id(node))
            return {("func", info.fid, False)} if info else {OTHER}
        return {OTHER}

    def attr(self, v: tuple, name: str, shallow: bool) -> set:
        kind = v[0]
        if kind == "ref":
            return {("ref", normalise(f"{v[1]}.{name}"))}
        if kind == "mod":
            return set(self.module_attr(v[1], name, shallow))
        if kind == "ctx":
            return {("api", name)} if name in API_GROUPS else {OTHER}
        if kind == "api":
            return {("method", v[1], name)} if name in api_methods(v[1]) else {OTHER}
        if kind in ("inst", "class"):
            return self.class_attr(self.classes[v[1]], name, instance=kind == "inst", shallow=shallow)
        if kind == "dict_of" and name in ("get", "__getitem__"):
            return {("getter", v[1])}
        if kind in ("-", "func"):
            return {OTHER} | self._stored(name, {v, UNKNOWN}, shallow)  # ns.c = ctx on an outside object
        if kind == "?":
            out = {UNKNOWN}
            if name in API_GROUPS:
                out.add(("api", name))
            out |= self._stored(name, None, shallow)
            return out
        return {OTHER}

    def _stored(self, name: str, owners: set | None, shallow: bool) -> set:
        """Values assigned to ``<base>.name`` where the base may be one of ``owners`` (``None``: any)."""
        out: set = set()
        for base, value in self.attr_stores.get(name, ()):
            if owners is not None:
                bases = self.values(base, shallow)
                if not (bases & owners) and UNKNOWN not in bases:
                    continue
            out |= self.values(value, shallow) if value is not None else {UNKNOWN}
        if self.computed_setattr:
            out.add(UNKNOWN)
        return out

    def mro(self, cls: ClassInfo) -> list[ClassInfo]:
        """The class and its bundled bases (any order)."""
        cached = self._mro.get(cls.cid)
        if cached is None:
            self._mro[cls.cid] = [cls]  # recursion
            out, seen, todo = [], set(), [cls]
            while todo:
                c = todo.pop()
                if c.cid in seen:
                    continue
                seen.add(c.cid)
                out.append(c)
                for base in c.node.bases:
                    todo.extend(self.classes[v[1]] for v in self.values(base, True) if v[0] == "class")
            cached = self._mro[cls.cid] = out
        return cached

    def open_bases(self, cls: ClassInfo) -> bool:
        """Whether a class has a base outside the bundle (attributes we cannot see)."""
        for c in self.mro(cls):
            for base in c.node.bases:
                if any(v[0] != "class" for v in self.values(base, True)):
                    return True
        return False

    def class_attr(self, cls: ClassInfo, name: str, *, instance: bool, shallow: bool) -> set:
        out: set = set()
        family = self.mro(cls)
        for c in family:
            for fn in c.methods.get(name, ()):
                bound = (instance and fn.kind == "method") or fn.kind == "classmethod"
                if fn.kind == "property" and instance:
                    out |= self.return_values(fn, shallow)
                else:
                    out.add(("func", fn.fid, bound))
            for b in c.scope.bindings.get(name, ()):
                if b.kind not in ("def",):
                    out |= self.binding_values(b, shallow)
        out |= self._stored(name, self.family(cls), shallow)
        if not out:
            out.add(UNKNOWN if self.open_bases(cls) else OTHER)
        return out

    def family(self, cls: ClassInfo) -> set:
        """``inst``/``class`` values of the class, its bundled bases and subclasses (who may own its attributes)."""
        cached = self._family.get(cls.cid)
        if cached is None:
            related = {c.cid for c in self.mro(cls)}
            related |= {c.cid for c in self.classes.values() if cls in self.mro(c)}
            cached = {("inst", cid) for cid in related} | {("class", cid) for cid in related}
            self._family[cls.cid] = cached
        return cached

    def subscript_values(self, node: ast.Subscript, shallow: bool) -> set:
        key = fold(node.slice, self.constants_for(node))
        out: set = set()
        for v in self.values(node.value, shallow):
            if v == ("ref", "sys.modules"):
                out |= self.module_values(key) if key else {UNKNOWN}
            elif v == ("ref", "builtins") or (v[0] == "ref" and v[1].endswith(".__dict__")):
                base = "builtins" if v[1] == "builtins" else v[1][: -len(".__dict__")]
                out.add(("ref", normalise(f"{base}.{key}")) if key else UNKNOWN)
            elif v[0] == "dict_of":
                out |= self.attr(v[1], key, shallow) if key else {UNKNOWN}
            elif v[0] == "globals":
                out |= set(self.module_attr(v[1], key, shallow)) if key else {UNKNOWN}
            elif v[0] == "?":
                out.add(UNKNOWN)
        lit = self.literal(node.value)
        if lit is not None:
            items = lit.values if isinstance(lit, ast.Dict) else lit.elts
            for item in items:
                out |= self.values(item, shallow) if not isinstance(item, ast.Starred) else {UNKNOWN}
        out |= self.put_values(node.value, shallow)
        if not out:
            out.add(OTHER)
        return out

    def put_values(self, container: ast.AST, shallow: bool) -> set:
        """What was put into a container after it was made, found by its name or attribute name."""
        if isinstance(container, ast.Name):
            key = ("name", container.id)
        elif isinstance(container, ast.Attribute):
            key = ("attr", container.attr)
        else:
            return set()
        out: set = set()
        for spread, value in self.container_puts.get(key, ()):
            if not spread:
                out |= self.values(value, shallow)
            elif isinstance(value, ast.Dict):
                for item in value.values:
                    out |= self.values(item, shallow)
            else:
                out |= self._element_values(value, (), shallow)
        return out

    def constants_for(self, node: ast.AST) -> dict[str, str]:
        scope = self.scope_of.get(id(node))
        return scope.module.constants if scope is not None else {}

    # --- calls --------------------------------------------------------------------------

    def call_values(self, call: ast.Call, shallow: bool) -> set:
        out: set = set()
        env = self.constants_for(call)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "__getattribute__" and len(call.args) == 1:
            return self.getattr_values(call.func.value, call.args[0], None, shallow)
        if isinstance(call.func, ast.Attribute) and call.func.attr in _GETS:
            out |= self.put_values(call.func.value, shallow)
        for f in self.values(call.func, shallow):
            kind = f[0]
            if kind == "func":
                out |= self.return_values(self.funcs[f[1]], shallow)
            elif kind == "class":
                out.add(("inst", f[1]))
            elif kind == "ref":
                out |= self._external_call(f[1], call, env, shallow)
            elif kind == "getter":
                key = fold(call.args[0], env) if call.args else None
                out |= self.attr(f[1], key, shallow) if key else {UNKNOWN}
            elif kind == "?":
                out.add(UNKNOWN)
            else:
                out.add(OTHER)
        return out

    def _external_call(self, qual: str, call: ast.Call, env: dict[str, str], shallow: bool) -> set:
        args = call.args
        if (
            qual in ("builtins.getattr", "inspect.getattr_static", "builtins.object.__getattribute__")
            and len(args) >= 2
        ):
            return self.getattr_values(args[0], args[1], args[2] if len(args) > 2 else None, shallow)
        if qual in IMPORTERS:
            target = fold(args[0], env) if args else None
            if target is None:
                return {UNKNOWN}
            if target.startswith(".") and len(args) > 1:
                scope = self.scope_of.get(id(call))
                package = scope.module.name.rpartition(".")[0] if scope else ""
                target = _relative(package, target)
            if qual == "builtins.__import__" and not (len(args) > 3 and _non_empty(args[3])):
                target = target.split(".")[0]
            return self.module_values(target)
        if qual == "builtins.vars" and args:
            return {("dict_of", v) for v in self.values(args[0], shallow)}
        if qual in ("builtins.globals", "builtins.vars", "builtins.locals"):
            scope = self.scope_of.get(id(call))
            if scope is not None and (qual == "builtins.globals" or scope.kind == "module"):
                return {("globals", scope.module.name)}
            return {OTHER}
        if qual == "sys.modules.get" and args:
            target = fold(args[0], env)
            return self.module_values(target) if target else {UNKNOWN}
        if qual in LOOP_FACTORIES:
            return {("ref", "asyncio.loop")}
        if qual == "builtins.super":
            scope = self.scope_of.get(id(call))
            while scope is not None and scope.cls is None:
                scope = scope.parent
            return {("inst", scope.cls.cid)} if scope is not None and scope.cls is not None else {UNKNOWN}
        # any other outside function: its result is data, unless it was handed something of ours
        for arg in [*args, *(k.value for k in call.keywords)]:
            if isinstance(arg, _VALUE_CARRIERS) and any(v[0] != "-" for v in self.values(arg, shallow)):
                return {UNKNOWN}
        return {OTHER}

    def getattr_values(self, obj: ast.AST, name: ast.AST, default: ast.AST | None, shallow: bool) -> set:
        """``getattr(obj, name[, default])``: the attribute for every name it can be, else unknown."""
        keys = (
            self.strings(name)
            if not shallow
            else (lambda k: frozenset({k}) if k else None)(fold(name, self.constants_for(name)))
        )
        out: set = set()
        for v in self.values(obj, shallow):
            if keys is None:
                out.add(UNKNOWN)
            else:
                for key in keys:
                    out |= self.attr(v, key, shallow)
        if default is not None:
            out |= self.values(default, shallow)
        return out

    def return_values(self, fn: FuncInfo, shallow: bool) -> frozenset:
        key = (fn.fid, shallow)
        cached = self._returns.get(key)
        if cached is not None:
            return cached
        self._returns[key] = frozenset({UNKNOWN})  # recursion
        if isinstance(fn.node, ast.Lambda):
            result = self.values(fn.node.body, shallow)
        else:
            out: set = set()
            found = False
            for node in _own_nodes(fn.node):
                if isinstance(node, ast.Return):
                    found = True
                    out |= self.values(node.value, shallow) if node.value is not None else {OTHER}
                elif isinstance(node, (ast.Yield, ast.YieldFrom)):
                    out.add(OTHER)
            result = frozenset(out) if found else frozenset({OTHER})
            if fn.decorated:
                result = result | {UNKNOWN}
        self._returns[key] = result
        return result

    # --- parameters --------------------------------------------------------------------

    def param_values(self, spec: tuple[FuncInfo, int, str], shallow: bool) -> frozenset:
        fn, index, name = spec
        arg = self._param_node(fn, index, name)
        if fn.kind in ("method", "classmethod", "property") and index == 0 and fn.owner is not None:
            return frozenset({("inst" if fn.kind != "classmethod" else "class", fn.owner.cid)})  # type: ignore[union-attr]
        if arg is not None and arg.annotation is not None and _names_context(arg.annotation):
            return frozenset({CTX})
        if fn.handler:
            return frozenset({CTX}) if index == 0 else frozenset({OTHER})
        if shallow or index < 0:
            return frozenset({UNKNOWN})
        key = (fn.fid, index)
        cached = self._params.get(key)
        if cached is not None:
            return cached
        self._params[key] = frozenset({UNKNOWN})
        out: set = set()
        default = self._default(fn, index)
        if default is not None:
            out |= self.values(default, False)
        sites = self.call_sites().get(fn.fid, [])
        if fn.fid in self._escaping or fn.decorated or not sites or fn.kind == "lambda":
            out.add(UNKNOWN)
        for call, bound in sites:
            shift = 1 if bound and fn.kind in ("method", "classmethod") else 0
            expr = self._argument(call, index - shift, name)
            if expr is MISSING:
                continue
            out |= self.values(expr, False) if expr is not None else {UNKNOWN}
        result = frozenset(out) if out else frozenset({UNKNOWN})
        self._params[key] = result
        return result

    @staticmethod
    def _param_node(fn: FuncInfo, index: int, name: str) -> ast.arg | None:
        params = fn.params
        if 0 <= index < len(params):
            return params[index]
        for a in fn.node.args.kwonlyargs:
            if a.arg == name:
                return a
        return None

    @staticmethod
    def _default(fn: FuncInfo, index: int) -> ast.expr | None:
        params = fn.params
        defaults = fn.node.args.defaults
        if 0 <= index < len(params):
            offset = index - (len(params) - len(defaults))
            return defaults[offset] if offset >= 0 else None
        return None

    @staticmethod
    def _argument(call: ast.Call, index: int, name: str):
        """The expression passed for a parameter, ``None`` when unknowable (``*args``), ``MISSING`` if absent."""
        for k in call.keywords:
            if k.arg == name:
                return k.value
            if k.arg is None:
                return None
        if index < 0:
            return MISSING
        for i, a in enumerate(call.args):
            if isinstance(a, ast.Starred):
                return None
            if i == index:
                return a
        return MISSING

    def _may_name_callable(self, node: ast.AST) -> bool:
        """Cheap filter: can this name or attribute refer to a bundled function or class at all?"""
        if isinstance(node, ast.Attribute):
            return node.attr in self.callable_names
        if not isinstance(node, ast.Name):
            return True
        scope = self.scope_of.get(id(node))
        if scope is None:
            return False
        bindings, _builtin, stars = self.lookup(scope, node.id)
        if stars:
            return True
        return any(b.kind in _MAY_ALIAS for b in bindings)

    def call_sites(self) -> dict[int, list[tuple[ast.Call, bool]]]:
        """``fid → [(call, bound)]`` for every call that may reach a bundled function (shallow resolution)."""
        if self._call_sites is not None:
            return self._call_sites
        sites: dict[int, list[tuple[ast.Call, bool]]] = {}
        callee_nodes: set[int] = set()
        methods_by_name: dict[str, list[FuncInfo]] = {}
        for fn in self.funcs.values():
            if fn.owner is not None:
                methods_by_name.setdefault(fn.name, []).append(fn)
        for call in self.calls:
            func = call.func
            callee_nodes.add(id(func))
            if self._may_name_callable(func):
                for v in self.values(func, True):
                    if v[0] == "func":
                        sites.setdefault(v[1], []).append((call, v[2]))
                    elif v[0] == "class":
                        for c in self.mro(self.classes[v[1]]):
                            for init in c.methods.get("__init__", ()):
                                sites.setdefault(init.fid, []).append((call, True))
            if (
                isinstance(func, ast.Attribute)
                and func.attr in methods_by_name
                and UNKNOWN in self.values(func.value, True)
            ):
                for fn in methods_by_name[func.attr]:
                    sites.setdefault(fn.fid, []).append((call, True))
        # a function referenced other than by calling it escapes: its callers cannot all be seen
        for info in self.modules.values():
            for node in nodes(info.tree):
                if not isinstance(node, (ast.Name, ast.Attribute)) or not isinstance(node.ctx, ast.Load):
                    continue
                if id(node) in callee_nodes or isinstance(self.parent.get(id(node)), ast.Attribute):
                    continue
                if not self._may_name_callable(node):
                    continue
                for v in self.values(node, True):
                    if v[0] == "func":
                        self._escaping.add(v[1])
                    elif v[0] in ("class", "inst"):
                        for c in self.mro(self.classes[v[1]]):
                            for fns in c.methods.values():
                                self._escaping.update(f.fid for f in fns if f.name.startswith("__"))
        self._call_sites = sites
        return sites

    # --- walking -----------------------------------------------------------------------


MISSING = object()  # an argument not passed at a call site
#: Expressions that can hand an outside function something of ours (literals and operators cannot).
_VALUE_CARRIERS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Starred, ast.IfExp, ast.BoolOp, ast.NamedExpr)
#: Binding kinds that can give a name a bundled function or class (others: parameters, loop items, ...).
_MAY_ALIAS = frozenset({"import", "from", "def", "class", "assign", "with"})

IMPORTERS = frozenset(
    {
        "importlib.import_module",
        "builtins.__import__",
        "importlib.__import__",
        "importlib._bootstrap._gcd_import",
    }
)
LOOP_FACTORIES = frozenset(
    {
        "asyncio.get_running_loop",
        "asyncio.get_event_loop",
        "asyncio.new_event_loop",
        "asyncio.events.get_running_loop",
        "asyncio.events.get_event_loop",
        "asyncio.events.new_event_loop",
    }
)


def api_methods(api: str) -> frozenset[str]:
    try:
        return frozenset(m.name for m in _api.group(api))
    except (ImportError, AttributeError):
        return frozenset()


def normalise(qual: str) -> str:
    """``shutil.os.system`` → ``os.system``: module attributes that are other modules, by their own name."""
    parts = qual.split(".")
    for i in range(len(parts) - 1, 0, -1):
        target = MODULE_ALIASES.get(parts[i])
        if target is not None and not (i == 1 and parts[0] == "importlib" and parts[1].startswith("_bootstrap")):
            return ".".join([target, *parts[i + 1 :]])
    if parts[0] == "__builtins__":
        return ".".join(["builtins", *parts[1:]])
    return qual


@functools.cache
def _stdlib() -> str:
    import sysconfig  # reads the environment: only when first needed, never at SDK import

    return sysconfig.get_paths().get("stdlib") or ""


@functools.cache
def is_module(qual: str) -> bool:
    """Whether an outside reference names a module (stdlib or builtin); third-party names count if top-level."""
    if qual in sys.builtin_module_names:
        return True
    parts = qual.split(".")
    if len(parts) == 1:
        return True
    if parts[0] not in sys.stdlib_module_names:
        return False
    base = os.path.join(_stdlib(), *parts)
    return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))


def _relative(package: str, target: str) -> str:
    level = len(target) - len(target.lstrip("."))
    parts = package.split(".") if package else []
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    rest = target[level:]
    return ".".join([*parts, *([rest] if rest else [])])


def _non_empty(node: ast.AST) -> bool:
    return not (isinstance(node, (ast.List, ast.Tuple)) and not node.elts) and not (
        isinstance(node, ast.Constant) and not node.value
    )


def _names_context(annotation: ast.AST) -> bool:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.rsplit(".", 1)[-1] in ("Context", "MockContext")
    if isinstance(annotation, ast.Name):
        return annotation.id in ("Context", "MockContext")
    if isinstance(annotation, ast.Attribute):
        return annotation.attr in ("Context", "MockContext")
    return False


def _own_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not of functions, lambdas or classes nested in it."""
    stack = list(fn.body) if isinstance(fn.body, list) else [fn.body]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_FUNC_NODES, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


class _Builder:
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


_CACHE = "_mmo_program"


def program(bundle) -> Program:
    """The bundle's ``Program``, built once and cached on the bundle object."""
    cached = getattr(bundle, _CACHE, None)
    if cached is None:
        cached = Program(bundle)
        with contextlib.suppress(AttributeError, TypeError):
            setattr(bundle, _CACHE, cached)
    return cached
