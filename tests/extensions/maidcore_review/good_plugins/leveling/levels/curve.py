"""The XP curve: how much XP each level needs (the familiar 5n^2 + 50n + 100 step)."""

import math
import random

MIN_GAIN, MAX_GAIN = 15, 25


def xp_for_next(level: int) -> int:
    return 5 * level * level + 50 * level + 100


def level_for(total_xp: int) -> tuple[int, int]:
    """``(level, xp into that level)`` for a running total."""
    level = 0
    while total_xp >= xp_for_next(level):
        total_xp -= xp_for_next(level)
        level += 1
    return level, total_xp


def gain(rng: random.Random | None = None) -> int:
    return (rng or random).randint(MIN_GAIN, MAX_GAIN)


def progress_bar(current: int, needed: int, width: int = 12) -> str:
    filled = math.floor(width * current / needed) if needed else width
    return "█" * filled + "░" * (width - filled)
