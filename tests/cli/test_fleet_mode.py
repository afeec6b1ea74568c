"""The car and energy commands over the Fleet API: the same output and exit codes as over the
Owner API, signed where the car needs it, REST on a pre-2021 Model S, `--api` choosing, `stream`
refused for a Fleet login, and the billable calls in the ledger.

The proof of "the same": one script of commands runs on two identical worlds, once over the
Owner API and once over the Fleet API, and every line, exit code and the cars' state agree.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fleet_mode_twin import (  # noqa: F401 - the fixture
    DEMO1,
    DEMO2,
    Served,
    error_line,
    invoke,
    served_fixture,
    serving,
)

from teslalink.cli.main import cli
from teslalink.simulator import scenario

ASLEEP = "(the car falls asleep)"
SCRIPT: list[tuple[str, ...]] = [
    ("vehicles", "--json"),
    ("vehicle", "data", "--endpoints", "charge_state"),
    ("charge", "amps", "12"),
    ("charge", "limit", "85"),
    ("charge", "limit", "85", "--json"),  # already so: exit 0, in JSON
    ("charge", "stop"),
    ("charge", "stop"),  # not charging: already so
    ("charge", "start"),
    ("climate", "on"),
    ("climate", "temp", "21C", "22.5C"),
    ("climate", "off"),
    ("unlock", "--yes"),
    ("lock",),
    ("lock", "--json"),
    ("speed-limit", "set", "65"),
    ("speed-limit", "activate", "1234"),
    ("speed-limit", "deactivate", "0000"),  # wrong PIN: refused, exit 1
    ("speed-limit", "deactivate", "1234"),
    ("command", "FLASH_LIGHTS"),
    ("command", "CHANGE_CHARGE_LIMIT", "percent=80", "--json"),
    ("api", "CHARGING_AMPS", "charging_amps=10"),
    ("api", "STOP_CHARGE"),
    ("api", "STOP_CHARGE"),  # already so: exit 0, said on stderr
    ("energy", "status", "--json"),
    ("energy", "reserve", "40"),
    ("energy", "mode", "self_consumption", "--json"),
    ("api", "SITE_CONFIG"),
    ("vehicle", "data", "--endpoints", "charge_state,vehicle_state"),  # what the commands changed
    (ASLEEP,),
    ("vehicle", "data", "--endpoints", "charge_state"),  # asleep: exit 1, says to wake it
    ("charge", "amps", "12"),  # asleep: exit 1, nothing woken
    ("wake", "--interval", "0.05", "--json"),
    ("charge", "amps", "13"),
]
"""Every command of cli/vehicles.py, cli/energy.py and `api` the account's first car and site take."""


def run_script(twin: Served) -> tuple[list[tuple[tuple[str, ...], int, str, str]], dict[str, Any]]:
    """Every line of the script's commands, and the car as the commands left it (before its nap:
    waking takes world time, which the test moves at the wall clock's pace)."""
    done = []
    state: dict[str, Any] = {}
    for args in SCRIPT:
        if args == (ASLEEP,):
            state = car_state(twin)
            twin.twin.call(scenario.fall_asleep, twin.world, twin.car().vin)
        elif args[0] == "wake":
            with twin.twin.advancing(3, 0.02):  # the car wakes in world time
                code, stdout, _ = _outcome(invoke(*args))
            done.append((args, code, stdout, ""))  # the progress lines follow the wall clock
        else:
            done.append((args, *_outcome(invoke(*args))))
    return done, state


def _outcome(result: Any) -> tuple[int, str, str]:
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def car_state(twin: Served) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        car = twin.world.vehicles_of(twin.world.account(DEMO1))[0]
        truth = scenario.vehicle_truth(twin.world, car.vin)
        return dict(truth)

    return twin.twin.call(read)


