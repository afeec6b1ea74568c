"""Tesla's Fleet API: regional hosts, the client (`api.FleetApi`), the budget ledger and signing glue.

Lean on purpose: importing this package loads nothing; import the module you need
(`teslalink.cloud.fleet.hosts`, `.api`, `.ledger`). Modules that need the `fleet` extra
(cryptography, protobuf) load it lazily or live under `teslalink.cloud.vcp`.
"""
