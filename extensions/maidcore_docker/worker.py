"""One plugin worker = one container, attached before it starts and removed as soon as it ends.

A worker watches its own container: when the engine's ``wait`` returns, it reads
why (``State.OOMKilled``, ``ExitCode``) and removes the container, whether or not
anyone called ``stop()``. A worker that was asked to stop (EOF, kill) takes the exit
code ``wait`` answered and skips the inspect: at a node's shutdown that halves the
engine calls per container, and "why" matters only for a worker that ended by itself.
A crash of maidcore itself leaves at most exited containers, which the next
``start()`` sweeps by label.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signals
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from maidcore.layers.sandbox import ExitStatus, LineTooLong, WorkerSpec
from maidcore_docker.engine import EngineAddress
from maidcore_docker.streams import LineBuffer, cancel_quietly, demultiplex

if TYPE_CHECKING:
    from docker import APIClient

log = logging.getLogger(__name__)

#: Runs one blocking docker SDK call off the event loop (``EngineCalls``; ``asyncio.to_thread`` by default).
Calls = Callable[..., Awaitable[Any]]

STDERR_CAP = 1 << 20  # diagnostics kept while nobody reads them; the rest is counted and dropped
STDERR_LINE = 16 << 10


def describe_exit(
    state: dict[str, Any], *, memory: str, killed_after: float | None, violation: str | None
) -> ExitStatus:
    """An ``ExitStatus`` with a one-line reason from the container's inspected ``State``."""
    code = state.get("ExitCode")
    oom = bool(state.get("OOMKilled"))
    signal = code - 128 if isinstance(code, int) and 128 < code < 160 else None
    if oom:
        reason = f"OOM-killed (over the {memory} memory limit)"
    elif killed_after:
        reason = f"did not stop within {killed_after:g} s; killed by SIGKILL"
    elif killed_after is not None:  # killed at once (a node's shutdown deadline, a timeout)
        reason = "killed by SIGKILL"
    elif signal is not None:
        try:
            name = signals.Signals(signal).name
        except ValueError:
            name = f"signal {signal}"
        reason = f"killed by {name}"
    elif code == 0:
        reason = "exited normally (exit code 0)"
    else:
        reason = f"exit code {code}"
    if state.get("Error"):
        reason += f" ({state['Error']})"
    if violation:
        reason = f"protocol violation: {violation}; then {reason}"
    return ExitStatus(exit_code=code, signal=signal, oom_killed=oom, reason=reason)


