"""KV key layout, in one place."""

from datetime import UTC, datetime


def hour_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H")


def day_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


POSTER = "poster:"  # poster:<day>:<user> -> count
CHANNEL = "channel:"  # channel:<day>:<channel> -> count
HOUR = "hour:"  # hour:<HH> -> count (rolling)
PENDING = "pending_messages"
ALERTS = "alerts"
ALERT_SETTINGS = "alert_settings"
