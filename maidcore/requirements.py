"""What a sandbox backend may install for a plugin: packages from the index by name, checked again here.

Review already refuses a bad ``requirements.txt`` (``requirements_invalid``), but a
version can reach an installer without review (``maidcore install ./dir``, a record
written by hand), so every installer calls ``installable`` first, with the same parser
review uses (``yourbot_sdk.review``).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from yourbot_sdk.review import RequirementError, parse_requirement, requirement_lines

from maidcore.layers.sandbox import DependencyInstallError


def installable(lines: Iterable[str]) -> list[str]:
    """The normalised requirements to install, the platform's SDK left out; each is one installer argument.

    Raises ``DependencyInstallError`` naming every refused line and why.
    """
    wanted: list[str] = []
    refused: list[str] = []
    for _, line in requirement_lines("\n".join(lines)):
        try:
            requirement = parse_requirement(line)
        except RequirementError as exc:
            refused.append(str(exc))
            continue
        if not requirement.provided_by_platform:
            wanted.append(str(requirement))
    if refused:
        raise DependencyInstallError("requirements.txt refused: " + "; ".join(refused))
    return wanted


def host_ca_file() -> Path | None:
    """The certificate bundle the host's Python trusts (``SSL_CERT_FILE`` or OpenSSL's default), if any.

    Installers run pip without the host's pip configuration, so they hand it this bundle: an index
    behind a corporate or egress CA is trusted exactly as the host trusts it.
    """
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return Path(candidate)
    return None
