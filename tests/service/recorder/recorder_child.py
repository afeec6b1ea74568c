"""A process that records until it is killed: the other half of test_recorder_kill.py.

    python recorder_child.py sqlite /path/teslalink.db
    python recorder_child.py postgres postgresql://...

It puts Wall Connector samples one second apart (sample i at T0 + i s) and, every 10 samples, a
drive: written open with its start figures, then 5 samples later closed with its end figures.
The writer commits on its own (every 10 ms or 50 rows); every 200 samples the child also
flushes and prints `committed I`: every record up to sample I is in the database.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from teslalink.service.recorder import open_recorder
from teslalink.service.records import Drive, WallConnectorSample
from teslalink.service.settings import StorageSettings

T0 = 1_796_000_000_000
SERIAL = "PGT-KILL-1"
VIN = "5YJ3E1EA7KF999001"


def drive_open(j: int) -> Drive:
    return Drive(f"drive-{j}", VIN, T0 + j * 10_000, start_odometer_km=1000.0 + j, start_battery_level=80.0)


def drive_closed(j: int) -> Drive:
    return Drive(
        f"drive-{j}",
        VIN,
        T0 + j * 10_000,
        T0 + j * 10_000 + 5_000,
        start_odometer_km=1000.0 + j,
        end_odometer_km=1000.5 + j,
        distance_km=0.5,
        start_battery_level=80.0,
        end_battery_level=79.0,
    )


async def main(kind: str, where: str) -> None:
    if kind == "sqlite":
        settings = StorageSettings(backend="sqlite", path=Path(where), batch_s=0.01)
    else:
        settings = StorageSettings(backend="postgres", dsn=where, batch_s=0.01)
    recorder = await open_recorder(
        settings, data_dir=Path(where).parent, clock_ms=lambda: T0, batch_records=50
    )
    i = 0
    while True:
        if i % 10 == 0:
            recorder.put(drive_open(i // 10))
        if i % 10 == 5:
            recorder.put(drive_closed(i // 10))
        recorder.put(WallConnectorSample(SERIAL, T0 + i * 1000, power_w=float(i), session_energy_wh=float(i)))
        if i % 200 == 199:
            await recorder.flush()
            sys.stdout.write(f"committed {i}\n")
            sys.stdout.flush()
        elif i % 10 == 9:
            await asyncio.sleep(0.001)  # let the writer take its batches as the service's would
        i += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
