"""The welcome card: an embed built from a template with $member, $server and $count."""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template

DEFAULT_MESSAGE = "Welcome $member to **$server**! You are member #$count."


@dataclass
class CardSettings:
    channel_id: str | None = None
    title: str = "Welcome!"
    message: str = DEFAULT_MESSAGE
    color: str = "#5865F2"
    starter_roles: list[str] = field(default_factory=list)
    goodbye: bool = True

    @classmethod
    def load(cls, kv) -> CardSettings:
        return cls(**{k: v for k, v in (kv.get("card") or {}).items() if k in cls.__dataclass_fields__})

    def save(self, kv) -> None:
        kv.set("card", self.__dict__)


def color_value(text: str) -> int:
    try:
        return int(text.lstrip("#"), 16) & 0xFFFFFF
    except ValueError:
        return 0x5865F2


def build(settings: CardSettings, *, member_id: str, server: str, count: int) -> dict:
    text = Template(settings.message).safe_substitute(member=f"<@{member_id}>", server=server, count=count)
    return {
        "title": settings.title[:256],
        "description": text[:4000],
        "color": color_value(settings.color),
        "footer": {"text": f"Member #{count}"},
    }
