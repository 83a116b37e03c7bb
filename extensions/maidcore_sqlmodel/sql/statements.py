"""Checking a plugin's SQL statement (§4.5) and rewriting its placeholders for the driver.

One lexical pass splits the text into code, string literals, quoted
identifiers and comments, so that placeholders, semicolons and forbidden words
are only recognised where they mean something. The checks here are the first
fence; the second is the database itself (a role that owns only the plugin's
schemas on PostgreSQL, an authorizer on SQLite).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from maidcore.errors import InvalidArgument

Dialect = Literal["sqlite", "postgresql"]

MAX_SQL_CHARS = 100_000

_LEADING = re.compile(
    r"\s*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE\s+TABLE|CREATE\s+(?:UNIQUE\s+)?INDEX|ALTER\s+TABLE"
    r"|DROP\s+TABLE|DROP\s+INDEX)\b",
    re.IGNORECASE,
)
ALLOWED = (
    "SELECT, WITH, INSERT, UPDATE, DELETE, CREATE TABLE, CREATE [UNIQUE] INDEX, ALTER TABLE, DROP TABLE or DROP INDEX"
)

# (pattern over the normalised code, what the error names) — the contract's list first, then our additions.
_FORBIDDEN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.IGNORECASE), name)
    for p, name in [
        (r"\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\b", "CREATE FUNCTION"),
        (r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\b", "CREATE TRIGGER"),
        (r"\bCREATE\s+EXTENSION\b", "CREATE EXTENSION"),
        (r"\bCREATE\s+ROLE\b", "CREATE ROLE"),
        (r"\bCREATE\s+USER\b", "CREATE USER"),
        (r"\bCOPY\b", "COPY"),
        (r"\bGRANT\b", "GRANT"),
        (r"\bREVOKE\b", "REVOKE"),
        (r"\bALTER\s+ROLE\b", "ALTER ROLE"),
        (r"\bALTER\s+SYSTEM\b", "ALTER SYSTEM"),
        (r"\bSET\s+ROLE\b", "SET ROLE"),
        (r"\bSET\s+SESSION\b", "SET SESSION"),
        (r"\bLISTEN\b", "LISTEN"),
        (r"\bNOTIFY\b", "NOTIFY"),
        (r"\bPREPARE\b", "PREPARE"),
        (r"\bDO\s*\$", "DO $"),
        (r"\bLOAD\b", "LOAD"),
        (r"\bLO_\w*", "lo_ functions"),
        (r"\bPG_CATALOG\b", "pg_catalog"),
        (r"\bPG_STAT\w*", "pg_stat"),
        (r"\bINFORMATION_SCHEMA\b", "information_schema"),
        (r"\bSET_CONFIG\b", "set_config"),
        (r"\bCURRENT_SETTING\b", "current_setting"),
        (r"\bPG_READ_\w*", "pg_read_file"),
        (r"\bDBLINK\w*", "dblink"),
        (r"\bDROP\s+SCHEMA\b", "DROP SCHEMA"),
        (r"\bTRUNCATE\b", "TRUNCATE"),
        (r"\bSECURITY\s+DEFINER\b", "SECURITY DEFINER"),
        # ours: system catalogs and functions that run SQL given as text
        (r"\bPG_\w*", "names starting with pg_ (system catalogs)"),
        (r"\b\w*_TO_XML\w*", "functions that run SQL given as text (*_to_xml)"),
        (r"\bTS_(?:STAT|REWRITE)\b", "functions that run SQL given as text (ts_stat, ts_rewrite)"),
        # object ids turned into names: they would list other plugins' schemas, tables and roles
        (
            r"\bREG(?:CLASS|NAMESPACE|ROLE|PROC|PROCEDURE|OPER|OPERATOR|TYPE|CONFIG|DICTIONARY|COLLATION)\b",
            "reg* casts (object ids as names)",
        ),
        (r"\bTO_REG\w*", "to_reg* functions (object names as ids)"),
        (r"\bFORMAT_TYPE\b", "format_type (type ids as names)"),
        (r"\b(?:OBJ|COL|SHOBJ)_DESCRIPTION\b", "object comments (obj_description, col_description)"),
        (r"\bLOAD_EXTENSION\b", "load_extension"),
        (r"\bATTACH\b", "ATTACH"),
        (r"\bPRAGMA\b", "PRAGMA"),
    ]
]

_IDENT = r"[A-Za-z_\x80-\U0010ffff][\w$\x80-\U0010ffff]*"
_THREE_PART = re.compile(rf"{_IDENT}\s*\.\s*{_IDENT}\s*\.\s*{_IDENT}")
# a dotted name where a table name stands: FROM/JOIN/INTO/UPDATE/TABLE/EXISTS x.y, INDEX ... ON x.y
_TABLE_POSITION = re.compile(
    rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|EXISTS|REFERENCES)\s+(?:ONLY\s+)?{_IDENT}\s*\.\s*{_IDENT}"
    rf"|\bINDEX\b[^()]*?\bON\s+(?:ONLY\s+)?{_IDENT}\s*\.\s*{_IDENT}",
    re.IGNORECASE,
)
# the rest of a FROM list (FROM a, b.c): up to the clause that ends it
_FROM_LIST = re.compile(
    r"\bFROM\b(.*?)(?=\bWHERE\b|\bGROUP\b|\bORDER\b|\bLIMIT\b|\bHAVING\b|\bWINDOW\b|\bUNION\b"
    r"|\bEXCEPT\b|\bINTERSECT\b|\bON\b|\bUSING\b|\bRETURNING\b|\bSET\b|[()]|$)",
    re.IGNORECASE,
)
_DOTTED = re.compile(rf"{_IDENT}\s*\.\s*{_IDENT}")
_SYSTEM_SCHEMAS = re.compile(rf"\b(?:MAIN|TEMP|TEMPORARY|PUBLIC|MCS_\w*)\s*\.\s*{_IDENT}", re.IGNORECASE)


@dataclass
class Statement:
    """A checked statement, rewritten for its driver, with its parameters in the driver's order."""

    text: str
    params: list[Any]
    kind: str  # the leading keyword(s), upper case: "SELECT", "CREATE TABLE", ...
    style: Literal["numeric", "format", "none"]
    code: str = field(repr=False, default="")  # normalised code (literals blanked), for tests and logs

    @property
    def returns_rows(self) -> bool:
        return self.kind in {"SELECT", "WITH"}

    @property
    def writes(self) -> bool:
        return self.kind not in {"SELECT"}


