"""The question bank shipped in data/questions.json."""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "questions.json"


@lru_cache(maxsize=1)
def questions() -> tuple[dict, ...]:
    with DATA.open(encoding="utf-8") as f:
        return tuple(json.load(f))


def pick(category: str | None, rng: random.Random | None = None) -> dict:
    pool = [q for q in questions() if category in (None, "any", q["category"])]
    return (rng or random).choice(pool or list(questions()))


def by_id(question_id: str) -> dict | None:
    return next((q for q in questions() if q["id"] == question_id), None)
