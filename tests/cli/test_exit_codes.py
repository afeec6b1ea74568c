"""Exit codes a script can trust: "already so" is a success, a refusal is 1 on every path, and
the words on the way are the user's (no Ruby hash, no internal parameter names, no advice to run
the command that just failed)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner, Result

from teslalink.cli.main import cli
from teslalink.simulator import ThreadedTwin

DEMO1 = "demo1@teslalink.test"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def charge_state() -> dict[str, Any]:
    state: dict[str, Any] = json.loads(ok("vehicle", "data", "--json", "--endpoints", "charge_state"))
    return state["charge_state"]


# --- already so: exit 0, and a line that says so --------------------------------------------------


def test_a_charge_limit_already_set_is_a_success_that_says_so(demo_logged_in: ThreadedTwin) -> None:
    limit = charge_state()["charge_limit_soc"]
    assert ok("charge", "limit", str(limit)).strip().endswith(f"charge limit already {limit}%.")
    answer = json.loads(ok("charge", "limit", str(limit), "--json"))
    assert (answer["result"], answer["already"], answer["reason"]) == (True, True, "already_set")
    assert json.loads(ok("charge", "limit", "85", "--json"))["already"] is False
    assert charge_state()["charge_limit_soc"] == 85


def test_start_stop_when_already_so(demo_logged_in: ThreadedTwin) -> None:
    assert "already charging" in ok("charge", "start")  # the first car charges
    assert "charge stop done" in ok("charge", "stop")
    assert "not charging, nothing to stop" in ok("charge", "stop")
    answer = json.loads(ok("charge", "stop", "--json"))
    assert (answer["already"], answer["reason"]) == (True, "not_charging")


def test_speed_limit_mode_already_active_or_inactive(demo_logged_in: ThreadedTwin) -> None:
    assert "already inactive" in ok("speed-limit", "deactivate", "1234")
    assert "activate done" in ok("speed-limit", "activate", "1234")
    assert "Speed Limit Mode already active" in ok("speed-limit", "activate", "1234")
    assert "incorrect_pin" in one_line_error(invoke("speed-limit", "deactivate", "4321"))


def test_command_and_api_agree(demo_logged_in: ThreadedTwin) -> None:
    limit = str(charge_state()["charge_limit_soc"])
    assert "already so (the car says already_set)" in ok("command", "CHANGE_CHARGE_LIMIT", f"percent={limit}")
    again = invoke("api", "CHANGE_CHARGE_LIMIT", f"percent={limit}")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"result": False, "reason": "already_set"}
    for via in ("command", "api"):
        refused = invoke(via, "CHANGE_CHARGE_LIMIT", "percent=150")
        assert (
            one_line_error(refused) == "Error: CHANGE_CHARGE_LIMIT: refused by the car: invalid_value"
            " (a value is missing, malformed or out of range)"
        )
    printed = invoke("api", "CHANGE_CHARGE_LIMIT", "percent=150")
    assert json.loads(printed.stdout) == {"result": False, "reason": "invalid_value"}  # still printed


# --- words ----------------------------------------------------------------------------------------


def test_a_sleeping_car_in_words(demo_logged_in: ThreadedTwin) -> None:
    sleeper = demo_logged_in.accounts[0].vehicles[1]
    for args in (("vehicle", "data"), ("charge", "limit", "80"), ("api", "VEHICLE_DATA")):
        line = one_line_error(invoke(*args, "--vehicle", sleeper.vin))
        assert "{:error" not in line, line
        assert "HTTP 408" not in line, line
        assert line.startswith(f"Error: {sleeper.display_name} is asleep or offline;"), line
        assert f"`teslalink wake --vehicle {sleeper.vin}` wakes it" in line


def test_a_wake_that_gives_up_does_not_advise_a_wake(demo_logged_in: ThreadedTwin) -> None:
    sleeper = demo_logged_in.accounts[0].vehicles[1]  # the world stands still: it never wakes
    result = invoke("wake", "--vehicle", sleeper.vin, "--timeout", "1", "--interval", "0.05")
    assert result.exit_code == 1, result.output
    *progress, line = result.stderr.strip().splitlines()
    assert all(p.startswith("waking: asleep after ") for p in progress)
    assert "teslalink wake" not in line
    assert line == (
        f"Error: {sleeper.display_name} is still asleep after 1 s; a car can take a minute to wake, "
        "longer with a weak signal: try a longer --timeout"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("speed-limit", "set", "30"), "Error: the speed limit must be 50-90 mph, got 30"),
        (("speed-limit", "activate", "12"), "Error: the PIN must be 4 digits"),
        (("charge", "limit", "150"), "Error: the charge limit must be 50-100 %, got 150"),
        (("charge", "amps", "100"), "Error: the charging current must be 0-48 A, got 100"),
        (("climate", "temp", "90F"), "Error: a cabin temperature is 59-82 °F, got 90F"),
        (("climate", "temp", "22C", "10C"), "Error: a cabin temperature is 15-28 °C, got 10C"),
    ],
)
def test_bad_values_in_the_users_words(
    demo_logged_in: ThreadedTwin, args: tuple[str, ...], expected: str
) -> None:
    assert one_line_error(invoke(*args)) == expected


def test_climate_temp_in_the_unit_given(demo_logged_in: ThreadedTwin) -> None:
    assert "climate temp 72F/21.5C done" in ok("climate", "temp", "72F", "21.5C")
    climate = json.loads(ok("vehicle", "data", "--json", "--endpoints", "climate_state"))["climate_state"]
    assert (climate["driver_temp_setting"], climate["passenger_temp_setting"]) == (22.2, 21.5)
    assert "climate temp 20C done" in ok("climate", "temp", "20 °C")


def test_vehicle_data_table_reads_right(demo_logged_in: ThreadedTwin) -> None:
    table = ok("vehicle", "data")
    assert "True" not in table
    assert "False" not in table
    assert "│ locked           │ yes" in table or "│ locked           │ no" in table
    charge_only = ok("vehicle", "data", "--endpoints", "charge_state")
    assert "battery %" in charge_only
    assert re.search(r"charge current A │ \d+ \(max \d+\)", charge_only), charge_only
    for other in ("inside", "climate on", "locked", "odometer", "software"):
        assert other not in charge_only
    climate = json.loads(ok("vehicle", "data", "--json", "--endpoints", "climate_state"))
    assert sorted(k for k in climate if k.endswith(("_state", "_settings"))) == ["climate_state"]


def test_api_list_with_a_filter(demo_logged_in: ThreadedTwin) -> None:
    listed = ok("api", "--list", "charge_limit").splitlines()
    assert listed == ["CHANGE_CHARGE_LIMIT  POST   command  needs the car online"]
    everything = json.loads(ok("api", "--list", "--json"))
    assert {"name": "PRODUCT_LIST", "method": "GET", "kind": "read", "online": False} in everything
    assert len(everything) > 100
    assert "no endpoint name contains 'zzz'" in one_line_error(invoke("api", "--list", "zzz"))
    assert "--list" in one_line_error(invoke("api"))


def test_a_refusal_names_the_cars_word_and_what_it_means(demo_logged_in: ThreadedTwin) -> None:
    line = one_line_error(invoke("command", "CHARGE_PORT_DOOR_CLOSE"))  # the first car is plugged in
    assert (
        line == "Error: CHARGE_PORT_DOOR_CLOSE: refused by the car: cable_connected"
        " (a charging cable is plugged in)"
    )
    assert one_line_error(invoke("api", "CHARGE_PORT_DOOR_CLOSE")) == line