class DockerWorker:
    """A running container speaking JSON-RPC lines on its attached stdin/stdout."""

    def __init__(
        self,
        *,
        api: APIClient,
        container_id: str,
        spec: WorkerSpec,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        wait_task: asyncio.Future,
        memory: str,
        max_line: int,
        on_removed=None,
        calls: Calls = asyncio.to_thread,
    ) -> None:
        self.name = spec.name
        self.spec = spec
        self.api = api
        self.container_id = container_id
        self.started_at = time.monotonic()
        self._memory = memory
        self._writer = writer
        self._wait_task = wait_task
        self._stdout = LineBuffer(max_line=max_line, cap=max_line + (64 << 10), drop_over_cap=False, what="stdout")
        self._stderr = LineBuffer(max_line=STDERR_LINE, cap=STDERR_CAP, drop_over_cap=True, what="stderr")
        self._pump = asyncio.ensure_future(demultiplex(reader, self._stdout, self._stderr))
        self._write_lock = asyncio.Lock()
        self._stdin_closed = False
        self._stop_asked = False  # EOF sent or killed: the exit code from ``wait`` says enough
        self._calls = calls
        self._killed_after: float | None = None
        self._finishing = False  # _finish has begun (once)
        self._removed = False  # a forced removal (the kill) took the container already
        self._violation: str | None = None
        self._status: ExitStatus | None = None
        self._ended = asyncio.Event()
        self.on_removed = on_removed  # called once the container is gone (the backend untracks the worker)
        self.adopted = False  # True when ``spawn`` handed out a warm spare, False for a container started for it
        self._watcher = asyncio.ensure_future(self._watch())

    # --- the Worker protocol ----------------------------------------------------

    async def readline(self) -> bytes:
        try:
            return await self._stdout.readline()
        except LineTooLong as exc:
            self.report_violation(str(exc))
            raise

    async def write(self, data: bytes) -> None:
        if self._stdin_closed or self._writer.is_closing() or self._ended.is_set():
            raise BrokenPipeError(f"worker {self.name} is gone (stdin closed)")
        async with self._write_lock:
            try:
                self._writer.write(data)
                await self._writer.drain()
            except (ConnectionError, OSError) as exc:
                raise BrokenPipeError(f"worker {self.name} is gone ({exc})") from exc

    def write_nowait(self, data: bytes) -> bool:
        writer = self._writer
        if (
            self._stdin_closed
            or self._ended.is_set()
            or self._write_lock.locked()
            or writer.is_closing()
            or writer.transport.get_write_buffer_size()
        ):
            return False
        try:
            writer.write(data)
        except (ConnectionError, OSError, RuntimeError):
            return False  # nothing taken: ``write`` raises the error for the runner
        return True

    async def close_stdin(self) -> None:
        if self._stdin_closed:
            return
        self._stdin_closed = True
        self._stop_asked = True
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            if self._writer.can_write_eof() and not self._writer.is_closing():
                self._writer.write_eof()

    async def stderr_lines(self) -> bytes:
        line = await self._stderr.readline()
        if not line and self._stderr.dropped:
            dropped, self._stderr.dropped = self._stderr.dropped, 0
            return f"[maidcore: {dropped} bytes of stderr dropped while nobody read them]\n".encode()
        return line

    async def wait(self) -> ExitStatus:
        await self._ended.wait()
        assert self._status is not None
        return self._status

    async def stop(self, grace: float = 5.0) -> ExitStatus:
        """EOF on stdin (the SDK exits 0 on it), then SIGKILL after ``grace`` s; the container is removed either way.

        PID 1 in a container ignores SIGTERM unless it installs a handler, so EOF is the polite request.
        """
        if not self._ended.is_set():
            await self.close_stdin()
            try:
                await asyncio.wait_for(asyncio.shield(self._ended.wait()), grace)
            except TimeoutError:
                self._killed_after = grace
                await self._kill()
        await self._ended.wait()
        assert self._status is not None
        return self._status

    # --- extras the runner may use ----------------------------------------------------

    def report_violation(self, reason: str) -> None:
        """Record a protocol violation (e.g. a non-JSON line) so the exit reason names it."""
        if self._violation is None:
            self._violation = reason

    @property
    def ended(self) -> bool:
        """The container is gone (its status is known)."""
        return self._ended.is_set()

    @property
    def stdout_closed(self) -> bool:
        """The engine closed the output stream (the process ended or closed its descriptors)."""
        return self._stdout.eof

    async def kill(self) -> ExitStatus:
        """SIGKILL now (timeouts) and wait for removal."""
        if not self._ended.is_set():
            self._killed_after = 0.0
            await self._kill()
        return await self.wait()

    # --- internals ------------------------------------------------------------------

    async def _kill(self) -> None:
        """SIGKILL and removal in one engine call (``rm --force``); the exit is not waited for on the event stream.

        Under the load of a node closing hundreds of containers the engine reports exits seconds late
        (1,000 containers: several not within 15 s); a forced removal returns once the container is gone.
        """
        self._stop_asked = True
        self._stdout.discard()  # a worker flooding a stdout nobody reads would hold its own exit
        try:
            await self._calls(self.api.remove_container, self.container_id, force=True)
        except Exception as exc:  # engine trouble, or removed already: the watcher reports the real status
            log.debug("kill %s: %s", self.name, exc)
        else:
            if not self._finishing:
                self._removed = True
                self._watcher.cancel()
                await self._finish({"ExitCode": 137})
        try:
            await asyncio.wait_for(asyncio.shield(self._ended.wait()), 15)
        except TimeoutError:
            if self._finishing:  # the watcher is removing it (each engine call is timed by the client)
                await self._ended.wait()
                return
            log.warning("worker %s: engine did not report the exit after SIGKILL; removing by force", self.name)
            self._watcher.cancel()
            await self._finish({"ExitCode": 137, "Error": "engine did not report the exit"})

    async def _watch(self) -> None:
        try:
            waited: dict[str, Any] = {}
            try:
                waited = await self._wait_task
            except Exception as exc:
                log.warning("worker %s: wait on the engine failed (%s); inspecting", self.name, exc)
            # the engine closes the attach stream once the process is gone; keep what it flushed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pump), 2.0)
            code = waited.get("StatusCode") if isinstance(waited, dict) else None
            if self._stop_asked and isinstance(code, int):
                await self._finish({"ExitCode": code})
                return
            try:
                attrs = await self._calls(self._inspect)
                state = attrs.get("State", {})
            except Exception as exc:
                # removed already (a sweep by another maidcore, `docker rm -f`): /wait still said how it ended
                state = {"ExitCode": code} if isinstance(code, int) else {"ExitCode": None}
                if not isinstance(code, int):
                    state["Error"] = f"inspect failed: {exc}"
            await self._finish(state)
        except asyncio.CancelledError:
            raise

    def _inspect(self) -> dict[str, Any]:
        return self.api.inspect_container(self.container_id)

    async def _finish(self, state: dict[str, Any]) -> None:
        if self._finishing:  # the watcher and a kill both got here: the first one finishes
            await self._ended.wait()
            return
        self._finishing = True
        if self._violation and self._killed_after is not None:
            self._killed_after = None  # the violation is the story; "killed" is in the reason below
        self._status = describe_exit(
            state, memory=self._memory, killed_after=self._killed_after, violation=self._violation
        )
        if not self._removed:
            with contextlib.suppress(Exception):
                await self._calls(self.api.remove_container, self.container_id, force=True)
        await cancel_quietly(self._pump)
        with contextlib.suppress(Exception):
            self._writer.close()
        self._stdout.feed_eof()
        self._stderr.feed_eof()
        self._ended.set()
        if self.on_removed is not None:
            self.on_removed(self)

    async def rename(self, name: str) -> None:
        """Give a claimed warm spare the name the runner chose (off the start path)."""
        self.name = name
        with contextlib.suppress(Exception):
            await self._calls(self.api.rename, self.container_id, name)


