"""The service's scheduler: jobs due in time order, wakes, supervision, real and virtual time."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from teslalink.service.scheduler import RETRY_MAX_S, RETRY_MIN_S, Scheduler, WorldClock
from teslalink.simulator import World

START = 1_750_000_000.0


def frozen() -> tuple[World, Scheduler]:
    world = World(seed=1, speed=0.0, start=START)
    return world, Scheduler(WorldClock(world))


async def test_jobs_run_in_time_order_at_their_own_intervals() -> None:
    world, scheduler = frozen()
    seen: list[tuple[str, float]] = []

    def every(name: str, interval: float):  # type: ignore[no-untyped-def]
        async def step() -> float:
            seen.append((name, world.now() - START))
            return world.now() + interval

        return step

    scheduler.add("fast", every("fast", 5.0))
    scheduler.add("slow", every("slow", 60.0), due=START + 1.0)
    await scheduler.run_until(START + 61.0)
    assert [t for name, t in seen if name == "slow"] == [1.0, 61.0]
    assert [t for name, t in seen if name == "fast"] == [float(t) for t in range(0, 61, 5)]
    assert [t for _, t in seen] == sorted(t for _, t in seen)
    assert world.now() == START + 61.0


async def test_the_world_stands_still_while_a_step_runs_and_steps_due_together_run_side_by_side() -> None:
    world, scheduler = frozen()
    inside: list[str] = []
    both_in = asyncio.Event()

    def job(name: str):  # type: ignore[no-untyped-def]
        async def step() -> None:
            before = world.now()
            inside.append(name)
            if len(inside) == 2:
                both_in.set()
            await asyncio.wait_for(both_in.wait(), 10)  # each waits for the other: they overlap
            assert world.now() == before

        return step

    scheduler.add("a", job("a"), due=START + 10)
    scheduler.add("b", job("b"), due=START + 10)
    await scheduler.run_until(START + 20)
    assert sorted(inside) == ["a", "b"]
    assert all(j.done for j in scheduler.jobs)


async def test_wake_makes_a_job_due_now_and_never_runs_it_twice_at_once() -> None:
    world, scheduler = frozen()
    runs: list[float] = []
    running = 0
    release = asyncio.Event()

    async def car() -> float:
        nonlocal running
        running += 1
        assert running == 1
        runs.append(world.now() - START)
        if len(runs) == 2:
            scheduler.wake("car")  # a second wake while it runs: once more after, not twice now
            release.set()
        await asyncio.sleep(0)
        running -= 1
        return world.now() + 600.0

    async def unit() -> float:
        if world.now() - START == 30.0:
            scheduler.wake("car")  # the plug-in edge
        return world.now() + 15.0

    scheduler.add("car", car)
    scheduler.add("unit", unit, due=START + 15.0)
    await scheduler.run_until(START + 29.0)
    assert runs == [0.0]
    await scheduler.run_until(START + 31.0)
    assert runs == [0.0, 30.0, 30.0]  # the edge's read, then the wake that came while it ran
    assert release.is_set()
    assert scheduler.job("car").due == START + 630.0


async def test_a_wake_later_than_the_job_is_due_changes_nothing() -> None:
    world, scheduler = frozen()
    runs: list[float] = []

    async def step() -> float:
        runs.append(world.now() - START)
        return world.now() + 10.0

    scheduler.add("job", step)
    await scheduler.run_until(START + 1)
    scheduler.wake("job", at=START + 50)
    scheduler.wake("nobody")  # unknown names are ignored
    await scheduler.run_until(START + 21)
    assert runs == [0.0, 10.0, 20.0]


async def test_a_failing_step_is_retried_with_a_doubling_backoff(caplog: pytest.LogCaptureFixture) -> None:
    world, scheduler = frozen()
    runs: list[float] = []

    async def broken() -> float:
        runs.append(world.now() - START)
        raise RuntimeError("the unit said\nsomething odd")

    caplog.set_level(logging.WARNING, logger="teslalink.service.scheduler")
    scheduler.add("unit", broken)
    await scheduler.run_until(START + 3600)
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert gaps[:4] == [RETRY_MIN_S, 2 * RETRY_MIN_S, 4 * RETRY_MIN_S, 8 * RETRY_MIN_S]
    assert max(gaps) == RETRY_MAX_S
    job = scheduler.job("unit")
    assert job.failures == len(runs)
    assert job.last_error == "the unit said something odd"
    assert "unit failed (the unit said something odd)" in caplog.text


async def test_a_step_that_works_again_resets_its_backoff() -> None:
    world, scheduler = frozen()
    outcomes = iter([False, False, True, True])
    runs: list[float] = []

    async def flaky() -> float:
        runs.append(world.now() - START)
        if not next(outcomes, True):
            raise OSError("connection refused")
        return world.now() + 1.0

    scheduler.add("unit", flaky)
    await scheduler.run_until(START + 17)
    assert runs[:5] == [0.0, 5.0, 15.0, 16.0, 17.0]
    assert scheduler.job("unit").last_error is None
    assert scheduler.job("unit").consecutive_failures == 0


async def test_real_time_runs_until_stopped_and_wake_cuts_a_long_wait() -> None:
    scheduler = Scheduler()
    stop = asyncio.Event()
    runs: list[str] = []

    async def slow() -> float:
        runs.append("slow")
        if runs.count("slow") == 2:
            stop.set()
        return scheduler.clock.now() + 3600.0  # an hour: only a wake brings it back

    async def poke() -> None:
        runs.append("poke")
        scheduler.wake("slow")

    scheduler.add("slow", slow)
    scheduler.add("poke", poke, due=scheduler.clock.now() + 0.05)
    await asyncio.wait_for(scheduler.run(stop), 30)
    assert runs == ["slow", "poke", "slow"]


async def test_run_until_needs_a_world_clock() -> None:
    with pytest.raises(TypeError, match="WorldClock"):
        await Scheduler().run_until(0)


def test_job_names_are_unique() -> None:
    _, scheduler = frozen()

    async def step() -> None:
        return None

    scheduler.add("a", step)
    with pytest.raises(ValueError, match="exists already"):
        scheduler.add("a", step)
