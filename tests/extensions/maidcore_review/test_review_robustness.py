"""Review never crashes and never gives up quietly: real-world code is analysed, code built to exhaust the
analysis is rejected (``review_limit``) instead of crashing review or sending the version to a human."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from maidcore_review import extension
from mmo_maid_sdk._validate import CHECKS, Bundle, validate

from maidcore.extensions import Extensions
from maidcore.marketplace.review import review_path
from tests.extensions.maidcore_review.bundles import write_plugin

STDLIB = Path(sysconfig.get_paths()["stdlib"])
#: Large, idiom-rich modules: decorators, metaclasses, star imports, reflection, dynamic dispatch.
REAL_CODE = [
    "typing.py",
    "dataclasses.py",
    "enum.py",
    "argparse.py",
    "inspect.py",
    "asyncio/base_events.py",
    "logging/__init__.py",
    "email/message.py",
    "json/decoder.py",
    "functools.py",
]


def test_every_check_finishes_on_real_world_code(tmp_path):
    files = {f"lib/{name.replace('/', '_')}": (STDLIB / name).read_text(encoding="utf-8") for name in REAL_CODE}
    root = write_plugin(tmp_path / "plugin", files=files)
    bundle, _ = Bundle.from_directory(root)
    for name, check in CHECKS.items():
        findings = check(bundle)  # raises if a check crashes
        assert "review_limit" not in {f.code for f in findings}, name
    # the standard library itself uses what plugins may not (that is the point of the check)
    codes = {f.code for f in validate(root)}
    assert {"forbidden_import", "reflection", "dynamic_import"} <= codes


def test_code_nested_past_the_analysis_is_rejected_not_crashed(tmp_path):
    chain = (
        "".join(f"def f{i}(x):\n    return f{i + 1}(x)\n\n\n" for i in range(2000)) + "def f2000(x):\n    return x\n"
    )
    root = write_plugin(tmp_path / "plugin", files={"lib.py": chain})
    findings = [f for f in validate(root) if f.code == "review_limit"]
    assert findings and {f.severity for f in findings} == {"error"}
    exts = Extensions(strict=True)
    exts.register(extension, name="review")
    report = review_path(exts.review_checks(), root)
    assert report.status.value == "rejected"
    assert "check_failed" not in {f.code for f in report.findings}
