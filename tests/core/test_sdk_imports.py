"""The platform uses only the SDK's public, documented modules (``yourbot_sdk.spec``, ``.review``, ``.testing``...).

A private SDK module (``yourbot_sdk._validate``, ``_canned``, ``_api``...) may change in any SDK release;
the core and the default extensions depending on one would be a privilege no third party has.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDKS = ("yourbot_sdk", "mmo_maid_sdk")
PRIVATE = re.compile(rf"^(?:{'|'.join(SDKS)})(?:\.[A-Za-z0-9_]+)*\._")


def private_uses(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for every import of, or dotted string naming, a private SDK module in ``source``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if PRIVATE.match(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if PRIVATE.match(node.module):
                found.append((node.lineno, node.module))
            elif node.module in SDKS or any(node.module.startswith(f"{sdk}.") for sdk in SDKS):
                found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and PRIVATE.match(node.value):
            found.append((node.lineno, node.value))  # importlib.import_module("yourbot_sdk._x")
    return found


def platform_files() -> list[Path]:
    return sorted(p for top in ("maidcore", "extensions") for p in (ROOT / top).rglob("*.py"))


def test_the_scan_sees_every_way_of_naming_a_private_module():
    source = (
        "import yourbot_sdk._validate\n"
        "from yourbot_sdk._validate._catalogue import effective\n"
        "from yourbot_sdk import _canned\n"
        "from mmo_maid_sdk.spec import _rules\n"
        "m = importlib.import_module('mmo_maid_sdk._api')\n"
        "from yourbot_sdk.spec import methods\n"
        "from yourbot_sdk.review import CHECKS\n"
        "import mmo_maid_sdk\n"
    )
    assert [line for line, _ in private_uses(source)] == [1, 2, 3, 4, 5]


def test_platform_files_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in platform_files()}
    assert {"maidcore/capabilities.py", "extensions/maidcore_review/extension.py"} <= names


def test_core_and_extensions_import_no_private_sdk_module():
    offenders = {
        path.relative_to(ROOT).as_posix(): uses
        for path in platform_files()
        if (uses := private_uses(path.read_text(encoding="utf-8")))
    }
    assert not offenders, f"use yourbot_sdk.spec, .review or .testing instead of private SDK modules: {offenders}"
