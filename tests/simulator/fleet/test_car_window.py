"""The car's replay window: 32 counters below the highest seen, or strictly increasing for VCSEC."""

from __future__ import annotations

from teslalink.simulator.fleet.car_security import CounterWindow


def test_each_counter_is_accepted_once_within_the_window() -> None:
    window = CounterWindow()
    assert window.accept(40, strictly_increasing=False)
    assert window.accept(8, strictly_increasing=False)  # 32 below the highest: still judged
    assert not window.accept(8, strictly_increasing=False)
    assert not window.accept(7, strictly_increasing=False)  # 33 below: too old to judge
    assert not window.accept(40, strictly_increasing=False)
    assert window.accept(39, strictly_increasing=False)
    assert not window.accept(39, strictly_increasing=False)


def test_a_jump_beyond_the_window_forgets_the_old_counters() -> None:
    window = CounterWindow()
    assert window.accept(1, strictly_increasing=False)
    assert window.accept(100, strictly_increasing=False)
    assert window.seen == 0
    assert window.accept(99, strictly_increasing=False)
    assert not window.accept(1, strictly_increasing=False)


def test_strictly_increasing_refuses_any_older_counter() -> None:
    window = CounterWindow()
    assert window.accept(5, strictly_increasing=True)
    assert not window.accept(4, strictly_increasing=True)
    assert not window.accept(5, strictly_increasing=True)
    assert window.accept(6, strictly_increasing=True)
