"""The default review checks, one ``register_review_checks`` implementation per check.

Static checks come from ``yourbot_sdk.review`` (the same code
``mmo validate`` runs, so authors see what reviewers see); the platform-only
ones compare with the previous published version. A third-party extension
adds a check with exactly this hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from yourbot_sdk.review import CHECKS, Bundle

from maidcore.hookspecs import hookimpl
from maidcore.layers import BundleView, Finding, RegisterReviewCheck
from maidcore.marketplace.findings import convert
from maidcore_review.tiers import check_tier_shift, check_version_greater


def _static(*names: str) -> Callable[[BundleView, BundleView | None], Iterable[Finding]]:
    """A review check running the named ``yourbot_sdk.review`` checks."""
    checks = [CHECKS[n] for n in names]

    def check(bundle: BundleView, previous: BundleView | None) -> list[Finding]:
        view = bundle if isinstance(bundle, Bundle) else Bundle(bundle.root, bundle.files)
        return [f for c in checks for f in convert(c(view))]

    check.__doc__ = f"``mmo validate`` checks: {', '.join(names)}."
    return check


@hookimpl(specname="register_review_checks")
def register_bundle_safety(register: RegisterReviewCheck) -> None:
    register("bundle_safety", _static("layout"))


@hookimpl(specname="register_review_checks")
def register_manifest(register: RegisterReviewCheck) -> None:
    register("manifest", _static("manifest", "proxy_domains", "dashboard"))


@hookimpl(specname="register_review_checks")
def register_capabilities(register: RegisterReviewCheck) -> None:
    register("capabilities", _static("capabilities"))


@hookimpl(specname="register_review_checks")
def register_slash_commands(register: RegisterReviewCheck) -> None:
    register("slash_commands", _static("slash_commands", "slash_wiring"))


@hookimpl(specname="register_review_checks")
def register_cron(register: RegisterReviewCheck) -> None:
    register("cron", _static("cron"))


@hookimpl(specname="register_review_checks")
def register_wiring(register: RegisterReviewCheck) -> None:
    register("wiring", _static("dashboard_wiring", "run", "bot_guard"))


@hookimpl(specname="register_review_checks")
def register_imports(register: RegisterReviewCheck) -> None:
    register("imports", _static("syntax", "imports"))


@hookimpl(specname="register_review_checks")
def register_blocked_calls(register: RegisterReviewCheck) -> None:
    register("blocked_calls", _static("dangerous_code"))


@hookimpl(specname="register_review_checks")
def register_sql_interpolation(register: RegisterReviewCheck) -> None:
    register("sql_interpolation", _static("sql"))


@hookimpl(specname="register_review_checks")
def register_undeclared_capability(register: RegisterReviewCheck) -> None:
    register("undeclared_capability", _static("capability_use", "http_domains"))


@hookimpl(specname="register_review_checks")
def register_version(register: RegisterReviewCheck) -> None:
    register("version", check_version_greater)


@hookimpl(specname="register_review_checks")
def register_tier_shift(register: RegisterReviewCheck) -> None:
    register("tier_shift", check_tier_shift)
