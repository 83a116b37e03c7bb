"""Read ``events.yaml``: PyYAML when installed, else a small parser for the subset ``mmo dev`` needs.

The subset: a top-level list of flat mappings whose values are scalars or JSON-style inline
lists/objects, with ``#`` comments.
"""

from __future__ import annotations

import json
import re
from typing import Any

_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")


class YamlError(ValueError):
    """events.yaml is outside the subset the built-in reader understands."""


def _strip_comment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def scalar(text: str, where: str) -> Any:
    text = text.strip()
    if text == "" or text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if text[0] == '"':
        try:
            return json.loads(text)
        except ValueError as exc:
            raise YamlError(f"{where}: bad double-quoted string {text}: {exc}") from None
    if text[0] == "'":
        if len(text) < 2 or text[-1] != "'":
            raise YamlError(f"{where}: unterminated single-quoted string {text}")
        return text[1:-1].replace("''", "'")
    if text[0] in "[{":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise YamlError(f"{where}: inline lists/objects must be JSON ({exc}): {text}") from None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def parse(text: str, name: str = "events.yaml") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{name}:{number}"
        line = _strip_comment(raw)
        if not line.strip() or line.strip() == "---":
            continue
        stripped = line.lstrip()
        if stripped.startswith("- ") or stripped == "-":
            current = {}
            items.append(current)
            stripped = stripped[1:].strip()
            if not stripped:
                continue
        elif current is None or line[0] not in " \t":
            raise YamlError(f"{where}: expected a list item starting with '- ', got {raw.strip()!r}")
        key, sep, value = stripped.partition(":")
        if not sep or not key.strip():
            raise YamlError(f"{where}: expected 'key: value', got {raw.strip()!r}")
        current[key.strip().strip("'\"")] = scalar(value, where)
    return items


def load(text: str, name: str = "events.yaml") -> Any:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return parse(text, name)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise YamlError(f"{name}: {exc}") from None
