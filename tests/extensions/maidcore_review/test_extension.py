"""The review extension: its hook implementations, platform-only checks, and a third-party check."""

from __future__ import annotations

import ast

import pytest
from maidcore_review import extension
from maidcore_review.tiers import check_tier_shift, check_version_greater
from mmo_maid_sdk._validate import Bundle

from maidcore.extensions import Extensions
from maidcore.hookspecs import hookimpl
from maidcore.layers import Finding, Severity
from maidcore.marketplace.review import decide, review_path, run_checks
from maidcore.records import VersionStatus
from tests.extensions.maidcore_review.bundles import manifest, write_plugin

DEFAULT_CHECKS = {
    "bundle_safety",
    "manifest",
    "capabilities",
    "slash_commands",
    "cron",
    "wiring",
    "imports",
    "blocked_calls",
    "sql_interpolation",
    "undeclared_capability",
    "version",
    "tier_shift",
}


def load(*plugins):
    exts = Extensions(strict=True)
    exts.register(extension, name="review")
    for i, plugin in enumerate(plugins):
        exts.register(plugin, name=f"third_party_{i}")
    return exts


def bundle(tmp_path, name="v", **changes) -> Bundle:
    root = write_plugin(tmp_path / name, manifest_data=manifest(**changes))
    return Bundle.unpacked(root)


def test_each_default_check_is_its_own_hook_implementation():
    impls = [getattr(extension, n) for n in dir(extension) if n.startswith("register_")]
    assert len(impls) == len(DEFAULT_CHECKS)
    assert set(load().review_checks()) == DEFAULT_CHECKS


def test_the_entry_point_loads_the_default_checks(monkeypatch):
    monkeypatch.setenv("MAIDCORE_LOAD_EXTENSIONS", "review")
    assert set(Extensions.load().review_checks()) == DEFAULT_CHECKS


class NoPrint:
    """A team's own rule, added through the same hook the defaults use."""

    @staticmethod
    def check(bundle, previous):
        for path in bundle.files:
            tree = bundle.syntax_tree(path) if path.endswith(".py") else None
            for node in ast.walk(tree) if tree else ():
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                    yield Finding("team_no_print", Severity.ERROR, "use ctx.log, not print()", path, node.lineno)

    @hookimpl
    def register_review_checks(self, register):
        register("team_no_print", self.check)


def test_a_third_party_check_joins_the_review_through_the_hook(tmp_path):
    root = write_plugin(tmp_path / "p", files={"dice.py": "def roll_value(s):\n    print(s)\n    return 4\n"})
    checks = load(NoPrint()).review_checks()
    assert "team_no_print" in checks
    report = review_path(checks, root)
    [finding] = [f for f in report.findings if f.code == "team_no_print"]
    assert (finding.path, finding.line) == ("dice.py", 2)
    assert report.status == VersionStatus.REJECTED
    # without the extension the same bundle is fine
    assert review_path(load().review_checks(), root).status == VersionStatus.APPROVED


def test_a_crashing_check_sends_the_version_to_a_person_instead_of_failing(tmp_path):
    def broken(bundle, previous):
        raise RuntimeError("boom")

    findings = run_checks({"broken": broken}, bundle(tmp_path), None)
    assert [(f.code, f.severity) for f in findings] == [("check_failed", Severity.WARNING)]
    assert "boom" in findings[0].message
    assert decide(findings) == VersionStatus.NEEDS_HUMAN_REVIEW


@pytest.mark.parametrize(
    ("old", "new", "greater"),
    [
        ("1.0.0", "1.0.1", True),
        ("1.2.9", "1.2.10", True),
        ("1.0.0-rc1", "1.0.0", True),
        ("2.0.0", "1.9.9", False),
        ("1.0.0", "1.0.0", False),
    ],
)
def test_version_must_be_greater_than_the_published_one(tmp_path, old, new, greater):
    findings = list(check_version_greater(bundle(tmp_path, "new", version=new), bundle(tmp_path, "old", version=old)))
    assert (findings == []) is greater
    if not greater:
        assert findings[0].code == "version_not_greater" and findings[0].severity == Severity.ERROR


def shift(tmp_path, old: dict | None, new: dict) -> list[Finding]:
    previous = bundle(tmp_path, "old", **old) if old is not None else None
    return list(check_tier_shift(bundle(tmp_path, "new", **new), previous))


BASE_CAPS = ["discord:send_message", "storage:kv"]


def test_same_capabilities_are_no_shift(tmp_path):
    assert shift(tmp_path, {}, {"version": "1.1.0"}) == []


def test_a_new_capability_is_spelled_out(tmp_path):
    [f] = shift(tmp_path, {}, {"capabilities_required": [*BASE_CAPS, "discord:read"]})
    assert f.code == "tier_shift" and "new capability discord:read (Safe)" in f.message
    assert "version 1.0.0" in f.message


def test_a_higher_tier_is_spelled_out(tmp_path):
    [f] = shift(tmp_path, {}, {"capabilities_required": [*BASE_CAPS, "discord:ban_members"]})
    assert "new capability discord:ban_members (Dangerous)" in f.message
    assert "tier rises from Safe to Dangerous (discord:ban_members)" in f.message


def test_a_new_proxy_domain_is_spelled_out(tmp_path):
    [f] = shift(
        tmp_path,
        {"proxy_domains_requested": ["api.example.com"]},
        {"proxy_domains_requested": ["api.example.com", "cdn.example.com"]},
    )
    assert "new proxy domain cdn.example.com" in f.message
    assert "new capability" not in f.message  # proxy:http was already there


def test_a_first_version_shifts_only_above_safe_or_with_domains(tmp_path):
    assert shift(tmp_path, None, {}) == []
    [f] = shift(tmp_path, None, {"capabilities_required": [*BASE_CAPS, "storage:sql"]})
    assert "tier rises from Safe to Risky (storage:sql)" in f.message


def test_tier_shift_leads_to_human_review(tmp_path):
    findings = run_checks(
        load().review_checks(),
        bundle(tmp_path, "new", version="1.1.0", capabilities_required=[*BASE_CAPS, "discord:read"]),
        bundle(tmp_path, "old"),
    )
    assert decide(findings) == VersionStatus.NEEDS_HUMAN_REVIEW
