"""Raffles live in KV: one record per raffle, an index of open ones, entrants as a list."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field

OPEN_INDEX = "raffles:open"


def raffle_key(raffle_id: str) -> str:
    return f"raffle:{raffle_id}"


@dataclass
class Raffle:
    id: str
    prize: str
    channel_id: str
    message_id: str | None
    ends_at: float
    winners: int = 1
    entrants: list[str] = field(default_factory=list)
    drawn: list[str] = field(default_factory=list)
    finished: bool = False

    def enter(self, user_id: str) -> bool:
        if self.finished or user_id in self.entrants:
            return False
        self.entrants.append(user_id)
        return True

    def draw(self, rng=None) -> list[str]:
        rng = rng or secrets.SystemRandom()
        pool = [u for u in self.entrants if u not in self.drawn]
        picked = rng.sample(pool, min(self.winners, len(pool)))
        self.drawn.extend(picked)
        self.finished = True
        return picked


class RaffleBook:
    def __init__(self, ctx):
        self.kv = ctx.kv

    def new_id(self) -> str:
        return f"{int(time.time()):x}{secrets.token_hex(2)}"

    def save(self, raffle: Raffle) -> None:
        self.kv.set(raffle_key(raffle.id), asdict(raffle))
        open_ids = set(self.kv.get(OPEN_INDEX) or [])
        if raffle.finished:
            open_ids.discard(raffle.id)
        else:
            open_ids.add(raffle.id)
        self.kv.set(OPEN_INDEX, sorted(open_ids))

    def load(self, raffle_id: str) -> Raffle | None:
        data = self.kv.get(raffle_key(raffle_id))
        return Raffle(**data) if data else None

    def due(self, now: float) -> list[Raffle]:
        raffles = [self.load(i) for i in self.kv.get(OPEN_INDEX) or []]
        return [r for r in raffles if r is not None and r.ends_at <= now]
