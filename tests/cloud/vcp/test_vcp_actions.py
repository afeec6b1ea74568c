"""The table from catalogue commands to signed payloads: Tesla's published bytes, and what stays REST."""

from __future__ import annotations

import pytest
from tesla_protocol.command import car_server_pb2, vcsec_pb2

from teslalink.cloud.vcp.actions import ACTIONS, REST_ONLY, build, supports
from teslalink.cloud.vcp.crypto import Domain
from teslalink.errors import ConfigError


def test_payloads_are_the_published_bytes() -> None:
    """research/fleet.md 2.7 (serialised with tesla_fleet_api's bindings) and protocol.md's HVAC example."""
    assert build("CHARGING_AMPS", {"charging_amps": 16}).payload.hex() == "1205da02020810"
    assert build("START_CHARGE").payload.hex() == "120432021200"
    assert build("STOP_CHARGE").payload.hex() == "120432022a00"
    assert build("CHANGE_CHARGE_LIMIT", {"percent": 80}).payload.hex() == "12042a020850"
    assert build("CLIMATE_ON").payload.hex() == "120452020801"
    assert build("LOCK").payload.hex() == "1001"
    assert build("UNLOCK").payload.hex() == "1000"  # RKE 0: a oneof member is sent even when 0


def test_each_command_names_its_rest_command_and_domain() -> None:
    lock, amps = build("lock"), build("CHARGING_AMPS", {"charging_amps": 16})
    assert (lock.name, lock.domain) == ("door_lock", Domain.VEHICLE_SECURITY)
    assert (amps.name, amps.domain) == ("set_charging_amps", Domain.INFOTAINMENT)
    trunk = vcsec_pb2.UnsignedMessage.FromString(build("ACTUATE_TRUNK", {"which_trunk": "rear"}).payload)
    assert trunk.closureMoveRequest.rearTrunk == vcsec_pb2.CLOSURE_MOVE_TYPE_MOVE


def test_rest_parameters_keep_their_names_and_units() -> None:
    temps = car_server_pb2.Action.FromString(
        build("CHANGE_CLIMATE_TEMPERATURE_SETTING", {"driver_temp": 22.5}).payload
    )
    adjust = temps.vehicleAction.hvacTemperatureAdjustmentAction
    assert (adjust.driver_temp_celsius, adjust.passenger_temp_celsius) == (22.5, 22.5)  # passenger: as driver
    seat = car_server_pb2.Action.FromString(
        build("REMOTE_SEAT_HEATER_REQUEST", {"heater": 1, "level": 3}).payload
    )
    heater = seat.vehicleAction.hvacSeatHeaterActions.hvacSeatHeaterAction[0]
    assert (heater.WhichOneof("seat_position"), heater.WhichOneof("seat_heater_level")) == (
        "CAR_SEAT_FRONT_RIGHT",
        "SEAT_HEATER_HIGH",
    )
    departure = car_server_pb2.Action.FromString(
        build(
            "SCHEDULED_DEPARTURE", {"enable": True, "departure_time": 420, "preconditioning_enabled": None}
        ).payload
    ).vehicleAction.scheduledDepartureAction
    assert (departure.enabled, departure.departure_time) == (True, 420)
    assert not departure.HasField("preconditioning_times")  # None is off: a message cannot say "unchanged"


def test_commands_without_a_protocol_message_stay_rest() -> None:
    for name in (*REST_ONLY, "VEHICLE_DATA", "NO_SUCH_COMMAND"):
        assert not supports(name)
        with pytest.raises(ConfigError, match="cannot be sent as a signed command"):
            build(name)
    assert all(supports(name.lower()) for name in ACTIONS)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("CHARGING_AMPS", {"charging_amps": "lots"}),
        ("SET_SENTRY_MODE", {"on": "maybe"}),
        ("ACTUATE_TRUNK", {"which_trunk": "side"}),
        ("CHANGE_SUNROOF_STATE", {"state": "ajar"}),
        ("REMOTE_SEAT_HEATER_REQUEST", {"heater": 9, "level": 1}),
        ("CHARGING_AMPS", {"charging_amps": 2**40}),
    ],
)
def test_a_value_the_message_cannot_hold_is_one_clear_error(name: str, params: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as caught:
        build(name, params)
    assert "\n" not in str(caught.value)
