"""SQL text must be fixed text: assembled only from constants, never from values.

The text given to ``ctx.sql.execute/query/query_one/scalar`` (however the call
is reached: ``db = ctx.sql``, ``run = ctx.sql.execute``, a helper that receives
the text) is followed back to where it comes from. It is *constant* when every
piece is a literal, a constant of the plugin's own modules or classes, a
number (``len(params) + 1`` for a ``$n`` placeholder), an item of a constant
table (``ORDER_BY[choice]``), or text a bundled helper builds only from those
(``", ".join(f"${i}" for i in range(1, n + 1))``). Anything else — event
data, parameters a caller fills with values, results of calls review cannot
see, ``json.dumps``, SQL results — is a value, and values go in ``params``.

``sql_string_building`` points at the f-string, ``%``, ``+``, ``.format``,
``format_map``, ``Template.substitute`` or ``join`` that builds text from a
value; ``sql_not_constant`` at text that comes from somewhere review cannot
show to be fixed (a parameter of a function passed around, an unknown call).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ._ast import nodes
from ._catalogue import API_METHODS
from ._findings import Finding, error
from ._flow import MISSING, Program, program
from ._paths import in_bundle, where
from ._scopes import FuncInfo

SQL_METHODS = API_METHODS["sql"][1]


@dataclass(frozen=True)
class Unsafe:
    """Why a piece of text is not constant: where the value comes from and what builds text with it."""

    leaf: ast.AST
    what: str
    build: ast.AST | None = None
    how: str | None = None

    def built(self, node: ast.AST, how: str) -> Unsafe:
        return self if self.build is not None else Unsafe(self.leaf, self.what, node, how)


Safety = Unsafe | None  # None: constant text (or a number)
_SAFE_MEMBER = Unsafe(ast.Constant(value=None), "a constant member")  # marker: an enum member that is constant

#: Builtins whose result is a number or a bool whatever they are given.
_NUMERIC = frozenset(
    {"len", "int", "float", "bool", "hash", "ord", "abs", "round", "id", "range", "divmod", "pow", "isinstance"}
)
#: Functions whose result is constant when the arguments that make it up are: name → which arguments
#: (positions, and ``"*"`` for all positional and keyword ones). ``sorted(x, key=f)`` is made of ``x`` only.
_PURE: dict[str, tuple] = {
    **dict.fromkeys(
        (
            "builtins.str",
            "builtins.repr",
            "builtins.format",
            "builtins.chr",
            "builtins.dict",
            "builtins.zip",
            "string.Template",
            "textwrap.dedent",
            "textwrap.indent",
            "inspect.cleandoc",
            "itertools.chain",
            "itertools.repeat",
            "dataclasses.field",
            "re.compile",
            "re.escape",
        ),
        ("*",),
    ),
    **dict.fromkeys(
        (
            "builtins.sorted",
            "builtins.reversed",
            "builtins.list",
            "builtins.tuple",
            "builtins.set",
            "builtins.frozenset",
            "builtins.iter",
            "builtins.enumerate",
            "itertools.islice",
        ),
        (0,),
    ),
    "builtins.next": (0, 1),
    "builtins.min": ("args", "default"),
    "builtins.max": ("args", "default"),
    "builtins.sum": (0, 1),
    "builtins.filter": (1,),
    "re.sub": (1, 2),
    "re.split": (1,),
    "re.findall": (1,),
}
#: Methods (of str, list, dict, Template) whose result is constant when the receiver and arguments are.
_PURE_METHODS = frozenset(
    {
        "format",
        "format_map",
        "join",
        "replace",
        "strip",
        "lstrip",
        "rstrip",
        "upper",
        "lower",
        "title",
        "capitalize",
        "casefold",
        "swapcase",
        "ljust",
        "rjust",
        "center",
        "zfill",
        "removeprefix",
        "removesuffix",
        "split",
        "rsplit",
        "splitlines",
        "partition",
        "rpartition",
        "expandtabs",
        "encode",
        "decode",
        "get",
        "items",
        "keys",
        "values",
        "copy",
        "substitute",
        "safe_substitute",
        "count",
        "index",
        "find",
        "startswith",
        "endswith",
        "sub",
        "subn",
        "escape",
    }
)
_HOW = {
    "format": ".format()",
    "format_map": ".format_map()",
    "join": "str.join()",
    "substitute": "Template.substitute()",
    "safe_substitute": "Template.safe_substitute()",
}
#: Reading a file: the text is constant when the file is one of the bundle's (``read_bytes().decode()`` too).
_FILE_READS = frozenset({"read_text", "read", "decode"})
_MUTATORS = {"append": 0, "extend": 0, "insert": 1, "add": 0, "update": 0, "setdefault": 1, "__setitem__": 1}
_NUMERIC_CONVERSIONS = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgG%]")
_ANY_CONVERSION = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")


class _Analysis:
    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.memo: dict[int, Safety] = {}
        self.active: set[int] = set()
        self.assumed = 0  # > 0 while a result depends on an optimistic assumption (a cycle)
        self.mutations: dict[int, dict[str, list]] = {}
        self.passing: set[int] = set()
        self.attr_index: dict[str, list] | None = None

    # --- entry ------------------------------------------------------------------------------

    def safety(self, node: ast.AST | None) -> Safety:
        if node is None:
            return None
        key = id(node)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.assumed += 1  # a cycle: assume constant; an unsafe piece elsewhere still shows
            return None
        self.active.add(key)
        before = self.assumed
        try:
            result = self._safety(node)
        finally:
            self.active.discard(key)
        if result is not None or self.assumed == before:
            self.memo[key] = result
        return result

    # --- expressions -------------------------------------------------------------------

    def _safety(self, node: ast.AST) -> Safety:
        if isinstance(node, ast.Constant):
            return None
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    if _numeric_spec(part):
                        continue
                    found = self.safety(part.value)
                    if found is not None:
                        return found.built(node, "an f-string")
            return None
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, (ast.UnaryOp, ast.Compare)):
            return None
        if isinstance(node, ast.BoolOp):
            return self.first(node.values)
        if isinstance(node, ast.IfExp):
            return self.first([node.body, node.orelse])
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return self.first(node.elts)
        if isinstance(node, ast.Dict):
            return self.first([*(k for k in node.keys if k is not None), *node.values])
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return self.safety(node.elt)
        if isinstance(node, ast.DictComp):
            return self.first([node.key, node.value])
        if isinstance(node, (ast.Await, ast.Starred, ast.NamedExpr)):
            return self.safety(node.value)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Subscript):
            found = self.safety(node.value)
            return found
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Lambda):
            return self.safety(node.body)  # a callable handed on: what it returns may end up in the text
        return Unsafe(node, "an expression review cannot follow")

    def first(self, nodes) -> Safety:
        for n in nodes:
            found = self.safety(n)
            if found is not None:
                return found
        return None

    def _binop(self, node: ast.BinOp) -> Safety:
        op = node.op
        if isinstance(op, ast.Mod):
            texts = self.prog.strings(node.left)
            if texts is not None and all(_only_numeric(t) for t in texts):
                return None
            found = self.safety(node.left) or self.safety(node.right)
            return found.built(node, "%-formatting") if found else None
        if isinstance(op, ast.Add):
            found = self.safety(node.left) or self.safety(node.right)
            return found.built(node, "+ concatenation") if found else None
        if isinstance(op, ast.Mult):
            left, right = self.safety(node.left), self.safety(node.right)
            if left is None and right is None:
                return None
            # fixed text repeated a number of times ("?, " * len(ids)) stays fixed text
            if (left is None and _is_text(node.left)) or (right is None and _is_text(node.right)):
                return None
            return (left or right).built(node, "* repetition")  # type: ignore[union-attr]
        if isinstance(op, (ast.Sub, ast.BitAnd, ast.BitOr, ast.BitXor)):
            return self.safety(node.left) if isinstance(op, ast.Sub) else None
        return None

    def _name(self, node: ast.Name) -> Safety:
        prog = self.prog
        scope = prog.scope_of.get(id(node))
        if scope is None:
            return Unsafe(node, f"{node.id!r}")
        bindings, builtin, stars = prog.lookup(scope, node.id)
        if bindings and self._guarded(node, bindings):
            return None
        if stars and not bindings:
            return Unsafe(node, f"{node.id!r} (from a star import)")
        if not bindings:
            return None if builtin else Unsafe(node, f"{node.id!r}, which is never assigned")
        for b in bindings:
            found = self._binding(node, b)
            if found is not None:
                return found
        return self._changes(node)

    def _bundle_file(self, node: ast.AST, depth: int = 0) -> bool:
        """A path inside the bundle, or a file opened from one (``open(HERE / "schema.sql")``)."""
        prog = self.prog
        target = where(prog, node)
        if target is not None:
            return in_bundle(target) is not None
        if isinstance(node, ast.Call):
            refs = {v[1] for v in prog.values(node.func) if v[0] == "ref"}
            if refs & {"builtins.open", "io.open", "codecs.open"} and node.args:
                mode = (
                    node.args[1]
                    if len(node.args) > 1
                    else next((k.value for k in node.keywords if k.arg == "mode"), None)
                )
                reading = mode is None or (isinstance(mode, ast.Constant) and set(str(mode.value)) <= set("rbt"))
                return reading and self._bundle_file(node.args[0], depth + 1)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "open" and not node.args:
                return self._bundle_file(node.func.value, depth + 1)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "read_bytes":
                return self._bundle_file(node.func.value, depth + 1)
        if isinstance(node, ast.Name) and depth < 6:
            scope = prog.scope_of.get(id(node))
            if scope is None:
                return False
            bindings, builtin, _ = prog.lookup(scope, node.id)
            return (
                len(bindings) == 1
                and not builtin
                and bindings[0].kind in ("assign", "with")
                and not bindings[0].path
                and self._bundle_file(bindings[0].value, depth + 1)
            )
        return False

    # --- allow-list checks: ``if column not in COLUMNS: raise`` ------------------------------

    def _guarded(self, node: ast.Name, bindings) -> bool:
        """Whether the value of ``node`` was checked to be an item of a constant collection before this use."""
        prog = self.prog
        name = node.id
        child: ast.AST = node
        parent = prog.parent.get(id(node))
        while parent is not None:
            if isinstance(parent, ast.If) and any(child is s for s in parent.body) and self._member(parent.test, name):
                return self._unchanged(bindings, parent.lineno, node.lineno)
            if isinstance(parent, ast.IfExp) and child is parent.body and self._member(parent.test, name):
                return True
            for field in ("body", "orelse", "finalbody"):
                block = getattr(parent, field, None)
                if isinstance(block, list):
                    for stmt in block:
                        if stmt is child:
                            break
                        if self._exit_guard(stmt, name) and self._unchanged(bindings, stmt.lineno, node.lineno):
                            return True
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)):
                return False
            child, parent = parent, prog.parent.get(id(parent))
        return False

    def _member(self, test: ast.AST, name: str, positive: bool = True) -> bool:
        """``name in CONSTANTS`` (or ``not in`` when ``positive`` is false), also inside ``and``."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And if positive else ast.Or):
            return any(self._member(v, name, positive) for v in test.values)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._member(test.operand, name, not positive)
        if (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.In if positive else ast.NotIn)
            and isinstance(test.left, ast.Name)
            and test.left.id == name
        ):
            allowed = test.comparators[0]
            return not any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(allowed)) and (
                self.safety(allowed) is None
            )
        return False

    def _exit_guard(self, stmt: ast.stmt, name: str) -> bool:
        if isinstance(stmt, ast.Assert):
            return self._member(stmt.test, name)
        return (
            isinstance(stmt, ast.If)
            and self._member(stmt.test, name, positive=False)
            and bool(stmt.body)
            and isinstance(stmt.body[-1], (ast.Raise, ast.Return, ast.Continue, ast.Break))
        )

    @staticmethod
    def _unchanged(bindings, after: int, before: int) -> bool:
        """No assignment to the name between the check (line ``after``) and the use (line ``before``)."""
        for b in bindings:
            line = getattr(b.node, "lineno", None)
            if line is not None and after < line <= before and b.kind not in ("for", "comp", "param"):
                return False
        return True

    def _changes(self, node: ast.Name) -> Safety:
        """Values put into the container a name holds after it was built (``parts.append(x)``)."""
        prog = self.prog
        scope = prog.scope_of.get(id(node))
        if scope is None:
            return None
        bindings, _builtin, _stars = prog.lookup(scope, node.id)
        if not bindings:
            return None
        owner = bindings[0]
        owner_scope = prog.scope_of.get(id(owner.node)) if owner.kind != "param" else owner.value[0].scope  # type: ignore[index]
        if owner_scope is None:
            return None
        for site, value in self._mutations(owner_scope, node.id):
            if value is None:
                return Unsafe(site, f"{node.id!r}, which is handed to code that may change it")
            found = self.safety(value)
            if found is not None:
                return found.built(site, f"{node.id}.{_mutator_name(site)}()") if found.build is None else found
        return None

    def _binding(self, node: ast.Name, b) -> Safety:
        kind = b.kind
        prog = self.prog
        if kind == "assign":
            return self._unpack(b.value, b.path)
        if kind == "aug":
            found = self.safety(b.value)
            return found.built(b.node, "+= concatenation") if found else None
        if kind == "param":
            return self._param(b.value, node)
        if kind in ("for", "comp"):
            return self._element(b.value, b.path)
        if kind == "def":
            return self._returns(b.value, node)  # a function handed on as a callable
        if kind in ("class", "del"):
            return None
        if kind == "from":
            mod, _, attr = b.value.rpartition(".")
            if prog.is_bundled(mod):
                return self._module_attr(mod, attr, node)
            return Unsafe(node, f"{b.value} (outside the plugin)")
        if kind == "import":
            return None
        return Unsafe(node, f"{node.id!r}")

    def _unpack(self, expr: ast.AST, path: tuple[int, ...]) -> Safety:
        for i, index in enumerate(path):
            if isinstance(expr, (ast.Tuple, ast.List)) and index < len(expr.elts):
                expr = expr.elts[index]
            elif isinstance(expr, ast.Call) and self._bundled_only(expr):
                return self._returned_at(expr, path[i:])
            else:
                return self._element(expr, path[i:])
        return self.safety(expr)

    def _bundled_only(self, call: ast.Call) -> bool:
        callee = self.prog.values(call.func)
        return bool(callee) and all(v[0] == "func" for v in callee)

    def _returned_at(self, call: ast.Call, path: tuple[int, ...]) -> Safety:
        """``a, b = helper()``: the item at ``path`` of what each bundled callee returns."""
        for v in self.prog.values(call.func):
            fn = self.prog.funcs[v[1]]
            if fn.decorated or isinstance(fn.node, ast.Lambda):
                return self._returns(fn, call)
            for node in _own(fn.node):
                if isinstance(node, ast.Return) and node.value is not None:
                    found = self._unpack(node.value, path)
                    if found is not None:
                        return found
        return None

    def _element(self, iterable: ast.AST, path: tuple[int, ...]) -> Safety:
        """Whether the items of ``iterable`` (at ``path`` when unpacked) are constant."""
        prog = self.prog
        if isinstance(iterable, ast.Name):
            changed = self._changes(iterable)
            if changed is not None:
                return changed
        lit = prog.literal(iterable)  # type: ignore[arg-type]
        if lit is not None and lit is not iterable:
            return self._element(lit, path)
        if isinstance(iterable, (ast.List, ast.Tuple, ast.Set)):
            for item in iterable.elts:
                found = self._unpack(item, path) if path else self.safety(item)
                if found is not None:
                    return found
            return None
        if isinstance(iterable, ast.Dict):
            return self.first([k for k in iterable.keys if k is not None])
        if isinstance(iterable, ast.Call):
            func = iterable.func
            refs = {v[1] for v in prog.values(func) if v[0] == "ref"}
            args = iterable.args
            if "builtins.range" in refs:
                return None
            if "builtins.enumerate" in refs and args:
                if path and path[0] == 0:
                    return None
                return self._element(args[0], path[1:]) if path else self._element(args[0], ())
            if "builtins.zip" in refs:
                if path and path[0] < len(args):
                    return self._element(args[path[0]], path[1:])
                return self.first_element(args)
            if refs & {"builtins.sorted", "builtins.reversed", "builtins.list", "builtins.tuple", "builtins.iter"}:
                return self._element(args[0], path) if args else None
            if isinstance(func, ast.Attribute) and func.attr in ("items", "keys", "values"):
                return self.safety(func.value)
            generators = [v for v in prog.values(func) if v[0] == "func"]
            if generators:
                for v in generators:
                    found = self._yields(prog.funcs[v[1]], iterable)
                    if found is not None:
                        return found
                return None
        return self.safety(iterable)

    def first_element(self, iterables) -> Safety:
        for it in iterables:
            found = self._element(it, ())
            if found is not None:
                return found
        return None

    def _attribute(self, node: ast.Attribute) -> Safety:
        prog = self.prog
        member = self._enum_member(node)
        if member is not None:
            return None if member is _SAFE_MEMBER or node.attr == "name" else member
        bases = prog.values(node.value)
        mods = [v[1] for v in bases if v[0] == "mod"]
        if mods and all(v[0] == "mod" for v in bases):
            for mod in mods:
                found = self._module_attr(mod, node.attr, node)
                if found is not None:
                    return found
            return None
        if any(v[0] in ("ctx", "api", "ref") for v in bases):
            return Unsafe(node, f"{ast.unparse(node)}")
        if prog.computed_setattr:
            return Unsafe(node, f"{ast.unparse(node)} (attributes are set with computed names somewhere)")
        found_any = False
        classes = [prog.classes[v[1]] for v in bases if v[0] in ("inst", "class")]
        candidates = classes if classes and all(v[0] in ("inst", "class") for v in bases) else None
        for cls in candidates if candidates is not None else prog.classes.values():
            for c in prog.mro(cls) if candidates is not None else [cls]:
                for b in c.scope.bindings.get(node.attr, ()):
                    found_any = True
                    found = self._binding(node, b) if b.kind != "def" else None
                    if found is not None:
                        return found
                for fn in c.methods.get(node.attr, ()):
                    if fn.kind == "property":
                        found_any = True
                        found = self._returns(fn, node)
                        if found is not None:
                            return found
        for base, value in prog.attr_stores.get(node.attr, ()):
            if candidates is not None:
                owners = set().union(*(prog.family(c) for c in candidates))
                seen = prog.values(base)
                if not (seen & owners) and ("?",) not in seen:
                    continue
            found_any = True
            if value is None:
                return Unsafe(base, f"{ast.unparse(node)} (assigned by unpacking or augmented assignment)")
            found = self.safety(value)
            if found is not None:
                return found
        if not found_any:
            return Unsafe(node, f"{ast.unparse(node)}, whose value review cannot trace")
        for site, value in self._attribute_changes(node.attr):
            if value is None:
                return Unsafe(site, f"{ast.unparse(node)}, which is handed to code that may change it")
            found = self.safety(value)
            if found is not None:
                return found.built(site, f".{node.attr}.{_mutator_name(site)}()") if found.build is None else found
        return None

    def _attribute_changes(self, attr: str) -> list[tuple[ast.AST, ast.AST | None]]:
        """Values put into containers held in attributes named ``attr`` (``self.parts.append(x)``), anywhere."""
        if self.attr_index is None:
            index: dict[str, list] = {}
            for info in self.prog.modules.values():
                for node in nodes(info.tree):
                    if isinstance(node, ast.Call):
                        func = node.func
                        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute):
                            position = _MUTATORS.get(func.attr)
                            if position is not None:
                                values = node.args[position:] or [k.value for k in node.keywords]
                                index.setdefault(func.value.attr, []).extend(("add", node, v) for v in values)
                        for i, arg in enumerate(node.args):
                            if isinstance(arg, ast.Attribute):
                                index.setdefault(arg.attr, []).append(("pass", node, i))
                    elif isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute):
                                index.setdefault(target.value.attr, []).append(("add", node, node.value))
            self.attr_index = index
        out: list[tuple[ast.AST, ast.AST | None]] = []
        for kind, node, value in self.attr_index.get(attr, ()):
            if kind == "add":
                out.append((node, value))
            elif id(node) not in self.passing:
                self.passing.add(id(node))
                try:
                    out.extend(self._passed(node, value, attr))
                finally:
                    self.passing.discard(id(node))
        return out

    def _enum_member(self, node: ast.Attribute) -> Safety | None:
        """``Status.OPEN.value`` / ``.name`` of a bundled class's constant: the safety of that constant.

        ``None`` when ``node`` is not such a read; else a result (``False``-y ``Unsafe`` never happens:
        a safe member answers with the sentinel ``_SAFE_MEMBER``).
        """
        if node.attr not in ("value", "name") or not isinstance(node.value, ast.Attribute):
            return None
        owners = self.prog.values(node.value.value)
        if not owners or not all(v[0] == "class" for v in owners):
            return None
        for v in owners:
            for c in self.prog.mro(self.prog.classes[v[1]]):
                for b in c.scope.bindings.get(node.value.attr, ()):
                    found = self._binding(node, b) if b.kind == "assign" else Unsafe(node, ast.unparse(node))
                    if found is not None:
                        return found
        return _SAFE_MEMBER

    def _module_attr(self, mod: str, attr: str, node: ast.AST) -> Safety:
        prog = self.prog
        info = prog.modules.get(mod)
        if info is None:
            return None if prog.is_bundled(f"{mod}.{attr}") else Unsafe(node, f"{mod}.{attr}")
        if info.dynamic_globals:
            return Unsafe(node, f"{mod}.{attr} (the module writes globals() with computed names)")
        bindings = info.scope.bindings.get(attr)
        if not bindings:
            if prog.is_bundled(f"{mod}.{attr}"):
                return None
            return Unsafe(node, f"{mod}.{attr}, which the module does not define")
        for b in bindings:
            found = self._binding(node, b) if b.kind != "import" else None
            if found is not None:
                return found
        for base, value in prog.attr_stores.get(attr, ()):
            if ("mod", mod) in prog.values(base):
                found = self.safety(value) if value is not None else Unsafe(base, f"{mod}.{attr}")
                if found is not None:
                    return found
        return None

    def _call(self, node: ast.Call) -> Safety:
        prog = self.prog
        func = node.func
        callee = prog.values(func)
        refs = {v[1] for v in callee if v[0] == "ref"}
        args = [*node.args, *(k.value for k in node.keywords)]
        if any(r.startswith("builtins.") and r[9:] in _NUMERIC for r in refs) and len(refs) == 1:
            return None
        if refs and refs <= _PURE.keys():
            found = None
            for ref in refs:
                found = found or self.first(_made_of(node, _PURE[ref]))
            if found is None:
                return None
            name = next(iter(refs)).removeprefix("builtins.")
            return found.built(node, f"{name}()")
        if isinstance(func, ast.Name):
            bound = self._bound_method(func)
            if bound is not None:
                return self._call(ast.Call(func=bound, args=node.args, keywords=node.keywords, lineno=node.lineno))
        bundled = [v for v in callee if v[0] == "func"]
        if bundled and all(v[0] == "func" for v in callee):
            for v in bundled:
                found = self._returns(prog.funcs[v[1]], node)
                if found is not None:
                    return found
            return None
        if isinstance(func, ast.Attribute) and func.attr in _FILE_READS and self._bundle_file(func.value):
            return None  # the text of a file of the bundle: shipped and reviewed with it, read-only in the sandbox
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _PURE_METHODS
            and not bundled
            and not any(v[0] in ("method", "ctx", "api") for v in callee)
        ):
            receiver = self.safety(func.value)
            if func.attr == "join" and node.args:
                found = receiver or self._element(node.args[0], ())
            elif func.attr in ("get", "setdefault") and node.args:
                found = receiver or self.first(args[1:])
            else:
                found = receiver or self.first(args)
            if found is None:
                return None
            return found.built(node, _HOW.get(func.attr, f".{func.attr}()"))
        if any(v[0] == "method" for v in callee):
            return Unsafe(node, f"data returned by {ast.unparse(func)}()")
        return Unsafe(node, f"the result of {_short(func)}()")

    def _bound_method(self, name: ast.Name) -> ast.Attribute | None:
        """``fmt = TEMPLATE.format``: the method a name is bound to once, when it is a text method."""
        prog = self.prog
        scope = prog.scope_of.get(id(name))
        if scope is None:
            return None
        bindings, builtin, _ = prog.lookup(scope, name.id)
        if len(bindings) == 1 and not builtin and bindings[0].kind == "assign" and not bindings[0].path:
            value = bindings[0].value
            if (
                isinstance(value, ast.Attribute)
                and value.attr in _PURE_METHODS
                and not any(v[0] in ("method", "func") for v in prog.values(value))
            ):
                return value
        return None

    # --- functions ------------------------------------------------------------------------

    def _returns(self, fn: FuncInfo, at: ast.AST) -> Safety:
        key = -1 - fn.fid  # memo slot for "what fn returns"
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            self.assumed += 1
            return None
        self.active.add(key)
        before = self.assumed
        try:
            result = self._returns_of(fn)
        finally:
            self.active.discard(key)
        if result is not None or self.assumed == before:
            self.memo[key] = result
        return result

    def _returns_of(self, fn: FuncInfo) -> Safety:
        if fn.decorated:
            return Unsafe(fn.node, f"the result of {fn.name}(), which a decorator wraps")
        if isinstance(fn.node, ast.Lambda):
            return self.safety(fn.node.body)
        for node in _own(fn.node):
            if (isinstance(node, ast.Return) and node.value is not None) or (
                isinstance(node, (ast.Yield, ast.YieldFrom)) and node.value is not None
            ):
                found = self.safety(node.value)
                if found is not None:
                    return found
        return None

    def _yields(self, fn: FuncInfo, at: ast.AST) -> Safety:
        return self._returns(fn, at)

    def _param(self, spec, at: ast.Name) -> Safety:
        fn, index, name = spec
        prog = self.prog
        if fn.kind in ("method", "classmethod", "property") and index == 0:
            return None  # self / cls
        if fn.handler:
            return Unsafe(at, f"{name!r}, data the host delivers to the handler {fn.name}()")
        sites = prog.call_sites().get(fn.fid, [])
        if fn.fid in prog._escaping or fn.decorated or fn.kind == "lambda" or not sites:
            reason = "never called" if not sites and fn.fid not in prog._escaping else "passed around"
            return Unsafe(
                at, f"{name!r}, a parameter of {fn.name}(), which is {reason} so its callers cannot be checked"
            )
        default = prog._default(fn, index)
        for call, bound in sites:
            shift = 1 if bound and fn.kind in ("method", "classmethod") else 0
            expr = prog._argument(call, index - shift, name)
            if expr is MISSING:
                if default is None:
                    continue
                expr = default
            if expr is None:
                return Unsafe(call, f"{name!r} of {fn.name}(), passed with * or ** unpacking")
            found = self.safety(expr)
            if found is not None:
                return found
        return None

    # --- containers changed after they are built ---------------------------------------------

    def _mutations(self, scope, name: str) -> list[tuple[ast.AST, ast.AST | None]]:
        """Values added to the container ``name`` of ``scope`` (``None`` when it goes where review cannot see)."""
        if scope.kind == "comprehension":
            return []
        index = self.mutations.get(id(scope))
        if index is None:
            index = self.mutations[id(scope)] = {}
            for node in _own(scope.node):
                if isinstance(node, ast.Call):
                    func = node.func
                    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                        position = _MUTATORS.get(func.attr)
                        if position is not None:
                            values = node.args[position:] or [k.value for k in node.keywords]
                            index.setdefault(func.value.id, []).extend(("add", node, v) for v in values)
                    for i, arg in enumerate(node.args):
                        if isinstance(arg, ast.Name):
                            index.setdefault(arg.id, []).append(("pass", node, i))
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                            index.setdefault(target.value.id, []).append(("add", node, node.value))
        out: list[tuple[ast.AST, ast.AST | None]] = []
        for kind, node, value in index.get(name, ()):
            if kind == "add":
                out.append((node, value))
            elif id(node) not in self.passing:
                self.passing.add(id(node))
                try:
                    out.extend(self._passed(node, value, name))
                finally:
                    self.passing.discard(id(node))
        return out

    def _passed(self, call: ast.Call, index: int, name: str) -> list[tuple[ast.AST, ast.AST | None]]:
        prog = self.prog
        callee = prog.values(call.func)
        refs = {v[1] for v in callee if v[0] == "ref"}
        if refs and (refs <= _PURE.keys() or all(r.startswith("builtins.") for r in refs)):
            return []
        if any(v[0] == "method" for v in callee) or (
            isinstance(call.func, ast.Attribute) and call.func.attr in _PURE_METHODS
        ):
            return []
        bundled = [prog.funcs[v[1]] for v in callee if v[0] == "func"]
        if bundled and all(v[0] == "func" for v in callee):
            out: list[tuple[ast.AST, ast.AST | None]] = []
            for fn in bundled:
                shift = 1 if any(v[2] for v in callee if v[0] == "func") and fn.kind == "method" else 0
                params = fn.params
                if 0 <= index + shift < len(params):
                    out.extend(self._mutations(fn.scope, params[index + shift].arg))
                else:
                    out.append((call, None))
            return out
        return [(call, None)]


