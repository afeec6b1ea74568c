"""The pairing helpers: the tesla.com/_ak link, and a wait that backs off and ends."""

from __future__ import annotations

from teslalink.cloud.fleet.pairing import PAIRING_URL, pairing_link, wait_until_paired


def test_the_link_is_teslas_ak_page_with_the_vin() -> None:
    assert PAIRING_URL == "https://tesla.com/_ak/"
    assert pairing_link("App.Example.com", "5YJ3E1EA1RF000001") == (
        "https://tesla.com/_ak/app.example.com?vin=5YJ3E1EA1RF000001"
    )
    assert pairing_link("app.example.com") == "https://tesla.com/_ak/app.example.com"
    assert (
        pairing_link("d.example", "V", base="http://127.0.0.1:9/_ak")
        == "http://127.0.0.1:9/_ak/d.example?vin=V"
    )


class FakeTime:
    """A clock that moves only when the wait sleeps: the pauses it asked for, without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


async def test_the_wait_backs_off_and_stops_at_the_deadline() -> None:
    time = FakeTime()
    checks: list[float] = []

    async def never() -> bool:
        checks.append(time.now)
        return False

    paired = await wait_until_paired(never, timeout_s=60, sleep=time.sleep, clock=time.clock)
    assert paired is False
    assert time.pauses == [1, 2, 4, 8, 15, 15, 15]  # 60 s in all, the last pause cut to the deadline
    assert len(checks) == 8
    assert checks[-1] == 60


async def test_the_wait_ends_when_paired_and_checks_once_with_no_time() -> None:
    time = FakeTime()
    answers = iter([False, False, True])

    async def third_time() -> bool:
        return next(answers)

    assert await wait_until_paired(third_time, timeout_s=600, sleep=time.sleep, clock=time.clock)
    assert time.pauses == [1, 2]
    time = FakeTime()
    calls: list[int] = []

    async def once() -> bool:
        calls.append(1)
        return False

    assert not await wait_until_paired(once, timeout_s=0, sleep=time.sleep, clock=time.clock)
    assert calls == [1]
    assert time.pauses == []