def _refuse(reason: str) -> InvalidArgument:
    return InvalidArgument("sql", reason)


@dataclass
class _Token:
    kind: Literal["code", "string", "ident", "comment", "dollar", "numeric", "format", "percent"]
    text: str
    index: int = 0  # numeric placeholders: $index


def tokenize(sql: str, dialect: Dialect) -> list[_Token]:
    """Split ``sql`` into tokens; placeholders and ``%%`` only outside literals, quoted names and comments."""
    tokens: list[_Token] = []
    code: list[str] = []
    i, n = 0, len(sql)

    def flush() -> None:
        if code:
            tokens.append(_Token("code", "".join(code)))
            code.clear()

    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if c == "-" and nxt == "-":
            end = sql.find("\n", i)
            end = n if end < 0 else end + 1
            flush()
            tokens.append(_Token("comment", sql[i:end]))
            i = end
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("/*", j) and dialect == "postgresql":
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise _refuse("a statement without an unterminated /* comment")
            flush()
            tokens.append(_Token("comment", sql[i:j]))
            i = j
        elif c in "'\"`" or (c == "[" and dialect == "sqlite"):
            close = "]" if c == "[" else c
            prev = "".join(code)[-2:]
            if prev.upper().endswith("U&"):
                raise _refuse("a statement without U& escaped names or strings")
            backslash = (
                c == "'" and dialect == "postgresql" and prev[-1:].upper() == "E" and not _word_char(prev[-2:-1])
            )
            j = i + 1
            while True:
                if j >= n:
                    raise _refuse(f"a statement without an unterminated {c} quote")
                if backslash and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == close:
                    if close != "]" and j + 1 < n and sql[j + 1] == close:  # doubled quote: escaped
                        j += 2
                        continue
                    break
                j += 1
            flush()
            tokens.append(_Token("string" if c == "'" else "ident", sql[i : j + 1]))
            i = j + 1
        elif c == "$" and dialect == "postgresql" and not _word_char("".join(code)[-1:]):
            m = re.match(r"\$(\d+)", sql[i:])
            if m:
                flush()
                tokens.append(_Token("numeric", m.group(0), int(m.group(1))))
                i += len(m.group(0))
                continue
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if not m:
                code.append(c)
                i += 1
                continue
            tag = m.group(0)
            end = sql.find(tag, i + len(tag))
            if end < 0:
                raise _refuse("a statement without an unterminated dollar-quoted string")
            flush()
            tokens.append(_Token("dollar", sql[i : end + len(tag)]))
            i = end + len(tag)
        elif c == "$" and dialect == "sqlite":
            m = re.match(r"\$(\d+)", sql[i:])
            if not m:
                raise _refuse("$1-style or %s placeholders only (named parameters are not accepted)")
            flush()
            tokens.append(_Token("numeric", m.group(0), int(m.group(1))))
            i += len(m.group(0))
        elif c == "%" and nxt == "s":
            flush()
            tokens.append(_Token("format", "%s"))
            i += 2
        elif c == "%" and nxt == "%":
            flush()
            tokens.append(_Token("percent", "%%"))
            i += 2
        elif dialect == "sqlite" and (c == "?" or (c in ":@" and re.match(r"[:@][A-Za-z_]", sql[i : i + 2]))):
            raise _refuse("$1-style or %s placeholders only (? and named parameters are not accepted)")
        else:
            code.append(c)
            i += 1
    flush()
    return tokens


