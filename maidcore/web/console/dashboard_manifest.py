"""A plugin's ``dashboard_manifest.json`` (or ``dashboard_manifest`` key) read into pages and widgets to render.

It accepts exactly what the official SDK's ``dashboard`` builder emits (bare
handler names in ``rpc_method`` / ``save_rpc_method``, ``fields[].key``) as well
as the contract's form (``dashboard.<name>``, ``save_method``, ``fields[].name``),
and schema 2 (more widget kinds; ``section`` and ``tabs`` containers). Unknown
widget kinds and bad entries become problems shown on the page, never errors.

Every widget gets a stable address (``w1``, ``w2``, … in document order) that the
data and save endpoints use. ``refresh_seconds`` is clamped to 5–3600. A widget is
seen by ``viewer`` (any member of the guild) unless it or its page says
``manager`` or ``owner``; forms and action buttons change things, so they need
``manager`` unless they say otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maidcore.bundles import BundleUnavailable
from maidcore.records import VersionRecord
from maidcore.web.console.viewer import LEVEL_NAMES, Level

if TYPE_CHECKING:
    from maidcore.platform import Platform

WIDTHS = ("quarter", "third", "half", "two_thirds", "full")
REFRESH_MIN, REFRESH_MAX = 5, 3600
DATA_WIDGETS = frozenset(
    {
        "stat_card",
        "chart",
        "table",
        "text",
        "alert",
        "progress_bar",
        "list",
        "markdown",
        "form",
        # schema 2
        "image",
        "key_value",
        "timeline",
        "badge_list",
        "user_list",
    }
)
STATIC_WIDGETS = frozenset({"heading", "divider"})
ACTION_WIDGETS = frozenset({"action_button"})
CONTAINERS = frozenset({"section", "tabs"})
WRITES = frozenset({"form", "action_button"})
FIELD_TYPES = frozenset(
    {
        "text",
        "textarea",
        "number",
        "toggle",
        "color",
        "date",
        "range",
        "select",
        "multi_select",
        "channel",
        "channel_picker",
        "role",
        "role_picker",
    }
)
DEFAULT_WIDTH = {"stat_card": "third", "chart": "half", "progress_bar": "half", "list": "half"}


@dataclass
class Widget:
    address: str
    id: str
    type: str
    title: str
    width: str
    permission: Level
    rpc: str | None = None  # handler name without "dashboard."
    save_rpc: str | None = None
    refresh_seconds: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    children: list[Widget] = field(default_factory=list)  # a section's widgets
    tabs: list[Tab] = field(default_factory=list)

    @property
    def fields(self) -> list[dict[str, Any]]:
        return self.options.get("fields", [])

    @property
    def needs_data(self) -> bool:
        return self.type in DATA_WIDGETS and self.rpc is not None


@dataclass
class Tab:
    id: str
    title: str
    widgets: list[Widget]


@dataclass
class Page:
    id: str
    title: str
    permission: Level
    widgets: list[Widget]


@dataclass
class Dashboard:
    pages: list[Page] = field(default_factory=list)
    schema: int = 1
    problems: list[str] = field(default_factory=list)
    iframe: bool = False  # the bundle ships dashboard/index.html instead (dashboard_frame.py shows it)
    by_address: dict[str, Widget] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        """Whether the console has a dashboard page to link to (manifest pages or an iframe page)."""
        return bool(self.pages) or self.iframe

    def widget(self, address: str) -> Widget | None:
        return self.by_address.get(address)

    def page_of(self, address: str) -> Page | None:
        for page in self.pages:
            if any(w.address == address for w in _walk(page.widgets)):
                return page
        return None


def _walk(widgets: list[Widget]) -> list[Widget]:
    out = []
    for w in widgets:
        out.append(w)
        out.extend(_walk(w.children))
        for tab in w.tabs:
            out.extend(_walk(tab.widgets))
    return out


def handler_name(value: Any) -> str | None:
    """``"dashboard.stats"`` and the builder's bare ``"stats"`` both name the handler ``stats``."""
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip()
    return name[len("dashboard.") :] if name.startswith("dashboard.") else name


