"""ctx.interaction: replies to the current interaction (contract §4.3)."""

from __future__ import annotations

from .._api import WHOLE, Method, modal_rows
from .._errors import ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _modal_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fields = p.pop("fields", None)
    p["components"] = modal_rows(fields)
    return "interaction.send_modal", p


def _modal_check(a: dict[str, Any]) -> None:
    if not isinstance(a["title"], str) or not a["title"]:
        raise ValidationError("invalid title: a modal needs a non-empty title")
    if not isinstance(a["custom_id"], str) or not a["custom_id"]:
        raise ValidationError("invalid custom_id: a modal needs a non-empty custom_id")


_MSG_CUTS = {"content": 2000, "embeds": 10}
_RESPOND = "interaction:respond"
_ALWAYS = {"embeds": [], "components": []}


INTERACTION: tuple[Method, ...] = (
    Method(
        "interaction",
        "respond",
        "*, content='', embeds=None, components=None, ephemeral=False, allowed_mentions=None",
        _RESPOND,
        doc="The initial reply, once, within 3 s of the interaction.",
        cuts=_MSG_CUTS,
        components=("components",),
        always=_ALWAYS,
    ),
    Method(
        "interaction",
        "defer",
        "*, ephemeral=False",
        _RESPOND,
        doc="Acknowledge now (shows 'thinking...') and follow up within 15 minutes.",
    ),
    Method(
        "interaction",
        "followup",
        "*, content='', embeds=None, components=None, ephemeral=False, allowed_mentions=None",
        _RESPOND,
        WHOLE,
        doc="A further message after respond/defer; returns {message_id, channel_id} ({} if unreadable).",
        cuts=_MSG_CUTS,
        components=("components",),
        always=_ALWAYS,
        decode=lambda r: r if isinstance(r, dict) else {},
    ),
    Method(
        "interaction",
        "send_modal",
        "*, title, custom_id, fields=None",
        _RESPOND,
        doc="Open a modal; its submit arrives as interaction_type 5.",
        cuts={"title": 45, "custom_id": 100},
        always={"fields": []},
        check=_modal_check,
        wire=_modal_wire,
    ),
)


METHODS = INTERACTION
