"""Bundle intake: unpack an uploaded zip (or copy a plugin directory) safely, refusing hazards with a reason.

Every entry header is vetted before a byte is written; sizes are counted
while streaming, never trusted from headers; the result appears at ``dest``
only when complete (a sibling staging directory is renamed into place), so
a refused or failed upload leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from yourbot_sdk.review import LIMITS, Bundle, Limits, copy_directory, extract_zip

from maidcore.layers import Finding
from maidcore.marketplace.findings import convert, has_errors


@dataclass
class IntakeResult:
    """What intake found; ``root`` holds the unpacked bundle when ``ok``."""

    root: Path
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    def bundle(self) -> Bundle:
        """The unpacked bundle as review checks read it (``BundleView``)."""
        if not self.ok:
            raise ValueError(f"{self.root} was refused at intake; there is no bundle to read")
        return Bundle.unpacked(self.root)


def unpack_bundle(src: Path, dest: Path, limits: Limits = LIMITS) -> IntakeResult:
    """Unpack the zip (or plugin directory) ``src`` into ``dest``, which must be absent or empty.

    Refuses (``ok`` false, nothing at ``dest``): over 10 MB zipped, 40 MB
    unpacked or 200 files, compression bombs, absolute or ``..`` paths,
    symlinks, device files, duplicate names (also by case or Unicode
    normalisation), encrypted entries, unreadable zips, and bundles without
    a root ``manifest.json`` or ``__main__.py``. Junk (``__pycache__``,
    ``*.pyc``, ``.git``) is left out with a warning.
    """
    src, dest = Path(src), Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest} already holds files; intake unpacks only into a new or empty directory")
    if src.is_dir():
        raw = copy_directory(src, dest, limits)
    elif src.is_file():
        raw = extract_zip(src, dest, limits)
    else:
        raise FileNotFoundError(f"{src} is neither a plugin directory nor a .zip file")
    return IntakeResult(dest, convert(raw))
