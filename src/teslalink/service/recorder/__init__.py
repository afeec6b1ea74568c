"""The recorder of `teslalink serve`: every record the engine makes, kept in SQLite or PostgreSQL.

    recorder = await open_recorder(settings.storage, data_dir=settings.data_dir, clock_ms=now_ms)
    recorder.put(record)            # never blocks, never raises; committed in batches
    await recorder.open_spans()     # what the engine continues after a restart
    await recorder.charges(since_ms=..., car="Sleeper")
    await recorder.close()          # commits what waits

The parts, one job each: `tables` (the records as columns), `codec` (how one value is stored),
`migrations` (the schema, numbered, per database), `backend` (what a database must do),
`sqlite` and `postgres` (the two databases), `pending` (the bounded queue), `recorder` (batches,
retries, status), `reader` (the history queries; `open_reader` for the CLI), `downsample`
(thinning old samples). docs/service.md, "The recorder", describes the tables and the rules.
"""

from __future__ import annotations

from .downsample import BUCKET_MS
from .reader import Reader, open_reader
from .recorder import Recorder, open_recorder

__all__ = ["BUCKET_MS", "Reader", "Recorder", "open_reader", "open_recorder"]
