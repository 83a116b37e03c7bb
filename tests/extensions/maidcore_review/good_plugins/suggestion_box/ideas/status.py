"""Statuses and how they look."""

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    PLANNED = "planned"
    DECLINED = "declined"

    @property
    def badge(self) -> str:
        return {"open": "🗳️ Open", "approved": "✅ Approved", "planned": "🛠️ Planned", "declined": "❌ Declined"}[
            self.value
        ]


VOTES = ("👍", "👎")