async def launch(
    client,
    engine: EngineAddress,
    create_kwargs: dict[str, Any],
    spec: WorkerSpec,
    *,
    memory: str,
    max_line: int,
    on_removed=None,
    calls: Calls = asyncio.to_thread,
) -> DockerWorker:
    """Create, attach (before start, so no output is lost), arm ``wait``, start; remove on any failure."""
    kwargs = dict(create_kwargs)
    name = kwargs.pop("name")
    kwargs["host_config"] = client.api.create_host_config(**kwargs["host_config"])
    config = client.api.create_container_config(**kwargs)  # (unlike create_container: no proxy env injected)
    config["StdinOnce"] = True
    creating = asyncio.ensure_future(calls(client.api.create_container_from_config, config, name))
    try:
        created = await asyncio.shield(creating)
    except asyncio.CancelledError:  # (a spare's start cancelled by the pool's close) the engine creates it anyway
        with contextlib.suppress(Exception):
            await calls(client.api.remove_container, (await creating)["Id"], force=True)
        raise
    container_id = created["Id"]
    reader = writer = None
    wait_task = None
    try:
        reader, writer = await engine.attach(container_id)
        wait_task = await engine.open_wait(container_id)
        await calls(client.api.start, container_id)
    except BaseException:
        if writer is not None:
            writer.close()
        await cancel_quietly(wait_task)
        with contextlib.suppress(Exception):
            await calls(client.api.remove_container, container_id, force=True)
        raise
    return DockerWorker(
        api=client.api,
        container_id=container_id,
        spec=spec,
        reader=reader,
        writer=writer,
        wait_task=wait_task,
        memory=memory,
        max_line=max_line,
        on_removed=on_removed,
        calls=calls,
    )