def _made_of(call: ast.Call, which: tuple) -> list[ast.AST]:
    """The arguments of ``call`` its result is made of (see ``_PURE``)."""
    if "*" in which:
        return [*call.args, *(k.value for k in call.keywords)]
    out: list[ast.AST] = []
    for item in which:
        if item == "args":
            out.extend(call.args)
        elif isinstance(item, int) and item < len(call.args):
            out.append(call.args[item])
        elif isinstance(item, str):
            out.extend(k.value for k in call.keywords if k.arg == item)
    return out


def _own(fn: ast.AST):
    body = fn.body if isinstance(getattr(fn, "body", None), list) else [fn.body]  # type: ignore[attr-defined]
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _module_level(tree: ast.AST):
    return _own(tree)


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_text(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or (
        isinstance(node, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) for e in node.elts)
    )


def _numeric_spec(part: ast.FormattedValue) -> bool:
    spec = part.format_spec
    if part.conversion != -1 or spec is None:
        return False
    text = "".join(v.value for v in spec.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return bool(text) and text[-1] in "dnbcoxXeEfFgG%" and text[-1] != "c" and len(spec.values) == 1


def _only_numeric(template: str) -> bool:
    conversions = _ANY_CONVERSION.findall(template)
    return all(_NUMERIC_CONVERSIONS.fullmatch(c) for c in conversions)


def _mutator_name(site: ast.AST) -> str:
    if isinstance(site, ast.Call) and isinstance(site.func, ast.Attribute):
        return site.func.attr
    return "__setitem__"


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def check_sql(bundle) -> list[Finding]:
    """The SQL text of every ``ctx.sql`` call must be constant; values go in ``params``."""
    prog = program(bundle)
    analysis = _Analysis(prog)
    out: list[Finding] = []
    seen: set[tuple[str, str, int]] = set()
    for info in prog.modules.values():
        path = info.path
        for node in nodes(info.tree):
            if isinstance(node, ast.Call):
                methods = [v[2] for v in prog.values(node.func) if v[0] == "method" and v[1] == "sql"]
                methods = [m for m in methods if m in SQL_METHODS]
                if not methods:
                    continue
                method = methods[0]
                text = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "sql"), None)
                if text is None:  # execute(**{"sql": ...}): the whole mapping must be constant
                    text = next((k.value for k in node.keywords if k.arg is None), None)
                if text is None:
                    continue
                found = analysis.safety(text)
                if found is None:
                    continue
                fix = (
                    "write the SQL as fixed text and pass values as params: "
                    f'ctx.sql.{method}("... WHERE id = $1", [value])'
                )
                if found.build is not None:
                    code = "sql_string_building"
                    line = getattr(found.build, "lineno", node.lineno)
                    message = (
                        f"the SQL for ctx.sql.{method} (line {node.lineno}) is built with {found.how} from "
                        f"{found.what}; {fix}"
                    )
                    where_path = _path_of(prog, found.build) or path
                else:
                    code = "sql_not_constant"
                    line = getattr(found.leaf, "lineno", node.lineno)
                    message = (
                        f"the SQL text for ctx.sql.{method} (line {node.lineno}) comes from {found.what}, which "
                        f"review cannot show to be fixed text; {fix}"
                    )
                    where_path = _path_of(prog, found.leaf) or path
                key = (code, where_path, line)
                if key not in seen:
                    seen.add(key)
                    out.append(error(code, message, where_path, line))
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                methods = [v[2] for v in prog.values(node) if v[0] == "method" and v[1] == "sql"]
                if methods and _escapes(prog, node):
                    out.append(
                        error(
                            "sql_not_constant",
                            f"ctx.sql.{methods[0]} is passed as a value; the SQL it will receive cannot be checked — "
                            f"call ctx.sql.{methods[0]}(...) directly with fixed text",
                            path,
                            node.lineno,
                        )
                    )
    return out


def _escapes(prog: Program, node: ast.AST) -> bool:
    parent = prog.parent.get(id(node))
    if isinstance(parent, ast.Call) and parent.func is node:
        return False
    if isinstance(parent, ast.Attribute):
        return True  # ctx.sql.execute.__call__(...): called some other way
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        return not all(isinstance(t, ast.Name) for t in targets)
    if isinstance(parent, ast.Call):
        callee = prog.values(parent.func)
        return not (callee and all(v[0] in ("func", "class") for v in callee))
    return isinstance(parent, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.keyword, ast.Return, ast.Yield))


def _path_of(prog: Program, node: ast.AST) -> str | None:
    scope = prog.scope_of.get(id(node))
    return scope.module.path if scope is not None else None
