"""One ``maidcore serve`` per data directory: an exclusive lock on ``<data_dir>/serve.lock``.

The lock is an ``flock`` held for the life of the process, so a crash or SIGKILL
releases it with the process: nothing stale is left to block the next start. The
file holds the holder's pid, for the message that refuses a second server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = "serve.lock"


class DataDirBusy(RuntimeError):
    """Another process serves this data directory."""


class DataDirLock:
    """``acquire()`` before anything else touches the data directory; ``release()`` last."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.path = self.data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ``DataDirBusy`` naming the pid that holds it (touching nothing of it)."""
        if self._fd is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise DataDirBusy(
                f"maidcore serve is already running on {self.data_dir}{who}; stop it first, or give this one "
                "another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(data_dir: Path | str) -> int | None:
    """The pid serving ``data_dir`` right now, or None (asks the lock itself, never a pid that may be stale)."""
    path = Path(data_dir).expanduser() / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None