def _word_char(ch: str) -> bool:
    return bool(ch) and (ch.isalnum() or ch == "_")


def normalise(tokens: list[_Token]) -> str:
    """Code as the checks see it: comments become a space, strings '', quoted names their bare content."""
    out = []
    for t in tokens:
        if t.kind == "code":
            out.append(t.text)
        elif t.kind == "comment":
            out.append(" ")
        elif t.kind == "string":
            out.append("''")
        elif t.kind == "dollar":
            out.append("$$")
        elif t.kind == "ident":
            out.append(t.text[1:-1].replace(t.text[0] * 2, t.text[0]) if t.text[0] != "[" else t.text[1:-1])
        elif t.kind in {"numeric", "format"}:
            out.append(" ?0 ")
        else:
            out.append("%")
    return re.sub(r"\s+", " ", "".join(out)).strip()


def check_statement(sql: Any, dialect: Dialect) -> tuple[list[_Token], str, str]:
    """Tokens, normalised code and kind of a statement that passes every rule; else InvalidArgument naming the rule.

    Plugins send the same few statement texts again and again: a text that passed is
    remembered (its tokens are only ever read), so the checks run once per text.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise _refuse("a non-empty SQL statement")
    if len(sql) > MAX_SQL_CHARS:
        raise _refuse(f"at most {MAX_SQL_CHARS} characters long")
    if "\x00" in sql:
        raise _refuse("a statement without NUL characters")
    return _checked(sql, dialect)


@functools.lru_cache(maxsize=4096)
def _checked(sql: str, dialect: Dialect) -> tuple[list[_Token], str, str]:
    tokens = tokenize(sql, dialect)
    code = normalise(tokens)
    # exactly one statement: a semicolon may only end the text
    body = code.rstrip("; ").rstrip()
    if ";" in body:
        raise _refuse("exactly one statement (found a ; before the end)")
    return tokens, code, _check_code(code)


def _check_code(code: str) -> str:
    """The kind of one statement's normalised code, or InvalidArgument naming the rule it breaks."""
    m = _LEADING.match(code)
    if not m:
        first = (code.split() or ["nothing"])[0][:20]
        raise _refuse(f"a statement starting with {ALLOWED} (it starts with {first})")
    kind = re.sub(r"\s+", " ", m.group(1).upper())
    if kind == "CREATE UNIQUE INDEX":
        kind = "CREATE INDEX"
    for pattern, name in _FORBIDDEN:
        if pattern.search(code):
            raise _refuse(f"a statement without {name}")
    qualified = _THREE_PART.search(code) or _TABLE_POSITION.search(code) or _SYSTEM_SCHEMAS.search(code)
    if qualified or any(_DOTTED.search(m.group(1)) for m in _FROM_LIST.finditer(code)):
        raise _refuse("a statement with unqualified table names only (schema-qualified names are refused)")
    return kind


