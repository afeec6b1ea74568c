"""`teslalink serve`: the long-running home service that watches, records and notifies.

The parts, each with one job:

* `events` and `records`: the two contracts between the parts. The engine turns readings into
  `Event`s (what happened, for people) and records (what to keep, for the recorder);
* `config`: the TOML file the service runs from, checked with line numbers;
* `engine`: rules in the service's clock, no sockets: readings of cars, Wall Connectors and
  energy sites in, events and records out (sessions joined, drives closed, grace timers);
* `recorder`: SQLite by default, PostgreSQL for scale, the same schema and migrations;
* `notify`: webhook, ntfy and apprise targets, cooldowns, retries that never block the service.

Nothing here is imported by `import teslalink`; the CLI imports it on first use.
"""
