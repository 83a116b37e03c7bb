"""Widening the gateway intents without losing an event: make the new session before breaking the old one.

Discord fixes a session's intents at IDENTIFY (a RESUME keeps them), so wider
intents need a new session. Closing the old one first loses what Discord sends
until the new READY. Instead the source identifies the new session while the
old one still delivers; both publish for a short overlap, then the old one is
*cut* (nothing it parses afterwards is published) and closed for good (1000).

In the overlap a dispatch comes on both sessions. Each parsed dispatch carries
its ``Dispatch`` (side and identity) into the handler tasks discord.py starts
for it, and at publish time ``Handover.first`` lets through the first copy of
each event, whichever session brought it, and drops the second. The identity
is the message or interaction id where the payload has one, else the whole
payload; it is checked only when an event is actually published, so a copy one
client could not use (its guild not received yet) never hides the other's.
What the handover remembers is bounded (``SEEN_LIMIT``) and dropped
``GRACE_SECONDS`` after the cut.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from maidcore_discord.resume import Dedupe

OLD, NEW = "old", "new"
OVERLAP_SECONDS = 1.0  # both sessions deliver this long after the new one is ready (frames in flight on the old)
GRACE_SECONDS = 5.0  # after the cut, the new session's late copies of what the old one published are dropped
SEEN_LIMIT = 20_000  # events remembered during one handover (a few MB at most); the oldest are forgotten first
SETTLE_SECONDS = 0.2  # plugins registering together (one install, a restart) widen the intents once

#: The dispatch being parsed (set around the parser; the handler tasks it schedules copy it).
_DISPATCH: ContextVar[Dispatch | None] = ContextVar("maidcore_discord_handover_dispatch", default=None)


class Dispatch:
    """One parsed dispatch of one side of a handover, and the events published for it so far."""

    __slots__ = ("handover", "key", "published", "side")

    def __init__(self, handover: Handover, side: str, key: str) -> None:
        self.handover = handover
        self.side = side
        self.key = key
        self.published: dict[str, int] = {}


def dispatch_key(name: str, data: Any) -> str:
    """What names one dispatch the same on every session: its id where it has one, else its whole payload."""
    if name in ("MESSAGE_CREATE", "INTERACTION_CREATE") and isinstance(data, dict) and "id" in data:
        return f"{name}:{data['id']}"
    return name + json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


class Handover:
    """Two sessions deliver the same shards at once: each event is published once, by whichever brings it first."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self.limit = limit
        self.cut = False  # the old session's dispatches parsed from now on are not published
        self.seen: OrderedDict[str, str] = OrderedDict()
        self.published = {OLD: 0, NEW: 0}
        self.dropped = 0

    def admit(self, side: str) -> bool:
        """Parse this dispatch at all? Not on the old session once it is cut (the new one has it)."""
        return not (self.cut and side == OLD)

    def first(self, dispatch: Dispatch, kind: str) -> bool:
        """True if this is the first copy of this event; False if the other session's copy was published."""
        n = dispatch.published.get(kind, 0)
        dispatch.published[kind] = n + 1
        key = f"{dispatch.key}|{kind}|{n}"
        other = self.seen.get(key)
        if other is not None and other != dispatch.side:
            del self.seen[key]
            self.dropped += 1
            return False
        self.seen[key] = dispatch.side
        self.seen.move_to_end(key)
        if len(self.seen) > self.limit:
            self.seen.popitem(last=False)
        self.published[dispatch.side] += 1
        return True


def current_first(kind: str) -> bool:
    """At publish time: False if the dispatch being handled is the second copy of ``kind`` in a handover."""
    dispatch = _DISPATCH.get()
    return dispatch is None or dispatch.handover.first(dispatch, kind)


def gate_parsers(state: Any, role: Callable[[], tuple[str, Handover | None]]) -> None:
    """Wrap the parsers of the dispatches that become events so a handover can see and gate each one.

    ``role()`` gives the client's side and the running handover (None: parse as usual).
    Installed under the resume tracker's wrapper, so a gated frame still counts as handled.
    """
    parsers: dict[str, Callable[[Any], None]] = state.parsers
    for name in Dedupe.DISPATCHES:
        parse = parsers.get(name)
        if parse is not None:
            parsers[name] = _gated(name, parse, role)


def _gated(name: str, parse: Callable[[Any], None], role: Callable[[], tuple[str, Handover | None]]) -> Callable:
    def parse_gated(data: Any) -> None:
        side, handover = role()
        if handover is None:
            parse(data)
            return
        if not handover.admit(side):
            return
        token = _DISPATCH.set(Dispatch(handover, side, dispatch_key(name, data)))
        try:
            parse(data)
        finally:
            _DISPATCH.reset(token)

    return parse_gated
