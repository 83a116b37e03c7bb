"""``yourbot dev``: run the entries of events.yaml (or events.json) against one ``MockContext``; show the effects."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import UsageError, prog
from ._yaml import YamlError, load

_SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "dist", "node_modules"}


def load_entries(root: Path) -> tuple[list[dict[str, Any]], str]:
    for name in ("events.yaml", "events.json"):
        path = root / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            try:
                data = load(text, name) if name.endswith(".yaml") else json.loads(text)
            except (YamlError, ValueError) as exc:
                raise UsageError(f"cannot read {path}: {exc}") from None
            if data is None:
                data = []
            if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
                raise UsageError(f"{path} must hold a list of mappings such as {{type: message_create, content: hi}}")
            return data, name
    raise UsageError(f"no events.yaml or events.json in {root}; list the events to run there")


def manifest_capabilities(root: Path) -> list[str] | None:
    """Effective capabilities of manifest.json (declared plus auto-added), or None when there is no manifest.

    A manifest that is there but unusable is a ``UsageError``: running with every capability
    would hide exactly the mistake the author has to fix.
    """
    path = root / "manifest.json"
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "fix it (python -m json.tool manifest.json shows where)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{path} must hold a JSON object, not {type(manifest).__name__}")
    from ..spec.capabilities import effective_capabilities

    return sorted(effective_capabilities(manifest))


def _unload(root: Path) -> None:
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name == "plugin_main" or (file and Path(file).resolve().is_relative_to(root)):
            del sys.modules[name]


def _recorders(ctx: Any) -> dict[str, list[Any]]:
    from ..testing import _DISCORD_LISTS

    lists = {name: getattr(ctx.discord, name) for name in _DISCORD_LISTS}
    lists.update(
        {
            "responses": ctx.interaction.responses,
            "followups": ctx.interaction.followups,
            "defers": ctx.interaction.defers,
            "modals_sent": ctx.interaction.modals_sent,
            "http_requests": ctx.http.requests,
            "metrics": ctx.metrics.recorded,
            "sql": ctx.sql.executed,
            "logs": ctx.log_entries,
            "ws_ensured": ctx.ws.ensured,
            "ws_sent": ctx.ws.sent,
        }
    )
    return lists


def _show(value: Any) -> str:
    try:
        return json.dumps(value, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def run_once(root: Path, out: Any = None) -> bool:
    """One run with a fresh MockContext; prints each entry's effects; False if anything failed."""
    from .._loader import find_plugin, load_plugin_module
    from ..events import make_event
    from ..testing import MockContext, call_dashboard, dispatch, run_ready, tick

    out = out or sys.stdout
    entries, source = load_entries(root)
    _unload(root)
    try:
        plugin = find_plugin(load_plugin_module(root))
    except Exception:
        print(f"cannot load {root / '__main__.py'}:\n{traceback.format_exc()}", file=out)
        return False
    caps = manifest_capabilities(root)
    ctx = MockContext(capabilities=caps)
    granted = "all (no manifest.json)" if caps is None else ", ".join(caps) or "none"
    print(
        f"{prog()} dev: {len(entries)} entries from {source}; capabilities: {granted}",
        file=out,
    )
    ok = True
    steps: list[tuple[str, Any]] = [("on_ready", lambda: run_ready(plugin, ctx=ctx))]
    for entry in entries:
        steps.append(_step(entry, plugin, ctx, make_event, dispatch, tick, call_dashboard))
    recorders = _recorders(ctx)
    for label, action in steps:
        before = {name: len(lst) for name, lst in recorders.items()}
        print(f"-> {label}", file=out)
        try:
            result = action()
        except Exception:
            ok = False
            print("   " + traceback.format_exc().rstrip().replace("\n", "\n   "), file=out)
            result = None
        for name, lst in recorders.items():
            for item in lst[before[name] :]:
                print(f"   {name}: {_show(item)}", file=out)
        if label.startswith("dashboard"):
            print(f"   result: {_show(result)}", file=out)
    print(f"{prog()} dev: " + ("done" if ok else "finished with errors"), file=out)
    return ok


def _step(entry: dict[str, Any], plugin: Any, ctx: Any, make_event: Any, dispatch: Any, tick: Any, call: Any):
    entry = dict(entry)
    if "type" in entry:
        event_type = entry.pop("type")
        return f"{event_type} {_show(entry)}", lambda: dispatch(
            plugin, event_type, make_event(event_type, **entry), ctx=ctx
        )
    if "tick" in entry:
        return f"tick {entry['tick']}", lambda: tick(plugin, entry["tick"], ctx=ctx)
    if "dashboard" in entry:
        params = entry.get("params") or {}
        return f"dashboard {entry['dashboard']} {_show(params)}", lambda: call(
            plugin, entry["dashboard"], params, ctx=ctx
        )

    def bad() -> None:
        raise ValueError(f"entry {entry!r} has none of type:, tick: or dashboard:")

    return "invalid entry", bad


def _mtimes(root: Path) -> dict[Path, float]:
    found = {}
    for path in root.rglob("*.py"):
        if not _SKIP_DIRS.intersection(path.relative_to(root).parts):
            try:
                found[path] = path.stat().st_mtime
            except OSError:
                continue
    return found


def command_dev(path: str, *, watch: bool = False, strict: bool = False) -> int:
    """Run the project's events; the exit status is 0 however they went, as the official ``dev`` (which
    reports failures and carries on), unless ``strict``: 1 when a handler failed, 2 when nothing could run."""
    root = Path(path).resolve()
    try:
        if not (root / "__main__.py").is_file():
            raise UsageError(f"{root} has no __main__.py; run {prog()} dev in a plugin folder or pass --path")
        ok = run_once(root)
    except UsageError as exc:
        if strict or watch:
            raise
        print(f"{prog()} dev: {exc}", file=sys.stderr)
        return 0
    if not watch:
        return 0 if ok or not strict else 1
    seen = _mtimes(root)
    # Flush explicitly: under a pipe stdout is block-buffered and a watcher would look silent.
    print(f"{prog()} dev: watching *.py for changes (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(0.5)
            now = _mtimes(root)
            if now != seen:
                seen = now
                print(f"\n{prog()} dev: change detected, rerunning", flush=True)
                run_once(root)
                sys.stdout.flush()
    except KeyboardInterrupt:
        return 0
