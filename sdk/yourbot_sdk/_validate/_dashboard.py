"""Manifest-mode dashboards (contract §2.5) as the official platform accepts them.

Three sources, in this order: ``dashboard_manifest.json``, the ``dashboard_manifest`` key
naming a bundled JSON file, or the key holding the dashboard itself. Widget methods may be
bare handler names (what the official builder emits) or ``dashboard.<name>``; forms save
through ``save_rpc_method`` (or the older ``save_method``) and name fields by ``key`` (or
``name``). ``"schema": 2`` adds more widget types and the ``section`` / ``tabs`` containers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ..spec import manifest as _rules
from ._findings import Finding, error, warning

M = "manifest.json"
FILE = "dashboard_manifest.json"
WIDGET_WIDTHS = _rules.DASHBOARD_WIDTHS
PERMISSIONS = frozenset({"viewer", "manager", "owner"})
REFRESH_RANGE = (5, 3600)
SCHEMA_1_TYPES = frozenset({"stat_card", "chart", "table", "text", "alert", "progress_bar", "list", "markdown", "form"})
SCHEMA_2_TYPES = frozenset({"image", "key_value", "timeline", "badge_list", "user_list", "heading", "divider"})
ACTION = "action_button"
CONTAINERS = frozenset({"section", "tabs"})
#: Widgets that show no handler's data (so need no ``rpc_method``).
STATIC_TYPES = frozenset({"heading", "divider", "image", ACTION, *CONTAINERS})
METHOD_RE = re.compile(r"^(?:dashboard\.)?[A-Za-z_][A-Za-z0-9_-]{0,63}$")
ACTION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Widget keys that name a handler the platform calls.
METHOD_KEYS = ("rpc_method", "save_rpc_method", "save_method", "action_rpc_method")


def _text(v: Any, limit: int | None = None) -> bool:
    return isinstance(v, str) and v.strip() != "" and (limit is None or len(v) <= limit)


def dashboard_source(bundle: Any) -> tuple[Any, str, list[Finding]]:
    """The dashboard document, the path it came from, and findings about where it came from.

    ``(None, path, findings)`` when the bundle ships no manifest-mode dashboard.
    """
    out: list[Finding] = []
    key = bundle.manifest.get("dashboard_manifest")
    if FILE in bundle.files:
        if isinstance(key, dict):
            out.append(warning("dashboard_both", f'{FILE} is used; the embedded "dashboard_manifest" is ignored', M))
        return _load(bundle, FILE, out)
    if isinstance(key, str):
        name = key.strip().lstrip("./")
        if name in bundle.files and ".." not in name.split("/"):
            return _load(bundle, name, out)
        out.append(warning("dashboard_missing_file", f'"dashboard_manifest" names {key!r}, which the bundle lacks', M))
        return None, M, out
    if key is None or isinstance(key, dict):
        return key, M, out
    out.append(error("dashboard_invalid", '"dashboard_manifest" must be an object or the name of a JSON file', M))
    return None, M, out


def _load(bundle: Any, path: str, out: list[Finding]) -> tuple[Any, str, list[Finding]]:
    try:
        return json.loads(bundle.text(path) or ""), path, out
    except json.JSONDecodeError as exc:
        out.append(error("dashboard_invalid", f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}", path))
        return None, path, out


def check_dashboard_manifest(bundle: Any) -> list[Finding]:
    """Pages, widgets and containers: ids, known types and widths, handler names, schema 2 requirements."""
    source, path, out = dashboard_source(bundle)
    has_iframe = any(p.startswith("dashboard/") for p in bundle.files)
    if source is None:
        if has_iframe and "dashboard/index.html" not in bundle.files and not out:
            out.append(error("dashboard_invalid", "an iframe dashboard needs dashboard/index.html", "dashboard/"))
        return out
    if not isinstance(source, dict):
        return [*out, error("dashboard_invalid", "the dashboard manifest must be a JSON object", path)]
    schema = source.get("schema", 1)
    if schema not in (1, 2):
        out.append(error("dashboard_invalid", f'"schema" must be 1 or 2, not {schema!r}', path))
    pages = source.get("pages")
    if not isinstance(pages, list) or not pages:
        out.append(warning("dashboard_empty", 'the dashboard manifest has no "pages"; no dashboard is shown', path))
        return out
    for i, page in enumerate(pages):
        where = f"dashboard page {i + 1}"
        if not isinstance(page, dict) or not _text(page.get("id")) or not _text(page.get("title")):
            out.append(error("dashboard_invalid", f"{where}: needs a string id and title", path))
            continue
        _permission(page, where, path, out)
        widgets = page.get("widgets")
        if not isinstance(widgets, list):
            out.append(error("dashboard_invalid", f'{where}: "widgets" must be a list', path))
            continue
        _widgets(widgets, where, path, schema == 2, out)
    return out


def _widgets(widgets: list[Any], where: str, path: str, schema2: bool, out: list[Finding]) -> None:
    for j, w in enumerate(widgets):
        ww = f"{where} widget {j + 1}"
        if not isinstance(w, dict):
            out.append(error("dashboard_invalid", f"{ww}: must be an object", path))
            continue
        bad = lambda msg, ww=ww: out.append(error("dashboard_invalid", f"{ww}: {msg}", path))  # noqa: E731
        kind = w.get("type")
        if not _text(w.get("id")):
            bad('"id" is required')
        if kind in SCHEMA_2_TYPES or kind == ACTION or kind in CONTAINERS:
            if not schema2:
                bad(f'widget type {kind!r} needs "schema": 2 in the dashboard manifest')
        elif kind not in SCHEMA_1_TYPES:
            known = SCHEMA_1_TYPES | (SCHEMA_2_TYPES | CONTAINERS | {ACTION} if schema2 else set())
            bad(f"type {kind!r} must be one of {', '.join(sorted(known))}")
            continue
        if "width" in w and w["width"] not in WIDGET_WIDTHS:
            bad(f"width {w['width']!r} must be one of {', '.join(sorted(WIDGET_WIDTHS))}")
        _permission(w, ww, path, out)
        refresh = w.get("refresh_seconds")
        low, high = REFRESH_RANGE
        if refresh is not None and not (type(refresh) is int and low <= refresh <= high):
            out.append(
                warning(
                    "dashboard_refresh",
                    f"{ww}: refresh_seconds {refresh!r} is kept within {low}-{high}",
                    path,
                )
            )
        for key in ("rpc_method", "save_rpc_method", "save_method"):
            value = w.get(key)
            if value is not None and not (isinstance(value, str) and METHOD_RE.match(value)):
                bad(f'"{key}" must be a handler name such as "stats" (or "dashboard.stats"), not {value!r}')
        if kind not in STATIC_TYPES and w.get("rpc_method") is None:
            bad(f'{kind!r} needs "rpc_method": the @plugin.on_dashboard handler that feeds it')
        _type_rules(w, kind, ww, path, schema2, out)


def _type_rules(w: dict, kind: Any, ww: str, path: str, schema2: bool, out: list[Finding]) -> None:
    def bad(msg: str) -> None:
        out.append(error("dashboard_invalid", f"{ww}: {msg}", path))

    if kind == "form":
        fields = w.get("fields", [])
        if not isinstance(fields, list):
            bad('"fields" must be a list of {key, label, type}')
            return
        for k, f in enumerate(fields):
            if not isinstance(f, dict) or not (_text(f.get("key")) or _text(f.get("name"))) or not _text(f.get("type")):
                bad(f'field {k + 1} needs a "key" (or "name") and a "type"')
    elif kind == "table" and schema2 and not isinstance(w.get("columns"), list):
        bad("'table' needs \"columns\": [{key, label}]")
    elif kind == "image":
        src = w.get("src")
        if not (isinstance(src, str) and src.startswith("dashboard/") and ".." not in src.split("/")):
            bad("'image' needs \"src\": a bundle path under dashboard/ (no '..')")
    elif kind == "heading" and not _text(w.get("text"), 200):
        bad("'heading' needs \"text\" (at most 200 characters)")
    elif kind == ACTION:
        if "rpc_method" in w:
            bad('\'action_button\' takes "action_rpc_method", not "rpc_method" (actions write)')
        if not (isinstance(w.get("action_rpc_method"), str) and ACTION_RE.match(w["action_rpc_method"])):
            bad("'action_button' needs \"action_rpc_method\" (1-64 letters, digits, '_' or '-')")
        if not _text(w.get("label"), 80):
            bad("'action_button' needs \"label\" (at most 80 characters)")
    elif kind == "section":
        inner = w.get("widgets")
        if not isinstance(inner, list):
            bad("'section' needs \"widgets\": [...]")
        else:
            _widgets(inner, ww, path, schema2, out)
    elif kind == "tabs":
        tabs = w.get("tabs")
        if not isinstance(tabs, list) or not tabs:
            bad("'tabs' needs \"tabs\": [{id, title, widgets}]")
            return
        for t, tab in enumerate(tabs):
            if not isinstance(tab, dict) or not _text(tab.get("title")) or not isinstance(tab.get("widgets"), list):
                bad(f'tab {t + 1} needs a title and "widgets": [...]')
                continue
            _widgets(tab["widgets"], f"{ww} tab {t + 1}", path, schema2, out)


def _permission(item: dict, where: str, path: str, out: list[Finding]) -> None:
    permission = item.get("permission")
    if permission is not None and permission not in PERMISSIONS:
        out.append(
            warning(
                "dashboard_permission",
                f"{where}: permission {permission!r} is not one of {', '.join(sorted(PERMISSIONS))}; "
                "it is shown to managers only",
                path,
            )
        )


def _all_widgets(widgets: Any) -> Iterator[dict]:
    for w in widgets if isinstance(widgets, list) else []:
        if not isinstance(w, dict):
            continue
        yield w
        yield from _all_widgets(w.get("widgets"))
        tabs = w.get("tabs")
        for tab in tabs if isinstance(tabs, list) else []:
            if isinstance(tab, dict):
                yield from _all_widgets(tab.get("widgets"))


def dashboard_methods(bundle: Any) -> list[tuple[str, str]]:
    """``(handler name without 'dashboard.', path)`` of every method the dashboard calls, containers included."""
    source, path, _ = dashboard_source(bundle)
    pages = source.get("pages") if isinstance(source, dict) else None
    out = []
    for page in pages if isinstance(pages, list) else []:
        for w in _all_widgets(page.get("widgets") if isinstance(page, dict) else None):
            for key in METHOD_KEYS:
                value = w.get(key)
                if isinstance(value, str) and (METHOD_RE.match(value) or ACTION_RE.match(value)):
                    out.append((value.removeprefix("dashboard."), path))
    return out