def test_every_command_answers_the_same_over_both_apis(
    point_cli_at: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = time.time()  # both worlds on one clock: the sun, the weather and the times agree
    with serving(point_cli_at, tmp_path / "owner", monkeypatch, start=start) as owner:
        owner.owner_login()
        over_owner, owner_state = run_script(owner)
        assert not owner.heard  # no request reached a Fleet host
    with serving(point_cli_at, tmp_path / "fleet", monkeypatch, start=start) as fleet:
        fleet.log_in()  # a Fleet login only: auto picks the Fleet API
        fleet.pair(fleet.car())
        over_fleet, fleet_state = run_script(fleet)
        billed = fleet.billed()
        assert billed["commands"] > 0
        assert fleet.ledger() == billed  # every billable call the twin counted, in the ledger
    for (args, *by_owner), (_, *by_fleet) in zip(over_owner, over_fleet, strict=True):
        assert by_fleet == by_owner, args
    codes = [code for _, code, _, _ in over_fleet]
    assert codes.count(1) == 3  # asleep twice, a wrong PIN
    assert codes[-1] == 0  # woken, then the command ran
    asleep = [stderr for args, code, _, stderr in over_fleet if code == 1 and "asleep" in stderr]
    assert len(asleep) == 2
    assert all("teslalink wake" in line for line in asleep)
    assert fleet_state == owner_state


def test_commands_are_signed_on_a_new_car_and_rest_on_an_old_model_s(served: Served) -> None:
    served.log_in()
    car, old = served.car(), served.old_model_s()
    served.pair(car)
    assert invoke("wake", "--vehicle", old.vin).exit_code == 0
    for vin, amps in ((car.vin, 9), (old.vin, 11)):
        result = invoke("charge", "amps", str(amps), "--vehicle", vin)
        assert result.exit_code == 0, result.output
    assert (car.port.current_request, old.port.current_request) == (9, 11)
    assert served.heard["signed_command"] >= 2  # a handshake and the new car's command
    assert served.heard["command"] == 1  # the old car's REST command


def test_without_the_key_a_new_car_says_how_to_sign(served: Served) -> None:
    served.log_in()
    line = error_line(invoke("charge", "amps", "9"))
    assert "signed commands only" in line
    assert "teslalink fleet key create" in line


def test_a_command_with_no_signed_form_says_so_even_with_a_key(served: Served) -> None:
    served.log_in()
    served.pair(served.car())
    line = error_line(invoke("command", "REMOTE_BOOMBOX", "sound=2000"))
    assert "no signed form" in line
    assert "fleet key create" not in line


def test_api_chooses_the_api_and_auto_prefers_a_fleet_login(served: Served) -> None:
    served.owner_login()
    served.log_in()  # the same account with both logins
    car = served.car()
    served.pair(car)
    assert invoke("charge", "amps", "7").exit_code == 0  # auto: the Fleet API
    at_fleet = served.heard.total()
    assert served.heard["signed_command"] == 2  # handshake and command
    result = invoke("charge", "amps", "8", "--api", "owner")
    assert result.exit_code == 0, result.output
    assert car.port.current_request == 8
    by_env = CliRunner().invoke(cli, ["charge", "amps", "6"], env={"TESLALINK_API_MODE": "owner"})
    assert by_env.exit_code == 0, by_env.output
    assert car.port.current_request == 6
    assert served.heard.total() == at_fleet  # neither reached a Fleet host


def test_api_fleet_without_a_fleet_login_says_to_log_in(served: Served) -> None:
    served.owner_login()
    assert invoke("vehicles").exit_code == 0  # auto: the Owner API
    assert "teslalink fleet login" in error_line(invoke("vehicles", "--api", "fleet"))


def test_stream_refuses_a_fleet_login_in_one_line(served: Served) -> None:
    served.log_in()
    line = error_line(invoke("stream", "--count", "1"))
    assert "Fleet API tokens" in line
    assert "Fleet Telemetry is not supported yet" in line
    assert served.billed() == {}  # nothing was sent


def test_login_and_logout_stay_the_owner_apis(served: Served) -> None:
    line = error_line(invoke("login", "--email", DEMO1, "--password", "teslalink-demo-1", "--api", "fleet"))
    assert "teslalink fleet login" in line
    assert invoke("login", "--email", DEMO1, "--password", "teslalink-demo-1").exit_code == 0
    served.log_in()
    assert invoke("logout").exit_code == 0
    assert served.fleet_entry(DEMO1)["client_id"]  # logout keeps the Fleet login


def test_another_region_is_followed_and_remembered(served: Served) -> None:
    served.log_in(DEMO2, region="na")  # the file says na, demo2 lives in eu
    first = invoke("vehicles", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)
    assert served.fleet_entry(DEMO2)["region"] == "eu"
