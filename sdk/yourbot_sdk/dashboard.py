"""Build ``dashboard_manifest.json`` in Python: pages of widgets, each fed by an ``@plugin.on_dashboard`` handler.

``Manifest(pages=[Page("Overview", widgets=[StatCard("Members", rpc="members")])]).to_json()``
gives the JSON the platform renders (the official builder's keys and ids). ``rpc=``/``save_rpc=``
name the handlers (``@plugin.on_dashboard("members")``) and are emitted as ``rpc_method`` /
``save_rpc_method``. Widths: full, half, third, two_thirds, quarter; ``permission``: viewer,
manager or owner; ``refresh_seconds``: how often the platform re-fetches (5-3600 is what it honours).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [  # noqa: RUF022 - the official SDK's order
    "Manifest",
    "Page",
    "StatCard",
    "Chart",
    "Table",
    "Text",
    "Alert",
    "ProgressBar",
    "List",
    "Markdown",
    "Form",
    "Column",
    "Option",
]

_WIDGET_WIDTHS = {"full", "half", "third", "two_thirds", "quarter"}
_PERMISSION_VALUES = {"viewer", "manager", "owner"}
_MODES = ("manifest", "iframe")


def _validate_width(value: str | None) -> str | None:
    if value is not None and value not in _WIDGET_WIDTHS:
        raise ValueError(f"width must be one of {sorted(_WIDGET_WIDTHS)}, got {value!r}")
    return value


def _validate_permission(value: str | None) -> str | None:
    if value is not None and value not in _PERMISSION_VALUES:
        raise ValueError(f"permission must be one of {sorted(_PERMISSION_VALUES)}, got {value!r}")
    return value


def _slug(title: Any) -> str:
    return str(title).lower().replace(" ", "_")


@dataclass
class Column:
    """A table column: the row ``key`` and its header ``label`` (the key when omitted)."""

    key: str
    label: str | None = None

    def to_json(self) -> dict:
        return {"key": self.key, "label": self.label or self.key}


@dataclass
class Option:
    """A choice of a select field: ``value`` and its ``label`` (the value when omitted)."""

    value: str
    label: str | None = None

    def to_json(self) -> dict:
        return {"value": self.value, "label": self.label or self.value}


def _column(item: Any) -> Column:
    if isinstance(item, Column):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return Column(str(item[0]), str(item[1]))
    return Column(str(item))


def _option(item: Any) -> Option:
    if isinstance(item, Option):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return Option(str(item[0]), str(item[1]))
    return Option(str(item))


@dataclass
class _Field:
    key: str
    label: str
    type: str
    required: bool = False
    placeholder: str | None = None
    help_text: str | None = None
    options: list | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        if self.required:
            out["required"] = True
        if self.placeholder is not None:
            out["placeholder"] = self.placeholder
        if self.help_text is not None:
            out["help_text"] = self.help_text
        if self.options is not None:
            out["options"] = [o.to_json() for o in self.options]
        for bound in ("min", "max", "step"):
            value = getattr(self, bound)
            if value is not None:
                out[bound] = value
        return out


@dataclass
class _Widget:
    id: str
    type: str
    title: str | None = None
    width: str | None = None
    refresh_seconds: int | None = None
    rpc_method: str | None = None
    permission: str | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title is not None:
            out["title"] = self.title
        if self.width is not None:
            out["width"] = self.width
        if self.refresh_seconds is not None:
            out["refresh_seconds"] = self.refresh_seconds
        out["rpc_method"] = self.rpc_method
        if self.permission is not None:
            out["permission"] = self.permission
        return out


def _widget(
    self: _Widget,
    kind: str,
    prefix: str,
    title: Any,
    rpc: Any,
    id: str | None,
    width: str | None,
    refresh_seconds: int | None,
    permission: str | None,
) -> None:
    _Widget.__init__(
        self,
        id=id or f"{prefix}_{_slug(title)}",
        type=kind,
        title=title,
        width=_validate_width(width),
        refresh_seconds=refresh_seconds,
        rpc_method=rpc,
        permission=_validate_permission(permission),
    )


class StatCard(_Widget):
    """One big number (``{"value", "change"}`` from the handler)."""

    label: str | None = None
    icon: str | None = None

    def __init__(
        self,
        label: str,
        *,
        rpc: str,
        id: str | None = None,
        icon: str | None = None,
        width: str = "third",
        refresh_seconds: int | None = None,
        permission: str | None = None,
    ):
        _widget(self, "stat_card", "stat", label, rpc, id, width, refresh_seconds, permission)
        self.label = label
        self.icon = icon

    def to_json(self) -> dict:
        out = super().to_json()
        out["label"] = self.label
        if self.icon is not None:
            out["icon"] = self.icon
        return out


class Chart(_Widget):
    """A chart (``{"labels", "series"}``): ``Chart.line/bar/pie/gauge(title, rpc=...)`` or ``chart_type=``."""

    _VALID_TYPES = frozenset({"line", "bar", "pie", "gauge", "area", "doughnut", "scatter"})

    def __init__(
        self,
        title: str,
        *,
        rpc: str,
        chart_type: str,
        id: str | None = None,
        width: str = "half",
        refresh_seconds: int | None = None,
        chart_options: dict | None = None,
        permission: str | None = None,
    ):
        if chart_type not in self._VALID_TYPES:
            raise ValueError(f"chart_type must be one of {sorted(self._VALID_TYPES)}, got {chart_type!r}")
        _widget(self, "chart", "chart", title, rpc, id, width, refresh_seconds, permission)
        self.chart_type = chart_type
        self.chart_options = chart_options

    @classmethod
    def line(cls, title: str, *, rpc: str, **kwargs: Any) -> Chart:
        return cls(title, rpc=rpc, chart_type="line", **kwargs)

    @classmethod
    def bar(cls, title: str, *, rpc: str, **kwargs: Any) -> Chart:
        return cls(title, rpc=rpc, chart_type="bar", **kwargs)

    @classmethod
    def pie(cls, title: str, *, rpc: str, **kwargs: Any) -> Chart:
        return cls(title, rpc=rpc, chart_type="pie", **kwargs)

    @classmethod
    def gauge(cls, title: str, *, rpc: str, **kwargs: Any) -> Chart:
        return cls(title, rpc=rpc, chart_type="gauge", **kwargs)

    def to_json(self) -> dict:
        out = super().to_json()
        out["chart_type"] = self.chart_type
        if self.chart_options:
            out["chart_options"] = self.chart_options
        return out


class Table(_Widget):
    """Rows (``{"rows", "total"}``) under ``columns`` (``Column``s, keys, or ``(key, label)`` pairs)."""

    def __init__(
        self,
        title: str,
        *,
        rpc: str,
        columns: Iterable,
        id: str | None = None,
        width: str = "full",
        refresh_seconds: int | None = None,
        permission: str | None = None,
    ):
        _widget(self, "table", "table", title, rpc, id, width, refresh_seconds, permission)
        self.columns = [_column(c) for c in columns]

    def to_json(self) -> dict:
        out = super().to_json()
        out["columns"] = [c.to_json() for c in self.columns]
        return out


def _simple(kind: str, prefix: str, default_width: str, doc: str) -> type:
    def __init__(
        self: _Widget,
        title: str,
        *,
        rpc: str,
        id: str | None = None,
        width: str = default_width,
        refresh_seconds: int | None = None,
        permission: str | None = None,
    ) -> None:
        _widget(self, kind, prefix, title, rpc, id, width, refresh_seconds, permission)

    name = {"text": "Text", "alert": "Alert", "list": "List", "markdown": "Markdown"}[kind]
    __init__.__qualname__ = f"{name}.__init__"
    return type(name, (_Widget,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


Text = _simple("text", "text", "full", 'Plain text (``{"text"}``).')
Alert = _simple("alert", "alert", "full", 'A banner (``{"level": "info"|"warn"|"error", "message"}``).')
List = _simple("list", "list", "half", 'Label/value items (``{"items": [{"label", "value"}]}``).')
Markdown = _simple("markdown", "md", "full", 'Rendered Markdown (``{"markdown"}``).')


class ProgressBar(_Widget):
    """Progress towards a goal (``{"value", "max", "label"}``)."""

    label: str | None = None

    def __init__(
        self,
        label: str,
        *,
        rpc: str,
        id: str | None = None,
        width: str = "half",
        refresh_seconds: int | None = None,
        permission: str | None = None,
    ):
        _widget(self, "progress_bar", "progress", label, rpc, id, width, refresh_seconds, permission)
        self.label = label

    def to_json(self) -> dict:
        out = super().to_json()
        out["label"] = self.label
        return out


class Form(_Widget):
    """A settings form: ``rpc`` loads ``{"values"}``, ``save_rpc`` receives ``{"values"}``; fields chain.

    ``Form(rpc="load", save_rpc="save").text("Name", key="name").channel_picker("Channel", key="ch")``.
    """

    def __init__(
        self,
        *,
        rpc: str,
        save_rpc: str,
        title: str | None = None,
        id: str | None = None,
        width: str = "full",
        permission: str | None = None,
    ):
        _Widget.__init__(
            self,
            id=id or "form",
            type="form",
            title=title,
            width=_validate_width(width),
            rpc_method=rpc,
            permission=_validate_permission(permission),
        )
        self.save_rpc_method = save_rpc
        self.fields: list[_Field] = []

    def _add(self, **kwargs: Any) -> Form:
        self.fields.append(_Field(**kwargs))
        return self

    def text(
        self,
        label: str,
        *,
        key: str,
        required: bool = False,
        placeholder: str | None = None,
        help_text: str | None = None,
    ) -> Form:
        return self._add(key=key, label=label, type="text", required=required, placeholder=placeholder,
                         help_text=help_text)  # fmt: skip

    def textarea(
        self,
        label: str,
        *,
        key: str,
        required: bool = False,
        placeholder: str | None = None,
        help_text: str | None = None,
    ) -> Form:
        return self._add(key=key, label=label, type="textarea", required=required, placeholder=placeholder,
                         help_text=help_text)  # fmt: skip

    def number(
        self,
        label: str,
        *,
        key: str,
        required: bool = False,
        min: float | None = None,
        max: float | None = None,
        step: float | None = None,
        placeholder: str | None = None,
        help_text: str | None = None,
    ) -> Form:
        return self._add(key=key, label=label, type="number", required=required, min=min, max=max, step=step,
                         placeholder=placeholder, help_text=help_text)  # fmt: skip

    def toggle(self, label: str, *, key: str, help_text: str | None = None) -> Form:
        return self._add(key=key, label=label, type="toggle", help_text=help_text)

    def color(self, label: str, *, key: str, help_text: str | None = None) -> Form:
        return self._add(key=key, label=label, type="color", help_text=help_text)

    def date(self, label: str, *, key: str, required: bool = False, help_text: str | None = None) -> Form:
        return self._add(key=key, label=label, type="date", required=required, help_text=help_text)

    def range(
        self,
        label: str,
        *,
        key: str,
        min: float = 0,
        max: float = 100,
        step: float = 1,
        help_text: str | None = None,
    ) -> Form:
        return self._add(key=key, label=label, type="range", min=min, max=max, step=step, help_text=help_text)

    def select(
        self, label: str, *, key: str, options: Iterable, required: bool = False, help_text: str | None = None
    ) -> Form:
        return self._add(key=key, label=label, type="select", required=required,
                         options=[_option(o) for o in options], help_text=help_text)  # fmt: skip

    def multi_select(
        self, label: str, *, key: str, options: Iterable, required: bool = False, help_text: str | None = None
    ) -> Form:
        return self._add(key=key, label=label, type="multi_select", required=required,
                         options=[_option(o) for o in options], help_text=help_text)  # fmt: skip

    def channel_picker(self, label: str, *, key: str, required: bool = False, help_text: str | None = None) -> Form:
        return self._add(key=key, label=label, type="channel", required=required, help_text=help_text)

    def role_picker(self, label: str, *, key: str, required: bool = False, help_text: str | None = None) -> Form:
        return self._add(key=key, label=label, type="role", required=required, help_text=help_text)

    def to_json(self) -> dict:
        out = super().to_json()
        out["save_rpc_method"] = self.save_rpc_method
        out["fields"] = [f.to_json() for f in self.fields]
        return out


class Page:
    """A dashboard page: a title, an id (the title's slug by default) and widgets."""

    def __init__(
        self,
        title: str,
        *,
        id: str | None = None,
        widgets: Iterable | None = None,
        permission: str | None = None,
    ):
        if not title or not str(title).strip():
            raise ValueError("Page title is required")
        self.title = title
        self.id = id or _slug(title)
        self.widgets: list = list(widgets or [])
        self.permission = _validate_permission(permission)

    def add(self, widget: Any) -> Page:
        self.widgets.append(widget)
        return self

    def to_json(self) -> dict:
        out: dict[str, Any] = {"id": self.id, "title": self.title, "widgets": [w.to_json() for w in self.widgets]}
        if self.permission is not None:
            out["permission"] = self.permission
        return out


class Manifest:
    """The whole dashboard; ``to_json()`` is what ``dashboard_manifest.json`` holds."""

    def __init__(self, *, mode: str | None = None, pages: Iterable[Page] | None = None):
        if mode is not None and mode not in _MODES:
            raise ValueError(f"mode must be 'manifest' or 'iframe', got {mode!r}")
        self.mode = mode
        self.pages: list[Page] = list(pages or [])

    def add_page(self, page: Page) -> Manifest:
        self.pages.append(page)
        return self

    def to_json(self) -> dict:
        out: dict[str, Any] = {"pages": [p.to_json() for p in self.pages]}
        if self.mode is not None:
            out["mode"] = self.mode
        return out
