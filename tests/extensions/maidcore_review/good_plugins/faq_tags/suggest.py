"""Did-you-mean for tag names."""

from difflib import get_close_matches


def closest(name: str, candidates: list[str]) -> str | None:
    found = get_close_matches(name.lower(), candidates, n=1, cutoff=0.6)
    return found[0] if found else None
