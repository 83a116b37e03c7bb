"""Progress of long work (image builds, requirement installs) with an estimate from earlier runs.

Each kind of work is timed under a key in a small JSON file (``<data_dir>/durations.json``
for requirement installs, the image cache directory for builds); the next run
reports how long it should take and, while it runs, how long is left. Without
history, steps of known count (``Step 3/10``) are extrapolated; otherwise the
report says there is no estimate yet, never a made-up number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

log = logging.getLogger("maidcore.progress")

Report = Callable[[str], None]

#: Runs remembered per key; the estimate is their mean, so one slow run does not stick.
KEPT_RUNS = 5
#: Where requirement installs are timed, relative to the data directory.
DURATIONS_FILE = "durations.json"


def requirements_key(requirements: list[str]) -> str:
    """One key per set of requirement lines (the same set installs in about the same time)."""
    import hashlib

    return "requirements " + hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]


def requirements_progress(data_dir: Path, requirements: list[str], what: str) -> contextlib.AbstractAsyncContextManager:
    """``reported(...)`` for installing ``requirements`` (``what`` names whose)."""
    return reported(
        f"installing {len(requirements)} requirement(s) of {what}",
        requirements_key(requirements),
        Durations(Path(data_dir) / DURATIONS_FILE),
    )


def seconds(value: float) -> str:
    """``75.2`` -> ``1m15s``; ``8.4`` -> ``8s``."""
    value = max(0, round(value))
    return f"{value // 60}m{value % 60:02d}s" if value >= 60 else f"{value}s"


class Durations:
    """How long each kind of work took on this machine (the last ``KEPT_RUNS`` runs per key)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, list[float]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: [float(x) for x in v] for k, v in data.items() if isinstance(v, list)}

    def expected(self, key: str) -> float | None:
        runs = self._load().get(key)
        return sum(runs) / len(runs) if runs else None

    def record(self, key: str, took: float) -> None:
        data = self._load()
        data[key] = [*data.get(key, []), round(took, 2)][-KEPT_RUNS:]
        with contextlib.suppress(OSError):  # an estimate is a nicety: never fail the work for it
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.path)


class Progress:
    """One run of timed work: ``started()``, ``step(i, n)``, ``left()`` texts, and ``done()`` to record it."""

    def __init__(self, what: str, key: str, durations: Durations) -> None:
        self.what = what
        self.key = key
        self.durations = durations
        self.expected = durations.expected(key)
        self.begun = time.monotonic()
        self._step: tuple[int, int] | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.begun

    def started(self) -> str:
        if self.expected is None:
            return f"{self.what}: first run here, no estimate yet"
        return f"{self.what}: about {seconds(self.expected)} (as the last runs here)"

    def step(self, index: int, count: int) -> None:
        self._step = (index, count)

    def left(self) -> str:
        """``about 40s left`` from history, else from steps done so far; empty when nothing is known."""
        elapsed = self.elapsed()
        if self.expected is not None:
            remaining = self.expected - elapsed
            return f"about {seconds(remaining)} left" if remaining > 0 else "taking longer than the last runs"
        if self._step is not None and self._step[0] > 1:
            done, count = self._step[0] - 1, self._step[1]
            return f"about {seconds(elapsed / done * (count - done))} left (from the steps so far)"
        return ""

    def done(self) -> str:
        took = self.elapsed()
        self.durations.record(self.key, took)
        return f"{self.what}: done in {seconds(took)}"


@contextlib.asynccontextmanager
async def reported(
    what: str, key: str, durations: Durations, report: Report | None = None, *, every: float = 10.0
) -> AsyncIterator[Progress]:
    """Time async work, reporting its start, every ``every`` seconds while it runs, and its end.

    ``report`` defaults to an INFO line on the ``maidcore.progress`` logger. A failed run is not recorded.
    """
    say = report or (lambda text: log.info(text))
    progress = Progress(what, key, durations)
    say(progress.started())

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            left = progress.left()
            say(f"{what}: {seconds(progress.elapsed())} so far" + (f", {left}" if left else ""))

    task = asyncio.get_running_loop().create_task(beat())
    try:
        yield progress
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    say(progress.done())
