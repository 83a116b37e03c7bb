"""Does the code match the manifest: slash handlers, cron functions, dashboard methods, run(), bot guards."""

from __future__ import annotations

import ast

from ..spec.cron import MAX_CRON_ENTRIES
from ..spec.manifest import SDK_IMPORT_NAMES
from ._ast import ModuleFacts, dotted, facts, module_name, nodes, scope_nodes
from ._findings import Finding, error, warning
from ._manifest import NAME_RE, dashboard_methods, manifest_problem

M = "manifest.json"


def _registrations(bundle, kind: str):
    for path, mf in facts(bundle).items():
        for reg in mf.registrations:
            if reg.kind == kind:
                yield path, mf, reg


def _strings_in(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def check_slash_wiring(bundle) -> list[Finding]:
    """A handler for each declared command (error) and a declaration for each handler (warning)."""
    if manifest_problem(bundle):
        return []
    commands = bundle.manifest.get("slash_commands")
    declared = (
        {c["name"] for c in commands if isinstance(c, dict) and isinstance(c.get("name"), str)}
        if isinstance(commands, list)
        else set()
    )
    out: list[Finding] = []
    handled: set[str] = set()
    near_misses: set[str] = set()
    for path, _mf, reg in _registrations(bundle, "on_slash_command"):
        name = reg.value
        if name is None:
            continue
        if NAME_RE.match(name):
            handled.add(name)
            if name not in declared:
                out.append(
                    warning(
                        "slash_undeclared_handler",
                        f'handler for "/{name}" but no slash command "{name}" in manifest.json; declare it or the '
                        "command is never registered",
                        path,
                        reg.line,
                    )
                )
        elif NAME_RE.match(name.lower()):
            near_misses.add(name.lower())
            out.append(
                error(
                    "slash_handler_case",
                    f'on_slash_command("{name}") can never match: command names are lowercase; use "{name.lower()}"',
                    path,
                    reg.line,
                )
            )
        else:
            out.append(
                error(
                    "slash_invalid",
                    f"on_slash_command({name!r}) is not a valid command name (^[-_a-z0-9]{{1,32}}$)",
                    path,
                    reg.line,
                )
            )
    manual = set()
    for _path, _mf, reg in _registrations(bundle, "on_event"):
        if reg.value == "interaction_create" and reg.function is not None:
            manual |= _strings_in(reg.function)
    for name in sorted(declared - handled - near_misses - manual):
        out.append(
            error(
                "slash_no_handler",
                f'slash command "{name}" is declared but no @plugin.on_slash_command("{name}") handler exists; add one',
                M,
            )
        )
    return out


def parse_cron(text):
    """``(CronSpec, None)`` or ``(None or CronSpec, why)``: the spec's parse and manifest-rule problems."""
    from ..spec.cron import CronSpec, cron_entry_problems

    try:
        spec = CronSpec(text)
    except ValueError as exc:
        return None, str(exc)
    problems = [p for p in cron_entry_problems({"name": "_", "spec": text}) if not p.startswith("name ")]
    return spec, "; ".join(problems) or None


def check_cron(bundle) -> list[Finding]:
    """§2.4 entries (≤ 5, identifiers, unique, valid and ≥ 5-minute spacing), and their functions."""
    if manifest_problem(bundle):
        return []
    out: list[Finding] = []
    entries = bundle.manifest.get("cron")
    names: dict[str, str] = {}
    if entries is not None:
        if not isinstance(entries, list):
            return [error("cron_invalid", '"cron" must be a list of {"name", "spec"} objects', M)]
        if len(entries) > MAX_CRON_ENTRIES:
            out.append(error("cron_invalid", f'"cron" has {len(entries)} entries; at most {MAX_CRON_ENTRIES}', M))
        for i, entry in enumerate(entries):
            where = f"cron entry {i + 1}"
            if not isinstance(entry, dict):
                out.append(error("cron_invalid", f'{where}: must be an object {{"name", "spec"}}', M))
                continue
            name, spec = entry.get("name"), entry.get("spec")
            if not isinstance(name, str) or not name.isidentifier():
                out.append(
                    error(
                        "cron_invalid",
                        f"{where}: name {name!r} must be the Python name of the @plugin.cron function",
                        M,
                    )
                )
            elif name in names:
                out.append(error("cron_invalid", f'{where}: name "{name}" is used twice; names must be unique', M))
            else:
                names[name] = spec if isinstance(spec, str) else ""
            if not isinstance(spec, str):
                out.append(error("cron_invalid", f'{where}: "spec" must be a cron string like "0 9 * * *"', M))
                continue
            _, problem = parse_cron(spec)
            if problem:
                out.append(error("cron_invalid", f'{where} ("{name}", "{spec}"): {problem}', M))
    functions: dict[str, tuple[str, int, str | None]] = {}
    for path, _mf, reg in _registrations(bundle, "cron"):
        if reg.function_name:
            functions[reg.function_name] = (path, reg.line, reg.value)
        if reg.value is not None:
            _, problem = parse_cron(reg.value)
            if problem:
                out.append(error("cron_invalid", f'@plugin.cron("{reg.value}"): {problem}', path, reg.line))
    for name in names:
        if name not in functions:
            out.append(
                error(
                    "cron_no_handler",
                    f'cron entry "{name}" has no @plugin.cron function named {name}; add one or remove the entry',
                    M,
                )
            )
    for name, (path, line, spec) in sorted(functions.items()):
        if name not in names:
            out.append(
                warning(
                    "cron_not_in_manifest",
                    f'@plugin.cron function {name} has no manifest "cron" entry, so the host never runs it; '
                    f'add {{"name": "{name}", "spec": "{spec}"}}',
                    path,
                    line,
                )
            )
        elif spec is not None and names[name] and " ".join(spec.split()) != " ".join(names[name].split()):
            out.append(
                warning(
                    "cron_spec_mismatch",
                    f'@plugin.cron("{spec}") differs from the manifest spec "{names[name]}" for {name}; '
                    "the manifest wins — make them equal",
                    path,
                    line,
                )
            )
    return out


def check_schedule(bundle) -> list[Finding]:
    """``@plugin.schedule`` runs only in a single-server process: warn and point at ``@plugin.cron``."""
    out = []
    for path, _mf, reg in _registrations(bundle, "schedule"):
        name = reg.function_name or "the function"
        out.append(
            warning(
                "schedule_not_in_production",
                f"@plugin.schedule on {name} does not run when the platform serves many servers from one "
                f'process; use @plugin.cron with a manifest "cron" entry {{"name": "{name}", "spec": ...}}',
                path,
                reg.line,
            )
        )
    return out


def check_dashboard_wiring(bundle) -> list[Finding]:
    """Every widget method has an ``@plugin.on_dashboard`` handler (a warning when handlers are registered
    with computed names, which only running the plugin can tell)."""
    if manifest_problem(bundle):
        return []
    handlers = set()
    dynamic = False
    for _path, _mf, reg in _registrations(bundle, "on_dashboard"):
        if reg.value is not None:
            handlers.add(reg.value.removeprefix("dashboard."))
        else:
            dynamic = True
    out = []
    for name, path in dict.fromkeys(dashboard_methods(bundle)):
        if name not in handlers:
            text = f'the dashboard calls "{name}" but no @plugin.on_dashboard("{name}") handler exists'
            if dynamic:
                out.append(warning("dashboard_wiring", text + " (handlers registered with computed names may)", path))
            else:
                out.append(error("dashboard_wiring", text, path))
    return out


def check_bot_guard(bundle) -> list[Finding]:
    """A ``message_create`` handler that never looks at ``author_bot`` may answer bots (and itself) forever."""
    out = []
    for path, mf, reg in _registrations(bundle, "on_event"):
        if reg.value != "message_create" or reg.function is None:
            continue
        if _reads_author_bot(reg.function, mf, set()):
            continue
        out.append(
            warning(
                "message_bot_guard",
                f'message_create handler {reg.function.name} never reads event["author_bot"]; '
                'return early on bot messages (if event.get("author_bot"): return)',
                path,
                reg.function.lineno,
            )
        )
    return out


def _reads_author_bot(fn: ast.AST, mf: ModuleFacts, seen: set[str]) -> bool:
    for node in ast.walk(fn):
        if (isinstance(node, ast.Constant) and node.value == "author_bot") or (
            isinstance(node, ast.Attribute) and node.attr == "author_bot"
        ):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called = mf.functions.get(node.func.id)
            if called is not None and called.name not in seen:
                seen.add(called.name)
                if _reads_author_bot(called, mf, seen):
                    return True
    return False


# --- run() reachability ---------------------------------------------------------------


class _Program:
    """Which module-level code runs when ``__main__.py`` runs, and which names hold a ``Plugin``."""

    def __init__(self, bundle) -> None:
        self.modules: dict[str, ModuleFacts] = {module_name(p): mf for p, mf in facts(bundle).items()}
        self.plugin_classes = {"Plugin", *(f"{sdk}.Plugin" for sdk in SDK_IMPORT_NAMES)}
        for mf in self.modules.values():
            for node in nodes(mf.tree):
                if isinstance(node, ast.ImportFrom) and node.module in SDK_IMPORT_NAMES:
                    for alias in node.names:
                        if alias.name == "Plugin":
                            self.plugin_classes.add(alias.asname or "Plugin")
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name in SDK_IMPORT_NAMES:
                            self.plugin_classes.add(f"{alias.asname or alias.name}.Plugin")
        for mf in self.modules.values():  # subclasses
            for node in nodes(mf.tree):
                if isinstance(node, ast.ClassDef) and any(dotted(b) in self.plugin_classes for b in node.bases):
                    self.plugin_classes.add(node.name)
        self.instances: dict[str, set[str]] = {}
        for name, mf in self.modules.items():
            self.instances[name] = {
                t.id
                for node in mf.tree.body
                if isinstance(node, (ast.Assign, ast.AnnAssign))
                and isinstance(node.value, ast.Call)
                and dotted(node.value.func) in self.plugin_classes
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)
            }
        self.any_plugin = any(self.instances.values())

    def _resolve_import(self, current: str, node: ast.ImportFrom) -> str | None:
        if node.level == 0:
            return node.module
        base = current.split(".")[: -node.level] if node.level else []
        return ".".join([*base, *([node.module] if node.module else [])]) or None

    def _module_alias(self, module: str, name: str) -> str | None:
        """The bundled module a local name stands for (``from bot import app`` → ``bot.app``)."""
        for node in self.modules[module].tree.body:
            if isinstance(node, ast.ImportFrom):
                source = self._resolve_import(module, node)
                for alias in node.names:
                    if (alias.asname or alias.name) == name and f"{source}.{alias.name}" in self.modules:
                        return f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname == name and alias.name in self.modules:
                        return alias.name
                    if alias.asname is None and alias.name == name and name in self.modules:
                        return name
        return None

    def _is_plugin(self, module: str, expr: ast.AST, depth: int = 0) -> bool:
        mf = self.modules[module]
        if isinstance(expr, ast.Name) and depth < 5:
            for node in mf.tree.body:  # plugin = app.plugin
                if (
                    isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
                    and isinstance(node.value, (ast.Name, ast.Attribute))
                    and self.any_plugin
                    and self._is_plugin(module, node.value, depth + 1)
                ):
                    return True
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            source = self._module_alias(module, expr.value.id)
            if source is not None and expr.attr in self.instances.get(source, set()):
                return True
        if isinstance(expr, ast.Name):
            if expr.id in self.instances[module]:
                return True
            for node in mf.tree.body:  # from bot import plugin
                if isinstance(node, ast.ImportFrom):
                    source = self._resolve_import(module, node)
                    for alias in node.names:
                        local = alias.asname or alias.name
                        if local == expr.id and alias.name in self.instances.get(source or "", set()):
                            return True
            return not self.any_plugin
        name = dotted(expr)
        if name and "." in name:
            mod, attr = name.rsplit(".", 1)
            return attr in self.instances.get(mod, set()) or not self.any_plugin
        return not self.any_plugin

    def _runs(self, module: str, body: ast.AST, seen: set) -> bool:
        mf = self.modules[module]
        for node in scope_nodes(body):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run"
                and not node.args
                and self._is_plugin(module, node.func.value)
            ):
                return True
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                fn = mf.functions.get(node.func.id)
                if fn is not None and (module, fn.name) not in seen:
                    seen.add((module, fn.name))
                    if self._runs(module, fn, seen):
                        return True
                for imp in mf.tree.body:  # from bot import main; main()
                    if isinstance(imp, ast.ImportFrom):
                        source = self._resolve_import(module, imp)
                        for alias in imp.names:
                            if (alias.asname or alias.name) == node.func.id and source in self.modules:
                                target = self.modules[source].functions.get(alias.name)
                                if target is not None and (source, target.name) not in seen:
                                    seen.add((source, target.name))
                                    if self._runs(source, target, seen):
                                        return True
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [self._resolve_import(module, node)]
                )
                for target in targets:
                    if target in self.modules and target not in seen:
                        seen.add(target)
                        if self._runs(target, self.modules[target].tree, seen):
                            return True
        return False

    def reaches_run(self) -> bool:
        return "__main__" in self.modules and self._runs("__main__", self.modules["__main__"].tree, {"__main__"})


def check_run(bundle) -> list[Finding]:
    """``__main__.py`` must reach ``<Plugin instance>.run()``, else the worker exits at once."""
    if "__main__.py" not in bundle.files or bundle.syntax_tree("__main__.py") is None:
        return []
    if _Program(bundle).reaches_run():
        return []
    return [
        error(
            "run_missing",
            "no <Plugin instance>.run() is reached from __main__.py, so the plugin exits at once; end __main__.py "
            'with: if __name__ == "__main__": plugin.run()',
            "__main__.py",
        )
    ]