def _level(value: Any, default: Level, problems: list[str], where: str) -> Level:
    if value is None:
        return default
    level = LEVEL_NAMES.get(str(value))
    if level is None:
        problems.append(f"{where}: permission {value!r} is not viewer, manager or owner; shown to managers")
        return Level.MANAGER
    return level


def _field(raw: Any, problems: list[str], where: str) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: a field must be an object")
        return None
    key = raw.get("key") or raw.get("name")
    kind = raw.get("type", "text")
    if not isinstance(key, str) or not key:
        problems.append(f"{where}: a field needs a key")
        return None
    if kind not in FIELD_TYPES:
        problems.append(f"{where}: field {key!r} has unknown type {kind!r}; shown as text")
        kind = "text"
    kind = {"channel_picker": "channel", "role_picker": "role"}.get(kind, kind)
    options = []
    for opt in raw.get("options") or []:
        if isinstance(opt, dict) and "value" in opt:
            options.append({"value": str(opt["value"]), "label": str(opt.get("label") or opt["value"])})
        elif isinstance(opt, str | int | float):
            options.append({"value": str(opt), "label": str(opt)})
    out = {
        "key": key,
        "label": str(raw.get("label") or key),
        "type": kind,
        "required": bool(raw.get("required", False)),
        "options": options,
    }
    for extra in ("placeholder", "help_text", "min", "max", "step", "default"):
        if raw.get(extra) is not None:
            out[extra] = raw[extra]
    return out


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.count = 0
        self.by_address: dict[str, Widget] = {}

    def widgets(self, raw: Any, page_level: Level, where: str) -> list[Widget]:
        if not isinstance(raw, list):
            self.problems.append(f'{where}: "widgets" must be a list')
            return []
        out = []
        for i, item in enumerate(raw):
            widget = self.widget(item, page_level, f"{where}, widget {i + 1}")
            if widget is not None:
                out.append(widget)
        return out

    def widget(self, raw: Any, page_level: Level, where: str) -> Widget | None:
        if not isinstance(raw, dict):
            self.problems.append(f"{where}: must be an object")
            return None
        kind = raw.get("type")
        if kind not in DATA_WIDGETS | STATIC_WIDGETS | ACTION_WIDGETS | CONTAINERS:
            self.problems.append(f"{where}: unknown widget type {kind!r}; left out")
            return None
        self.count += 1
        address = f"w{self.count}"
        title = str(raw.get("title") or raw.get("label") or raw.get("text") or "")
        width = raw.get("width") or DEFAULT_WIDTH.get(kind, "full")
        if width not in WIDTHS:
            self.problems.append(f"{where}: width {width!r} is not one of {', '.join(WIDTHS)}; shown full width")
            width = "full"
        default = Level.MANAGER if kind in WRITES else Level.VIEWER
        own = _level(raw.get("permission"), default, self.problems, where)
        refresh = raw.get("refresh_seconds")
        if isinstance(refresh, int | float) and not isinstance(refresh, bool) and refresh > 0:
            refresh = int(min(REFRESH_MAX, max(REFRESH_MIN, refresh)))
        else:
            refresh = None
        widget = Widget(
            address=address,
            id=str(raw.get("id") or address),
            type=kind,
            title=title,
            width=width,
            permission=max(own, page_level),
            rpc=handler_name(raw.get("rpc_method") or raw.get("rpc")),
            save_rpc=handler_name(raw.get("save_rpc_method") or raw.get("save_method") or raw.get("save_rpc")),
            refresh_seconds=refresh,
        )
        for key in ("chart_type", "chart_options", "label", "icon", "text", "level", "url", "alt", "confirm", "style"):
            if key in raw:
                widget.options[key] = raw[key]
        if kind == "table":
            widget.options["columns"] = [
                {"key": str(c.get("key")), "label": str(c.get("label") or c.get("key"))}
                for c in raw.get("columns") or []
                if isinstance(c, dict) and c.get("key")
            ]
        if kind == "form":
            fields = [
                _field(f, self.problems, f"{where}, field {j + 1}") for j, f in enumerate(raw.get("fields") or [])
            ]
            widget.options["fields"] = [f for f in fields if f is not None]
            if widget.save_rpc is None:
                self.problems.append(f"{where}: a form without a save method cannot be saved")
        if kind in DATA_WIDGETS and widget.rpc is None and kind != "image":
            self.problems.append(f"{where}: {kind} widget {widget.id!r} names no rpc_method; it shows nothing")
        if kind in ACTION_WIDGETS and widget.rpc is None:
            self.problems.append(f"{where}: action button {widget.id!r} names no rpc_method")
        self.by_address[address] = widget
        if kind == "section":
            widget.children = self.widgets(raw.get("widgets") or [], widget.permission, f"{where} (section)")
        if kind == "tabs":
            for t, tab in enumerate(raw.get("tabs") or []):
                if not isinstance(tab, dict):
                    self.problems.append(f"{where}, tab {t + 1}: must be an object")
                    continue
                widget.tabs.append(
                    Tab(
                        id=str(tab.get("id") or f"{widget.address}-{t + 1}"),
                        title=str(tab.get("title") or tab.get("label") or f"Tab {t + 1}"),
                        widgets=self.widgets(tab.get("widgets") or [], widget.permission, f"{where}, tab {t + 1}"),
                    )
                )
        return widget


