"""xDLMS APDUs: hand-checked vectors of every kind, real captures, peer cross-checks, round trips."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.apdu import (
    CIPHERED_TAGS,
    ActionOutcome,
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithPblock,
    ActionResult,
    Apdu,
    AttributeWithSelection,
    ConfirmedService,
    ConfirmedServiceError,
    Conformance,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    DataNotification,
    EventNotificationRequest,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    GeneralBlockTransfer,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    LongInvokeIdAndPriority,
    SelectiveAccess,
    ServiceErrorKind,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_apdu,
)
from meterlink.errors import LocalProtocolError, MalformedDataError
from meterlink.obis import Obis

H = bytes.fromhex
IIP = InvokeIdAndPriority(0xC1)
IIP0 = InvokeIdAndPriority(0xC0)
CLOCK = CosemAttributeDescriptor(8, Obis.parse("0.0.1.0.0.255"), 2)
ENERGY = CosemAttributeDescriptor(3, Obis.parse("1.0.1.8.0.255"), 2)
RESET = CosemMethodDescriptor(3, Obis.parse("1.0.1.8.0.255"), 1)
HLS = CosemMethodDescriptor(15, Obis.parse("0.0.40.0.0.255"), 1)
ENTRY = SelectiveAccess(2, H("020406000000010600000000120001120000"))

# -- conformance and initiate --------------------------------------------------------------------

C = Conformance


@pytest.mark.parametrize(
    ("raw", "flags"),
    [
        (
            "007E1F",
            C.PRIORITY_MGMT_SUPPORTED
            | C.ATTRIBUTE0_SUPPORTED_WITH_GET
            | C.BLOCK_TRANSFER_WITH_GET_OR_READ
            | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE
            | C.BLOCK_TRANSFER_WITH_ACTION
            | C.MULTIPLE_REFERENCES
            | C.GET
            | C.SET
            | C.SELECTIVE_ACCESS
            | C.EVENT_NOTIFICATION
            | C.ACTION,
        ),
        (
            "001E1D",
            C.BLOCK_TRANSFER_WITH_GET_OR_READ
            | C.BLOCK_TRANSFER_WITH_SET_OR_WRITE
            | C.BLOCK_TRANSFER_WITH_ACTION
            | C.MULTIPLE_REFERENCES
            | C.GET
            | C.SET
            | C.SELECTIVE_ACCESS
            | C.ACTION,
        ),
        ("00101D", C.BLOCK_TRANSFER_WITH_GET_OR_READ | C.GET | C.SET | C.SELECTIVE_ACCESS | C.ACTION),
        (
            "20525F",
            C.GENERAL_BLOCK_TRANSFER
            | C.PRIORITY_MGMT_SUPPORTED
            | C.BLOCK_TRANSFER_WITH_GET_OR_READ
            | C.MULTIPLE_REFERENCES
            | C.ACCESS
            | C.GET
            | C.SET
            | C.SELECTIVE_ACCESS
            | C.EVENT_NOTIFICATION
            | C.ACTION,
        ),
        ("180220", C.READ | C.WRITE | C.MULTIPLE_REFERENCES | C.PARAMETERIZED_ACCESS),
    ],
)
def test_conformance_common_values(raw: str, flags: Conformance) -> None:
    ber = H("5F1F0400" + raw)
    assert Conformance.from_ber(ber) == flags
    assert flags.to_ber() == ber


def test_conformance_bit_numbering() -> None:
    assert Conformance.from_bit(0) is Conformance.RESERVED_ZERO
    assert Conformance.from_bit(2) is Conformance.GENERAL_BLOCK_TRANSFER
    assert Conformance.from_bit(19) is Conformance.GET
    assert Conformance.from_bit(23) is Conformance.ACTION
    assert len(list(Conformance)) == 24
    with pytest.raises(MalformedDataError):
        Conformance.from_ber(H("5F1F0300000000"))


@pytest.mark.parametrize(
    ("raw", "initiate"),
    [
        ("01000000065F1F0400007E1FFFFF", InitiateRequest()),
        (
            "0100010100065F1F040000101D0400",
            InitiateRequest(C(0x00101D), 0x0400, response_allowed_byte=1),
        ),  # Enerdis Saphir: explicit TRUE as 01 01
        ("010001FF00065F1F040000101D0400", InitiateRequest(C(0x00101D), 0x0400, response_allowed_byte=0xFF)),
        ("0100010000065F1F040000101D0400", InitiateRequest(C(0x00101D), 0x0400, response_allowed=False)),
        (
            "01011000112233445566778899AABBCCDDEEFF000105065F1F040000101D0400",
            InitiateRequest(
                C(0x00101D),
                0x0400,
                dedicated_key=H("00112233445566778899AABBCCDDEEFF"),
                proposed_quality_of_service=5,
            ),
        ),
    ],
)
def test_initiate_request_vectors(raw: str, initiate: InitiateRequest) -> None:
    wire = H(raw)
    assert decode_apdu(wire) == initiate
    assert initiate.to_bytes() == wire


def test_initiate_request_quirks() -> None:
    explicit = InitiateRequest.from_bytes(H("0100010100065F1F040000101D0400"))
    assert explicit.response_allowed and explicit.response_allowed_byte == 1
    with pytest.raises(LocalProtocolError):
        InitiateRequest(response_allowed=False, response_allowed_byte=1)
    with pytest.raises(MalformedDataError, match="response-allowed flag"):
        InitiateRequest.from_bytes(H("0100020000065F1F040000101D0400"))
    with pytest.raises(MalformedDataError, match="unexpected bytes"):
        InitiateRequest.from_bytes(H("01000000065F1F040000101D040000"))


def test_initiate_response_vectors() -> None:
    kamstrup = H("0800065F1F040000101D07EB0007")
    response = decode_apdu(kamstrup)
    assert response == InitiateResponse(C(0x00101D), 0x07EB)
    assert response.to_bytes() == kamstrup
    sn = InitiateResponse(C(0x180220), 0x01F4, vaa_name=0xFA00, negotiated_quality_of_service=1)
    assert sn.to_bytes() == H("080101065F1F040018022001F4FA00")
    assert InitiateResponse.from_bytes(sn.to_bytes()) == sn


# -- invoke ids ------------------------------------------------------------------------------------


def test_invoke_id_and_priority() -> None:
    assert InvokeIdAndPriority() == InvokeIdAndPriority.make(1) == IIP
    old_gurux = InvokeIdAndPriority(0x81)
    assert old_gurux.invoke_id == 1 and old_gurux.high_priority and not old_gurux.confirmed
    assert InvokeIdAndPriority.make(15, confirmed=False, high_priority=False).value == 0x0F
    assert InvokeIdAndPriority(0xCF).next() == InvokeIdAndPriority(0xC0)
    odd = GetRequestNext.from_bytes(H("C002FF00000001"))  # reserved bits set: kept as sent
    assert odd.invoke_id.value == 0xFF and odd.to_bytes() == H("C002FF00000001")
    with pytest.raises(LocalProtocolError):
        InvokeIdAndPriority.make(16)
    with pytest.raises(LocalProtocolError):
        InvokeIdAndPriority(256)


def test_long_invoke_id_and_priority_matches_dlms_cosem() -> None:
    from dlms_cosem.protocol.xdlms.data_notification import LongInvokeIdAndPriority as Peer

    for flags in range(16):
        ours = LongInvokeIdAndPriority.make(
            0x123456,
            self_descriptive=bool(flags & 1),
            break_on_error=bool(flags & 2),
            confirmed=bool(flags & 4),
            high_priority=bool(flags & 8),
        )
        peer = Peer(
            long_invoke_id=0x123456,
            self_descriptive=bool(flags & 1),
            break_on_error=bool(flags & 2),
            confirmed=bool(flags & 4),
            prioritized=bool(flags & 8),
        )
        assert ours.to_bytes() == peer.to_bytes()
        assert ours.invoke_id == 0x123456


# -- every APDU kind, both ways ----------------------------------------------------------------------

DESC_CLOCK = "00080000010000FF02"
DESC_ENERGY = "00030100010800FF02"
METH_RESET = "00030100010800FF01"

VECTORS: list[tuple[str, Apdu]] = [
    ("C001C1" + DESC_CLOCK + "00", GetRequestNormal(IIP, CLOCK)),
    ("C001C1" + DESC_CLOCK + "0102020406000000010600000000120001120000", GetRequestNormal(IIP, CLOCK, ENTRY)),
    ("C002C100000005", GetRequestNext(IIP, 5)),
    (
        "C003C102" + DESC_CLOCK + "00" + DESC_ENERGY + "00",
        GetRequestWithList(IIP, (AttributeWithSelection(CLOCK), AttributeWithSelection(ENERGY))),
    ),
    ("C401C100" + "0600000005", GetResponseNormal(IIP, data=H("0600000005"))),
    ("C401C10104", GetResponseNormal(IIP, result=DataAccessResult.OBJECT_UNDEFINED)),
    (
        "C402C10000000001" + "0004" + "01020304",
        GetResponseWithDatablock(IIP, False, 1, raw_data=H("01020304")),
    ),
    (
        "C402C1010000000201" + "0E",
        GetResponseWithDatablock(IIP, True, 2, result=DataAccessResult.DATA_BLOCK_UNAVAILABLE),
    ),
    (
        "C403C102" + "00" + "1100" + "01" + "03",
        GetResponseWithList(IIP, (H("1100"), DataAccessResult.READ_WRITE_DENIED)),
    ),
    ("C101C1" + DESC_ENERGY + "00" + "0600000000", SetRequestNormal(IIP, ENERGY, H("0600000000"))),
    (
        "C102C1" + DESC_ENERGY + "00" + "00" + "00000001" + "03" + "090401",
        SetRequestWithFirstDatablock(IIP, ENERGY, False, 1, H("090401")),
    ),
    ("C103C1" + "01" + "00000002" + "03" + "020304", SetRequestWithDatablock(IIP, True, 2, H("020304"))),
    (
        "C104C102" + DESC_CLOCK + "00" + DESC_ENERGY + "00" + "02" + "1101" + "1102",
        SetRequestWithList(
            IIP, (AttributeWithSelection(CLOCK), AttributeWithSelection(ENERGY)), (H("1101"), H("1102"))
        ),
    ),
    (
        "C105C101" + DESC_CLOCK + "00" + "01" + "00000001" + "02" + "1100",
        SetRequestWithListAndFirstDatablock(IIP, (AttributeWithSelection(CLOCK),), True, 1, H("1100")),
    ),
    ("C501C100", SetResponseNormal(IIP, DataAccessResult.SUCCESS)),
    ("C502C100000001", SetResponseDatablock(IIP, 1)),
    ("C503C1FA00000003", SetResponseLastDatablock(IIP, DataAccessResult.OTHER_REASON, 3)),
    (
        "C504C1020003" + "00000004",
        SetResponseLastDatablockWithList(
            IIP, (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED), 4
        ),
    ),
    ("C505C102000C", SetResponseWithList(IIP, (DataAccessResult.SUCCESS, DataAccessResult.TYPE_UNMATCHED))),
    ("C301C1" + METH_RESET + "01" + "0F00", ActionRequestNormal(IIP, RESET, H("0F00"))),
    ("C301C1" + METH_RESET + "00", ActionRequestNormal(IIP, RESET)),
    ("C302C100000002", ActionRequestNextPblock(IIP, 2)),
    (
        "C303C102" + METH_RESET + "000F0000280000FF01" + "02" + "0F00" + "0900",
        ActionRequestWithList(IIP, (RESET, HLS), (H("0F00"), H("0900"))),
    ),
    (
        "C304C1" + METH_RESET + "00" + "00000001" + "02" + "0F00",
        ActionRequestWithFirstPblock(IIP, RESET, False, 1, H("0F00")),
    ),
    (
        "C305C101" + METH_RESET + "01" + "00000001" + "02" + "0F00",
        ActionRequestWithListAndFirstPblock(IIP, (RESET,), True, 1, H("0F00")),
    ),
    ("C306C1" + "01" + "00000002" + "00", ActionRequestWithPblock(IIP, True, 2, b"")),
    ("C701C10000", ActionResponseNormal(IIP, ActionOutcome(ActionResult.SUCCESS))),
    (
        "C701C1000100" + "0911" + "10" + "00" * 16,
        ActionResponseNormal(IIP, ActionOutcome(ActionResult.SUCCESS, H("0911" + "10" + "00" * 16))),
    ),  # HLS pass 4: f(CtoS) returned as an octet-string
    (
        "C701C10B010104",
        ActionResponseNormal(
            IIP, ActionOutcome(ActionResult.OBJECT_UNAVAILABLE, None, DataAccessResult.OBJECT_UNDEFINED)
        ),
    ),
    ("C702C1" + "01" + "00000001" + "02" + "1100", ActionResponseWithPblock(IIP, True, 1, H("1100"))),
    (
        "C703C102" + "0000" + "03010011" + "05",
        ActionResponseWithList(
            IIP,
            (ActionOutcome(ActionResult.SUCCESS), ActionOutcome(ActionResult.READ_WRITE_DENIED, H("1105"))),
        ),
    ),
    ("C704C100000001", ActionResponseNextPblock(IIP, 1)),
    (
        "D80102",
        ExceptionResponse(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        ),
    ),
    (
        "D8010600000123",
        ExceptionResponse(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.INVOCATION_COUNTER_ERROR, 0x123
        ),
    ),
    ("0E010601", ConfirmedServiceError(ConfirmedService.INITIATE_ERROR, ServiceErrorKind.INITIATE, 1)),
    ("0E050501", ConfirmedServiceError(ConfirmedService.READ, ServiceErrorKind.ACCESS, 1)),
    (
        "0F00000001" + "0C" + "07E8010101000000FF800000" + "1100",
        DataNotification(LongInvokeIdAndPriority(1), H("07E8010101000000FF800000"), H("1100")),
    ),
    (
        "0F4000000000" + "020209060101010800FF0600000001",
        DataNotification(LongInvokeIdAndPriority(0x40000000), None, H("020209060101010800FF0600000001")),
    ),
    (
        "0F00000001" + "090C" + "07E2030A06000000FF800000" + "1100",
        DataNotification(
            LongInvokeIdAndPriority(1), H("07E2030A06000000FF800000"), H("1100"), tagged_date_time=True
        ),
    ),  # Kaifa: 09 tag before the date-time length
    ("C200" + DESC_CLOCK + "1600", EventNotificationRequest(CLOCK, H("1600"))),
    (
        "C2010C" + "07E8010101000000FF800000" + DESC_CLOCK + "1600",
        EventNotificationRequest(CLOCK, H("1600"), H("07E8010101000000FF800000")),
    ),
    (
        "E0400001000003AABBCC",
        GeneralBlockTransfer(1, H("AABBCC"), last_block=False, streaming=True, window=0),
    ),
    (
        "E0810003000281" + "80" + "00" * 128,
        GeneralBlockTransfer(3, bytes(128), last_block=True, window=1, ack_number=2),
    ),
]


@pytest.mark.parametrize(("raw", "apdu"), VECTORS, ids=[type(a).__name__ + "-" + r[:8] for r, a in VECTORS])
def test_vectors_both_ways(raw: str, apdu: Apdu) -> None:
    wire = H(raw)
    decoded = decode_apdu(wire)
    assert decoded == apdu and type(decoded) is type(apdu)
    assert apdu.to_bytes() == wire
    assert type(apdu).from_bytes(wire) == apdu


def test_every_kind_has_a_vector() -> None:
    import meterlink.dlms.apdu as package

    kinds = {type(apdu) for _raw, apdu in VECTORS}
    skip = {"AARQ", "AARE", "RLRQ", "RLRE", "InitiateRequest", "InitiateResponse"}  # in their own tests
    for name in package.__all__:
        obj = getattr(package, name)
        if isinstance(obj, type) and hasattr(obj, "TAG") and name not in skip:
            assert obj in kinds, name


def test_values_decode_through_axdr() -> None:
    assert GetResponseNormal(IIP, data=H("0600000005")).value == axdr.DoubleLongUnsigned(5)
    assert SetRequestNormal(IIP, ENERGY, H("1105")).value == axdr.Unsigned(5)
    assert ENTRY.value == (
        axdr.DoubleLongUnsigned(1),
        axdr.DoubleLongUnsigned(0),
        axdr.LongUnsigned(1),
        axdr.LongUnsigned(0),
    )
    with pytest.raises(LocalProtocolError):
        _ = GetResponseNormal(IIP, result=DataAccessResult.OBJECT_UNDEFINED).value
    assert ActionRequestNormal(IIP, RESET).value is None
    assert DataNotification(LongInvokeIdAndPriority(0), None, H("1100")).value == axdr.Unsigned(0)


def test_exception_response_rules() -> None:
    with pytest.raises(LocalProtocolError):
        ExceptionResponse(ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.INVOCATION_COUNTER_ERROR)
    with pytest.raises(MalformedDataError, match="expected invocation counter"):
        decode_apdu(H("D80106000001"))
    odd = decode_apdu(H("D80109"))  # unknown service error: kept, not refused
    assert isinstance(odd, ExceptionResponse) and odd.service_error == 9 and odd.to_bytes() == H("D80109")


def test_confirmed_service_error_names() -> None:
    error = ConfirmedServiceError.from_bytes(H("0E010601"))
    assert str(error) == "initiate_error: initiate dlms-version-too-low"
    assert (
        ConfirmedServiceError(ConfirmedService.READ, ServiceErrorKind.LOAD_DATA_SET, 7).reason_name
        == "data-set-not-ready"
    )
    assert (
        ConfirmedServiceError(ConfirmedService.READ, ServiceErrorKind.ACCESS, 99).reason_name == "unknown-99"
    )


def test_unknown_results_survive() -> None:
    odd = decode_apdu(H("C501C1FE"))
    assert isinstance(odd, SetResponseNormal)
    assert odd.result == 0xFE and odd.result.name == "UNKNOWN_254"
    assert odd.to_bytes() == H("C501C1FE")
    assert int(DataAccessResult.OTHER_REASON) == 250  # EPRI uses 255


def test_u9n_51_truncated_get_response_with_list() -> None:
    wire = H("c403c102000002051202d0120ca81118111f0fc0")
    with pytest.raises(MalformedDataError) as info:
        decode_apdu(wire)
    assert info.value.data == wire and info.value.offset is not None and info.value.offset > 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("C8100000", "ciphered APDU"),
        ("DB08", "ciphered APDU"),
        ("0501", "short-name"),
        ("77", "unknown APDU tag"),
        ("C0", "choice missing"),
        ("C009C1", "unknown get-request choice 9"),
        ("C001C10008", "cut short"),
        ("C001C1" + DESC_CLOCK + "02", "access-selection flag"),
        ("C001C1" + DESC_CLOCK, "access-selection flag missing"),
        ("C001C1" + DESC_CLOCK + "0001", "unexpected bytes"),
        ("C401C102", "choice must be 0"),
        ("C401C10099", "unknown|tag"),
        ("C402C1000000000100FF", "cut short|runs|length"),
        ("C403C17F00", "count 127 does not fit"),
        ("C104C101" + DESC_CLOCK + "00" + "021100", "2 values for 1 attributes"),
        ("E0400001000005AABB", "cut short"),
        ("0F000000010C0102", "cut short"),
    ],
)
def test_malformed(raw: str, message: str) -> None:
    wire = H(raw)
    with pytest.raises(MalformedDataError, match=message) as info:
        decode_apdu(wire)
    assert info.value.data == wire and info.value.offset is not None


def test_ciphered_tags() -> None:
    assert {0x21, 0x28, 0xC8, 0xCC, 0xD0, 0xD7, 0xDB, 0xDC, 0xDD} <= CIPHERED_TAGS
    assert not {0xC0, 0xC4, 0xD8, 0x0F, 0xE0, 0x60} & CIPHERED_TAGS


def test_caller_errors() -> None:
    with pytest.raises(LocalProtocolError):
        GetResponseNormal(IIP)
    with pytest.raises(LocalProtocolError):
        GetResponseNormal(IIP, data=b"\x00", result=DataAccessResult.SUCCESS)
    with pytest.raises(LocalProtocolError):
        CosemAttributeDescriptor(70000, Obis.parse("1.0.1.8.0.255"), 2)
    with pytest.raises(LocalProtocolError):
        GeneralBlockTransfer(1, b"", window=64)
    with pytest.raises(LocalProtocolError):
        ActionOutcome(ActionResult.SUCCESS, b"\x00", DataAccessResult.SUCCESS)
    with pytest.raises(LocalProtocolError):
        SetRequestWithDatablock(IIP, True, -1, b"")


def test_push_blocks_reassemble() -> None:
    """L+G E450 style: a DataNotification cut into GBT blocks 40, 40, C0 (V20 shape)."""
    push = DataNotification(LongInvokeIdAndPriority(0x123), None, axdr.encode(bytes(range(200)))).to_bytes()
    pieces = [push[:80], push[80:160], push[160:]]
    blocks = [
        GeneralBlockTransfer(n + 1, piece, last_block=n == 2, streaming=True, window=0).to_bytes()
        for n, piece in enumerate(pieces)
    ]
    assert [b[1] for b in blocks] == [0x40, 0x40, 0xC0]
    joined = b"".join(GeneralBlockTransfer.from_bytes(b).block_data for b in blocks)
    again = decode_apdu(joined)
    assert isinstance(again, DataNotification) and again.value == bytes(range(200))


def test_dlms_cosem_data_notification_encoder_is_wrong() -> None:
    """dlms_cosem 25.1 writes 01 (as if a flag) instead of the length 0C before the date-time."""
    from dlms_cosem.protocol.xdlms.data_notification import DataNotification as Peer
    from dlms_cosem.protocol.xdlms.data_notification import LongInvokeIdAndPriority as PeerIip

    peer = Peer(PeerIip(long_invoke_id=1), datetime.datetime(2024, 1, 1, 12, 0), H("1100")).to_bytes()
    assert peer[5] == 0x01  # the peer's bug; a conforming encoder writes 0C
    misread = decode_apdu(peer)  # 01 = one date-time byte; the body is read lazily...
    assert isinstance(misread, DataNotification) and misread.date_time == peer[6:7]
    with pytest.raises(MalformedDataError):
        misread.value  # noqa: B018 - ...and the rest is not one Data
    ours = DataNotification(LongInvokeIdAndPriority(1), peer[6:18], H("1100")).to_bytes()
    assert ours[5] == 0x0C and ours[6:] == peer[6:]


# -- Gurux cross-checks -----------------------------------------------------------------------------


def _frames(frames: object) -> Iterator[bytes]:
    if isinstance(frames, bytes | bytearray):
        yield bytes(frames)[8:]  # strip the wrapper header
    else:
        for frame in frames:  # type: ignore[attr-defined]
            yield from _frames(frame)


@pytest.fixture
def gurux() -> object:
    from gurux_dlms import GXDLMSClient
    from gurux_dlms.enums import Authentication, InterfaceType
    from gurux_dlms.enums import Conformance as GxConformance

    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    client.negotiatedConformance = GxConformance(0xFFFFFF & ~GxConformance.GENERAL_BLOCK_TRANSFER)
    return client


def _round_trip(wire: bytes) -> Apdu:
    apdu = decode_apdu(wire)
    assert apdu.to_bytes() == wire
    return apdu


def test_gurux_get_requests(gurux: object) -> None:
    from gurux_dlms.objects import (
        GXDLMSCaptureObject,
        GXDLMSClock,
        GXDLMSData,
        GXDLMSProfileGeneric,
        GXDLMSRegister,
    )

    client: object = gurux
    data, register = GXDLMSData("0.0.42.0.0.255"), GXDLMSRegister("1.0.1.8.0.255")
    (wire,) = _frames(client.read(data, 2))  # type: ignore[attr-defined]
    assert _round_trip(wire) == GetRequestNormal(
        IIP, CosemAttributeDescriptor(1, Obis.parse("0.0.42.0.0.255"), 2)
    )
    (wire,) = _frames(client.readList([(data, 2), (register, 3)]))  # type: ignore[attr-defined]
    request = _round_trip(wire)
    assert isinstance(request, GetRequestWithList)
    assert [
        (i.attribute.class_id, i.attribute.instance.dotted, i.attribute.attribute_id) for i in request.items
    ] == [
        (1, "0.0.42.0.0.255", 2),
        (3, "1.0.1.8.0.255", 3),
    ]
    profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
    profile.captureObjects.append((GXDLMSClock(), GXDLMSCaptureObject(2, 0)))
    start, end = datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 2)
    (wire,) = _frames(client.readRowsByRange(profile, start, end))  # type: ignore[attr-defined]
    ranged = _round_trip(wire)
    assert isinstance(ranged, GetRequestNormal) and ranged.access is not None and ranged.access.selector == 1
    parameters = ranged.access.value
    assert isinstance(parameters, tuple) and len(parameters) == 4
    restricting, _low, _high, columns = parameters
    assert isinstance(restricting, tuple) and restricting[1] == Obis.parse("0.0.1.0.0.255").to_bytes()
    assert columns == []
    (wire,) = _frames(client.readRowsByEntry(profile, 1, 10))  # type: ignore[attr-defined]
    entry = _round_trip(wire)
    assert isinstance(entry, GetRequestNormal) and entry.access is not None
    assert entry.access.selector == 2 and entry.access.value[:2] == (1, 10)  # type: ignore[index]


def test_gurux_set_and_action_with_blocks(gurux: object) -> None:
    from gurux_dlms.enums import DataType
    from gurux_dlms.objects import GXDLMSData, GXDLMSRegister

    client: object = gurux
    data = GXDLMSData("0.0.42.0.0.255")
    data.value = 5
    data.setDataType(2, DataType.UINT32)
    (wire,) = _frames(client.write(data, 2))  # type: ignore[attr-defined]
    assert _round_trip(wire) == SetRequestNormal(
        IIP, CosemAttributeDescriptor(1, Obis.parse("0.0.42.0.0.255"), 2), H("0600000005")
    )
    register = GXDLMSRegister("1.0.1.8.0.255")
    (wire,) = _frames(client.method(register, 1, 0, DataType.INT8))  # type: ignore[attr-defined]
    assert _round_trip(wire) == ActionRequestNormal(IIP, RESET, H("0F00"))

    client.settings.maxPduSize = 64  # type: ignore[attr-defined]
    data.value = b"x" * 200
    data.setDataType(2, DataType.OCTET_STRING)
    apdus = [_round_trip(w) for w in _frames(client.write(data, 2))]  # type: ignore[attr-defined]
    first, *rest = apdus
    assert (
        isinstance(first, SetRequestWithFirstDatablock) and not first.last_block and first.block_number == 1
    )
    following = [a for a in rest if isinstance(a, SetRequestWithDatablock)]
    assert len(following) == len(rest) >= 2
    assert [a.last_block for a in following] == [False] * (len(following) - 1) + [True]
    assert [a.block_number for a in following] == list(range(2, len(following) + 2))
    joined = first.raw_data + b"".join(a.raw_data for a in following)
    assert axdr.decode(joined) == b"x" * 200

    apdus = [_round_trip(w) for w in _frames(client.method(register, 1, b"y" * 200, DataType.OCTET_STRING))]  # type: ignore[attr-defined]
    head, *tail = apdus
    assert isinstance(head, ActionRequestWithFirstPblock) and head.method == RESET
    pblocks = [a for a in tail if isinstance(a, ActionRequestWithPblock)]
    assert len(pblocks) == len(tail) >= 2 and pblocks[-1].last_block
    joined = head.raw_data + b"".join(a.raw_data for a in pblocks)
    assert axdr.decode(joined) == b"y" * 200


def test_gurux_general_block_transfer(gurux: object) -> None:
    from gurux_dlms.enums import Conformance as GxConformance
    from gurux_dlms.enums import DataType
    from gurux_dlms.objects import GXDLMSData

    client: object = gurux
    client.negotiatedConformance = GxConformance(0xFFFFFF)  # type: ignore[attr-defined]
    client.settings.maxPduSize = 64  # type: ignore[attr-defined]
    data = GXDLMSData("0.0.42.0.0.255")
    data.value = b"z" * 200
    data.setDataType(2, DataType.OCTET_STRING)
    blocks = [_round_trip(w) for w in _frames(client.write(data, 2))]  # type: ignore[attr-defined]
    assert all(isinstance(b, GeneralBlockTransfer) for b in blocks)
    assert [b.block_number for b in blocks] == list(range(1, len(blocks) + 1))  # type: ignore[union-attr]
    assert [b.last_block for b in blocks][-1] and not any(b.last_block for b in blocks[:-1])  # type: ignore[union-attr]
    inner = decode_apdu(b"".join(b.block_data for b in blocks))  # type: ignore[union-attr]
    assert isinstance(inner, SetRequestNormal) and inner.value == b"z" * 200


def test_gurux_translator_reads_ours_but_not_invocation_counter_errors() -> None:
    from gurux_dlms import GXDLMSTranslator
    from gurux_dlms.enums import TranslatorOutputType

    translator = GXDLMSTranslator(TranslatorOutputType.SIMPLE_XML)
    xml = translator.pduToXml(GetResponseNormal(IIP, result=DataAccessResult.OBJECT_UNAVAILABLE).to_bytes())
    assert 'DataAccessError Value="UnavailableObject"' in xml and 'InvokeIdAndPriority Value="C1"' in xml
    # Gurux 1.0.203 has no name for service-error 6 and raises on a valid exception-response.
    wire = ExceptionResponse(
        ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.INVOCATION_COUNTER_ERROR, 7
    ).to_bytes()
    assert wire == H("D8010600000007")
    with pytest.raises(ValueError, match="6"):
        translator.pduToXml(wire)


# -- dlms_cosem cross-checks ------------------------------------------------------------------------


def test_dlms_cosem_requests_and_responses() -> None:
    from dlms_cosem import cosem
    from dlms_cosem import enumerations as en
    from dlms_cosem.protocol import xdlms

    attribute = cosem.CosemAttribute(en.CosemInterface.CLOCK, cosem.Obis(0, 0, 1, 0, 0, 255), 2)
    method = cosem.CosemMethod(en.CosemInterface.ASSOCIATION_LN, cosem.Obis(0, 0, 40, 0, 0, 255), 1)
    peers = [
        (xdlms.GetRequestNormal(attribute), GetRequestNormal(IIP, CLOCK)),
        (xdlms.GetRequestNext(block_number=3), GetRequestNext(IIP, 3)),
        (
            xdlms.GetResponseNormalWithError(error=en.DataAccessResult.OBJECT_UNDEFINED),
            GetResponseNormal(IIP, result=DataAccessResult.OBJECT_UNDEFINED),
        ),
        (
            xdlms.GetResponseWithBlock(data=H("0102"), block_number=1),
            GetResponseWithDatablock(IIP, False, 1, H("0102")),
        ),
        (
            xdlms.GetResponseLastBlock(data=H("0304"), block_number=2),
            GetResponseWithDatablock(IIP, True, 2, H("0304")),
        ),
        (xdlms.SetRequestNormal(attribute, data=H("1100")), SetRequestNormal(IIP, CLOCK, H("1100"))),
        (
            xdlms.SetResponseNormal(result=en.DataAccessResult.SUCCESS),
            SetResponseNormal(IIP, DataAccessResult.SUCCESS),
        ),
        (xdlms.ActionRequestNormal(method, data=H("0900")), ActionRequestNormal(IIP0, HLS, H("0900"))),
        (
            xdlms.ActionResponseNormalWithData(status=en.ActionResultStatus.SUCCESS, data=H("0900")),
            ActionResponseNormal(IIP0, ActionOutcome(ActionResult.SUCCESS, H("0900"))),
        ),
        (
            xdlms.ExceptionResponse(
                en.StateException.SERVICE_NOT_ALLOWED, en.ServiceException.OPERATION_NOT_POSSIBLE
            ),
            ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
            ),
        ),
    ]
    for peer, ours in peers:
        wire = peer.to_bytes()
        assert decode_apdu(wire) == ours, type(peer).__name__
        assert ours.to_bytes() == wire, type(peer).__name__
        assert type(peer).from_bytes(ours.to_bytes()) == peer, type(peer).__name__


def test_dlms_cosem_get_response_normal_cannot_encode() -> None:
    """dlms_cosem 25.1: GetResponseNormal.to_bytes appends the invoke-id bytes as an int and fails."""
    from dlms_cosem.protocol import xdlms

    with pytest.raises(TypeError):
        xdlms.GetResponseNormal(data=H("1100")).to_bytes()
    # Its decoder reads ours, though.
    assert xdlms.GetResponseNormal.from_bytes(GetResponseNormal(IIP, data=H("1100")).to_bytes()).data == H(
        "1100"
    )


# -- properties --------------------------------------------------------------------------------------

_obis = st.binary(min_size=6, max_size=6).map(Obis.from_bytes)
_iip = st.integers(0, 255).map(InvokeIdAndPriority.from_byte)
_attr = st.builds(CosemAttributeDescriptor, st.integers(0, 0xFFFF), _obis, st.integers(-128, 127))
_meth = st.builds(CosemMethodDescriptor, st.integers(0, 0xFFFF), _obis, st.integers(-128, 127))
_simple_data = st.one_of(
    st.none(),
    st.booleans(),
    st.binary(max_size=200),
    st.integers(0, 255).map(axdr.Unsigned),
    st.integers(0, 2**32 - 1).map(axdr.DoubleLongUnsigned),
    st.text(alphabet="abc ", max_size=20),
)
_data = st.recursive(
    _simple_data, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner), max_leaves=8
).map(axdr.encode)
_access = st.none() | st.builds(SelectiveAccess, st.integers(0, 255), _data)
_dar = st.integers(0, 255).map(DataAccessResult)
_raw = st.binary(max_size=300)
_block = (st.booleans(), st.integers(0, 2**32 - 1), _raw)
_items = st.lists(st.builds(AttributeWithSelection, _attr, _access), max_size=4).map(tuple)

_apdus = st.one_of(
    st.builds(GetRequestNormal, _iip, _attr, _access),
    st.builds(GetRequestNext, _iip, st.integers(0, 2**32 - 1)),
    st.builds(GetRequestWithList, _iip, _items),
    st.builds(GetResponseNormal, _iip, _data),
    st.builds(lambda i, r: GetResponseNormal(i, result=r), _iip, _dar),
    st.builds(GetResponseWithDatablock, _iip, st.booleans(), st.integers(0, 2**32 - 1), _raw),
    st.builds(GetResponseWithList, _iip, st.lists(_data | _dar, max_size=5).map(tuple)),
    st.builds(SetRequestNormal, _iip, _attr, _data, _access),
    st.builds(SetRequestWithFirstDatablock, _iip, _attr, *_block, _access),
    st.builds(SetRequestWithDatablock, _iip, *_block),
    st.builds(
        lambda i, pairs: SetRequestWithList(i, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)),
        _iip,
        st.lists(st.tuples(st.builds(AttributeWithSelection, _attr, _access), _data), max_size=4),
    ),
    st.builds(SetRequestWithListAndFirstDatablock, _iip, _items, *_block),
    st.builds(SetResponseWithList, _iip, st.lists(_dar, max_size=5).map(tuple)),
    st.builds(
        SetResponseLastDatablockWithList,
        _iip,
        st.lists(_dar, max_size=5).map(tuple),
        st.integers(0, 2**32 - 1),
    ),
    st.builds(ActionRequestNormal, _iip, _meth, st.none() | _data),
    st.builds(
        lambda i, pairs: ActionRequestWithList(i, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)),
        _iip,
        st.lists(st.tuples(_meth, _data), max_size=4),
    ),
    st.builds(ActionRequestWithListAndFirstPblock, _iip, st.lists(_meth, max_size=3).map(tuple), *_block),
    st.builds(
        ActionResponseWithList,
        _iip,
        st.lists(
            st.builds(ActionOutcome, st.integers(0, 255).map(ActionResult), st.none() | _data), max_size=4
        ).map(tuple),
    ),
    st.builds(
        DataNotification,
        st.integers(0, 2**32 - 1).map(LongInvokeIdAndPriority),
        st.none() | st.binary(min_size=12, max_size=12),
        _data,
    ),
    st.builds(EventNotificationRequest, _attr, _data, st.none() | st.binary(min_size=12, max_size=12)),
    st.builds(
        GeneralBlockTransfer,
        st.integers(0, 0xFFFF),
        _raw,
        st.booleans(),
        st.booleans(),
        st.integers(0, 63),
        st.integers(0, 0xFFFF),
    ),
)


@settings(max_examples=300, deadline=None)
@given(_apdus)
def test_round_trip(apdu: Apdu) -> None:
    wire = apdu.to_bytes()
    back = decode_apdu(wire)
    assert back == apdu
    assert back.to_bytes() == wire
