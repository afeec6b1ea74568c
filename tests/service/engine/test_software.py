"""A software update: told once when it is available; installing is an `updating` span."""

from __future__ import annotations

from teslalink.service.events import EventKind
from teslalink.service.records import CarState, StateSpan

from .harness import twin


async def test_an_available_update_is_told_once_and_its_install_is_an_updating_span() -> None:
    async with twin() as t:
        t.car.offer_update("2026.44.1 fedcba", download_s=0)
        await t.start()
        await t.run(100)
        (update,) = t.events(EventKind.SOFTWARE_UPDATE)
        assert update.figures["version"] == "2026.44.1 fedcba"
        assert update.figures["status"] == "available"
        assert update.figures["current_version"] == t.car.car_version
        assert t.car.command("schedule_software_update", {"offset_sec": 0}) == (True, "")
        await t.run(300)
        assert t.car.is_updating
        states = [s.state for s in t.latest(StateSpan).values()]
        assert states[-1] is CarState.UPDATING
        assert len(t.events(EventKind.SOFTWARE_UPDATE)) == 1  # scheduled, then installing: no news
