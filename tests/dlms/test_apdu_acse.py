"""ACSE APDUs: reference vectors, real-meter captures, Gurux and dlms_cosem cross-checks, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms.apdu import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    ConfirmedService,
    ConfirmedServiceError,
    Conformance,
    DiagnosticSource,
    InitiateRequest,
    InitiateResponse,
    MechanismName,
    ReleaseRequestReason,
    ReleaseResponseReason,
    ServiceErrorKind,
    decode_apdu,
)
from meterlink.errors import LocalProtocolError, MalformedDataError

H = bytes.fromhex

# Kamstrup OMNIA, public client (u9n/dlms-cosem#116): AARQ as sent, AARE with a long-form outer length.
KAMSTRUP_AARQ = H("6029A109060760857405080101A60A04080000000000000001BE10040E01000000065F1F040020525FFFFF")
KAMSTRUP_AARE = H(
    "61820035A109060760857405080101A203020100A305A103020100A40A04084B414D450235CB3A"
    "BE10040E0800065F1F040000101D07EB0007"
)
# L+G ZCXi120 refusing a wrong password, without user-information (gurux.dlms.java#22).
LG_REJECT = H("6117A109060760857405080101A203020101A305A10302010D")


def test_kamstrup_aarq() -> None:
    aarq = AARQ.from_bytes(KAMSTRUP_AARQ)
    assert aarq.application_context_name is ApplicationContextName.LN
    assert aarq.calling_ap_title == H("0000000000000001")
    assert aarq.mechanism_name is None and not aarq.sender_acse_requirements
    initiate = aarq.decode_user_information()
    assert initiate == InitiateRequest(
        proposed_conformance=Conformance(0x20525F), client_max_receive_pdu_size=0xFFFF
    )
    assert aarq.to_bytes() == KAMSTRUP_AARQ


def test_kamstrup_aare_long_form_length_round_trips() -> None:
    aare = decode_apdu(KAMSTRUP_AARE)
    assert isinstance(aare, AARE)
    assert aare.accepted and aare.result is AssociationResult.ACCEPTED
    assert aare.diagnostic is AcseServiceUserDiagnostic.NULL
    assert aare.diagnostic_source is DiagnosticSource.SERVICE_USER
    assert aare.responding_ap_title == b"KAME\x025\xcb:"
    assert aare.outer_length_octets == 2
    response = aare.decode_user_information()
    assert response == InitiateResponse(
        negotiated_conformance=Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.GET
        | Conformance.SET
        | Conformance.SELECTIVE_ACCESS
        | Conformance.ACTION,
        server_max_receive_pdu_size=0x07EB,
    )
    assert aare.to_bytes() == KAMSTRUP_AARE
    # The length form is presentation, not meaning: equal to the short-form AARE.
    short = AARE(
        responding_ap_title=aare.responding_ap_title,
        user_information=aare.user_information,
    )
    assert short == aare
    assert short.to_bytes() == b"\x61\x35" + KAMSTRUP_AARE[4:]


def test_aare_rejected_without_user_information() -> None:
    aare = decode_apdu(LG_REJECT)
    assert isinstance(aare, AARE)
    assert aare.result is AssociationResult.REJECTED_PERMANENT and not aare.accepted
    assert aare.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert aare.user_information is None and aare.decode_user_information() is None
    assert aare.to_bytes() == LG_REJECT


def test_aare_provider_diagnostic_and_confirmed_service_error() -> None:
    aare = AARE(
        result=AssociationResult.REJECTED_PERMANENT,
        diagnostic=AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION,
        user_information=H("0E010601"),
    )
    wire = aare.to_bytes()
    assert wire == H("611FA109060760857405080101A203020101A305A203020102BE0604040E010601")
    back = AARE.from_bytes(wire)
    assert back == aare and back.diagnostic_source is DiagnosticSource.SERVICE_PROVIDER
    error = back.decode_user_information()
    assert error == ConfirmedServiceError(ConfirmedService.INITIATE_ERROR, ServiceErrorKind.INITIATE, 1)
    assert isinstance(error, ConfirmedServiceError) and error.reason_name == "dlms-version-too-low"


def test_all_diagnostics_round_trip() -> None:
    for user in AcseServiceUserDiagnostic:
        assert AARE.from_bytes(AARE(diagnostic=user).to_bytes()).diagnostic is user
    for provider in AcseServiceProviderDiagnostic:
        assert AARE.from_bytes(AARE(diagnostic=provider).to_bytes()).diagnostic is provider
    assert int(AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED) == 14
    assert int(AcseServiceUserDiagnostic.CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED) == 10


def test_hls_gmac_aarq_and_aare() -> None:
    title = H("4B414D450235CB3A")
    challenge = bytes(range(16))
    aarq = AARQ.build(
        H("21"),  # stand-in for a glo-initiateRequest: kept raw, not decoded here
        mechanism=MechanismName.HIGH_GMAC,
        secret=challenge,
        system_title=title,
        ciphered=True,
    )
    wire = aarq.to_bytes()
    assert wire[:13] == H("60") + bytes((len(wire) - 2,)) + H("A109060760857405080103")
    assert H("8A0207808B0760857405080205") in wire
    assert H("AC1280") + bytes((16,)) + challenge in wire
    assert AARQ.from_bytes(wire) == aarq
    with pytest.raises(MalformedDataError, match="ciphered"):
        aarq.decode_user_information()
    aare = AARE(
        diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        application_context_name=ApplicationContextName.LN_CIPHERED,
        responding_ap_title=title,
        responder_acse_requirements=True,
        mechanism_name=MechanismName.HIGH_GMAC,
        responding_authentication_value=b"S" * 16,
        user_information=H("28"),
    )
    assert AARE.from_bytes(aare.to_bytes()) == aare


def test_build_requires_secret_for_authentication() -> None:
    with pytest.raises(LocalProtocolError):
        AARQ.build(InitiateRequest(), mechanism=MechanismName.LOW)
    plain = AARQ.build(InitiateRequest())
    assert plain.mechanism_name is None and plain.calling_authentication_value is None


def test_unknown_elements_are_kept_in_order() -> None:
    # called-AP-title [2] and implementation-information [29] are not modelled but survive.
    wire = H("601AA109060760857405080101A2030201008A0207809D0401020304")
    aarq = AARQ.from_bytes(wire)
    assert aarq.other_elements == (H("A203020100"), H("9D0401020304"))
    assert aarq.sender_acse_requirements
    assert aarq.to_bytes() == wire


def test_unknown_context_and_mechanism_oids_kept_raw() -> None:
    aarq = AARQ(application_context_name=H("2A0304"), mechanism_name=H("2A0305"))
    back = AARQ.from_bytes(aarq.to_bytes())
    assert back.application_context_name == H("2A0304") and back.mechanism_name == H("2A0305")
    odd = AARQ(mechanism_name=MechanismName(9))
    assert AARQ.from_bytes(odd.to_bytes()).mechanism_name == 9


def test_calling_ae_invocation_id_and_qualifier() -> None:
    aarq = AARQ(calling_ae_invocation_id=200, calling_ae_qualifier=b"cert", protocol_version=H("0780"))
    wire = aarq.to_bytes()
    assert H("A904020200C8") in wire  # INTEGER 200 needs a leading zero byte
    assert H("80020780") in wire and wire.index(H("80020780")) == 2  # protocol-version first
    assert AARQ.from_bytes(wire) == aarq


@pytest.mark.parametrize(
    ("wire", "apdu"),
    [
        (H("6203800100"), RLRQ()),
        (H("6203800101"), RLRQ(reason=ReleaseRequestReason.URGENT)),
        (H("6200"), RLRQ(reason=None)),
        (H("6303800100"), RLRE()),
        (H("630380011E"), RLRE(reason=ReleaseResponseReason.USER_DEFINED)),
        (H("6300"), RLRE(reason=None)),
    ],
)
def test_release_vectors(wire: bytes, apdu: RLRQ | RLRE) -> None:
    assert decode_apdu(wire) == apdu
    assert apdu.to_bytes() == wire


def test_rlrq_with_user_information() -> None:
    user = InitiateRequest().to_bytes()
    rlrq = RLRQ(user_information=user)
    wire = rlrq.to_bytes()
    assert (
        wire
        == H("62") + bytes((len(wire) - 2,)) + H("800100BE") + bytes((len(user) + 2, 4, len(user))) + user
    )
    assert RLRQ.from_bytes(wire) == rlrq


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (H("61"), "length field missing"),
        (H("6105A109060760"), "runs past the end"),
        (H("6105A2030201"), "runs past the end"),
        (H("6100"), "without application-context-name"),
        (H("610BA109060760857405080101"), "without result"),
        (H("6117A109060760857405080101A203020100A305A303020100"), "A1 .user. or A2"),
        (H("6116A109060760857405080101A203020100A305A10302010000"), "unexpected bytes after"),
        (H("6004A1020400"), "expected tag 0x06"),
        (H("6006A1020600A100"), "appears twice"),
        (H("60808A020780"), "indefinite"),
        (H("6004800207"), "runs past"),
        (H("60048A020680"), "ACSE requirements"),
        (H("6206800400000001"), "INTEGER of 4 bytes"),
        (H("6203800180"), "out of range"),
        (H("6203800100FF"), "unexpected bytes after"),
        (H("6103A10106"), "runs past|length field"),
        (H("6002BF9F"), "continuation"),
        (H("6003BF1F01"), "runs past"),
    ],
)
def test_malformed_acse(wire: bytes, message: str) -> None:
    with pytest.raises(MalformedDataError, match=message) as info:
        decode_apdu(wire)
    assert info.value.data == wire and info.value.offset is not None


# -- peers ------------------------------------------------------------------------------------------


def _gurux_aarq(auth: int, password: bytes | None, *, system_title: bytes | None = None) -> bytes:
    from gurux_dlms import GXDLMSClient
    from gurux_dlms.enums import InterfaceType

    client = GXDLMSClient(True, 16, 1, auth, password, InterfaceType.WRAPPER)
    if system_title is not None:
        from gurux_dlms.enums import Security
        from gurux_dlms.secure import GXDLMSSecureClient

        client = GXDLMSSecureClient(True, 16, 1, auth, password, InterfaceType.WRAPPER)
        cipher = client.settings.cipher
        cipher.security = Security.AUTHENTICATION_ENCRYPTION
        cipher.systemTitle = system_title
        cipher.blockCipherKey = bytes(range(16))
        cipher.authenticationKey = bytes(range(16, 32))
    frames = client.aarqRequest()
    assert len(frames) == 1
    return bytes(frames[0])[8:]


def test_gurux_lls_aarq() -> None:
    from gurux_dlms.enums import Authentication

    wire = _gurux_aarq(Authentication.LOW, b"12345678")
    aarq = AARQ.from_bytes(wire)
    assert aarq.mechanism_name is MechanismName.LOW and aarq.sender_acse_requirements
    assert aarq.calling_authentication_value == b"12345678"
    initiate = aarq.decode_user_information()
    assert initiate is not None and initiate.proposed_dlms_version == 6
    # Gurux numbers conformance bits the other way round (its bit n is our 1 << (23 - n)).
    from gurux_dlms.enums import Conformance as GxConformance

    for flag in GxConformance:
        if flag.value and flag.name:
            ours = Conformance.from_bit(flag.value.bit_length() - 1)
            expected_name = flag.name.replace("UN_CONFIRMED", "UNCONFIRMED").replace(
                "ATTRIBUTE_0", "ATTRIBUTE0"
            )
            assert ours.name == expected_name
    assert aarq.to_bytes() == wire


def test_gurux_hls_ciphered_aarq() -> None:
    from gurux_dlms.enums import Authentication

    title = H("4D4D4D0000BC614E")
    wire = _gurux_aarq(Authentication.HIGH_GMAC, None, system_title=title)
    aarq = AARQ.from_bytes(wire)
    assert aarq.application_context_name is ApplicationContextName.LN_CIPHERED
    assert aarq.mechanism_name is MechanismName.HIGH_GMAC
    assert aarq.calling_ap_title == title
    assert aarq.calling_authentication_value is not None and len(aarq.calling_authentication_value) >= 8
    assert aarq.user_information is not None and aarq.user_information[0] == 0x21  # glo-initiateRequest
    assert aarq.to_bytes() == wire


def test_dlms_cosem_aarq_aare_rlrq_rlre() -> None:
    from dlms_cosem import enumerations as en
    from dlms_cosem.protocol import acse, xdlms
    from dlms_cosem.protocol.xdlms.conformance import Conformance as PeerConformance

    initiate = xdlms.InitiateRequest(
        proposed_conformance=PeerConformance(get=True, set=True, action=True, selective_access=True),
        client_max_receive_pdu_size=1200,
    )
    peer_aarq = acse.ApplicationAssociationRequest(
        user_information=acse.UserInformation(content=initiate),
        authentication=en.AuthenticationMechanism.LLS,
        authentication_value=b"00000000",
        system_title=b"ABCDEFGH",
    )
    wire = peer_aarq.to_bytes()
    aarq = AARQ.from_bytes(wire)
    assert aarq.mechanism_name is MechanismName.LOW and aarq.calling_authentication_value == b"00000000"
    assert aarq.calling_ap_title == b"ABCDEFGH"
    ours_initiate = aarq.decode_user_information()
    assert ours_initiate is not None
    assert ours_initiate.proposed_conformance == Conformance.GET | Conformance.SET | Conformance.ACTION | (
        Conformance.SELECTIVE_ACCESS
    )
    assert ours_initiate.client_max_receive_pdu_size == 1200
    assert aarq.to_bytes() == wire

    peer_aare = acse.ApplicationAssociationResponse(
        result=en.AssociationResult.REJECTED_PERMANENT,
        result_source_diagnostics=en.AcseServiceUserDiagnostics.AUTHENTICATION_FAILED,
    )
    wire = peer_aare.to_bytes()
    aare = AARE.from_bytes(wire)
    assert aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert aare.to_bytes() == wire
    # And the peer reads ours.
    back = acse.ApplicationAssociationResponse.from_bytes(aare.to_bytes())
    assert back.result == en.AssociationResult.REJECTED_PERMANENT

    for peer, ours in (
        (acse.ReleaseRequest(reason=en.ReleaseRequestReason.NORMAL), RLRQ()),
        (acse.ReleaseResponse(reason=en.ReleaseResponseReason.NORMAL), RLRE()),
    ):
        assert decode_apdu(peer.to_bytes()) == ours
        assert ours.to_bytes() == peer.to_bytes()


def test_dlms_cosem_cannot_read_long_form_aare() -> None:
    """u9n #115/#116: dlms_cosem 25.1 rejects the Kamstrup AARE that we read above."""
    from dlms_cosem.protocol import acse

    with pytest.raises(ValueError, match="does not correspond to length"):
        acse.ApplicationAssociationResponse.from_bytes(KAMSTRUP_AARE)


