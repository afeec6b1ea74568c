"""kill -9 of a recording process: the database opens, holds every committed batch and no part of
an uncommitted one, no span is half-written, and a restart continues the open spans under their
keys (one row each, none lost)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import readline_within
from teslalink.service.recorder import open_reader, open_recorder
from teslalink.service.records import Drive
from teslalink.service.settings import StorageSettings

from .conftest import Storage
from .recorder_child import SERIAL, T0, VIN, drive_closed

CHILD = Path(__file__).with_name("recorder_child.py")


def _record_then_kill(backend: str, where: str, lines: int) -> int:
    """Run the child until it has said `lines` times what it committed, let it write on a little,
    SIGKILL it; the last sample it said was committed."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), backend, where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        last = -1
        for _ in range(lines):
            line = readline_within(child.stdout)
            if not line.startswith("committed "):
                child.kill()
                raise AssertionError(f"the child said {line!r}: {child.communicate(timeout=30)[1]}")
            last = int(line.split()[1])
        time.sleep(0.013 * lines)  # the child goes on writing: killed in mid-stream
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    return last


def _end_fields(drive: Drive) -> tuple[object, ...]:
    return (drive.end_ms, drive.end_odometer_km, drive.distance_km, drive.end_battery_level)


@pytest.mark.parametrize("kill_after_lines", [3, 6])
async def test_kill_9_mid_stream_loses_nothing_committed_and_leaves_no_half_span(
    storage: Storage, kill_after_lines: int
) -> None:
    if storage.backend == "sqlite":
        storage.data_dir.mkdir(parents=True)
        where = str(storage.data_dir / "teslalink.db")
        settings = StorageSettings(backend="sqlite", path=Path(where))
    else:
        assert storage.settings.dsn is not None
        where = storage.settings.dsn
        settings = storage.settings
    last = await asyncio.to_thread(_record_then_kill, storage.backend, where, kill_after_lines)

    if storage.backend == "sqlite":
        with sqlite3.connect(where) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    reader = await open_reader(where)
    try:
        samples = await reader.wallconnector_samples(SERIAL)
        drives = await reader.drives()
    finally:
        await reader.close()
    count = len(samples)
    # every committed batch is there, and what is there is a prefix of what was put: no batch in part
    assert count > last
    assert [s.at_ms for s in samples] == [T0 + i * 1000 for i in range(count)]
    assert [s.power_w for s in samples] == [float(i) for i in range(count)]
    # no half-written span: each drive row is a whole version, open (no end) or closed (every end)
    for drive in drives:
        ends = _end_fields(drive)
        assert all(v is None for v in ends) or all(v is not None for v in ends), drive
        assert drive.vin == VIN
    committed_drives = last // 10 + 1
    assert len(drives) >= committed_drives
    assert all(d.end_ms is not None for d in drives[: (last - 5) // 10 + 1])

    # a restart continues the open spans under their keys: one row each, closed, none lost
    recorder = await open_recorder(settings, data_dir=storage.data_dir, clock_ms=lambda: T0)
    try:
        still_open = await recorder.open_spans()
        assert all(isinstance(span, Drive) for span in still_open)
        for span in still_open:
            assert isinstance(span, Drive)
            recorder.put(drive_closed(int(span.key.split("-")[1])))
        await recorder.flush()
        after = await recorder.drives()
    finally:
        await recorder.close()
    assert [d.key for d in after] == [d.key for d in drives]
    assert all(d.end_ms is not None for d in after)
    assert await _open_spans_now(settings, storage.data_dir) == []


async def _open_spans_now(settings: StorageSettings, data_dir: Path) -> list[object]:
    recorder = await open_recorder(settings, data_dir=data_dir, clock_ms=lambda: T0)
    try:
        return list(await recorder.open_spans())
    finally:
        await recorder.close()
