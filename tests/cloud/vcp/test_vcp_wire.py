"""The HMAC command's RoutableMessage is encoded by hand (messages._hmac_command_bytes): the
bindings must read those bytes as exactly the message they would have built themselves."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tesla_protocol.command import signatures_pb2, universal_message_pb2
from vcp_vectors import CLIENT_KEY_PEM

from teslalink.cloud.vcp import messages
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import Sessions

KEY = PartnerKey.from_pem(CLIENT_KEY_PEM)
u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)


@settings(max_examples=200, deadline=None)
@given(
    domain=st.sampled_from([Domain.VEHICLE_SECURITY, Domain.INFOTAINMENT]),
    address=st.binary(min_size=16, max_size=16),
    payload=st.binary(max_size=300),
    epoch=st.binary(max_size=16),
    counter=u32,
    expires_at=u32,
    tag=st.binary(max_size=32),
    uuid=st.binary(max_size=16),
    flags=u32,
)
def test_hand_encoded_command_is_what_the_bindings_build(
    domain: Domain,
    address: bytes,
    payload: bytes,
    epoch: bytes,
    counter: int,
    expires_at: int,
    tag: bytes,
    uuid: bytes,
    flags: int,
) -> None:
    session = Sessions(KEY).session("5YJ3E1EA1KF000001", domain)
    ours = messages._hmac_command_bytes(
        session, address, payload, epoch, counter, expires_at, tag, uuid, flags
    )
    built = universal_message_pb2.RoutableMessage(
        to_destination=universal_message_pb2.Destination(domain=domain),  # type: ignore[arg-type]
        from_destination=universal_message_pb2.Destination(routing_address=address),
        protobuf_message_as_bytes=payload,
        signature_data=signatures_pb2.SignatureData(
            signer_identity=signatures_pb2.KeyIdentity(public_key=KEY.public_bytes()),
            HMAC_Personalized_data=signatures_pb2.HMAC_Personalized_Signature_Data(
                epoch=epoch, counter=counter, expires_at=expires_at, tag=tag
            ),
        ),
        uuid=uuid,
        flags=flags,
    )
    parsed = universal_message_pb2.RoutableMessage.FromString(ours)
    assert parsed == built
    assert parsed.WhichOneof("payload") == "protobuf_message_as_bytes"
    assert parsed.signature_data.WhichOneof("sig_type") == "HMAC_Personalized_data"
    assert len(ours) == len(built.SerializeToString())
