"""What counts as spam, as plain numbers an admin can change in KV."""

from dataclasses import dataclass, fields


@dataclass
class Limits:
    messages_per_10s: int = 6
    duplicates_per_minute: int = 3
    mentions_per_message: int = 6
    timeout_seconds: int = 600
    mod_channel: str = ""

    @classmethod
    def from_kv(cls, kv) -> "Limits":
        stored = kv.get("limits") or {}
        return cls(**{f.name: stored[f.name] for f in fields(cls) if f.name in stored})
