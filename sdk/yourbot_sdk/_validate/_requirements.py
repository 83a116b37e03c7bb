"""The one parser for ``requirements.txt``: each line names a package on the index, and nothing else.

Review reports a line this parser refuses as ``requirements_invalid``; the platform's
installer parses again before anything is downloaded, so a bundle that skipped review
is refused the same way. Accepted: a PEP 508 name, extras, version specifiers and
environment markers. Refused, each with its own reason: options (``-r``, ``-e``,
``--index-url``, ``--hash``), URLs and ``name @ URL`` direct references, VCS
references (``git+...``), local paths and archives, environment variables and line
continuations. A URL, path or VCS checkout would make the installer fetch or build
code that no index vouches for, from places the plugin chooses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..spec.manifest import SDK_DISTRIBUTIONS

#: Distributions the platform provides itself: a line naming one is accepted and never installed.
PLATFORM_SDKS = SDK_DISTRIBUTIONS

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_RELEASE = r"v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*"
_PRE = r"(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?"
_POST = r"(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?"
_DEV = r"(?:[-_.]?dev[-_.]?[0-9]*)?"
_LOCAL = r"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?"
_VERSION = re.compile(rf"{_RELEASE}{_PRE}{_POST}{_DEV}{_LOCAL}", re.IGNORECASE)
_WILDCARD = re.compile(rf"{_RELEASE}\.\*", re.IGNORECASE)
_ARBITRARY = re.compile(r"[^\s,;)]+")
_OPERATOR = re.compile(r"~=|===|==|!=|<=|>=|<|>")
_NAME_AT = re.compile(rf"\s*({_NAME})\s*")
_EXTRAS = re.compile(rf"\[\s*((?:{_NAME})(?:\s*,\s*{_NAME})*)?\s*\]\s*")

MARKER_VARIABLES = frozenset(
    {
        "os_name",
        "sys_platform",
        "platform_machine",
        "platform_python_implementation",
        "platform_release",
        "platform_system",
        "platform_version",
        "python_version",
        "python_full_version",
        "implementation_name",
        "implementation_version",
        "extra",
    }
)
_MARKER_TOKEN = re.compile(
    r"\s*(?:(?P<string>'[^']*'|\"[^\"]*\")|(?P<op>===|==|!=|<=|>=|~=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_ARCHIVE = re.compile(r"\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|egg)$", re.IGNORECASE)
_VCS = re.compile(r"^(git|hg|svn|bzr)\+|(^|\s)(git|hg|svn|bzr)\+", re.IGNORECASE)

WHAT_IS_ALLOWED = (
    "one package from the index per line: name[extras] version specifiers ; markers (e.g. 'requests>=2.31,<3')"
)


class RequirementError(ValueError):
    """A requirement line the platform refuses; ``str()`` names the line and says what would be right."""

    def __init__(self, line: str, reason: str) -> None:
        super().__init__(f"{line!r} {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Requirement:
    """One accepted line; ``str()`` is its normalised text, safe to hand to an installer as one argument."""

    name: str
    extras: tuple[str, ...] = ()
    specifiers: tuple[str, ...] = ()
    marker: str | None = None

    @property
    def key(self) -> str:
        """The canonical distribution name (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
        return canonical_name(self.name)

    @property
    def provided_by_platform(self) -> bool:
        """The platform's own SDK: accepted, never installed."""
        return self.key in PLATFORM_SDKS

    def __str__(self) -> str:
        text = self.name
        if self.extras:
            text += f"[{','.join(self.extras)}]"
        text += ",".join(self.specifiers)
        if self.marker:
            text += f"; {self.marker}"
        return text


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for every line that is not blank or a comment (comments removed, pip's rule:
    ``#`` at the start or after whitespace)."""
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
        if line:
            yield lineno, line


def parse_requirement(line: str) -> Requirement:
    """Parse one line (comment already removed); ``RequirementError`` says why a line is refused."""
    text = line.strip()
    _refuse_non_index_forms(text)
    match = _NAME_AT.match(text)
    if match is None:
        raise RequirementError(text, f"does not start with a package name; write {WHAT_IS_ALLOWED}")
    name, pos = match.group(1), match.end()
    extras: tuple[str, ...] = ()
    extras_match = _EXTRAS.match(text, pos)
    if extras_match is not None:
        extras = tuple(e.strip() for e in (extras_match.group(1) or "").split(",") if e.strip())
        pos = extras_match.end()
    specifiers, pos = _specifiers(text, pos)
    marker = None
    if pos < len(text) and text[pos] == ";":
        marker = _marker(text, text[pos + 1 :])
        pos = len(text)
    if pos != len(text):
        raise RequirementError(text, f"has {text[pos:]!r} where a version specifier or ';' was expected; {_hint()}")
    return Requirement(name, extras, specifiers, marker)


def _hint() -> str:
    return f"write {WHAT_IS_ALLOWED}"


def _refuse_non_index_forms(text: str) -> None:
    """The specific reasons a line is not a plain requirement, so the author knows what to change."""
    if text.endswith("\\"):
        raise RequirementError(text, "continues on the next line; write each requirement on one line")
    if text.startswith("-"):
        raise RequirementError(
            text,
            "is an option line; options (-r, -c, -e, --index-url, --hash, ...) are not allowed: "
            "dependencies come from the platform's package index",
        )
    if "${" in text or re.search(r"\$[A-Za-z_]", text):
        raise RequirementError(text, "uses an environment variable; write the package name and version out")
    head = text.split(";", 1)[0].strip()  # markers may hold any quoted string
    if _VCS.search(head):
        raise RequirementError(
            text, "is a VCS reference; publish the package to the index and require it by name and version"
        )
    if "@" in head:
        raise RequirementError(
            text, "is a direct reference (name @ URL); require the package by name and version from the index"
        )
    if "://" in head or head.lower().startswith("file:"):
        raise RequirementError(text, "is a URL; require the package by name and version from the index")
    if (
        head.startswith((".", "/", "~"))
        or "/" in head
        or "\\" in head
        or re.match(r"^[A-Za-z]:", head)
        or _ARCHIVE.search(head)
    ):
        raise RequirementError(
            text,
            "is a local path or archive; ship the code in the bundle or require a package from the index by name",
        )
    if re.search(r"\s--?[A-Za-z]", head):
        raise RequirementError(text, "carries an option; per-requirement options (--hash, ...) are not allowed")


def _specifiers(text: str, pos: int) -> tuple[tuple[str, ...], int]:
    pos = _skip_space(text, pos)
    closing = None
    if pos < len(text) and text[pos] == "(":
        closing, pos = ")", _skip_space(text, pos + 1)
    out: list[str] = []
    while pos < len(text) and _OPERATOR.match(text, pos):
        op = _OPERATOR.match(text, pos).group(0)
        pos = _skip_space(text, pos + len(op))
        version = _version(text, pos, op)
        out.append(f"{op}{version}")
        pos = _skip_space(text, pos + len(version))
        if pos < len(text) and text[pos] == ",":
            pos = _skip_space(text, pos + 1)
            if not _OPERATOR.match(text, pos):
                raise RequirementError(text, f"has a ',' that is not followed by a version specifier; {_hint()}")
    if closing is not None:
        if pos >= len(text) or text[pos] != closing:
            raise RequirementError(text, f"opens '(' around its version specifiers without closing it; {_hint()}")
        pos = _skip_space(text, pos + 1)
    return tuple(out), pos


def _version(text: str, pos: int, op: str) -> str:
    if op == "===":
        match = _ARBITRARY.match(text, pos)
    else:
        match = (_WILDCARD.match(text, pos) if op in ("==", "!=") else None) or _VERSION.match(text, pos)
        end = match.end() if match else pos
        if match and end < len(text) and not (text[end].isspace() or text[end] in ",;)"):
            match = None  # the version runs on into characters no version has
    if match is None:
        rest = text[pos:].split(",", 1)[0].split(";", 1)[0].strip()
        raise RequirementError(text, f"has {op}{rest!r}, which is not a version (PEP 440, e.g. 1.2 or 2.0.1rc1)")
    return match.group(0)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _marker(line: str, text: str) -> str:
    """Check an environment marker against PEP 508's grammar; return it normalised (tokens single-spaced)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _MARKER_TOKEN.match(text, pos)
        if match is None:
            rest = text[pos:].strip()
            hint = " (values are quoted strings, e.g. python_version < '3.12')" if rest[:1].isdigit() else ""
            raise RequirementError(line, f"has an environment marker that cannot be read at {rest!r}{hint}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    parser = _MarkerParser(line, tokens)
    parser.expression()
    if parser.pos != len(tokens):
        raise RequirementError(line, f"has an environment marker with {tokens[parser.pos][1]!r} out of place")
    out = ""
    for kind, value in tokens:
        if out and not out.endswith("(") and value != ")":
            out += " "
        out += _quoted(value) if kind == "string" else value
    return out


def _quoted(value: str) -> str:
    inner = value[1:-1]
    return f'"{inner}"' if '"' not in inner else f"'{inner}'"


class _MarkerParser:
    """``or`` of ``and`` of comparisons (``variable op value``) and parenthesised markers."""

    def __init__(self, line: str, tokens: list[tuple[str, str]]) -> None:
        self.line = line
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def _fail(self, expected: str) -> RequirementError:
        kind, value = self._peek()
        found = "the end of the line" if kind == "end" else repr(value)
        return RequirementError(self.line, f"has an environment marker where {expected} was expected, not {found}")

    def expression(self) -> None:
        self.conjunction()
        while self._peek() == ("word", "or"):
            self.pos += 1
            self.conjunction()

    def conjunction(self) -> None:
        self.comparison()
        while self._peek() == ("word", "and"):
            self.pos += 1
            self.comparison()

    def comparison(self) -> None:
        if self._peek() == ("paren", "("):
            self.pos += 1
            self.expression()
            if self._peek() != ("paren", ")"):
                raise self._fail("')'")
            self.pos += 1
            return
        self.operand()
        kind, value = self._peek()
        if kind == "op" or (kind == "word" and value == "in"):
            self.pos += 1
        elif kind == "word" and value == "not" and self.tokens[self.pos + 1 : self.pos + 2] == [("word", "in")]:
            self.pos += 2
        else:
            raise self._fail("a comparison (==, !=, <, <=, >, >=, ~=, in, not in)")
        self.operand()

    def operand(self) -> None:
        kind, value = self._peek()
        if kind == "string" or (kind == "word" and value in MARKER_VARIABLES):
            self.pos += 1
            return
        if kind == "word" and value not in ("and", "or", "not", "in"):
            raise RequirementError(
                self.line,
                f"has an environment marker naming {value!r}, which is not a marker variable "
                f"({', '.join(sorted(MARKER_VARIABLES))})",
            )
        raise self._fail("a marker variable or a quoted string")
