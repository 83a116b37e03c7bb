"""Hold the design in place: every hook has a ``test_hook_<name>`` test and an entry in docs/extending.md."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from maidcore import hookspecs

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
DOCS = ROOT / "docs" / "extending.md"


def hook_names() -> list[str]:
    return sorted(
        name
        for name, fn in vars(hookspecs).items()
        if callable(fn) and getattr(fn, f"{hookspecs.PROJECT}_spec", None) is not None
    )


def signature(name: str) -> str:
    """``name(arg: Type) -> None`` as written in hookspecs.py (annotations are strings there)."""
    sig = inspect.signature(getattr(hookspecs, name))
    args = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({args}) -> {sig.return_annotation}"


def test_there_are_hooks():
    assert "register_sandbox_backends" in hook_names()
    assert len(hook_names()) == 10


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_has_a_test(name):
    pattern = re.compile(rf"^\s*(async\s+)?def test_hook_{name}\b", re.MULTILINE)
    found = [p for p in TESTS.rglob("test_*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"no test named test_hook_{name} anywhere under tests/"


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_documented_with_its_signature(name):
    text = DOCS.read_text(encoding="utf-8")
    assert signature(name) in text, f"docs/extending.md must show `{signature(name)}`"


def test_the_core_imports_no_extension():
    """A default extension has no privilege a third party lacks: the core reaches it only through hooks."""
    pattern = re.compile(r"^\s*(from|import)\s+maidcore_\w+", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "maidcore").rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
