"""Compat: the peer library `tesla-wall-connector` (1.2.0), used unchanged, against our twin.

The peer is what Home Assistant uses, so it is the first real client our twin must satisfy. It
talks to simulated units over real loopback HTTP (`http://{host}/api/1/...`) through an aiohttp
session of ours, and we check that

* it reads all four endpoints on every wiring and firmware, idle and charging, and every
  property of its models can be read;
* it decodes every shared field to the same value as our client does from the same body;
* its total power agrees with ours when told the wiring, and over-reads by a quarter on
  split-phase when not told (the pitfall our auto-detection avoids);
* it survives the firmware quirks the twin reproduces (`nan` in lifetime, a missing final brace).

The world clock stands still (speed 0) and moves only by `advance()`, so both clients read the
same body: the twin's sensor noise is a function of world time, not of how often it is read (see
`test_bodies_identical_while_the_clock_stands_still`).
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from tesla_wall_connector import WallConnector as PeerWallConnector
from tesla_wall_connector.lifetime import Lifetime as PeerLifetime
from tesla_wall_connector.version import Version as PeerVersion
from tesla_wall_connector.vitals import Vitals as PeerVitals
from tesla_wall_connector.wifi_status import WifiStatus as PeerWifiStatus

from teslalink.simulator import (
    DEFAULT_FIRMWARE,
    ENDPOINTS,
    EvseState,
    Quirks,
    WallConnectorServer,
    WallConnectorUnit,
    Wiring,
    World,
    serve_wall_connectors,
)
from teslalink.wallconnector import ElectricalService, WallConnector

START = 1_700_000_000
CHARGE_A = 32.0

PRE_21_29_FW = "21.18.1+g9b5e0c7d2a41f3"  # SSID in plain text, no git_branch/web_service
OLD_FW = "21.29.1+g4152353e50f744"  # relay_coil_v, compact vitals, trimmed decimals
NEW_FW = DEFAULT_FIRMWARE  # relay_k1_v/relay_k2_v, evse_not_ready_reasons, fixed decimals

# Peer properties a firmware does not send: the peer raises KeyError for them (so it would on a real
# unit), and ours reads None. Everything else must be readable.
ABSENT: dict[str, dict[str, frozenset[str]]] = {
    PRE_21_29_FW: {
        "vitals": frozenset({"relay_k1_v", "relay_k2_v"}),
        "version": frozenset({"git_branch", "web_service"}),
    },
    OLD_FW: {"vitals": frozenset({"relay_k1_v", "relay_k2_v"})},
    NEW_FW: {},
}
FIRMWARES = [
    pytest.param(PRE_21_29_FW, id="fw21.18"),
    pytest.param(OLD_FW, id="fw21.29"),
    pytest.param(NEW_FW, id="fw23.8"),
]
WIRINGS = [pytest.param(wiring, id=wiring.value) for wiring in Wiring]
STATES = [pytest.param(False, id="idle"), pytest.param(True, id="charging")]

PEER_MODELS: dict[str, type] = {
    "vitals": PeerVitals,
    "lifetime": PeerLifetime,
    "version": PeerVersion,
    "wifi_status": PeerWifiStatus,
}

# The peer's property name -> ours, where they differ. Every other peer property has our name.
RENAMED: dict[str, dict[str, str]] = {
    "vitals": {
        "grid_v": "grid_voltage_v",
        "grid_hz": "grid_frequency_hz",
        "currentA_a": "phase_a_current_a",
        "currentB_a": "phase_b_current_a",
        "currentC_a": "phase_c_current_a",
        "currentN_a": "neutral_current_a",
        "voltageA_v": "phase_a_voltage_v",
        "voltageB_v": "phase_b_voltage_v",
        "voltageC_v": "phase_c_voltage_v",
        "evse_state": "evse_state_code",
    },
    "lifetime": {"avg_startup_temp": "avg_startup_temp_c"},
    "version": {},
    "wifi_status": {
        "wifi_ssid": "ssid",  # both decoded
        "wifi_signal_strength": "signal_strength_pct",
        "wifi_rssi": "rssi_dbm",
        "wifi_snr": "snr_db",
        "wifi_connected": "connected",
        "wifi_infra_ip": "infra_ip",
        "wifi_mac": "mac",
    },
}


def _relay_coil_v(ours: Any) -> Any:
    # The peer's relay_coil_v is an alias: relay_k1_v on firmware without relay_coil_v. Ours keeps
    # the fields as sent (relay_coil_v None there).
    return ours.relay_k1_v if ours.relay_coil_v is None else ours.relay_coil_v


def _not_ready_reasons(ours: Any) -> Any:
    # The peer defaults a missing list to []; ours reads None.
    return [] if ours.evse_not_ready_reasons is None else ours.evse_not_ready_reasons


# Peer properties that are not one field under another name.
DERIVED: dict[str, dict[str, Callable[[Any], Any]]] = {
    "vitals": {"relay_coil_v": _relay_coil_v, "evse_not_ready_reasons": _not_ready_reasons},
}
# Compared in the power tests, not field by field.
NOT_A_FIELD = {"vitals": frozenset({"total_power_w"})}

_MISSING = object()


def peer_properties(cls: type) -> list[str]:
    """Every property of a peer model class, found by introspection (new ones are not missed)."""
    return [name for name, attr in inspect.getmembers(cls) if isinstance(attr, property)]


def read_peer(model: Any) -> dict[str, Any]:
    """name -> value of every property; `_MISSING` for a KeyError (a field the body lacks)."""
    values = {}
    for name in peer_properties(type(model)):
        try:
            values[name] = getattr(model, name)
        except KeyError:
            values[name] = _MISSING
    return values


def our_value(endpoint: str, ours: Any, peer_name: str) -> Any:
    derived = DERIVED.get(endpoint, {}).get(peer_name)
    if derived is not None:
        return derived(ours)
    return getattr(ours, RENAMED[endpoint].get(peer_name, peer_name))


def comparable(value: Any) -> tuple[Any, bool]:
    """A value with its bool-ness, so True never passes for 1; tuples as lists."""
    if value is _MISSING:
        value = None
    if isinstance(value, tuple):
        value = list(value)
    return value, isinstance(value, bool)


# --- the twin and the two clients ----------------------------------------------------------------


@dataclass
class Twin:
    servers: list[WallConnectorServer]
    session: aiohttp.ClientSession

    def peer(self, index: int = 0, **options: Any) -> PeerWallConnector:
        """The peer library on unit `index`, on our session (it builds http://{host}/api/1/...)."""
        host = self.servers[index].url.removeprefix("http://")
        return PeerWallConnector(host, session=self.session, **options)

    def ours(self, index: int = 0, **options: Any) -> WallConnector:
        return WallConnector(self.servers[index].url, **options)

    async def raw(self, endpoint: str, index: int = 0) -> bytes:
        """The body exactly as the twin sent it."""
        async with self.session.get(f"{self.servers[index].url}/api/1/{endpoint}") as response:
            assert response.status == 200
            return await response.read()


# Loopback answers take milliseconds: a hang fails within seconds, not aiohttp's default five
# minutes. The peer passes its own (bounded) timeouts per request; raw reads use this one.
TIMEOUT = aiohttp.ClientTimeout(total=10, sock_connect=2)


@contextlib.asynccontextmanager
async def serving(world: World) -> AsyncIterator[Twin]:
    # The session closes first, so the servers stop with no connection left open.
    async with serve_wall_connectors(world) as servers, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield Twin(servers, session)


def make_unit(
    wiring: Wiring,
    firmware: str = NEW_FW,
    *,
    charging: bool,
    quirks: Quirks | None = None,
    seed: int = 1,
) -> tuple[World, WallConnectorUnit]:
    """One unit, ten minutes after a car asked for 32 A (or with nothing plugged in)."""
    world = World(seed=seed, speed=0.0, start=START)
    unit = world.add_wall_connector(wiring=wiring, firmware=firmware, quirks=quirks)
    if charging:
        unit.plug_in(CHARGE_A)
    world.advance(600.0)
    if charging:
        assert unit.evse_state is EvseState.CHARGING
        assert unit.contactor_closed
        assert unit.current_a == pytest.approx(CHARGE_A)
    else:
        assert unit.evse_state is EvseState.NOT_CONNECTED
        assert not unit.contactor_closed
    return world, unit


async def read_both(twin: Twin, endpoint: str, **peer_options: Any) -> tuple[Any, Any]:
    """The same endpoint read by the peer, then by ours, with no advance in between."""
    peer = await getattr(twin.peer(**peer_options), f"async_get_{endpoint}")()
    async with twin.ours() as ours:
        mine = await getattr(ours, endpoint)()
    return peer, mine


def assert_agree(endpoint: str, peer: Any, ours: Any) -> int:
    """Every property the peer exposes equals ours under our name; returns how many were compared."""
    assert peer.raw_data == dict(ours.raw)  # both decoded the body to the same object
    compared = 0
    for name, value in read_peer(peer).items():
        if name in NOT_A_FIELD.get(endpoint, ()):
            continue
        mine = our_value(endpoint, ours, name)
        assert comparable(value) == comparable(mine), f"{endpoint}.{name}: peer {value!r}, ours {mine!r}"
        compared += 1
    return compared


# --- the peer reads everything ------------------------------------------------------------------


@pytest.mark.parametrize("charging", STATES)
@pytest.mark.parametrize("firmware", FIRMWARES)
@pytest.mark.parametrize("wiring", WIRINGS)
async def test_peer_reads_every_endpoint_and_property(wiring: Wiring, firmware: str, charging: bool) -> None:
    world, unit = make_unit(wiring, firmware, charging=charging)
    async with serving(world) as twin:
        peer = twin.peer(split_phase=wiring is Wiring.SPLIT_PHASE)
        models = {
            "vitals": await peer.async_get_vitals(),
            "lifetime": await peer.async_get_lifetime(),
            "version": await peer.async_get_version(),
            "wifi_status": await peer.async_get_wifi_status(),
        }
    for endpoint, model in models.items():
        assert type(model) is PEER_MODELS[endpoint]
        absent = ABSENT[firmware].get(endpoint, frozenset())
        values = read_peer(model)
        assert values, f"{endpoint}: no properties found"
        missing = {name for name, value in values.items() if value is _MISSING}
        assert missing == absent, f"{endpoint} on {firmware}: unreadable {sorted(missing)}"
        assert not absent & model.raw_data.keys()
        nulls = {name for name, value in values.items() if value is None}
        assert not nulls, f"{endpoint}: null values {sorted(nulls)}"

    vitals, version = models["vitals"], models["version"]
    # The alias works on every firmware. 21.x prints whole numbers without decimals, so an idle
    # coil at 12.0 V arrives as `12` (as in vitals_eu_idle_fw21.json): a number, not always a float.
    assert isinstance(vitals.relay_coil_v, int | float)
    assert not isinstance(vitals.relay_coil_v, bool)
    assert vitals.contactor_closed is charging
    assert vitals.vehicle_connected is charging
    assert vitals.evse_state == (11 if charging else 1)
    if charging:
        assert vitals.vehicle_current_a == pytest.approx(CHARGE_A, abs=0.5)
        assert vitals.total_power_w == pytest.approx(unit.power_w, rel=0.02)
    assert version.serial_number == unit.serial
    assert version.firmware_version == firmware
    assert version.part_number == unit.part_number
    assert models["lifetime"].energy_wh == int(unit.lifetime_energy_wh)


# --- the peer agrees with our client --------------------------------------------------------------


@pytest.mark.parametrize("charging", STATES)
@pytest.mark.parametrize("firmware", FIRMWARES)
@pytest.mark.parametrize("wiring", WIRINGS)
async def test_peer_and_ours_agree_on_every_shared_field(
    wiring: Wiring, firmware: str, charging: bool
) -> None:
    world, _ = make_unit(wiring, firmware, charging=charging, seed=2)
    async with serving(world) as twin:
        for endpoint in ENDPOINTS:
            peer, ours = await read_both(twin, endpoint)
            compared = assert_agree(endpoint, peer, ours)
            assert compared == len(peer_properties(PEER_MODELS[endpoint])) - len(
                NOT_A_FIELD.get(endpoint, ())
            )


def test_the_field_map_names_real_fields() -> None:
    """A typo in the map would silently compare nothing: every name must exist on both sides."""
    from teslalink.wallconnector import Lifetime, Version, Vitals, WifiStatus

    ours = {"vitals": Vitals, "lifetime": Lifetime, "version": Version, "wifi_status": WifiStatus}
    for endpoint, cls in PEER_MODELS.items():
        names = set(peer_properties(cls))
        assert set(RENAMED[endpoint]) <= names
        for name in names - NOT_A_FIELD.get(endpoint, frozenset()):
            if name not in DERIVED.get(endpoint, {}):
                assert hasattr(ours[endpoint], RENAMED[endpoint].get(name, name)), f"{endpoint}.{name}"


@pytest.mark.parametrize("firmware", FIRMWARES)
async def test_ssid_decoded_alike(firmware: str) -> None:
    world = World(seed=4, speed=0.0, start=START)
    units = [world.add_wall_connector(firmware=firmware) for _ in range(8)]
    async with serving(world) as twin:
        for index in range(len(units)):
            peer = await twin.peer(index).async_get_wifi_status()
            async with twin.ours(index) as client:
                ours = await client.wifi_status()
            sent = peer.raw_data["wifi_ssid"]
            assert ours.ssid_sent == sent
            assert peer.wifi_ssid == ours.ssid
            assert ours.ssid.isprintable()
            if firmware == PRE_21_29_FW:
                assert ours.ssid == sent  # sent in plain text
            else:
                assert ours.ssid != sent
                assert base64.b64decode(sent, validate=True).decode() == ours.ssid


# --- total power ------------------------------------------------------------------------------


@pytest.mark.parametrize("firmware", FIRMWARES)
@pytest.mark.parametrize(
    ("wiring", "split_phase", "service"),
    [
        pytest.param(Wiring.SPLIT_PHASE, True, ElectricalService.SPLIT_PHASE, id="split_phase"),
        pytest.param(Wiring.THREE_PHASE, False, ElectricalService.THREE_PHASE, id="three_phase"),
        pytest.param(Wiring.SINGLE_PHASE, True, ElectricalService.SINGLE_PHASE, id="single_phase"),
    ],
)
async def test_total_power_agrees_when_the_peer_is_told_the_wiring(
    wiring: Wiring,
    split_phase: bool,
    service: ElectricalService,
    firmware: str,
) -> None:
    world, unit = make_unit(wiring, firmware, charging=True, seed=3)
    async with serving(world) as twin:
        peer = await twin.peer(split_phase=split_phase).async_get_vitals()
        async with twin.ours() as client:  # wiring auto-detected
            ours = client.power(await client.vitals())
            assert client.power_calculator.service is service
    assert ours.service is service
    assert peer.total_power_w == pytest.approx(ours.total_w, abs=0.1)  # the peer rounds to 0.1 W
    assert ours.total_w == pytest.approx(unit.power_w, rel=0.02)


@pytest.mark.parametrize("amps", [16.0, CHARGE_A, 48.0])
@pytest.mark.parametrize("firmware", FIRMWARES)
async def test_peer_default_over_reads_split_phase(firmware: str, amps: float) -> None:
    """The user pitfall: without split_phase=True the peer sums a third 'phase' that is not real."""
    world = World(seed=5, speed=0.0, start=START)
    unit = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, firmware=firmware)
    unit.plug_in(amps)
    world.advance(600.0)
    async with serving(world) as twin:
        peer = await twin.peer().async_get_vitals()  # split_phase defaults to False
        async with twin.ours() as client:
            ours = client.power(await client.vitals())
    assert ours.service is ElectricalService.SPLIT_PHASE
    over = peer.total_power_w / ours.total_w - 1.0
    assert 0.20 <= over <= 0.35, f"peer {peer.total_power_w} W vs ours {ours.total_w:.1f} W: {over:+.1%}"
    assert ours.total_w == pytest.approx(unit.power_w, rel=0.02)


