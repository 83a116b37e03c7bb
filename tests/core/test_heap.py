"""``maidcore serve`` freezes what start-up built out of full collections; garbage is collected first."""

from __future__ import annotations

import gc
import weakref

from maidcore.heap import freeze_after_start


class Node:
    """A plain object the collector tracks (it can hold a reference cycle)."""


def test_freeze_collects_garbage_first_and_keeps_live_objects_out_of_full_collections():
    garbage = Node()
    garbage.cycle = garbage  # only a full collection frees a cycle
    gone = weakref.ref(garbage)
    del garbage
    live = [Node() for _ in range(1000)]
    try:
        frozen = freeze_after_start()
        assert gone() is None  # freed before the freeze, not kept for ever
        assert frozen == gc.get_freeze_count() and frozen >= len(live)
        assert not any(obj is live[0] for obj in gc.get_objects())  # no collection walks it any more
    finally:
        gc.unfreeze()
