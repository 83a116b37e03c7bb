"""Runs one plugin worker and makes every process it starts die with it (run as a script, stdlib only).

    python -I -S reaper.py --as BYTES --cpu SECONDS --nofile N --grace SECONDS -- PYTHON -s -B __main__.py

A process group is not enough: a plugin's child can ``setsid()`` and double-fork, and
its orphan is then re-parented to init, out of every group the host could signal.
This reaper marks itself a child subreaper (``PR_SET_CHILD_SUBREAPER``), so every
orphan among the plugin's descendants is re-parented to it instead, whatever session
it made. It starts the plugin in its own session with the resource limits set
before ``exec`` (so no descendant escapes them), relays the host's requests as signals,
and when the plugin ends it SIGKILLs its remaining descendants until it has no child
left, then exits with the plugin's status (dying by the same signal if the plugin
did). Works unprivileged; Linux only.

Signals from the host: SIGTERM asks the plugin to stop (forwarded; SIGKILL follows
after ``--grace``), SIGUSR1 kills it now. The reaper gets SIGTERM itself if the
host dies (``PR_SET_PDEATHSIG``), and the plugin gets SIGKILL if the reaper dies.
"""

import contextlib
import ctypes
import os
import resource
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}) failed: {os.strerror(errno)}")


def parse(argv: list[str]) -> tuple[dict[str, float], list[str]]:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    values = {options[i].lstrip("-"): float(options[i + 1]) for i in range(0, len(options), 2)}
    return values, command


def signal_quietly(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.kill(pid, sig)


def children() -> list[int]:
    """Processes whose parent is this reaper (descendants land here once their parent dies)."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat.rsplit(b")", 1)[1].split()[1]) == me:
            found.append(int(entry))
    return found


def kill_descendants() -> None:
    """SIGKILL every child until none is left; each death hands its own children to this reaper."""
    while True:
        for pid in children():
            signal_quietly(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            return
        time.sleep(0.005)


def start_plugin(command: list[str], limits: dict[str, float]) -> int:
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        os.setsid()  # its own session and group, as a plain worker had
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        names = {"as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "nofile": resource.RLIMIT_NOFILE}
        for key, which in names.items():
            if key in limits:
                value = int(limits[key])
                resource.setrlimit(which, (value, value))
        for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGALRM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.execv(command[0], command)
    except BaseException as exc:  # exec failed: say why on stderr, exit like a shell would
        os.write(2, f"maidcore reaper: cannot start {command[0]}: {exc}\n".encode())
    os._exit(127)


def main() -> int:
    limits, command = parse(sys.argv[1:])
    grace = limits.pop("grace", 5.0)
    host = os.getppid()
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    plugin = 0

    def stop(_signum, _frame):
        if plugin:
            signal_quietly(plugin, signal.SIGTERM)
        signal.alarm(max(1, int(grace + 0.999)))

    def kill(_signum, _frame):
        if plugin:
            signal_quietly(plugin, signal.SIGKILL)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    signal.signal(signal.SIGUSR1, kill)
    signal.signal(signal.SIGALRM, kill)
    plugin = start_plugin(command, limits)
    # the plugin holds stdin/stdout now; the reaper must not keep them open past its exit
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    if os.getppid() != host:  # the host died before PDEATHSIG was armed
        kill(None, None)
    while True:
        pid, status = os.wait()
        if pid == plugin:
            break
    signal.alarm(0)
    kill_descendants()
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP have no handler to reset
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        return 128 + sig
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.stderr.flush()
    os._exit(main())
