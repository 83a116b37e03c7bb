"""Blocked modules and calls, however they are reached; reflection and loaders that hide what code can do.

Every import, name, attribute, call and subscript of every scanned module is
resolved (``_flow``) to what it can be at run time and looked up in the policy
(``_policy``). Forms that cannot be resolved fail closed: a computed
``import_module``/``getattr`` on a module, a module handed to code we cannot
see, ``sys.modules`` read with a computed key... each with a specific code and
the fix an author needs.
"""

from __future__ import annotations

import ast
import re

from ._ast import nodes
from ._findings import Finding, error
from ._flow import UNKNOWN, Program, is_module, normalise, program
from ._paths import allowed, in_bundle, where
from ._policy import (
    ANNOTATION_ATTRS,
    IMPORT_BY_NAME,
    LOADER,
    LOADER_ATTRS,
    MODULES,
    NATIVE_CALL,
    NATIVE_METHODS,
    PROCESS_CALL,
    PROCESS_METHODS,
    REFLECTION,
    REFLECTION_ATTRS,
    Rule,
    rule_for,
)
from ._scopes import ModuleInfo

#: Calls that read attributes by name: the name must be visible, or the object one of the plugin's own.
ATTRIBUTE_GETTERS = frozenset({"builtins.getattr", "inspect.getattr_static", "builtins.hasattr"})
#: Functions that hand out namespaces or attributes by name; referenced other than by a direct call, they hide
#: what is read (``functools.reduce(getattr, ...)``).
REFLECTIVE_FUNCTIONS = frozenset(
    {
        "builtins.getattr",
        "builtins.vars",
        "builtins.globals",
        "builtins.locals",
        "operator.attrgetter",
        "operator.methodcaller",
        "inspect.getattr_static",
        "inspect.getmembers",
        "inspect.getmembers_static",
        "builtins.object.__getattribute__",
        "builtins.type.__getattribute__",
    }
)
#: Outside calls whose result can be a module or function by name (everything else returns data).
_RETURNS_REFS = frozenset(
    {
        "importlib.import_module",
        "builtins.__import__",
        "importlib.__import__",
        "importlib._bootstrap._gcd_import",
        "builtins.getattr",
        "inspect.getattr_static",
        "builtins.object.__getattribute__",
        "builtins.vars",
        "builtins.globals",
        "builtins.locals",
        "sys.modules.get",
        "builtins.super",
    }
)
#: Loaders by name; referenced other than by a direct call (``map(import_module, names)``) they hide what they load.
LOADER_FUNCTIONS = IMPORT_BY_NAME | {"importlib.util.spec_from_file_location"}
#: Where a module may appear without escaping review: these only read it or pass it on visibly.
_HARMLESS_CALLS = frozenset({"builtins.isinstance", "builtins.id", "builtins.repr", "builtins.str", "builtins.print"})
#: File APIs whose first argument is a path the plugin reads or writes.
FILE_CALLS = frozenset(
    {
        "builtins.open",
        "io.open",
        "io.open_code",
        "io.FileIO",
        "os.open",
        "codecs.open",
        "os.listdir",
        "os.scandir",
        "os.walk",
        "os.stat",
        "os.lstat",
        "os.readlink",
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.replace",
        "os.mkdir",
        "os.makedirs",
        "os.rmdir",
        "os.chmod",
        "os.chdir",
        "glob.glob",
        "glob.iglob",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.rmtree",
        "shutil.move",
        "sqlite3.connect",
        "zipfile.ZipFile",
        "tarfile.open",
        "pathlib.Path",
        "pathlib.PosixPath",
        "os.path.exists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.getsize",
    }
)
_PATH_METHODS = frozenset(
    {"open", "read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "glob", "rglob", "unlink", "mkdir"}
)
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_UTF8 = frozenset({"utf-8", "utf8", "utf_8", "u8", "utf", "utf8-sig", "utf-8-sig", "ascii", "us-ascii", "646"})


class _Report:
    """Findings of one bundle, one per (file, code, subject) at its first place."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str], tuple[int, Finding]] = {}

    def add(self, path: str, code: str, subject: str, message: str, line: int | None) -> None:
        key = (path, code, subject)
        current = self.found.get(key)
        order = line or 0
        if current is None or order < current[0]:
            self.found[key] = (order, error(code, message, path, line))

    def rule(self, path: str, rule: Rule, subject: str, how: str, line: int | None) -> None:
        shown = f"{subject.removeprefix('builtins.')}()" if subject.startswith("builtins.") else subject
        self.add(path, rule.code, _subject(subject, rule), f"{how} {shown}: {rule.why}; {rule.fix}", line)

    def findings(self) -> list[Finding]:
        return [f for _, f in sorted(self.found.values(), key=lambda item: (item[1].path or "", item[0]))]


def _subject(qual: str, rule: Rule) -> str:
    """What a report is about, so ``import subprocess`` and each ``subprocess.run`` make one finding."""
    parts = qual.split(".")
    for i in range(1, len(parts) + 1):
        if MODULES.get(".".join(parts[:i])) is rule:
            return ".".join(parts[:i])
    return qual


def check_dangerous_code(bundle) -> list[Finding]:
    """Blocked modules and calls (also aliased, star-imported or reached by reflection), loaders, reflection."""
    prog = program(bundle)
    report = _Report()
    for info in prog.modules.values():
        _Scan(prog, info, report).run()
        _check_encoding(bundle, info.path, report)
    return report.findings()


def _check_encoding(bundle, path: str, report: _Report) -> None:
    """A coding cookie other than UTF-8 makes the interpreter read different code than review does."""
    try:
        head = (bundle.root / path).read_bytes()[:512]
    except OSError:
        return
    for line in head.splitlines()[:2]:
        match = _CODING.match(line)
        if match:
            name = match.group(1).decode("ascii", "replace").lower().replace("_", "-")
            if name not in _UTF8 and name.replace("-", "_") not in _UTF8:
                report.add(
                    path,
                    "source_encoding",
                    "coding",
                    f"declares the source encoding {name!r}; Python would read different code than review sees — "
                    "save the file as UTF-8 and remove the coding line",
                    1,
                )
            return


class _Scan:
    def __init__(self, prog: Program, info: ModuleInfo, report: _Report) -> None:
        self.prog = prog
        self.info = info
        self.path = info.path
        self.report = report

    def run(self) -> None:
        handlers = {
            ast.Import: self.import_,
            ast.ImportFrom: self.import_from,
            ast.Name: self.name,
            ast.Attribute: self.attribute,
            ast.Call: self.call,
            ast.Subscript: self.subscript,
            ast.arg: self.string_annotations,
            ast.AnnAssign: self.string_annotations,
            ast.FunctionDef: self.string_annotations,
            ast.AsyncFunctionDef: self.string_annotations,
        }
        for node in nodes(self.info.tree):
            handler = handlers.get(type(node))
            if handler is not None:
                handler(node)

    def import_(self, node: ast.Import) -> None:
        for alias in node.names:
            self.module(alias.name, node.lineno, "imports")

    def import_from(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node)
        if base:
            self.module(base, node.lineno, "imports")
        for alias in node.names:
            if alias.name in REFLECTION_ATTRS:
                self.report.rule(self.path, REFLECTION, alias.name, "imports", node.lineno)
            elif alias.name in LOADER_ATTRS:
                self.report.rule(self.path, LOADER, alias.name, "imports", node.lineno)
            elif base and alias.name != "*":
                self.module(f"{base}.{alias.name}", node.lineno, "imports")

    def subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            self.refs(node, "reaches")

    # --- imports and names -----------------------------------------------------------

    def _absolute(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        info = self.info
        package = info.name if info.path.endswith("__init__.py") else info.name.rpartition(".")[0]
        parts = package.split(".") if package else []
        if node.level > 1:
            parts = parts[: len(parts) - (node.level - 1)]
        resolved = ".".join([*parts, *([node.module] if node.module else [])])
        return "" if self.prog.is_bundled(resolved.split(".")[0]) else resolved

    def module(self, qual: str, line: int, how: str) -> None:
        rule = rule_for(normalise(qual)) or rule_for(qual)
        if rule is not None:
            shadow = ""
            if self.prog.is_bundled(qual.split(".")[0]):
                shadow = f" (the bundle's own {qual.split('.')[0]} shadows a standard module: rename it)"
            self.report.rule(self.path, rule, qual, how, line)
            if shadow:
                key = (self.path, rule.code, _subject(qual, rule))
                order, finding = self.report.found[key]
                self.report.found[key] = (order, error(finding.code, finding.message + shadow, self.path, line))

    def refs(self, node: ast.AST, how: str) -> frozenset:
        values = self.prog.values(node)
        if ("ref", "builtins") in values and not isinstance(node, ast.Name):
            self.report.rule(self.path, REFLECTION, "the builtins namespace", "reaches", getattr(node, "lineno", None))
        for v in values:
            if v[0] == "ref":
                rule = rule_for(v[1])
                if rule is not None:
                    self.report.rule(self.path, rule, v[1], how, getattr(node, "lineno", None))
        return values

    def name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        parent = self.prog.parent.get(id(node))
        if isinstance(parent, ast.Attribute) and node.id not in ("__builtins__", "__loader__", "__spec__"):
            return  # the attribute read on it is resolved (and reported) as a whole
        if node.id == "__builtins__":
            self.report.rule(self.path, REFLECTION, "__builtins__", "uses", node.lineno)
        elif node.id in LOADER_ATTRS:
            self.report.rule(self.path, LOADER, node.id, "uses", node.lineno)
        values = self.refs(node, "uses")
        self.escape(node, values)

    def attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr in REFLECTION_ATTRS:
            self.report.rule(self.path, REFLECTION, f".{attr}", "reads", node.lineno)
        elif attr in LOADER_ATTRS:
            self.report.rule(self.path, LOADER, f".{attr}", "reads", node.lineno)
        elif attr in ANNOTATION_ATTRS:
            self.report.add(
                self.path,
                "reflection",
                f"annotations:{node.lineno}",
                "uses __annotations__: annotation strings written at run time are evaluated as code by "
                "typing.get_type_hints(); declare annotations in the source",
                node.lineno,
            )
        elif attr in NATIVE_METHODS:
            self.report.rule(self.path, NATIVE_CALL, f".{attr}()", "calls", node.lineno)
        elif attr in PROCESS_METHODS:
            self.report.rule(self.path, PROCESS_CALL, f".{attr}()", "calls", node.lineno)
        if not isinstance(node.ctx, ast.Load):
            if attr == "path" and self._is(node.value, "sys"):
                self.report.rule(self.path, LOADER, "sys.path", "replaces", node.lineno)
            return
        values = self.refs(node, "uses")
        self.escape(node, values)
        if ("ref", "sys.modules") in values:
            self.sys_modules(node)
        if ("ref", "sys.path") in values:
            self.sys_path(node)
        if attr == "__dict__":
            self.namespace(node, "__dict__")

    def _is(self, node: ast.AST, qual: str) -> bool:
        return ("ref", qual) in self.prog.values(node)

    # --- calls ----------------------------------------------------------------------------

    def call(self, node: ast.Call) -> None:
        prog = self.prog
        callee = prog.values(node.func)
        refs = {v[1] for v in callee if v[0] == "ref"}
        args = node.args
        if refs & {"typing.ForwardRef", "typing.TypeVar"}:
            texts = [a for a in args[:1] if "typing.ForwardRef" in refs]
            texts += [k.value for k in node.keywords if k.arg == "bound"]
            for text in texts:
                for value in prog.strings(text) or ():
                    self.string_code(value, node.lineno)
        if refs & IMPORT_BY_NAME:
            targets = prog.strings(args[0]) if args else None
            fn = sorted(refs & IMPORT_BY_NAME)[0]
            if targets is not None and any(t.startswith(".") for t in targets):
                targets = self._relative_targets(node, targets)
            if targets is None:
                self.report.add(
                    self.path,
                    "dynamic_import",
                    f"{fn}:computed",
                    f"{fn.removeprefix('builtins.')}() with a computed name cannot be reviewed; "
                    "import modules with a plain import statement",
                    node.lineno,
                )
            else:
                for target in targets:
                    self.module(target.replace(":", "."), node.lineno, f"imports (through {fn}())")
        if refs & ATTRIBUTE_GETTERS and len(args) >= 2:
            self.getattr_call(node, args[0], args[1])
        if isinstance(node.func, ast.Attribute) and node.func.attr == "__getattribute__" and args:
            receiver = args[0] if len(args) >= 2 and refs else node.func.value
            name = args[1] if len(args) >= 2 and refs else args[0]
            self.getattr_call(node, receiver, name)
        if refs & {"operator.attrgetter", "operator.methodcaller"} and args:
            texts = prog.strings(args[0])
            if texts is None:
                self.report.rule(self.path, REFLECTION, "operator.attrgetter", "calls", node.lineno)
            else:
                for text in texts:
                    self.attribute_names(text.split("."), node.lineno)
        if refs & {"builtins.vars"} and args:
            self.namespace(node, "vars()")
        if refs & {"builtins.globals", "builtins.locals"} or (refs & {"builtins.vars"} and not args):
            self.namespace(node, "globals()")
        if "importlib.util.spec_from_file_location" in refs:
            self.spec_from_file(node)
        if refs & {"site.addsitedir"} and args:
            self.path_entry(args[0], node.lineno, "site.addsitedir")
        if refs & FILE_CALLS and args:
            self.file_access(args[0], node.lineno, sorted(refs & FILE_CALLS)[0])
        if isinstance(node.func, ast.Attribute) and node.func.attr in _PATH_METHODS and not args[:0]:
            target = where(prog, node.func.value)
            if target is not None and not allowed(target):
                self.outside(target, node.lineno)
        if any(v[0] == "func" for v in callee) or refs & _RETURNS_REFS or _getattribute(node):
            self.refs(node, "reaches")  # what the call returns can be a module or a blocked function

    def _relative_targets(self, node: ast.Call, targets: frozenset[str]) -> frozenset[str] | None:
        """``import_module(".x", package)``: the absolute names, when the package is visible too."""
        args = node.args
        package = args[1] if len(args) > 1 else next((k.value for k in node.keywords if k.arg == "package"), None)
        if package is None:
            return None
        if _is_own_package(package):
            info = self.info
            packages = frozenset({info.name if info.path.endswith("__init__.py") else info.name.rpartition(".")[0]})
        else:
            packages = self.prog.strings(package)
        return None if packages is None else frozenset(_relative_to(p, t) for p in packages for t in targets)

    def getattr_call(self, node: ast.Call, receiver: ast.AST, name: ast.AST) -> None:
        prog = self.prog
        texts = prog.strings(name)
        if texts is not None:
            self.attribute_names(texts, node.lineno)
            return
        kinds = prog.values(receiver)
        if all(v[0] in ("inst", "class", "ctx", "api") for v in kinds):
            return  # the plugin's own objects (dispatch tables); ctx is the capability check's business
        what = _describe(kinds)
        self.report.add(
            self.path,
            "reflection",
            f"getattr:{node.lineno}",
            f"getattr() with a computed name on {what} can reach anything (modules, frames, globals); "
            "use an explicit dict of the functions or values you need",
            node.lineno,
        )

    def attribute_names(self, names, line: int) -> None:
        for attr in names:
            if attr in REFLECTION_ATTRS or attr.startswith("f_") or attr in ("__dict__",):
                if attr in REFLECTION_ATTRS:
                    self.report.rule(self.path, REFLECTION, f".{attr}", "reads", line)
            elif attr in LOADER_ATTRS:
                self.report.rule(self.path, LOADER, f".{attr}", "reads", line)

    def namespace(self, node: ast.AST, what: str) -> None:
        """``vars(m)``/``m.__dict__``/``globals()`` must be read with visible keys."""
        prog = self.prog
        values = prog.values(node) if what != "__dict__" else {("dict_of", v) for v in prog.values(node.value)}
        if what == "__dict__":
            inner = prog.values(node.value)
            if not any(v[0] in ("ref", "mod") for v in inner):
                return
        elif what == "vars()":
            inner = prog.values(node.args[0])  # type: ignore[attr-defined]
            if not any(v[0] in ("ref", "mod", "?") for v in inner):
                return
        del values
        parent = prog.parent.get(id(node))
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.ctx, ast.Load) and prog.strings(parent.slice) is None:
                self._computed_namespace(what, node)
            return
        if (
            isinstance(parent, ast.Attribute)
            and parent.attr in ("get", "__getitem__", "pop", "setdefault")
            and (grand := prog.parent.get(id(parent))) is not None
            and isinstance(grand, ast.Call)
            and grand.func is parent
        ):
            if not grand.args or prog.strings(grand.args[0]) is None:
                self._computed_namespace(what, node)
            return
        if isinstance(parent, ast.Attribute) and parent.attr in ("update", "__setitem__", "__contains__"):
            return
        if isinstance(parent, ast.Compare) and node in parent.comparators:
            return
        self._computed_namespace(what, node)

    def _computed_namespace(self, what: str, node: ast.AST) -> None:
        self.report.add(
            self.path,
            "reflection",
            f"namespace:{node.lineno}",  # type: ignore[attr-defined]
            f"{what} is read with a computed key or passed around; the names it reaches cannot be reviewed — "
            "use an explicit dict of what you need",
            node.lineno,  # type: ignore[attr-defined]
        )

    def sys_modules(self, node: ast.AST) -> None:
        prog = self.prog
        parent = prog.parent.get(id(node))
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.ctx, ast.Load) and prog.strings(parent.slice) is None:
                self._sys_modules(node)
            return
        if isinstance(parent, ast.Attribute) and parent.attr in ("get", "pop", "setdefault", "__contains__"):
            grand = prog.parent.get(id(parent))
            if isinstance(grand, ast.Call) and grand.args and prog.strings(grand.args[0]) is not None:
                for target in prog.strings(grand.args[0]) or ():
                    self.module(target, node.lineno, "reaches (through sys.modules)")  # type: ignore[attr-defined]
                return
            self._sys_modules(node)
            return
        if isinstance(parent, ast.Compare) and node in parent.comparators:
            return
        self._sys_modules(node)

    def _sys_modules(self, node: ast.AST) -> None:
        self.report.add(
            self.path,
            "reflection",
            "sys.modules",
            "sys.modules is read with a computed key or iterated; it hands out any loaded module — "
            "import what you need with a plain import",
            node.lineno,  # type: ignore[attr-defined]
        )

    def sys_path(self, node: ast.Attribute) -> None:
        prog = self.prog
        parent = prog.parent.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.attr in ("append", "insert", "extend", "__setitem__"):
            grand = prog.parent.get(id(parent))
            if isinstance(grand, ast.Call) and grand.func is parent:
                entries = grand.args[1:] if parent.attr == "insert" else grand.args
                for entry in entries:
                    if parent.attr == "extend":
                        lit = prog.literal(entry)
                        items = lit.elts if lit is not None and not isinstance(lit, ast.Dict) else [None]
                        for item in items:
                            self.path_entry(item, node.lineno, "sys.path.extend")
                    else:
                        self.path_entry(entry, node.lineno, f"sys.path.{parent.attr}")
        elif isinstance(parent, ast.Subscript) and not isinstance(parent.ctx, ast.Load):
            self.report.rule(self.path, LOADER, "sys.path", "replaces entries of", node.lineno)
        elif isinstance(parent, ast.AugAssign):
            self.report.rule(self.path, LOADER, "sys.path", "extends", node.lineno)

    def path_entry(self, entry: ast.AST | None, line: int, how: str) -> None:
        target = where(self.prog, entry) if entry is not None else None
        rel = in_bundle(target) if target is not None else None
        bundle = self.prog.bundle
        if rel is not None and (rel == "" or any(f.startswith(rel + "/") for f in bundle.files)):
            return  # a directory of the bundle: everything in it is scanned
        self.report.add(
            self.path,
            "dynamic_import",
            f"path:{line}",
            f"{how}() adds {target or 'a computed path'} to the import path; only directories of the bundle "
            "may be added (Path(__file__).parent / 'vendor'), code anywhere else is not reviewed",
            line,
        )

    def spec_from_file(self, node: ast.Call) -> None:
        args = node.args
        location = args[1] if len(args) > 1 else next((k.value for k in node.keywords if k.arg == "location"), None)
        target = where(self.prog, location)
        rel = in_bundle(target) if target is not None else None
        own_file = rel is not None and rel.endswith(".py") and rel in self.prog.bundle.files
        if own_file and len(args) <= 2 and not any(k.arg == "loader" for k in node.keywords):
            return  # a bundled .py file loaded by path (test conftests do): it is scanned like any other
        self.report.add(
            self.path,
            "dynamic_import",
            f"spec:{node.lineno}",
            f"spec_from_file_location() loads {target or 'a computed path'}; only the bundle's own .py files are "
            "reviewed — import them with a plain import statement",
            node.lineno,
        )

    def file_access(self, arg: ast.AST, line: int, fn: str) -> None:
        target = where(self.prog, arg)
        if target is not None and not allowed(target):
            self.outside(target, line)

    def outside(self, target: str, line: int) -> None:
        self.report.add(
            self.path,
            "file_outside_bundle",
            target,
            f"touches {target}; a plugin may read the files of its bundle and use /tmp, nothing else — "
            "ship the data in the bundle or ask the host through ctx",
            line,
        )

    # --- values that leave review -----------------------------------------------------

    def escape(self, node: ast.AST, values: frozenset) -> None:
        """A module (or a reflective builtin) handed to code review cannot see through."""
        modules = [v for v in values if (v[0] == "ref" and is_module(v[1])) or v[0] == "mod"]
        reflective = [v for v in values if v[0] == "ref" and v[1] in REFLECTIVE_FUNCTIONS | LOADER_FUNCTIONS]
        if not modules and not reflective:
            return
        prog = self.prog
        parent = prog.parent.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return
        if isinstance(parent, ast.Call) and parent.func is node:
            return
        if reflective and not modules:
            if isinstance(parent, (ast.Assign, ast.AnnAssign)) and all(
                isinstance(t, ast.Name) for t in (parent.targets if isinstance(parent, ast.Assign) else [parent.target])
            ):
                return  # an alias: its calls are resolved like direct ones
            name = reflective[0][1]
            loader = name in LOADER_FUNCTIONS
            self.report.add(
                self.path,
                "dynamic_import" if loader else "reflection",
                f"passed:{name}",
                f"{name.removeprefix('builtins.')} is passed around instead of called; what it "
                f"{'imports' if loader else 'reads'} cannot be reviewed — call it directly with a constant name",
                getattr(node, "lineno", None),
            )
            return
        if isinstance(parent, ast.Call):
            callee = prog.values(parent.func)
            if callee and all(v[0] in ("func", "class") for v in callee):
                return  # a bundled function: followed through its parameter
            refs = {v[1] for v in callee if v[0] == "ref"}
            if refs and refs <= (_HARMLESS_CALLS | ATTRIBUTE_GETTERS | {"builtins.vars", "builtins.dir"}):
                return
        elif isinstance(parent, ast.keyword):
            pass
        elif isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if all(isinstance(t, ast.Name) for t in targets):
                return  # an alias: followed
        elif (
            isinstance(parent, (ast.Return, ast.Compare, ast.If, ast.While, ast.Assert, ast.Delete, ast.Expr))
            or (
                isinstance(parent, (ast.IfExp, ast.BoolOp))
                and not isinstance(prog.parent.get(id(parent)), (ast.Call, ast.List, ast.Tuple, ast.Dict, ast.Set))
            )
            or isinstance(parent, (ast.withitem, ast.alias))
        ):
            return
        what = modules[0][1]
        self.report.add(
            self.path,
            "reflection",
            f"module:{what}:{getattr(node, 'lineno', 0)}",
            f"the module {what} is passed or stored as a value; code that receives it can reach any of its "
            "attributes unseen — import the functions you need and pass those",
            getattr(node, "lineno", None),
        )

    # --- strings that become code ---------------------------------------------------------

    def string_annotations(self, node: ast.AST) -> None:
        """String annotations are evaluated by ``typing.get_type_hints`` (and libraries that call it)."""
        annotations = []
        if (isinstance(node, ast.arg) and node.annotation is not None) or isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            annotations.append(node.returns)
        for annotation in annotations:
            for sub in ast.walk(annotation):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "(" in sub.value:
                    self.string_code(sub.value, sub.lineno)

    def string_code(self, text: str, line: int) -> None:
        try:
            parsed = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError):
            return
        names = {n.id for n in ast.walk(parsed) if isinstance(n, ast.Name)}
        calls = any(isinstance(n, ast.Call) for n in ast.walk(parsed))
        if not calls:
            return
        blocked = []
        for name in sorted(names):
            bindings, builtin, _stars = self.prog._module_lookup(self.info, name)
            values = set()
            for b in bindings:
                values |= self.prog.binding_values(b, True)
            if builtin:
                values.add(("ref", f"builtins.{name}"))
            blocked.extend(v[1] for v in values if v[0] == "ref" and (rule_for(v[1]) or is_module(v[1])))
        self.report.add(
            self.path,
            "reflection",
            f"annotation:{line}",
            f"the string annotation {text!r} holds a call; typing.get_type_hints() would run it"
            + (f" (it reaches {', '.join(blocked)})" if blocked else "")
            + " — write annotations as plain type names",
            line,
        )


def _getattribute(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Attribute) and node.func.attr in ("__getattribute__", "get", "__getitem__")


def _is_own_package(node: ast.AST) -> bool:
    """``__package__`` / ``__name__``: the importing module's own package."""
    return isinstance(node, ast.Name) and node.id in ("__package__", "__name__")


def _relative_to(package: str, target: str) -> str:
    if not target.startswith("."):
        return target
    level = len(target) - len(target.lstrip("."))
    parts = package.split(".") if package else []
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    rest = target[level:]
    return ".".join([*parts, *([rest] if rest else [])])


def _describe(values: frozenset) -> str:
    for v in values:
        if v[0] == "ref":
            return f"{v[1]}"
        if v[0] == "mod":
            return f"the bundled module {v[1]}"
    if UNKNOWN in values:
        return "an object review cannot identify"
    return "an object that is not one of the plugin's own"
