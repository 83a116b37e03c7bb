"""The platform's static review as a library: bundle intake, every check, and their findings.

``yourbot validate`` is this module run on a directory or ``.zip``; a platform runs the same
``CHECKS`` on uploaded bundles, so an author and the marketplace see the same findings. Its
names are a stable, public surface (the implementation behind them is private):

- **intake** — ``extract_zip(path, dest, limits=LIMITS)`` unpacks an upload safely (sizes, file
  count, path traversal, links) and returns findings; ``copy_directory`` does the same for a
  directory; ``Limits``/``LIMITS`` hold the bounds; ``Bundle`` is the unpacked view every check
  reads (``Bundle.unpacked(dir)``, ``Bundle.from_directory(dir)``), ``list_directory`` its files.
- **checks** — ``CHECKS`` (name -> ``check(bundle) -> [Finding]``), ``run_checks(bundle)``,
  ``validate(path)``, ``sort_findings``.
- **findings** — ``Finding(severity, code, path, line, message)``, ``ERROR``/``WARNING``/``INFO``,
  ``has_errors``.
- **requirements** — ``requirements(bundle)`` (the bundle's ``requirements.txt`` lines),
  ``requirement_lines(text)``, ``parse_requirement(line)`` -> ``Requirement`` (``RequirementError``
  naming what is refused), ``PLATFORM_SDKS`` (distributions the platform provides itself, the
  same set as ``yourbot_sdk.spec.SDK_DISTRIBUTIONS``).

The facts the checks apply (capabilities, method tables, cron, manifest fields) live in
``yourbot_sdk.spec``.
"""

from __future__ import annotations

from ._validate import (
    CHECKS,
    ERROR,
    INFO,
    LIMITS,
    PLATFORM_SDKS,
    WARNING,
    Bundle,
    Finding,
    Limits,
    Requirement,
    RequirementError,
    copy_directory,
    extract_zip,
    has_errors,
    list_directory,
    parse_requirement,
    requirement_lines,
    requirements,
    run_checks,
    sort_findings,
    validate,
)

__all__ = [
    "CHECKS",
    "ERROR",
    "INFO",
    "LIMITS",
    "PLATFORM_SDKS",
    "WARNING",
    "Bundle",
    "Finding",
    "Limits",
    "Requirement",
    "RequirementError",
    "copy_directory",
    "extract_zip",
    "has_errors",
    "list_directory",
    "parse_requirement",
    "requirement_lines",
    "requirements",
    "run_checks",
    "sort_findings",
    "validate",
]
