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

from .. import _api
from ._ast import facts, fold, module_name, nodes
from ._scopes import _FUNC_NODES, _GETS, Binding, Builder, ClassInfo, FuncInfo, ModuleInfo, Scope

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
            Builder(self, info).build()
        self._memo: dict[tuple[int, bool], frozenset] = {}
        self._active: set[tuple[int, bool]] = set()
        self._returns: dict[tuple[int, bool], frozenset] = {}
        self._params: dict[tuple[int, int], frozenset] = {}
        self._call_sites: dict[int, list[tuple[ast.Call, bool]]] | None = None
        self._escaping: set[int] = set()
        self._puts: dict[tuple, frozenset] = {}
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
        puts = self.container_puts.get(key)
        if not puts:
            return set()
        cached = self._puts.get((key, shallow))
        if cached is not None:
            return set(cached)
        self._puts[(key, shallow)] = frozenset({UNKNOWN})  # recursion
        out: set = set()
        for spread, value in puts:
            if not spread:
                out |= self.values(value, shallow)
            elif isinstance(value, ast.Dict):
                for item in value.values:
                    out |= self.values(item, shallow)
            else:
                out |= self._element_values(value, (), shallow)
        self._puts[(key, shallow)] = frozenset(out)
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


@functools.lru_cache(maxsize=64)
def api_methods(api: str) -> frozenset[str]:
    try:
        return frozenset(m.name for m in _api.group(api))
    except (ImportError, AttributeError):
        return frozenset()


@functools.lru_cache(maxsize=4096)
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


_CACHE = "_mmo_program"


def program(bundle) -> Program:
    """The bundle's ``Program``, built once and cached on the bundle object."""
    cached = getattr(bundle, _CACHE, None)
    if cached is None:
        cached = Program(bundle)
        with contextlib.suppress(AttributeError, TypeError):
            setattr(bundle, _CACHE, cached)
    return cached
