"""The shared warm-pool sizing rule: grow to a burst on misses (up to the ceiling), back to the floor when unused."""

from __future__ import annotations

import pytest

from maidcore.layers.poolsize import PoolSize


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_misses_grows_the_target_to_the_burst_capped_by_the_ceiling():
    clock = Clock()
    size = PoolSize(2, 5, idle_seconds=60, clock=clock)
    size.started(took_spare=True)
    size.started(took_spare=True)
    assert size.target == 2  # starts that find a spare change nothing
    for _ in range(2):
        size.started(took_spare=False)
    assert size.target == 4  # 4 starts in the window, the last two found none
    for _ in range(5):
        size.started(took_spare=False)
    assert size.target == 5 and size.peak == 5  # the ceiling


def test_starts_outside_the_window_do_not_count():
    clock = Clock()
    size = PoolSize(1, 10, idle_seconds=600, window=10, clock=clock)
    for _ in range(3):
        size.started(took_spare=False)
        clock.now += 11  # one start every 11 s is no burst
    assert size.target == 1


def test_unused_spares_shrink_the_target_back_to_the_floor_only_after_the_idle_period():
    clock = Clock()
    size = PoolSize(1, 8, idle_seconds=30, clock=clock)
    for _ in range(4):
        size.started(took_spare=False)
    assert size.target == 4
    clock.now += 29
    assert not size.shrink() and size.target == 4
    size.started(took_spare=True)  # a spare taken: the pool is in use, the idle clock restarts
    clock.now += 29
    assert not size.shrink() and size.target == 4
    clock.now += 1
    assert size.shrink() and size.target == 1 and size.shrunk == 1
    assert size.excess(4) == 3 and size.excess(1) == 0


def test_floor_0_is_no_pool_and_a_ceiling_below_the_floor_is_a_fixed_pool():
    off = PoolSize(0, 8, idle_seconds=1)
    for _ in range(5):
        off.started(took_spare=False)
    assert off.target == 0 and off.ceiling == 0
    fixed = PoolSize(3, 1, idle_seconds=1)
    for _ in range(5):
        fixed.started(took_spare=False)
    assert fixed.target == 3 and fixed.ceiling == 3


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="warm_pool_size must be 0 or more"):
        PoolSize(-1, 4, idle_seconds=1)
    with pytest.raises(ValueError, match="warm_pool_idle_reap_seconds must be above 0"):
        PoolSize(1, 4, idle_seconds=0)