def split_script(sql: Any, dialect: Dialect) -> list[str]:
    """The statements of ``sql``, split at the semicolons of its code (never inside literals or comments).

    Statements that hold nothing but whitespace and comments are dropped.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise _refuse("a non-empty SQL statement")
    if len(sql) > MAX_SQL_CHARS:
        raise _refuse(f"at most {MAX_SQL_CHARS} characters long")
    if "\x00" in sql:
        raise _refuse("a statement without NUL characters")
    return list(_split(sql, dialect))


@functools.lru_cache(maxsize=1024)
def _split(sql: str, dialect: Dialect) -> tuple[str, ...]:
    pieces: list[list[str]] = [[]]
    for token in tokenize(sql, dialect):
        if token.kind != "code" or ";" not in token.text:
            pieces[-1].append(token.text)
            continue
        parts = token.text.split(";")
        pieces[-1].append(parts[0])
        for part in parts[1:]:
            pieces[-1].append(";")
            pieces.append([part])
    out = []
    for piece in pieces:
        text = "".join(piece)
        if normalise(tokenize(text, dialect)).strip("; "):
            out.append(text)
    return tuple(out)


def _check_params(params: Any) -> list[Any]:
    if params is None:
        return []
    if isinstance(params, str | bytes | dict) or not isinstance(params, list | tuple):
        raise InvalidArgument("params", "a list of parameters (or null)")
    return list(params)


def prepare_script(sql: Any, params: Any, dialect: Dialect) -> list[Statement]:
    """One statement with its parameters, or several (a migration script) when no parameters are bound.

    Each statement of a script passes every rule ``prepare`` applies to one statement.
    """
    params = _check_params(params)
    statements = split_script(sql, dialect)
    if len(statements) <= 1:
        return [prepare(sql, params, dialect)]
    if params:
        raise InvalidArgument(
            "params",
            f"empty: {len(statements)} statements in one call take no parameters "
            "(run a statement with parameters on its own)",
        )
    out = []
    for number, text in enumerate(statements, start=1):
        try:
            out.append(prepare(text, [], dialect))
        except InvalidArgument as exc:  # the same rule, and which statement broke it
            rule = str(exc).split(" must be ", 1)[-1]
            raise InvalidArgument("sql", f"{rule} (statement {number} of {len(statements)})") from None
    return out


def prepare(sql: Any, params: Any, dialect: Dialect) -> Statement:
    """Check ``sql`` and rewrite its placeholders for ``dialect``; ``params`` are always bound, never spliced."""
    params = _check_params(params)
    tokens, code, kind = check_statement(sql, dialect)
    numeric = [t for t in tokens if t.kind == "numeric"]
    fmt = [t for t in tokens if t.kind == "format"]
    if numeric and fmt:
        raise InvalidArgument("sql", "one placeholder style per statement ($1 or %s, not both)")
    style: Literal["numeric", "format", "none"] = "numeric" if numeric else "format" if fmt else "none"
    if style == "numeric":
        highest = max(t.index for t in numeric)
        if min(t.index for t in numeric) < 1:
            raise InvalidArgument("sql", "numeric placeholders counted from $1")
        if highest != len(params):
            raise InvalidArgument(
                "params", f"{highest} parameters for placeholders up to ${highest} (got {len(params)})"
            )
    elif style == "format":
        if len(fmt) != len(params):
            raise InvalidArgument("params", f"{len(fmt)} parameters, one per %s placeholder (got {len(params)})")
    elif params:
        raise InvalidArgument("params", f"empty: the statement has no placeholders (got {len(params)})")

    out: list[str] = []
    bound: list[Any] = []
    pct = "%" if dialect == "sqlite" else "%%"  # psycopg reads % everywhere in the text once params are passed
    for t in tokens:
        if t.kind == "numeric":
            if dialect == "sqlite":
                out.append(f"?{t.index}")
            else:
                out.append("%s")
                bound.append(params[t.index - 1])
        elif t.kind == "format":
            out.append("?" if dialect == "sqlite" else "%s")
        elif t.kind == "percent":
            # format style: %% is a literal %; otherwise both characters are literal
            out.append(pct if style == "format" else pct * 2)
        else:
            out.append(t.text if dialect == "sqlite" else t.text.replace("%", "%%"))
    if dialect == "sqlite" or style == "format":
        bound = list(params)
    return Statement("".join(out), bound, kind, style, code)
