"""The garbage collector on a long-running node: what start-up built is frozen out of full collections.

A node with many guilds holds hundreds of thousands of objects for its whole
life (the guild cache, installs, command sets). CPython's full (generation 2)
collection walks every tracked object, so each one stops the event loop for
hundreds of milliseconds. ``gc.freeze()`` moves everything alive after
start-up to a permanent generation no collection walks; only what the node
allocates later is collected as before. Run once, after start-up, in a process
that will exit when the node stops (it is never undone there).

The youngest generation is then collected every ``YOUNG_THRESHOLD`` net
allocations instead of CPython's 700: serving one event allocates hundreds of
short-lived objects (gateway models, payload dicts, tasks, futures), so at 700
the collector ran every few events and every object in flight at that moment
(and every list the memory rate limiter had just rebuilt) was walked and promoted,
then walked again by the next generation. In `benchmarks/serve_scaling.py` that was
about 5% of the serving process's CPU. Objects still die by reference counting
as before; only reference cycles wait a little longer.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000


def freeze_after_start() -> int:
    """Collect what start-up left behind, then freeze the rest; returns how many objects were frozen."""
    started = time.perf_counter()
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, gc.get_threshold()[0]), older, oldest)
    frozen = gc.get_freeze_count()
    log.info(
        "start-up heap frozen out of garbage collection",
        extra={"objects": frozen, "ms": round((time.perf_counter() - started) * 1000)},
    )
    return frozen
