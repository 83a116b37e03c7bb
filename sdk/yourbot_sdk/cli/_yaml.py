"""Read ``events.yaml``: PyYAML when installed, else a small parser for the subset ``mmo dev`` needs.

The subset: a top-level list of mappings; values are scalars, JSON-style inline lists/objects, or
block lists and mappings nested by indentation (slash-command ``options`` as YAML reads them), with
``#`` comments.
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


class _Line:
    __slots__ = ("indent", "text", "where")

    def __init__(self, indent: int, text: str, where: str) -> None:
        self.indent, self.text, self.where = indent, text, where

    @property
    def dash(self) -> bool:
        return self.text == "-" or self.text.startswith("- ")


def _lines(text: str, name: str) -> list[_Line]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line.strip() or line.strip() == "---":
            continue
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise YamlError(f"{name}:{number}: indent with spaces, not tabs")
        out.append(_Line(len(line) - len(line.lstrip()), line.strip(), f"{name}:{number}"))
    return out


class _Reader:
    """Block sequences and mappings nested by indentation (what PyYAML reads the same way), scalar leaves."""

    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        self.i = 0

    def peek(self) -> _Line | None:
        return self.lines[self.i] if self.i < len(self.lines) else None

    def block(self, indent: int) -> Any:
        line = self.peek()
        assert line is not None and line.indent == indent
        return self.sequence(indent) if line.dash else self.mapping(indent)

    def nested(self, parent: _Line, indent: int, *, dash_ok: bool) -> Any:
        """The block under ``parent`` (a ``key:`` or a lone ``-``), or None when nothing is indented under it."""
        following = self.peek()
        if following is not None and (
            following.indent > indent or (dash_ok and following.indent == indent and following.dash)
        ):
            return self.block(following.indent)
        return None

    def sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while (line := self.peek()) is not None and line.indent == indent and line.dash:
            rest = line.text[1:].lstrip()
            if not rest:
                self.i += 1
                items.append(self.nested(line, indent, dash_ok=False))
            elif _is_key(rest) or rest == "-" or rest.startswith("- "):
                # "- key: value" opens a mapping ("- - x" a list) indented where "key" ("- x") starts
                self.lines[self.i] = _Line(indent + len(line.text) - len(rest), rest, line.where)
                items.append(self.block(self.lines[self.i].indent))
            else:
                self.i += 1
                items.append(scalar(rest, line.where))
        self._no_deeper(indent)
        return items

    def mapping(self, indent: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while (line := self.peek()) is not None and line.indent == indent and not line.dash:
            key, sep, value = line.text.partition(":")
            if not sep or not key.strip() or (value and not value[0].isspace()):
                raise YamlError(f"{line.where}: expected 'key: value', got {line.text!r}")
            self.i += 1
            name = key.strip().strip("'\"")
            out[name] = scalar(value, line.where) if value.strip() else self.nested(line, indent, dash_ok=True)
        self._no_deeper(indent)
        return out

    def _no_deeper(self, indent: int) -> None:
        line = self.peek()
        if line is not None and line.indent > indent:
            raise YamlError(f"{line.where}: unexpected indentation before {line.text!r}")


def _is_key(text: str) -> bool:
    if text[0] in "\"'[{":
        return False
    key, sep, value = text.partition(":")
    return bool(sep and key.strip()) and (not value or value[0].isspace())


def parse(text: str, name: str = "events.yaml") -> Any:
    """The list of entries: block sequences and mappings, nested by indentation, with scalar or JSON leaves."""
    lines = _lines(text, name)
    if not lines:
        return []
    first = lines[0]
    if not first.dash:
        raise YamlError(f"{first.where}: expected a list item starting with '- ', got {first.text!r}")
    reader = _Reader(lines)
    items = reader.block(first.indent)
    line = reader.peek()
    if line is not None:
        raise YamlError(f"{line.where}: expected a list item starting with '- ' here, got {line.text!r}")
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
