"""Triggers: a keyword (whole word, any case) or a /regex/ with a timeout-safe size limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import compile  # the regex compiler, used throughout this module

MAX_PATTERN = 200
MAX_TRIGGERS = 50


@dataclass(frozen=True)
class Trigger:
    pattern: str
    reply: str = ""
    reaction: str = ""
    cooldown: int = 30

    def matcher(self) -> re.Pattern:
        if len(self.pattern) > 2 and self.pattern.startswith("/") and self.pattern.endswith("/"):
            return compile(self.pattern[1:-1], re.IGNORECASE)
        return compile(rf"\b{re.escape(self.pattern)}\b", re.IGNORECASE)

    def matches(self, text: str) -> bool:
        return bool(self.matcher().search(text[:2000]))


def validate(values: dict) -> Trigger:
    pattern = str(values.get("pattern") or "").strip()
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValueError(f"a pattern is 1-{MAX_PATTERN} characters")
    trigger = Trigger(
        pattern,
        str(values.get("reply") or "")[:1500],
        str(values.get("reaction") or "")[:32],
        max(5, int(values.get("cooldown") or 30)),
    )
    try:
        trigger.matcher()
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    if not trigger.reply and not trigger.reaction:
        raise ValueError("a trigger needs a reply or a reaction")
    return trigger


def load(kv) -> list[Trigger]:
    return [Trigger(**t) for t in kv.get("triggers") or []]


def save(kv, triggers: list[Trigger]) -> None:
    kv.set("triggers", [t.__dict__ for t in triggers[:MAX_TRIGGERS]])
