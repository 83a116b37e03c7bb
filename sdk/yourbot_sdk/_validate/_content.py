"""What a bundled file really is, by its bytes: native code, Python bytecode, a zip of code.

A name proves nothing (``speedups.dat`` can be a shared object, ``notes.bin``
a renamed ``.pyc``, ``logo.png`` a zip with a ``.py`` appended that
``zipimport`` would import), so every file is sniffed.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

_HEAD = 4096
#: zipimport looks for the end-of-central-directory record in the last 64 KiB + 22 bytes.
_TAIL = 65535 + 22
_EOCD = b"PK\x05\x06"
_MACH_O = {
    b"\xfe\xed\xfa\xce": "a Mach-O binary",
    b"\xfe\xed\xfa\xcf": "a Mach-O binary",
    b"\xce\xfa\xed\xfe": "a Mach-O binary",
    b"\xcf\xfa\xed\xfe": "a Mach-O binary",
    b"\xca\xfe\xba\xbe": "a universal (fat) Mach-O binary or Java class",
    b"\xbe\xba\xfe\xca": "a universal (fat) Mach-O binary",
}
#: Suffixes Python imports as code from a zip on ``sys.path``.
_IMPORTABLE = (".py", ".pyc", ".pyw")


def native_kind(head: bytes) -> str | None:
    """``"an ELF shared object or executable"``… when ``head`` (the first bytes of a file) is compiled code."""
    if head.startswith(b"\x7fELF"):
        return "an ELF shared object or executable"
    if head[:4] in _MACH_O:
        return _MACH_O[head[:4]]
    if head.startswith(b"MZ") and len(head) >= 0x40:
        offset = struct.unpack_from("<I", head, 0x3C)[0]
        if offset + 4 <= len(head) and head[offset : offset + 4] == b"PE\0\0":
            return "a Windows PE executable or DLL"
    if len(head) >= 16 and head[2:4] == b"\r\n" and 2900 <= int.from_bytes(head[:2], "little") <= 4200:
        return "compiled Python bytecode (a .pyc)"
    return None


def archived_code(path: Path, size: int) -> list[str]:
    """Python files inside a zip archive (anywhere in ``path``, as zipimport finds it), else ``[]``."""
    with open(path, "rb") as f:
        if size > _TAIL:
            f.seek(size - _TAIL)
        tail = f.read()
        if _EOCD not in tail:
            return []
        f.seek(0)
        data = f.read() if size <= 8 * 1024 * 1024 else None
    try:
        source = io.BytesIO(data) if data is not None else open(path, "rb")  # noqa: SIM115
        with source, zipfile.ZipFile(source) as zf:
            return [n for n in zf.namelist() if n.lower().endswith(_IMPORTABLE)][:5]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error, NotImplementedError):
        return []


def sniff(path: Path) -> tuple[str | None, list[str]]:
    """``(native kind, python files archived inside)`` of one file."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except OSError:
        return None, []
    kind = native_kind(head)
    if kind is not None or size < 22:
        return kind, []
    return None, archived_code(path, size)
