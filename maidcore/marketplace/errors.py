"""Why a marketplace operation was refused; the web layer maps each class to an HTTP status."""

from __future__ import annotations

from maidcore.layers import Finding


class MarketplaceError(Exception):
    """Refused; ``str()`` says what is wrong and what would be right."""

    status = 400


class NotFound(MarketplaceError):
    status = 404


class Forbidden(MarketplaceError):
    status = 403


class Conflict(MarketplaceError):
    status = 409


class Refused(MarketplaceError):
    """A bundle that cannot even be recorded (intake refused it, or its id/version are unusable)."""

    status = 422

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings


class PublishFailed(MarketplaceError):
    """Preparing the version to run failed; the previously published version keeps serving."""

    status = 502