async def test_idle_peer_reads_phantom_power_ours_reads_zero() -> None:
    """A known difference, not a twin fault: with the contactor open the peer still multiplies
    grid_v by the sensor's idle vehicle_current_a (real units read 0.3-0.6 A idle); ours reads 0."""
    world, _ = make_unit(Wiring.SPLIT_PHASE, charging=False)
    async with serving(world) as twin:
        peer = await twin.peer(split_phase=True).async_get_vitals()
        async with twin.ours(service=ElectricalService.SPLIT_PHASE) as client:
            ours = client.power(await client.vitals())
    assert not peer.contactor_closed
    assert peer.total_power_w == round(peer.grid_v * peer.vehicle_current_a, 1) > 50.0
    assert ours.total_w == 0.0


# --- quirks --------------------------------------------------------------------------------------

QUIRKS = [
    pytest.param(Quirks(nan_in_lifetime=True), id="nan"),
    pytest.param(Quirks(missing_brace=True, missing_brace_rate=1.0), id="missing-brace"),
    pytest.param(Quirks(nan_in_lifetime=True, missing_brace=True, missing_brace_rate=1.0), id="both"),
]
NAN_FIELDS = {"contactor_cycles_loaded", "alert_count", "avg_startup_temp"}


@pytest.mark.parametrize("firmware", FIRMWARES)
@pytest.mark.parametrize("quirks", QUIRKS)
async def test_quirks_repaired_by_both(quirks: Quirks, firmware: str) -> None:
    # Charging: the twin (like real units) truncates bodies only while the contactor is closed.
    world, unit = make_unit(Wiring.SPLIT_PHASE, firmware, charging=True, quirks=quirks, seed=6)
    async with serving(world) as twin:
        for endpoint in ENDPOINTS:
            body = await twin.raw(endpoint)  # the very body both clients get below
            if quirks.missing_brace or (quirks.nan_in_lifetime and endpoint == "lifetime"):
                with pytest.raises(json.JSONDecodeError):
                    json.loads(body)  # the quirk is really on the wire: not JSON
            if quirks.missing_brace:
                assert not body.rstrip().endswith(b"}")
            if quirks.nan_in_lifetime and endpoint == "lifetime":
                assert body.count(b"nan") == len(NAN_FIELDS)

            peer, ours = await read_both(twin, endpoint)
            assert_agree(endpoint, peer, ours)
            values = read_peer(peer)
            missing = {name for name, value in values.items() if value is _MISSING}
            assert missing == ABSENT[firmware].get(endpoint, frozenset())
            nulls = {name for name, value in values.items() if value is None}
            if quirks.nan_in_lifetime and endpoint == "lifetime":
                assert nulls == NAN_FIELDS  # `: nan` became null for the peer, None for ours
                assert ours.avg_startup_temp_c is None
                assert ours.alert_count is None
                assert ours.contactor_cycles_loaded is None
                assert peer.energy_wh == int(unit.lifetime_energy_wh)
            else:
                assert not nulls
        vitals = await twin.peer(split_phase=True).async_get_vitals()
        assert vitals.total_power_w == pytest.approx(unit.power_w, rel=0.02)


# --- determinism: what "the same body" rests on -------------------------------------------------


@pytest.mark.parametrize("firmware", [pytest.param(OLD_FW, id="fw21.29"), pytest.param(NEW_FW, id="fw23.8")])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_bodies_identical_while_the_clock_stands_still(endpoint: str, firmware: str) -> None:
    world, _ = make_unit(Wiring.SPLIT_PHASE, firmware, charging=True, seed=8)
    async with serving(world) as twin:
        first = await twin.raw(endpoint)
        second = await twin.raw(endpoint)
    assert first == second
