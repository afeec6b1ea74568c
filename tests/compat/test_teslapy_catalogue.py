"""Our endpoint catalogue against TeslaPy 2.9.2's: a TeslaPy user's `api(NAME)` works with ours.

Only TeslaPy's data file is read (names, methods, paths are facts about Tesla's API); none of its
code runs here.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from teslalink.cloud.endpoints import catalogue

OWNER_API = ("api/1/vehicles", "api/1/energy_sites", "api/1/products", "api/1/powerwalls")
OUR_PLACEHOLDERS = {"vehicle_id", "site_id"}


def teslapy_endpoints() -> dict[str, dict[str, str]]:
    text = resources.files("teslapy").joinpath("endpoints.json").read_text()
    return {
        name: entry for name, entry in json.loads(text).items() if entry.get("URI", "").startswith(OWNER_API)
    }


def test_every_teslapy_owner_api_endpoint_is_ours_under_the_same_name() -> None:
    theirs = teslapy_endpoints()
    ours = catalogue()
    left_out = []
    for name, entry in theirs.items():
        path = entry["URI"].replace("{id}", "{vehicle_id}")  # one entry names the car's id {id}
        if entry["TYPE"] not in ("GET", "POST") or set(re.findall(r"\{(\w+)\}", path)) - OUR_PLACEHOLDERS:
            left_out.append(name)
            continue
        assert name in ours, name
        assert (ours[name].method, ours[name].path) == (entry["TYPE"], path), name
    assert len(theirs) == 120
    assert sorted(left_out) == [  # sharing: a third id, PATCH or DELETE
        "REMOVE_ENERGY_SITE_SHARE_USER",
        "REMOVE_VEHICLE_SHARE_DRIVER",
        "REVOKE_ENERGY_SITE_SHARE_INVITE",
        "REVOKE_VEHICLE_SHARE_INVITE",
        "SET_VEHICLE_SHARED_DRIVER_LOCATION_ACCESS",
    ]


def test_every_vehicle_command_needs_the_car_online_and_is_never_retried() -> None:
    for found in catalogue().values():
        if "/command/" in found.path:
            assert found.online, found.name
            assert not found.idempotent, found.name
