"""Checks over the syntax tree of every bundled ``.py`` file (tests/ excluded)."""

from __future__ import annotations

import ast
import re
import sys
from urllib.parse import urlsplit

from ..spec.manifest import SDK_DISTRIBUTIONS, SDK_IMPORT_NAMES
from ._ast import assignments, assignments_in, bound_names, dotted, facts, fold, nodes, scopes
from ._catalogue import API_METHODS, DISCORD_METHODS, UNUSED_EXEMPT, declared_capabilities, effective_capabilities
from ._findings import Finding, error, warning

FORBIDDEN_MODULES = frozenset(
    {
        "subprocess",
        "ctypes",
        "socket",
        "multiprocessing",
        "_socket",
        "_ctypes",
        "_posixsubprocess",
        "_multiprocessing",
        "pty",
    }
)
FORBIDDEN_BUILTINS = frozenset({"eval", "exec", "compile", "__import__"})
FORBIDDEN_OS = re.compile(r"^(system|popen|fork|forkpty|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?)$")
SQL_METHODS = API_METHODS["sql"][1]
SDK_REQUIREMENTS = frozenset(d.replace("-", "_") for d in SDK_DISTRIBUTIONS)
# Distribution names whose import name differs.
KNOWN_IMPORT_NAMES = {
    "pyyaml": {"yaml"},
    "beautifulsoup4": {"bs4"},
    "pillow": {"PIL"},
    "python_dateutil": {"dateutil"},
    "scikit_learn": {"sklearn"},
    "opencv_python": {"cv2"},
    "python_dotenv": {"dotenv"},
    "attrs": {"attr", "attrs"},
    "protobuf": {"google"},
    "pyjwt": {"jwt"},
    "mmo_maid_sdk": set(SDK_IMPORT_NAMES),
    "yourbot_sdk": set(SDK_IMPORT_NAMES),
}
REQ_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def check_syntax(bundle) -> list[Finding]:
    out = []
    scan = bundle.python_files() if hasattr(bundle, "python_files") else [p for p in bundle.files if p.endswith(".py")]
    for path in scan:
        if bundle.syntax_tree(path) is None:
            exc = bundle.syntax_error(path) if hasattr(bundle, "syntax_error") else None
            if bundle.text(path) is None:
                out.append(error("syntax_error", "the file is not UTF-8 text; save it as UTF-8", path))
            else:
                msg = exc.msg if exc is not None else "does not compile"
                out.append(
                    error("syntax_error", f"{msg}; fix it so the file compiles", path, getattr(exc, "lineno", None))
                )
    return out


def _builtins_aliases(tree: ast.Module) -> set[str]:
    names = {"__builtins__"}
    for node in nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "builtins":
                    names.add(alias.asname or "builtins")
    return names


def _module_aliases(tree: ast.Module, module: str) -> set[str]:
    cache = tree.__dict__.setdefault("_mmo_aliases", {})
    if module not in cache:
        cache[module] = _find_aliases(tree, module)
    return cache[module]


def _find_aliases(tree: ast.Module, module: str) -> set[str]:
    names = set()
    for node in nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == module:
                    names.add(alias.asname or module)
    return names


def _import_module_names(tree: ast.Module) -> set[str]:
    """Names that call ``importlib.import_module`` (or ``importlib.__import__``)."""
    names = {f"{a}.import_module" for a in _module_aliases(tree, "importlib")}
    names |= {f"{a}.__import__" for a in _module_aliases(tree, "importlib")}
    for node in nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "importlib" and node.level == 0:
            for alias in node.names:
                if alias.name in ("import_module", "__import__"):
                    names.add(alias.asname or alias.name)
    return names


