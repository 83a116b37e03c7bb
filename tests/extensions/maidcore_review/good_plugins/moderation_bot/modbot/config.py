"""Per-server settings, kept in KV with defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SETTINGS_KEY = "settings"


@dataclass
class Settings:
    banned_words: list[str] = field(default_factory=lambda: ["badword"])
    block_invites: bool = True
    caps_ratio: float = 0.8
    warn_threshold: int = 3
    timeout_minutes: int = 30
    log_channel: str | None = None

    @classmethod
    def from_dict(cls, data: dict | None) -> Settings:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)


def load(ctx) -> Settings:
    return Settings.from_dict(ctx.kv.get(SETTINGS_KEY))


def save(ctx, settings: Settings) -> None:
    ctx.kv.set(SETTINGS_KEY, settings.to_dict())
