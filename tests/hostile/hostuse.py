"""What the host process itself spends while an attack runs: CPU time and peak resident memory.

The platform under test runs in this process (its event loop, the storage and
Docker-client threads, the log writer), so this process's figures are the host's.
Workers are not counted: on the process backend they are child processes (their
CPU is in their own rusage and rlimits, not this process's), on Docker they are
containers billed to their own cgroup. The bounds the hostile suite asserts on
these figures are in docs/bounds.md ("What the host spends").
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

#: Host CPU seconds per wall second the hostile suite allows while an attack runs. A host that
#: spun on an attacker (one busy core: 1.0) fails it; serving the neighbours, restarting the
#: attacker's worker and storing its capped logs stay far below it, even on a loaded machine.
MAX_HOST_CPU_SHARE = 0.3

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident size now (``/proc/self/statm``: no psutil needed)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


class HostUse:
    """CPU time and peak resident size of this process over one window (``async with use.watching()``).

    CPU is user + system time of all this process's threads (``time.process_time``);
    ``cpu_share`` divides it by the window's wall time, so 1.0 is one core busy throughout.
    Resident size is sampled every ``sample_seconds`` (the sampling itself costs ~0.1 % CPU).
    """

    def __init__(self, sample_seconds: float = 0.02) -> None:
        self.sample_seconds = sample_seconds
        self.baseline = self.peak = rss_bytes()
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_bytes())
            await asyncio.sleep(self.sample_seconds)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[HostUse]:
        self.baseline = self.peak = rss_bytes()
        cpu0, wall0 = time.process_time(), time.monotonic()
        task = asyncio.create_task(self._sample())
        try:
            yield self
        finally:
            task.cancel()
            self.cpu_seconds = time.process_time() - cpu0
            self.wall_seconds = time.monotonic() - wall0
            self.peak = max(self.peak, rss_bytes())

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def rss_growth(self) -> int:
        return self.peak - self.baseline

    def __str__(self) -> str:
        return (
            f"host CPU {self.cpu_seconds:.2f} s in {self.wall_seconds:.2f} s ({self.cpu_share:.0%} of a core), "
            f"peak RSS +{self.rss_growth / 2**20:.1f} MiB"
        )
