"""Facts about one Python module, gathered once and shared by every code check."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_AST = ast.AST


def _index(tree: ast.AST) -> tuple[list[ast.AST], dict[int, tuple[ast.AST, list[ast.AST]]]]:
    """One walk of ``tree``: every node, and the nodes directly in each function scope (cached on the tree).

    Class bodies count as part of the enclosing scope; a function's own node
    belongs to the scope that defines it, its body to its own scope.
    """
    cached = getattr(tree, "_mmo_index", None)
    if cached is not None:
        return cached
    everything: list[ast.AST] = []
    scopes: dict[int, tuple[ast.AST, list[ast.AST]]] = {id(tree): (tree, [])}
    stack: list[tuple[ast.AST, ast.AST]] = [(tree, tree)]
    while stack:
        node, scope = stack.pop()
        everything.append(node)
        if node is not tree:
            scopes[id(scope)][1].append(node)
        inner = scope
        if isinstance(node, _FUNCS):
            inner = node
            scopes[id(node)] = (node, [])
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in reversed(value):
                    if isinstance(item, _AST):
                        stack.append((item, inner))
            elif isinstance(value, _AST):
                stack.append((value, inner))
    result = (everything, scopes)
    tree._mmo_index = result  # type: ignore[attr-defined]
    return result


def nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node under ``tree``, from one shared walk."""
    return _index(tree)[0]


def scopes(tree: ast.AST) -> list[tuple[ast.AST, list[ast.AST]]]:
    """``(scope, nodes directly in it)`` for the module and every function and lambda."""
    return list(_index(tree)[1].values())


def scope_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``scope`` except the insides of nested functions and lambdas."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _FUNCS):
            stack.extend(ast.iter_child_nodes(node))


def assignments_in(body: list[ast.AST]) -> dict[str, list[tuple[ast.AST, ast.expr, bool]]]:
    """``name → [(statement, value, augmented)]`` for plain-name assignments among ``body``."""
    out: dict[str, list[tuple[ast.AST, ast.expr, bool]]] = {}
    for node in body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, []).append((node, node.value, False))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out.setdefault(node.target.id, []).append((node, node.value, False))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).append((node, node.value, True))
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).append((node, node.value, False))
    return out


def assignments(scope: ast.AST, tree: ast.AST | None = None) -> dict[str, list[tuple[ast.AST, ast.expr, bool]]]:
    """Assignments made directly in ``scope`` (from the shared walk of ``tree`` when given)."""
    if tree is not None:
        entry = _index(tree)[1].get(id(scope))
        if entry is not None:
            return assignments_in(entry[1])
    return assignments_in(list(scope_nodes(scope)))


def fold(node: ast.AST | None, env: dict[str, str] | None = None, depth: int = 0) -> str | None:
    """The string an expression always evaluates to, when that can be seen without running it."""
    if node is None or depth > 20:
        return None
    env = env or {}
    d = depth + 1
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [fold(v.value if isinstance(v, ast.FormattedValue) else v, env, d) for v in node.values]
        return None if any(p is None for p in parts) else "".join(parts)  # type: ignore[arg-type]
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add):
            left, right = fold(node.left, env, d), fold(node.right, env, d)
            return left + right if left is not None and right is not None else None
        if isinstance(node.op, ast.Mult):
            text = fold(node.left, env, d)
            if text is not None and isinstance(node.right, ast.Constant) and isinstance(node.right.value, int):
                return text * min(node.right.value, 64)
        if isinstance(node.op, ast.Mod):
            text = fold(node.left, env, d)
            args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            values = [fold(a, env, d) for a in args]
            if text is not None and all(v is not None for v in values):
                try:
                    return text % tuple(values)
                except (TypeError, ValueError):
                    return None
        return None
    if isinstance(node, ast.Subscript):
        text = fold(node.value, env, d)
        sl = node.slice
        if text is not None and isinstance(sl, ast.Slice):
            bounds = []
            for part in (sl.lower, sl.upper, sl.step):
                if part is None:
                    bounds.append(None)
                elif isinstance(part, ast.Constant) and isinstance(part.value, int):
                    bounds.append(part.value)
                elif isinstance(part, ast.UnaryOp) and isinstance(part.operand, ast.Constant):
                    bounds.append(-part.operand.value if isinstance(part.op, ast.USub) else None)
                else:
                    return None
            try:
                return text[slice(*bounds)]
            except (TypeError, ValueError):
                return None
        return None
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id == "chr" and len(node.args) == 1:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, int) and 0 <= arg.value < 0x110000:
                return chr(arg.value)
        if isinstance(func, ast.Attribute):
            base = fold(func.value, env, d)
            if func.attr == "join" and base is not None and len(node.args) == 1:
                seq = node.args[0]
                if isinstance(seq, (ast.List, ast.Tuple)):
                    items = [fold(e, env, d) for e in seq.elts]
                    return None if any(i is None for i in items) else base.join(items)  # type: ignore[arg-type]
                inner = fold(seq, env, d)  # "".join("abc") or "".join(reversed("..."))
                if inner is not None:
                    return base.join(inner)
                if isinstance(seq, ast.Call) and isinstance(seq.func, ast.Name) and seq.func.id == "reversed":
                    inner = fold(seq.args[0], env, d) if seq.args else None
                    return base.join(reversed(inner)) if inner is not None else None
                return None
            if (
                base is not None
                and func.attr in ("lower", "upper", "strip", "lstrip", "rstrip", "casefold")
                and not node.args
            ):
                return getattr(base, func.attr)()
            if base is not None and func.attr == "replace" and len(node.args) == 2:
                a, b = (fold(x, env, d) for x in node.args)
                return base.replace(a, b) if a is not None and b is not None else None
    return None


