"""What the recorder keeps, on SQLite and on PostgreSQL: every record back as it was put, one row
per key however often it is written, and a session that spans a restart kept whole."""

from __future__ import annotations

import dataclasses

from teslalink.service.events import DeviceKind, DeviceRef, Event, EventKind
from teslalink.service.recorder.tables import TABLES
from teslalink.service.records import (
    CarState,
    ChargeSource,
    ChargingSession,
    Drive,
    Position,
    StateSpan,
    WallConnectorSample,
)

from .conftest import Storage
from .helpers import SERIAL, T0, VIN, VIN2, Clock, one_of_each, opened, read_back


async def test_every_record_type_comes_back_as_it_was_put(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    records = one_of_each()
    for record in records:
        recorder.put(record)
    await recorder.flush()
    assert await read_back(recorder) == records
    assert {type(r) for r in records} == {table.record for table in TABLES}  # truly one of each
    assert recorder.status.counters["records_committed"] == len(records)
    await recorder.close()


async def test_records_come_back_after_the_database_is_closed_and_opened_again(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    for record in one_of_each():
        recorder.put(record)
    await recorder.close()  # close commits what waits
    again = await opened(storage.settings, storage.data_dir, Clock())
    assert await read_back(again) == one_of_each()
    await again.close()


async def test_a_span_written_open_then_grown_then_closed_is_one_row(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    opening = Drive("drive-7", VIN, T0, start_odometer_km=100.0, start_battery_level=80.0)
    recorder.put(opening)
    await recorder.flush()
    assert await recorder.drives() == [opening]
    grown = dataclasses.replace(opening, distance_km=3.0)
    recorder.put(grown)
    await recorder.flush()
    closed = dataclasses.replace(grown, end_ms=T0 + 600_000, end_odometer_km=112.0, distance_km=12.0)
    recorder.put(closed)
    await recorder.flush()
    assert await recorder.drives() == [closed]
    assert await recorder.open_spans() == []
    await recorder.close()


async def test_an_old_open_version_replayed_never_reopens_a_closed_span(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    opening = StateSpan("state-9", VIN, CarState.CHARGING, T0)
    closed = dataclasses.replace(opening, end_ms=T0 + 3_600_000)
    recorder.put(opening)
    recorder.put(closed)
    await recorder.flush()
    recorder.put(opening)  # e.g. an engine state file older than the database, after a crash
    await recorder.flush()
    assert await recorder.states() == [closed]
    await recorder.close()


async def test_replayed_samples_and_events_are_one_row_each(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    sample = WallConnectorSample(SERIAL, T0, vehicle_connected=True, power_w=7_000.0)
    event = Event(EventKind.PLUGGED_IN, T0, DeviceRef(DeviceKind.CAR, VIN, "Sleeper"), "Sleeper plugged in")
    recorder.put(sample)
    recorder.put(event)
    await recorder.flush()
    for _ in range(3):  # the same records again, in later batches and twice in one batch
        recorder.put(sample)
        recorder.put(event)
        recorder.put(sample)
        await recorder.flush()
    assert await recorder.wallconnector_samples(SERIAL) == [sample]
    assert await recorder.events() == [event]
    await recorder.close()


async def test_a_session_open_across_a_restart_is_continued_not_duplicated(storage: Storage) -> None:
    clock = Clock()
    first = await opened(storage.settings, storage.data_dir, clock)
    session = ChargingSession(
        "charge-9", ChargeSource.WALL_CONNECTOR, T0, serial=SERIAL, energy_grid_wh=1_000.0
    )
    first.put(session)
    await first.close()  # the service stops while the car charges

    clock.now_ms += 600_000
    second = await opened(storage.settings, storage.data_dir, clock)
    assert await second.open_spans() == [session]  # what the engine continues
    ended = dataclasses.replace(
        session,
        source=ChargeSource.BOTH,
        vin=VIN,
        end_ms=T0 + 7_200_000,
        energy_grid_wh=22_000.0,
        energy_added_wh=20_000.0,
    )
    second.put(ended)
    await second.flush()
    assert await second.charges() == [ended]
    assert (await second.charges())[0].losses_wh == 2_000.0
    assert await second.open_spans() == []
    await second.close()


async def test_history_queries_filter_by_time_and_car(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    from teslalink.service.records import CarInfo

    recorder.put(CarInfo(VIN, "a@teslalink.test", name="Sleeper"))
    recorder.put(CarInfo(VIN2, "a@teslalink.test", name="Runner"))
    early = Drive("d-early", VIN, T0, T0 + 600_000, distance_km=5.0)
    late = Drive("d-late", VIN2, T0 + 86_400_000, T0 + 86_400_000 + 600_000, distance_km=9.0)
    going = Drive("d-going", VIN, T0 + 86_000_000)  # open: still going after any since
    for drive in (early, late, going):
        recorder.put(drive)
    await recorder.flush()
    assert await recorder.drives() == [early, going, late]
    assert await recorder.drives(since_ms=T0 + 3_600_000) == [going, late]
    assert await recorder.drives(car="runner") == [late]  # a name, in any case
    assert await recorder.drives(car=VIN.lower()) == [early, going]  # a VIN, in any case
    assert await recorder.drives(car="nobody") == []
    assert await recorder.find_cars("Sleeper") != []
    names = await recorder.device_names()
    assert names[(DeviceKind.CAR, VIN2)] == "Runner"
    await recorder.close()


async def test_positions_keep_their_drive_whichever_comes_first(storage: Storage) -> None:
    """A position may name its drive before the drive itself is written (the key is interned on
    its own): it still comes back with its drive."""
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    position = Position(VIN, T0 + 1000, 51.5007292, -0.1246254, drive_key="drive-late")
    recorder.put(position)
    await recorder.flush()
    recorder.put(Drive("drive-late", VIN, T0))
    await recorder.flush()
    assert await recorder.positions(VIN) == [position]
    assert await recorder.positions(VIN, since_ms=T0 + 1001) == []
    await recorder.close()


async def test_every_table_has_the_columns_the_code_describes(storage: Storage) -> None:
    """The migrations' DDL and tables.py agree, column for column, in each database."""
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    backend = recorder._backend
    for table in TABLES:
        if storage.backend == "sqlite":
            rows = await backend.fetch(f"SELECT name FROM pragma_table_info('{table.name}') ORDER BY cid")
        else:
            rows = await backend.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                (table.name,),
            )
        assert tuple(name for (name,) in rows) == table.column_names, table.name
    await recorder.close()
