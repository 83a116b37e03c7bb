"""Where the audit log goes and which event types are skipped."""

from formatters import FORMATTERS

KEY = "audit"


def load(kv) -> dict:
    return kv.get(KEY) or {"channel": None, "disabled": []}


def save(kv, channel: str, disable_text: str) -> list[str]:
    disabled = [t.strip() for t in disable_text.split(",") if t.strip() in FORMATTERS]
    kv.set(KEY, {"channel": channel, "disabled": disabled})
    return disabled
