"""Automod rules: each returns a reason string when a message breaks it."""

from __future__ import annotations

import re
from collections.abc import Callable

INVITE = re.compile(r"(discord\.gg|discord(?:app)?\.com/invite)/\w+", re.IGNORECASE)
WORD = re.compile(r"[\w']+")


def banned_word(content: str, words: list[str]) -> str | None:
    lowered = {w.lower() for w in WORD.findall(content)}
    hits = sorted(lowered & {w.lower() for w in words})
    return f"banned word: {hits[0]}" if hits else None


def invite_link(content: str, enabled: bool) -> str | None:
    return "invite link" if enabled and INVITE.search(content) else None


def caps_flood(content: str, ratio: float) -> str | None:
    letters = [c for c in content if c.isalpha()]
    if len(letters) < 12:
        return None
    upper = sum(1 for c in letters if c.isupper())
    return "too many capitals" if upper / len(letters) >= ratio else None


Rule = Callable[[str], "str | None"]


def rules_for(settings) -> list[Rule]:
    return [
        lambda text: banned_word(text, settings.banned_words),
        lambda text: invite_link(text, settings.block_invites),
        lambda text: caps_flood(text, settings.caps_ratio),
    ]


def first_violation(content: str, settings) -> str | None:
    for rule in rules_for(settings):
        reason = rule(content)
        if reason:
            return reason
    return None