# -- properties ------------------------------------------------------------------------------------

_maybe_bytes = st.none() | st.binary(max_size=300)


@st.composite
def _aarqs(draw: st.DrawFn) -> AARQ:
    return AARQ(
        application_context_name=draw(st.sampled_from(list(ApplicationContextName)) | st.binary(max_size=10)),
        user_information=draw(_maybe_bytes),
        mechanism_name=draw(st.none() | st.sampled_from(list(MechanismName))),
        calling_authentication_value=draw(_maybe_bytes),
        sender_acse_requirements=draw(st.booleans()),
        calling_ap_title=draw(st.none() | st.binary(min_size=8, max_size=8)),
        calling_ae_qualifier=draw(_maybe_bytes),
        calling_ae_invocation_id=draw(st.none() | st.integers(-(2**31), 2**31 - 1)),
        protocol_version=draw(st.none() | st.just(H("0780"))),
        outer_length_octets=draw(st.sampled_from([0, 2])),
    )


@settings(max_examples=300, deadline=None)
@given(_aarqs())
def test_aarq_round_trip(aarq: AARQ) -> None:
    wire = aarq.to_bytes()
    back = AARQ.from_bytes(wire)
    assert back == aarq
    assert back.to_bytes() == wire


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(AssociationResult)),
    st.sampled_from([*AcseServiceUserDiagnostic, *AcseServiceProviderDiagnostic]),
    _maybe_bytes,
    st.none() | st.binary(min_size=8, max_size=8),
    st.booleans(),
    _maybe_bytes,
)
def test_aare_round_trip(
    result: AssociationResult,
    diagnostic: AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic,
    user: bytes | None,
    title: bytes | None,
    requirements: bool,
    stoc: bytes | None,
) -> None:
    aare = AARE(
        result=result,
        diagnostic=diagnostic,
        user_information=user,
        responding_ap_title=title,
        responder_acse_requirements=requirements,
        mechanism_name=MechanismName.HIGH_GMAC if stoc is not None else None,
        responding_authentication_value=stoc,
    )
    wire = aare.to_bytes()
    back = AARE.from_bytes(wire)
    assert back == aare and type(back.diagnostic) is type(diagnostic)
    assert back.to_bytes() == wire
