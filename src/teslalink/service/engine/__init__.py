"""The service's engine: readings (the `Sink` calls of service.watch) in, `Event`s and `Record`s out.

`Engine` (core.py) is the one object the runner holds; the parts behind it each have one job:
cars.py (a car's spans, plug, charging, drives, updates), units.py (a Wall Connector's edges,
sessions, samples, alerts, outages, lifetime jumps), sites.py (site samples), plugs.py (plugged
in / unplugged / not charging, told once), sessions.py (charging sessions and the join of the car's
and the unit's view), drives.py (drives and thinned positions), tracks.py (what is remembered),
persist.py (that as JSON), figures.py (units and estimates). docs/service.md, "Events and
records", describes what each event and record means.
"""

from .core import STATE_KIND, Engine

__all__ = ["STATE_KIND", "Engine"]
