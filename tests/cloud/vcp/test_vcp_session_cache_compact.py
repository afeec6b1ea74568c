"""The session cache is written in json's compact form, and what it wrote reads back.

Why it matters (bench/fleet.py): the whole file is rewritten on every handshake and counter block,
inside the event loop. `json.dumps(..., indent=...)` runs the pure-Python encoder, several times
the C one's cost on a cache of 100 cars; compact output takes the C encoder.
"""

from __future__ import annotations

from pathlib import Path

from vcp_car_mirror import MirrorCar
from vcp_vectors import CLIENT_KEY_PEM

from teslalink.cloud.vcp import messages
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import SessionCache, Sessions

VINS = ("5YJ3E1EA1KF000001", "5YJ3E1EA1KF000002", "5YJ3E1EA1KF000003")


def test_the_cache_is_one_compact_line_and_every_session_reads_back(tmp_path: Path) -> None:
    key = PartnerKey.from_pem(CLIENT_KEY_PEM)
    path = tmp_path / "me.json"
    writer = Sessions(key, SessionCache(path))
    for vin in VINS:
        session = writer.session(vin, Domain.INFOTAINMENT)
        request = messages.handshake_request(session)
        car = MirrorCar(vin, Domain.INFOTAINMENT)
        messages.parse_handshake_reply(session, request, car.answer_handshake(request.message))

    written = path.read_bytes()
    assert b"\n" not in written
    assert b'": ' in written  # json's default separators: still plain JSON, just not indented

    reader = Sessions(key, SessionCache(path))
    for vin in VINS:
        # what was written is the session with its first block of counters reserved
        written_state = writer.session(vin, Domain.INFOTAINMENT).persisted_state()
        assert reader.session(vin, Domain.INFOTAINMENT).state == written_state