def module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level names assigned exactly once to a foldable string."""
    env: dict[str, str] = {}
    for name, assigned in assignments(tree, tree).items():
        if len(assigned) == 1 and not assigned[0][2]:
            value = fold(assigned[0][1], env)
            if value is not None:
                env[name] = value
    return env


def bound_names(tree: ast.Module) -> set[str]:
    """Names the module binds anywhere (defs, classes, imports, arguments, assignment targets)."""
    names: set[str] = set()
    for node in nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


@dataclass
class Registration:
    """A ``@plugin.<kind>(<literal>)`` decorator (or call) and the function it registers."""

    kind: str  # on_slash_command, cron, on_event, on_dashboard, schedule
    value: str | None  # the literal argument, None when not a literal
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    function_name: str | None
    line: int


@dataclass
class ModuleFacts:
    path: str
    tree: ast.Module
    constants: dict[str, str]
    registrations: list[Registration] = field(default_factory=list)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)


REGISTRATION_KINDS = frozenset({"on_slash_command", "cron", "on_event", "on_dashboard", "schedule"})


def registrations(tree: ast.Module) -> list[Registration]:
    out: list[Registration] = []
    claimed: set[int] = set()
    for node in nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and isinstance(dec.func, ast.Attribute)
                    and dec.func.attr in REGISTRATION_KINDS
                ):
                    claimed.add(id(dec))
                    arg = dec.args[0] if dec.args else None
                    value = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
                    out.append(Registration(dec.func.attr, value, node, node.name, dec.lineno))
    for node in nodes(tree):
        # plugin.cron("*/5 * * * *")(fn) — the registering call applied to a function
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Call)
            and id(node.func) not in claimed
            and isinstance(node.func.func, ast.Attribute)
            and node.func.func.attr in REGISTRATION_KINDS
        ):
            inner = node.func
            claimed.add(id(inner))
            arg = inner.args[0] if inner.args else None
            value = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
            fname = node.args[0].id if node.args and isinstance(node.args[0], ast.Name) else None
            out.append(Registration(inner.func.attr, value, None, fname, node.lineno))
    return out


def module_functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def module_name(path: str) -> str:
    """Import name of a bundled file: ``pkg/mod.py`` → ``pkg.mod``, ``pkg/__init__.py`` → ``pkg``."""
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


_CACHE_ATTR = "_mmo_module_facts"


def facts(bundle) -> dict[str, ModuleFacts]:
    """Facts of every scanned ``.py`` file that parses, cached on the bundle object."""
    cached = getattr(bundle, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    out: dict[str, ModuleFacts] = {}
    scan = bundle.python_files() if hasattr(bundle, "python_files") else _python_files(bundle.files)
    for path in scan:
        tree = bundle.syntax_tree(path)
        if tree is None:
            continue
        out[path] = ModuleFacts(path, tree, module_constants(tree), registrations(tree), module_functions(tree))
    with contextlib.suppress(AttributeError, TypeError):
        setattr(bundle, _CACHE_ATTR, out)
    return out


def _python_files(files) -> list[str]:
    return [p for p in files if p.endswith(".py")]