def parse(data: Any) -> Dashboard:
    """Read a dashboard manifest (already JSON-decoded)."""
    reader = _Reader()
    if not isinstance(data, dict) or not isinstance(data.get("pages"), list):
        return Dashboard(problems=['the dashboard manifest needs "pages": [{id, title, widgets}]'])
    if data.get("mode") == "iframe":
        return Dashboard(iframe=True)
    schema = data.get("schema", data.get("schema_version", 1))
    pages = []
    for i, raw in enumerate(data["pages"]):
        where = f"page {i + 1}"
        if not isinstance(raw, dict):
            reader.problems.append(f"{where}: must be an object")
            continue
        level = _level(raw.get("permission"), Level.VIEWER, reader.problems, where)
        pages.append(
            Page(
                id=str(raw.get("id") or f"page-{i + 1}"),
                title=str(raw.get("title") or raw.get("id") or f"Page {i + 1}"),
                permission=level,
                widgets=reader.widgets(raw.get("widgets", []), level, where),
            )
        )
    return Dashboard(
        pages=pages,
        schema=schema if isinstance(schema, int) else 1,
        problems=reader.problems,
        by_address=reader.by_address,
    )


async def load_stored(platform: Platform, version: VersionRecord) -> Dashboard:
    """``load`` with this node's copy of the version's bundle (fetched by ``platform.bundles`` if needed)."""
    if isinstance(version.manifest.get("dashboard_manifest"), dict):
        return load(version)
    try:
        return load(version, await platform.bundles.bundle_dir(version))
    except BundleUnavailable as exc:
        return Dashboard(problems=[str(exc)])


def load(version: VersionRecord, root: Path | None = None) -> Dashboard:
    """The dashboard of a stored version: the manifest key first, else ``dashboard_manifest.json`` under ``root``."""
    embedded = version.manifest.get("dashboard_manifest")
    if isinstance(embedded, dict):
        return parse(embedded)
    root = root if root is not None else Path(version.bundle_path)
    path = root / "dashboard_manifest.json"
    if path.is_file():
        try:
            return parse(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            return Dashboard(problems=[f"dashboard_manifest.json is not valid JSON: {exc}"])
    if (root / "dashboard" / "index.html").is_file():
        return Dashboard(iframe=True)
    return Dashboard()
