"""Progress of long work: estimates from earlier runs, or from the steps done so far, never made up."""

from __future__ import annotations

import asyncio

import pytest

from maidcore.progress import Durations, Progress, reported, seconds


def test_seconds_read_like_a_person_writes_them():
    assert [seconds(v) for v in (0.4, 8.4, 59.6, 75.2, 3600)] == ["0s", "8s", "1m00s", "1m15s", "60m00s"]


def test_without_history_the_estimate_comes_from_steps_and_then_from_the_recorded_runs(tmp_path, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("maidcore.progress.time.monotonic", lambda: clock[0])
    durations = Durations(tmp_path / "durations.json")
    first = Progress("building x", "image", durations)
    assert first.started() == "building x: first run here, no estimate yet"
    first.step(1, 5)
    assert first.left() == ""  # nothing done yet: no number
    clock[0] += 30
    first.step(4, 5)  # three steps in 30 s, two to go
    assert first.left() == "about 20s left (from the steps so far)"
    clock[0] += 20
    assert first.done() == "building x: done in 50s"

    second = Progress("building x", "image", durations)
    assert second.started() == "building x: about 50s (as the last runs here)"
    clock[0] += 45
    assert second.left() == "about 5s left"
    clock[0] += 10
    assert second.left() == "taking longer than the last runs"


async def test_reported_beats_while_the_work_runs_and_records_only_success(tmp_path):
    durations = Durations(tmp_path / "d.json")
    lines: list[str] = []
    async with reported("installing 2 requirement(s) of p 1.0", "k", durations, lines.append, every=0.05):
        await asyncio.sleep(0.18)
    assert lines[0] == "installing 2 requirement(s) of p 1.0: first run here, no estimate yet"
    assert any(line.startswith("installing 2 requirement(s) of p 1.0: 0s so far") for line in lines[1:-1])
    assert lines[-1].startswith("installing 2 requirement(s) of p 1.0: done in")
    assert durations.expected("k") is not None

    failed: list[str] = []
    with pytest.raises(RuntimeError):
        async with reported("broken", "other", durations, failed.append, every=10):
            raise RuntimeError("pip failed")
    assert durations.expected("other") is None and not any("done in" in line for line in failed)


def test_docker_build_steps_show_the_time_left(tmp_path, monkeypatch):
    from maidcore_docker import image

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shown: list[str] = []
    stream = [{"stream": f"Step {i}/3 : RUN thing {i}\n"} for i in (1, 2, 3)] + [{"stream": "Successfully built\n"}]
    image._follow_build(iter(stream), "t:1", shown.append, image._timer("runtime image", "building t:1"))
    assert shown[0] == "  building t:1: first run here, no estimate yet"
    assert shown[1] == "  Step 1/3 : RUN thing 1"
    assert shown[2].startswith("  Step 2/3 : RUN thing 2  [about ") and shown[2].endswith(
        "left (from the steps so far)]"
    )
    assert shown[-1].startswith("  building t:1: done in")
    again: list[str] = []
    image._follow_build(iter(stream), "t:1", again.append, image._timer("runtime image", "building t:1"))
    assert again[0].startswith("  building t:1: about ") and again[1].startswith(
        "  Step 1/3 : RUN thing 1  ["
    )  # history: from step 1
