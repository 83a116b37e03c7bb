"""Where a path expression points, seen from the bundle: inside it (which file), or somewhere else.

The sandbox runs the bundle from ``/plugin`` (also the working directory), so
``Path(__file__).parent / "data.json"``, ``os.path.join(HERE, "x.sql")`` and
``"data/x.json"`` are bundle paths; ``"/etc/passwd"`` and ``HERE / ".." / ".."``
are not.
"""

from __future__ import annotations

import ast
import posixpath

from ._flow import Program

BUNDLE_ROOT = "/plugin"
#: Where a plugin may write (the sandbox's capped tmpfs).
SCRATCH = "/tmp"

_SAME = frozenset(
    {
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "os.fspath",
        "builtins.str",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "pathlib.PurePosixPath",
    }
)
_SAME_METHODS = frozenset({"resolve", "absolute", "expanduser", "as_posix"})


def where(prog: Program, node: ast.AST | None, depth: int = 0) -> str | None:
    """The absolute path an expression surely is (``/plugin/...`` inside the bundle), else ``None``."""
    if node is None or depth > 16:
        return None
    d = depth + 1
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _absolute(node.value)
    if isinstance(node, ast.Name):
        if node.id == "__file__":
            scope = prog.scope_of.get(id(node))
            return posixpath.join(BUNDLE_ROOT, scope.module.path) if scope else None
        texts = prog.strings(node)
        if texts is not None and len(texts) == 1:
            return _absolute(next(iter(texts)))
        scope = prog.scope_of.get(id(node))
        if scope is None:
            return None
        bindings, builtin, _stars = prog.lookup(scope, node.id)
        if len(bindings) == 1 and not builtin and not bindings[0].path:
            b = bindings[0]
            if b.kind == "assign":
                return where(prog, b.value, d)  # type: ignore[arg-type]
            if b.kind in ("for", "comp"):
                return _listed(prog, b.value, d)  # type: ignore[arg-type]
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        base, part = where(prog, node.left, d), prog.strings(node.right)
        return _join(base, part)
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        base = where(prog, node.value, d)
        return posixpath.dirname(base) if base else None
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
        base = where(prog, node.value.value, d)
        index = node.slice
        if base and isinstance(index, ast.Constant) and isinstance(index.value, int) and index.value >= 0:
            for _ in range(index.value + 1):
                base = posixpath.dirname(base)
            return base
        return None
    if isinstance(node, ast.JoinedStr):
        text = prog.strings(node)
        if text and len(text) == 1:
            return _absolute(next(iter(text)))
        return _prefix(node.values[0] if node.values else None)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        text = prog.strings(node)
        if text and len(text) == 1:
            return _absolute(next(iter(text)))
        left = node.left
        while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add):
            left = left.left
        return _prefix(left)
    if not isinstance(node, ast.Call):
        return None
    refs = {v[1] for v in prog.values(node.func, True) if v[0] == "ref"}
    args = node.args
    if refs & _SAME and len(args) == 1:
        return where(prog, args[0], d)
    if "os.path.dirname" in refs and len(args) == 1:
        base = where(prog, args[0], d)
        return posixpath.dirname(base) if base else None
    if "os.path.join" in refs and args:
        base = where(prog, args[0], d)
        for arg in args[1:]:
            base = _join(base, prog.strings(arg))
        return base
    if isinstance(node.func, ast.Attribute):
        method = node.func.attr
        if method in _SAME_METHODS and not args:
            return where(prog, node.func.value, d)
        if method == "joinpath":
            base = where(prog, node.func.value, d)
            for arg in args:
                base = _join(base, prog.strings(arg))
            return base
        if method == "with_name" and len(args) == 1:
            base = where(prog, node.func.value, d)
            return _join(posixpath.dirname(base), prog.strings(args[0])) if base else None
    return None


#: The last segment of a path that is some entry of a listed bundle directory.
ANY = "\0entry"


def _listed(prog: Program, iterable: ast.AST, depth: int) -> str | None:
    """``for p in sorted(DIR.glob("*.sql"))``: an entry of a directory, when the directory is known."""
    while (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Name)
        and iterable.func.id
        in (
            "sorted",
            "list",
            "reversed",
        )
    ):
        if not iterable.args:
            return None
        iterable = iterable.args[0]
    if (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Attribute)
        and iterable.func.attr in ("glob", "rglob", "iterdir")
    ):
        base = where(prog, iterable.func.value, depth + 1)
        return f"{base}/{ANY}" if base else None
    return None


def _prefix(node: ast.AST | None) -> str | None:
    """The directory a path built from an absolute constant start is surely in (``f"/proc/{pid}"`` → ``/proc``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/"):
        directory = node.value.rsplit("/", 1)[0] or "/"
        return posixpath.normpath(directory) if ".." not in directory else None
    return None


def _absolute(text: str) -> str | None:
    if "\0" in text:
        return None
    if text.startswith("~"):
        return None
    return posixpath.normpath(text if text.startswith("/") else posixpath.join(BUNDLE_ROOT, text))


def _join(base: str | None, parts: frozenset[str] | None) -> str | None:
    if base is None or parts is None or len(parts) != 1:
        return None
    part = next(iter(parts))
    return posixpath.normpath(posixpath.join(base, part))


def in_bundle(path: str) -> str | None:
    """The bundle-relative form of an absolute path inside the bundle (``""`` for its root), else ``None``."""
    if path == BUNDLE_ROOT:
        return ""
    if path.startswith(BUNDLE_ROOT + "/"):
        return path[len(BUNDLE_ROOT) + 1 :]
    return None


def allowed(path: str) -> bool:
    """Whether a plugin may touch ``path``: its bundle (read) or the scratch directory."""
    return in_bundle(path) is not None or path == SCRATCH or path.startswith(SCRATCH + "/")
