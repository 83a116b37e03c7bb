"""How many warm spares a sandbox backend keeps: a floor, grown with demand up to a ceiling, back when unused.

A fixed pool of ``floor`` spares serves plugins waking one at a time, but a burst of K
starts empties it after ``floor`` of them and the rest start cold (``process_wake.py``:
a burst of 10 on a pool of 2 was 0.88–0.94× the cold start). So the target follows
demand with one rule each way:

- **grow**: when a start finds no spare (a *miss*), the target becomes the number of
  starts seen in the last ``window`` seconds, hits and misses alike (that many were
  wanted at about the same time), never less than it was and never more than
  ``ceiling``. A burst of K starts grows the pool to min(K, ceiling) spares, so the
  next burst of K is served from spares. Starts that find a spare change nothing.
- **shrink**: when no start took a spare for ``idle_seconds`` after the target last
  grew or was used, the target falls back to ``floor`` and the backend stops the
  spares above it (``excess``): memory held for a burst that does not come back is
  returned.

The backend starts the missing spares through the spare line of its ``SpawnQueue``, so
a grown pool still never takes a slot a first start waits for; ``ceiling`` bounds the
memory the pool can hold (see each backend's docs for what one spare costs).
``floor`` 0 means no pool at all (no spares, no growth), as ``warm_pool_size`` 0 always
meant. Any backend can use it: the process and Docker backends both do.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

BURST_WINDOW_SECONDS = 10.0  # starts this close together count as one burst when a miss grows the pool


class PoolSize:
    """The number of spares a pool aims for; ``started()`` on each start, ``shrink()`` now and then."""

    def __init__(
        self,
        floor: int,
        ceiling: int,
        idle_seconds: float,
        *,
        window: float = BURST_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if floor < 0:
            raise ValueError(f"warm_pool_size must be 0 or more, not {floor}")
        if idle_seconds <= 0:
            raise ValueError(f"warm_pool_idle_reap_seconds must be above 0, not {idle_seconds}")
        self.floor = floor
        self.ceiling = max(floor, ceiling) if floor > 0 else 0  # a ceiling below the floor: a fixed pool
        self.idle_seconds = idle_seconds
        self.window = window
        self._clock = clock
        self.target = floor
        self._starts: collections.deque[float] = collections.deque()  # start times within the window
        self._used_at = clock()  # last growth or spare taken: the idle clock for shrinking
        self.peak = floor  # the largest target ever (statistics)
        self.grown = 0  # times a miss raised the target (statistics)
        self.shrunk = 0  # times idleness brought it back to the floor (statistics)

    def started(self, took_spare: bool) -> None:
        """Count one start; a start that found no spare grows the target to the recent starts (up to the ceiling)."""
        if self.ceiling <= 0:
            return
        now = self._clock()
        self._starts.append(now)
        while self._starts and now - self._starts[0] > self.window:
            self._starts.popleft()
        if took_spare:
            self._used_at = now
            return
        wanted = min(self.ceiling, len(self._starts))
        if wanted > self.target:
            self.target = wanted
            self.peak = max(self.peak, wanted)
            self.grown += 1
            self._used_at = now

    def shrink(self) -> bool:
        """Back to the floor if no spare was taken for ``idle_seconds``; True when the target just fell."""
        if self.target <= self.floor or self._clock() - self._used_at < self.idle_seconds:
            return False
        self.target = self.floor
        self.shrunk += 1
        return True

    def excess(self, held: int) -> int:
        """How many of ``held`` spares are above the target (to stop)."""
        return max(0, held - self.target)

    @property
    def check_interval(self) -> float:
        """How often a backend should call ``shrink``: a quarter of the idle period, between 50 ms and 30 s."""
        return max(0.05, min(self.idle_seconds / 4, 30.0))
