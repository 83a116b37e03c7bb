"""A poll and its votes, as stored in KV."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_CHOICES = 5
BAR_WIDTH = 16


@dataclass
class Poll:
    id: str
    question: str
    choices: list[str]
    multiple: bool = False
    votes: dict[str, list[int]] = field(default_factory=dict)  # user id -> choice indexes
    closed: bool = False
    channel_id: str = ""
    message_id: str = ""

    @staticmethod
    def parse_choices(text: str) -> list[str]:
        choices = [c.strip() for c in text.split("|") if c.strip()]
        if not 2 <= len(choices) <= MAX_CHOICES:
            raise ValueError(f"a poll needs 2 to {MAX_CHOICES} choices separated by |")
        return [c[:80] for c in choices]

    def toggle(self, user_id: str, index: int) -> None:
        if self.closed or not 0 <= index < len(self.choices):
            return
        mine = self.votes.get(user_id, [])
        if index in mine:
            mine = [i for i in mine if i != index]
        elif self.multiple:
            mine = [*mine, index]
        else:
            mine = [index]
        self.votes[user_id] = mine

    def counts(self) -> list[int]:
        totals = [0] * len(self.choices)
        for picks in self.votes.values():
            for index in picks:
                totals[index] += 1
        return totals

    def chart(self) -> str:
        counts = self.counts()
        top = max(counts) or 1
        lines = []
        for choice, count in zip(self.choices, counts, strict=True):
            bar = "▇" * round(BAR_WIDTH * count / top)
            lines.append(f"{choice:<20.20} {bar} {count}")
        return "```\n" + "\n".join(lines) + "\n```"
