"""Message components: plain objects holding the constructor's arguments, and ``to_dict()`` for Discord.

The dicts have the official SDK's keys, key order and cuts (Discord's limits): label 80,
custom_id 100, placeholder 150/100, option text 100, 25 options, 5 components per row.
Raw Discord dicts are accepted where a component is expected (an addition; they pass unchanged).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ActionRow", "Button", "SelectMenu", "SelectOption", "TextInput"]

_BUTTON_STYLES = {"primary": 1, "secondary": 2, "success": 3, "danger": 4, "link": 5}
_TEXT_STYLES = {"short": 1, "paragraph": 2}


def _emoji(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


def component_dict(item: Any) -> Any:
    """``to_dict()`` of a component, or a raw Discord dict unchanged."""
    to_dict = getattr(item, "to_dict", None)
    return to_dict() if callable(to_dict) else item


class Button:
    """A button; ``style`` keeps the name you passed (``"success"``), ``to_dict()`` sends Discord's number."""

    def __init__(
        self,
        label: str,
        custom_id: str = "",
        *,
        style: str = "primary",
        emoji: str | None = None,
        url: str | None = None,
        disabled: bool = False,
    ) -> None:
        self.label = str(label)[:80]
        self.custom_id = str(custom_id)[:100]
        self.style = style
        self.emoji = emoji
        self.url = url
        self.disabled = disabled

    def to_dict(self) -> dict[str, Any]:
        style = _BUTTON_STYLES.get(self.style, 1) if isinstance(self.style, str) else 1
        out: dict[str, Any] = {"type": 2, "style": style, "label": self.label}
        if style == 5 and self.url:
            out["url"] = self.url
        elif self.custom_id:
            out["custom_id"] = self.custom_id
        if self.emoji:
            out["emoji"] = _emoji(self.emoji)
        if self.disabled:
            out["disabled"] = True
        return out


class SelectOption:
    """One choice of a ``SelectMenu``."""

    def __init__(
        self,
        label: str,
        value: str,
        *,
        description: str | None = None,
        emoji: str | None = None,
        default: bool = False,
    ) -> None:
        self.label = str(label)[:100]
        self.value = str(value)[:100]
        self.description = None if description is None else str(description)[:100]
        self.emoji = emoji
        self.default = default

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "value": self.value}
        if self.description:
            out["description"] = self.description
        if self.emoji:
            out["emoji"] = _emoji(self.emoji)
        if self.default:
            out["default"] = True
        return out


class SelectMenu:
    """A string select menu (up to 25 options); it fills a whole ``ActionRow``."""

    def __init__(
        self,
        custom_id: str,
        options: list[SelectOption] | None = None,
        *,
        placeholder: str = "",
        min_values: int = 1,
        max_values: int = 1,
        disabled: bool = False,
    ) -> None:
        self.custom_id = str(custom_id)[:100]
        self.options = list(options or [])[:25]
        self.placeholder = str(placeholder)[:150]
        self.min_values = min_values
        self.max_values = max_values
        self.disabled = disabled

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": 3,
            "custom_id": self.custom_id,
            "options": [component_dict(o) for o in self.options],
        }
        if self.placeholder:
            out["placeholder"] = self.placeholder
        if self.min_values != 1:
            out["min_values"] = self.min_values
        if self.max_values != 1:
            out["max_values"] = self.max_values
        if self.disabled:
            out["disabled"] = True
        return out


class TextInput:
    """A modal text field; ``style`` is ``"short"`` or ``"paragraph"``."""

    def __init__(
        self,
        label: str,
        custom_id: str,
        *,
        style: str = "short",
        placeholder: str = "",
        value: str = "",
        required: bool = True,
        min_length: int | None = None,
        max_length: int | None = None,
    ) -> None:
        self.label = str(label)[:45]
        self.custom_id = str(custom_id)[:100]
        self.style = style
        self.placeholder = str(placeholder)[:100]
        self.value = str(value)[:4000]
        self.required = required
        self.min_length = min_length
        self.max_length = max_length

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": 4,
            "custom_id": self.custom_id,
            "style": _TEXT_STYLES.get(self.style, 1) if isinstance(self.style, str) else 1,
            "label": self.label,
        }
        if self.placeholder:
            out["placeholder"] = self.placeholder
        if self.value:
            out["value"] = self.value
        out["required"] = bool(self.required)
        if self.min_length is not None:
            out["min_length"] = self.min_length
        if self.max_length is not None:
            out["max_length"] = self.max_length
        return out


class ActionRow:
    """A row of up to 5 buttons, one select menu, or one text input (modals); extra children are dropped."""

    def __init__(self, *children: Button | SelectMenu | TextInput | dict[str, Any]) -> None:
        self.children = list(children)[:5]

    def to_dict(self) -> dict[str, Any]:
        return {"type": 1, "components": [component_dict(c) for c in self.children]}