def check_dangerous_code(bundle) -> list[Finding]:
    """Forbidden imports (also hidden behind dynamic imports) and eval/exec/compile/__import__ (builtin only)."""
    out: list[Finding] = []
    for path, mf in facts(bundle).items():
        tree, env = mf.tree, mf.constants
        shadowed = bound_names(tree) & FORBIDDEN_BUILTINS
        builtins_names = _builtins_aliases(tree)
        os_names = _module_aliases(tree, "os")
        importers = _import_module_names(tree)

        def forbid_module(name: str | None, line: int, how: str, path: str = path) -> None:
            if name and name.split(".")[0] in FORBIDDEN_MODULES:
                out.append(
                    error(
                        "forbidden_import",
                        f"{how} {name.split('.')[0]!r}: plugins may not start processes or open sockets; "
                        "use the ctx APIs (ctx.http for HTTP)",
                        path,
                        line,
                    )
                )

        for node in nodes(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    forbid_module(alias.name, node.lineno, "imports")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                forbid_module(node.module, node.lineno, "imports")
                if node.module == "builtins":
                    for alias in node.names:
                        if alias.name in FORBIDDEN_BUILTINS or alias.name == "*":
                            out.append(
                                error(
                                    "forbidden_call",
                                    f"imports {alias.name} from builtins; it is not allowed",
                                    path,
                                    node.lineno,
                                )
                            )
                if node.module == "os":
                    for alias in node.names:
                        if FORBIDDEN_OS.match(alias.name):
                            out.append(
                                error(
                                    "forbidden_call",
                                    f"imports os.{alias.name}: plugins may not start processes",
                                    path,
                                    node.lineno,
                                )
                            )
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id in FORBIDDEN_BUILTINS and node.id not in shadowed:
                    out.append(
                        error(
                            "forbidden_call",
                            f"uses the builtin {node.id}(); running generated code is not allowed — parse data instead "
                            "(json.loads, ast.literal_eval)",
                            path,
                            node.lineno,
                        )
                    )
            elif isinstance(node, ast.Attribute):
                base = node.value
                if isinstance(base, ast.Name) and base.id in builtins_names and node.attr in FORBIDDEN_BUILTINS:
                    out.append(
                        error("forbidden_call", f"uses {base.id}.{node.attr}; it is not allowed", path, node.lineno)
                    )
                if isinstance(base, ast.Name) and base.id in os_names and FORBIDDEN_OS.match(node.attr):
                    out.append(
                        error(
                            "forbidden_call", f"uses os.{node.attr}: plugins may not start processes", path, node.lineno
                        )
                    )
            elif isinstance(node, ast.Subscript):
                base = node.value
                if dotted(base) == "sys.modules":
                    forbid_module(fold(node.slice, env), node.lineno, "reaches")
                if (isinstance(base, ast.Name) and base.id in builtins_names) or (
                    isinstance(base, ast.Attribute)
                    and base.attr == "__dict__"
                    and isinstance(base.value, ast.Name)
                    and base.value.id in builtins_names
                ):
                    key = fold(node.slice, env)
                    if key is None or key in FORBIDDEN_BUILTINS:
                        out.append(
                            error(
                                "forbidden_call",
                                f"looks up {key or 'a computed name'} in the builtins; not allowed",
                                path,
                                node.lineno,
                            )
                        )
            if isinstance(node, ast.Call):
                func = node.func
                name = dotted(func)
                first = node.args[0] if node.args else None
                if (name in importers) or (
                    isinstance(func, ast.Name) and func.id == "__import__" and "__import__" not in shadowed
                ):
                    target = fold(first, env)
                    if target is None:
                        out.append(
                            error(
                                "dynamic_import",
                                f"{name or '__import__'}() with a computed module name cannot be reviewed; "
                                "use a plain import",
                                path,
                                node.lineno,
                            )
                        )
                    else:
                        forbid_module(target, node.lineno, f"imports (through {name}())")
                if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
                    obj, attr = node.args[0], node.args[1]
                    key = fold(attr, env)
                    if (
                        isinstance(obj, ast.Name)
                        and obj.id in builtins_names
                        and (key is None or key in FORBIDDEN_BUILTINS)
                    ):
                        out.append(
                            error(
                                "forbidden_call",
                                f"getattr({obj.id}, {key or '<computed>'!s}) reaches a forbidden builtin",
                                path,
                                node.lineno,
                            )
                        )
                    if isinstance(obj, ast.Name) and obj.id in os_names and (key is None or FORBIDDEN_OS.match(key)):
                        out.append(
                            error(
                                "forbidden_call",
                                f"getattr(os, {key or '<computed>'}) may start a process",
                                path,
                                node.lineno,
                            )
                        )
                    if isinstance(obj, ast.Name) and obj.id in _module_aliases(tree, "importlib"):
                        out.append(
                            error(
                                "dynamic_import",
                                "getattr on importlib hides an import; use a plain import",
                                path,
                                node.lineno,
                            )
                        )
        called = sum(1 for n in nodes(tree) if isinstance(n, ast.Call) and dotted(n.func) in importers)
        referenced = [n for n in nodes(tree) if isinstance(n, (ast.Attribute, ast.Name)) and dotted(n) in importers]
        if len(referenced) > called:
            out.append(
                error(
                    "dynamic_import",
                    f"{dotted(referenced[0])} is passed around instead of called directly; the import cannot be "
                    "reviewed — use a plain import",
                    path,
                    referenced[0].lineno,
                )
            )
    return out


def _requirement_names(bundle) -> tuple[set[str], list[Finding]]:
    text = bundle.text("requirements.txt") if "requirements.txt" in bundle.files else None
    names: set[str] = set()
    findings: list[Finding] = []
    if text is None:
        return names, findings
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("-"):
            findings.append(
                error(
                    "requirements_invalid",
                    f"option line {line!r} is not allowed; list plain requirements only",
                    "requirements.txt",
                    lineno,
                )
            )
            continue
        if "://" in line or line.startswith((".", "/", "~")) or " @ " in line:
            findings.append(
                error(
                    "requirements_invalid",
                    f"{line!r} is a URL or a path; list a package name from PyPI",
                    "requirements.txt",
                    lineno,
                )
            )
            continue
        match = REQ_NAME.match(line)
        if not match:
            findings.append(
                error("requirements_invalid", f"{line!r} is not a PEP 508 requirement", "requirements.txt", lineno)
            )
            continue
        names.add(_norm(match.group(1)))
    return names, findings


def requirements(bundle) -> list[str]:
    """The requirement lines to install for a bundle (SDK lines dropped: the platform provides the SDK)."""
    text = bundle.text("requirements.txt") if "requirements.txt" in bundle.files else None
    out = []
    for raw in (text or "").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = REQ_NAME.match(line)
        if match and _norm(match.group(1)) not in SDK_REQUIREMENTS:
            out.append(line)
    return out


def check_imports(bundle) -> list[Finding]:
    """Imports must be stdlib, bundled, the SDK, or listed in requirements.txt; requirements.txt must be plain."""
    names, out = _requirement_names(bundle)
    allowed = set()
    for n in names:
        allowed |= KNOWN_IMPORT_NAMES.get(n, {n})
    top_level = {p.split("/", 1)[0].removesuffix(".py") for p in bundle.files if "/" in p or p.endswith(".py")}
    stdlib = set(sys.stdlib_module_names) | {"__future__", "__main__", *SDK_IMPORT_NAMES}
    for path, mf in facts(bundle).items():
        seen: set[str] = set()
        in_try = _guarded_imports(mf.tree)
        for node in nodes(mf.tree):
            roots = []
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            for root in roots:
                if root in stdlib or root in top_level or _norm(root) in allowed or root in allowed or root in seen:
                    continue
                if root in FORBIDDEN_MODULES or id(node) in in_try:
                    continue
                seen.add(root)
                out.append(
                    warning(
                        "import_not_bundled",
                        f"imports {root!r}, which is not in the standard library, not bundled and not in "
                        f"requirements.txt; add it to requirements.txt (the sandbox has no network)",
                        path,
                        node.lineno,
                    )
                )
    return out


def _guarded_imports(tree: ast.Module) -> set[int]:
    """Imports inside ``try: ... except ImportError`` (optional dependencies)."""
    out = set()
    for node in nodes(tree):
        if isinstance(node, ast.Try) and any(
            h.type is not None and any(n in ast.unparse(h.type) for n in ("ImportError", "ModuleNotFoundError"))
            for h in node.handlers
        ):
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        out.add(id(inner))
    return out


# --- ctx API use ------------------------------------------------------------------


def _api_of(value: ast.AST, aliases: dict[str, str]) -> str | None:
    """Which ctx API an expression is: ``ctx.kv`` / ``self.ctx.kv`` → ``kv``; a local alias of one too."""
    if isinstance(value, ast.Attribute) and (value.attr in API_METHODS or value.attr == "discord"):
        if isinstance(value.value, ast.Name) and value.value.id == "discord":
            return None  # the discord.py module, not ctx.discord
        return value.attr
    if isinstance(value, ast.Name):
        return aliases.get(value.id)
    return None


def api_calls(tree: ast.Module) -> list[tuple[ast.AST, ast.Call, str, str]]:
    """``(scope, call, api, method)`` for every call on a ctx API, whatever the context is named (cached)."""
    cached = getattr(tree, "_mmo_api_calls", None)
    if cached is None:
        cached = list(_api_calls(tree))
        tree._mmo_api_calls = cached  # type: ignore[attr-defined]
    return cached


def _api_calls(tree: ast.Module):
    for scope, body in scopes(tree):
        aliases: dict[str, str] = {}
        for name, assigned in assignments_in(body).items():
            apis = {_api_of(v, {}) for _, v, aug in assigned if not aug}
            if len(apis) == 1 and None not in apis:
                aliases[name] = apis.pop()
        for node in body:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                api = _api_of(node.func.value, aliases)
                if api is not None:
                    yield scope, node, api, node.func.attr


def _capability_of(api: str, method: str) -> str | None:
    if api == "discord":
        return DISCORD_METHODS.get(method)
    cap, methods = API_METHODS[api]
    return cap if method in methods else None


def capability_uses(bundle) -> dict[str, list[tuple[str, int, str]]]:
    """``capability → [(path, line, 'ctx.<api>.<method>')]`` for every call the code makes."""
    uses: dict[str, list[tuple[str, int, str]]] = {}
    for path, mf in facts(bundle).items():
        for _scope, call, api, method in api_calls(mf.tree):
            cap = _capability_of(api, method)
            if cap:
                uses.setdefault(cap, []).append((path, call.lineno, f"ctx.{api}.{method}"))
    return uses


def _mentioned_capabilities(bundle) -> set[str]:
    """Capabilities the code refers to without a detectable call: ``ctx.has_capability("x")``, ``x = ctx.kv``."""
    out = set()
    for mf in facts(bundle).values():
        for node in nodes(mf.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "has_capability"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                out.add(node.args[0].value)
            if isinstance(node, ast.Attribute) and node.attr in API_METHODS and not isinstance(node.value, ast.Call):
                out.add(API_METHODS[node.attr][0])
    return out


def check_capability_use(bundle) -> list[Finding]:
    """Every ctx call needs an effective capability (error); a declared one never used is a warning."""
    manifest = bundle.manifest if isinstance(bundle.manifest, dict) else {}
    effective = effective_capabilities(manifest)
    uses = capability_uses(bundle)
    out: list[Finding] = []
    for cap, places in sorted(uses.items()):
        if cap in effective:
            continue
        by_file: dict[str, list[tuple[int, str]]] = {}
        for path, line, call in places:
            by_file.setdefault(path, []).append((line, call))
        for path, calls in by_file.items():
            line, call = calls[0]
            more = f" (and {len(calls) - 1} more call(s) in this file)" if len(calls) > 1 else ""
            out.append(
                error(
                    "capability_undeclared",
                    f'{call} needs capability "{cap}"; add it to "capabilities_required" in manifest.json{more}',
                    path,
                    line,
                )
            )
    _, raw = declared_capabilities(manifest)
    declared = [c for c in raw if isinstance(c, str)] if isinstance(raw, list) else []
    mentioned = _mentioned_capabilities(bundle)
    for cap in declared:
        if cap in effective and cap not in uses and cap not in mentioned and cap not in UNUSED_EXEMPT:
            out.append(
                warning(
                    "capability_unused",
                    f'"{cap}" is declared but no call needs it; remove it so installers are asked for less',
                    "manifest.json",
                )
            )
    return out


def check_http_domains(bundle) -> list[Finding]:
    """A literal URL given to ``ctx.http`` must name a host in ``proxy_domains_requested``."""
    manifest = bundle.manifest if isinstance(bundle.manifest, dict) else {}
    domains = manifest.get("proxy_domains_requested")
    allowed = {d.lower() for d in domains if isinstance(d, str)} if isinstance(domains, list) else set()
    out = []
    for path, mf in facts(bundle).items():
        for _scope, call, api, method in api_calls(mf.tree):
            if api != "http" or method not in ("get", "post", "request"):
                continue
            index = 1 if method == "request" else 0
            node = (
                call.args[index]
                if len(call.args) > index
                else next((k.value for k in call.keywords if k.arg == "url"), None)
            )
            url = _url_prefix(node, mf.constants)
            if not url:
                continue
            host = (urlsplit(url).hostname or "").lower()
            if host and host not in allowed:
                out.append(
                    error(
                        "http_domain_undeclared",
                        f'ctx.http.{method} calls {host}, which is not in "proxy_domains_requested"; '
                        f'add "{host}" to it',
                        path,
                        call.lineno,
                    )
                )
    return out


def _url_prefix(node: ast.AST | None, env: dict[str, str]) -> str | None:
    """The literal start of a URL expression up to its host, when one is visible."""
    text = fold(node, env)
    if text is None and isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        text = str(node.values[0].value)
    if text is None and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        text = fold(node.left, env)
    if text and re.match(r"^https?://[^/?#]+[/?#]", text + "/"):
        return text
    return None


# --- SQL -----------------------------------------------------------------------------


def _building(node: ast.AST, env: dict[str, str]) -> str | None:
    """How an expression builds a string at run time (``"an f-string"``…), ``None`` when it does not."""
    if fold(node, env) is not None:
        return None
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "%-formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return "+ concatenation"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "format":
            return ".format()"
        if node.func.attr == "join":
            return "str.join() of run-time values"
    return None


def check_sql(bundle) -> list[Finding]:
    """SQL text passed to ``ctx.sql.*`` must not be built from values; pass them as params."""
    out: list[Finding] = []
    for path, mf in facts(bundle).items():
        module_assigned = assignments(mf.tree, mf.tree)
        for scope, call, api, method in api_calls(mf.tree):
            if api != "sql" or method not in SQL_METHODS:
                continue
            node = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "sql"), None)
            if node is None:
                continue
            fix = f'pass values separately: ctx.sql.{method}("... WHERE id = $1", [value])'
            how = _building(node, mf.constants)
            if how:
                out.append(
                    error(
                        "sql_string_building",
                        f"the SQL for ctx.sql.{method} is built with {how}; {fix}",
                        path,
                        node.lineno,
                    )
                )
                continue
            if isinstance(node, ast.Name):
                scoped = assignments(scope, mf.tree).get(node.id) or (
                    module_assigned.get(node.id) if scope is not mf.tree else None
                )
                for stmt, value, aug in scoped or []:
                    how = (
                        "+= concatenation"
                        if aug and fold(value, mf.constants) is None
                        else _building(value, mf.constants)
                    )
                    if how:
                        out.append(
                            error(
                                "sql_string_building",
                                f"{node.id!r} (passed to ctx.sql.{method} on line {call.lineno}) is built with {how}; "
                                f"{fix}",
                                path,
                                stmt.lineno,
                            )
                        )
    return out
