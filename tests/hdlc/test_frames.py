"""HDLC frames: real captures, every kind and address size, 11-bit lengths, peers both ways."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.hdlc.address import HdlcAddress
from meterlink.hdlc.crc import fcs_bytes
from meterlink.hdlc.frames import Frame, FrameKind, FrmrInfo, control_byte, parse_frame
from meterlink.hdlc.parameters import HdlcParameters

METER = HdlcAddress(1, 17)
CLIENT = HdlcAddress.client(16)

KMETHY_SNRM = bytes.fromhex("7EA00A00020023219318717E")
KAMSTRUP_ECHO = bytes.fromhex("7ea0082003279373857e")  # u9n #62: the SNRM the optical head echoed
MEM600_DISC = bytes.fromhex("7EA00A0002FEFD41533C947E")  # u9n #74/#95
FLAG_IN_FCS = bytes.fromhex("7EA01B0300023C4752D551E6E700C401C10009060100202000FF7E8C7E")  # u9n #97
GURUX_SNRM_4BYTE_WINDOWS = bytes.fromhex(  # u9n #62: Gurux-style SNRM, windows as 4 bytes
    "7EA020204127930C0C818013050180060202000704000000010804000000 01B4F97E".replace(" ", "")
)


def test_kmethy_snrm() -> None:
    frame = parse_frame(KMETHY_SNRM)
    assert frame.kind is FrameKind.SNRM and frame.poll_final
    assert frame.destination == HdlcAddress(1, 17, 4)
    assert frame.source == CLIENT
    assert frame.info == b""
    assert frame.to_bytes() == KMETHY_SNRM
    assert Frame(FrameKind.SNRM, HdlcAddress(1, 17, 4), CLIENT).to_bytes() == KMETHY_SNRM


def test_kamstrup_echo_and_mem600_disc() -> None:
    snrm = parse_frame(KAMSTRUP_ECHO)
    assert snrm.kind is FrameKind.SNRM and snrm.source == HdlcAddress.client(0x13)
    assert snrm.to_bytes() == KAMSTRUP_ECHO
    disc = parse_frame(MEM600_DISC)
    assert disc.kind is FrameKind.DISC
    assert disc.destination == HdlcAddress(1, 0x3FFE, 4)  # the "calling" physical address
    assert disc.source == HdlcAddress.client(0x20)
    assert disc.to_bytes() == MEM600_DISC


def test_flag_inside_the_fcs() -> None:
    frame = parse_frame(FLAG_IN_FCS)
    assert frame.kind is FrameKind.I
    assert (frame.send_seq, frame.receive_seq) == (1, 2)
    assert frame.info[:3] == b"\xe6\xe7\x00"
    assert frame.to_bytes()[-3:-1] == b"\x7e\x8c"
    assert frame.to_bytes() == FLAG_IN_FCS


def test_snrm_with_four_byte_windows() -> None:
    frame = parse_frame(GURUX_SNRM_4BYTE_WINDOWS)
    assert frame.kind is FrameKind.SNRM
    assert HdlcParameters.from_info(frame.info) == HdlcParameters(128, 512, 1, 1)
    assert frame.to_bytes() == GURUX_SNRM_4BYTE_WINDOWS


def test_without_flags() -> None:
    assert parse_frame(KMETHY_SNRM[1:-1]) == parse_frame(KMETHY_SNRM)
    assert Frame(FrameKind.SNRM, HdlcAddress(1, 17, 4), CLIENT).to_bytes(flags=False) == KMETHY_SNRM[1:-1]


@pytest.mark.parametrize(
    ("kind", "pf", "ns", "nr", "control"),
    [
        (FrameKind.I, True, 0, 0, 0x10),
        (FrameKind.I, True, 1, 1, 0x32),
        (FrameKind.I, True, 2, 2, 0x54),
        (FrameKind.I, False, 3, 3, 0x66),
        (FrameKind.RR, True, 0, 1, 0x31),
        (FrameKind.RR, True, 0, 0, 0x11),
        (FrameKind.RNR, True, 0, 1, 0x35),
        (FrameKind.SNRM, True, 0, 0, 0x93),
        (FrameKind.SNRM, False, 0, 0, 0x83),
        (FrameKind.DISC, True, 0, 0, 0x53),
        (FrameKind.UA, True, 0, 0, 0x73),
        (FrameKind.DM, True, 0, 0, 0x1F),
        (FrameKind.FRMR, True, 0, 0, 0x97),
        (FrameKind.UI, True, 0, 0, 0x13),
        (FrameKind.UI, False, 0, 0, 0x03),
    ],
)
def test_control_bytes(kind: FrameKind, pf: bool, ns: int, nr: int, control: int) -> None:
    assert control_byte(kind, pf, ns, nr) == control
    info = b"\x01" if kind in (FrameKind.I, FrameKind.UI) else b""
    frame = Frame(kind, METER, CLIENT, pf, info, send_seq=ns, receive_seq=nr)
    parsed = parse_frame(frame.to_bytes())
    assert parsed == frame and parsed.control == control


ADDRESSES = [HdlcAddress(1), HdlcAddress(1, 17), HdlcAddress(1, 17, 4), HdlcAddress(0x3FFF, 0x3FFE)]


@pytest.mark.parametrize("server", ADDRESSES)
@pytest.mark.parametrize("kind", list(FrameKind))
@pytest.mark.parametrize("direction", ["to server", "to client"])
def test_round_trip_every_kind_and_size(server: HdlcAddress, kind: FrameKind, direction: str) -> None:
    dst, src = (server, CLIENT) if direction == "to server" else (CLIENT, server)
    seq = {"send_seq": 5} if kind is FrameKind.I else {}
    nr = {"receive_seq": 6} if kind in (FrameKind.I, FrameKind.RR, FrameKind.RNR) else {}
    info = b"" if kind in (FrameKind.RR, FrameKind.RNR) else b"\x7e\xe6\xe6\x00\x7e"
    frame = Frame(kind, dst, src, True, info, segmented=kind is FrameKind.I, **seq, **nr)
    raw = frame.to_bytes()
    assert raw[0] == raw[-1] == 0x7E
    assert ((raw[1] & 0x07) << 8 | raw[2]) == len(raw) - 2
    assert parse_frame(raw) == frame


def test_eleven_bit_length_579_bytes() -> None:
    # Aidon's 0x243-byte frames: the length needs all 11 bits
    info = bytes(range(256)) * 2 + bytes(55)  # 12 bytes of framing around it
    frame = Frame(FrameKind.I, CLIENT, HdlcAddress(1, 17, 4), True, info)
    raw = frame.to_bytes()
    assert len(raw) - 2 == 579 == frame.length
    assert raw[1:3] == b"\xa2\x43"
    assert parse_frame(raw) == frame
    segmented = Frame(FrameKind.I, CLIENT, METER, False, info, segmented=True)
    assert segmented.to_bytes()[1] == 0xAA  # S bit plus the high length bits


def test_longest_frame_and_one_more() -> None:
    room = 0x7FF - 9  # format 2, addresses 1+1, control 1, HCS 2, FCS 2
    frame = Frame(FrameKind.UI, HdlcAddress(1), CLIENT, True, bytes(room))
    assert parse_frame(frame.to_bytes()) == frame
    with pytest.raises(LocalProtocolError):
        Frame(FrameKind.UI, HdlcAddress(1), CLIENT, True, bytes(room + 1))


def test_frmr_information() -> None:
    # a rejected I frame N(S)=2 N(R)=2 P (control 0x54) with V set: invalid N(S) (u9n #95 shape)
    info = FrmrInfo.from_bytes(bytes.fromhex("540010"))
    assert info.rejected_control == 0x54 and info.invalid_send_seq and info.reasons == ("V",)
    full = FrmrInfo(0x32, send_state=3, receive_state=5, undefined_control=True, invalid_receive_seq=True)
    assert FrmrInfo.from_bytes(full.to_bytes()) == full
    assert full.to_bytes() == bytes((0x32, 5 << 5 | 3 << 1, 0x09))
    frame = Frame(FrameKind.FRMR, CLIENT, METER, True, full.to_bytes())
    assert parse_frame(frame.to_bytes()).frmr == full
    with pytest.raises(MalformedDataError):
        FrmrInfo.from_bytes(b"\x54")
    with pytest.raises(LocalProtocolError):
        _ = Frame(FrameKind.UA, CLIENT, METER).frmr


def test_checksum_errors_name_expected_received_and_offset() -> None:
    raw = bytearray(FLAG_IN_FCS)
    raw[-2] ^= 0xFF  # FCS
    with pytest.raises(ChecksumError) as info:
        parse_frame(bytes(raw))
    assert info.value.offset == len(raw) - 3
    assert info.value.expected == 0x8C7E and info.value.received == 0x737E
    assert info.value.data == bytes(raw)
    # HCS: recompute the FCS so only the header check fails
    body = bytearray(FLAG_IN_FCS[1:-3])
    body[8] ^= 0x01
    bad = b"\x7e" + bytes(body) + fcs_bytes(bytes(body)) + b"\x7e"
    with pytest.raises(ChecksumError) as info:
        parse_frame(bad)
    assert info.value.offset == 9


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("7EA00A00020023219318717", "closing flag"),
        ("7EA00B00020023219318717E", "length"),
        ("7EB00A00020023219318717E", "format"),
        ("7EA0050021937E", "short"),
    ],
)
def test_malformed(raw: str, why: str) -> None:
    data = bytes.fromhex(raw if len(raw) % 2 == 0 else raw + "0")
    with pytest.raises(MalformedDataError):
        parse_frame(data)


def test_undefined_control_and_bad_addresses() -> None:
    def framed(body: bytes) -> bytes:
        n = len(body) + 4
        head = bytes((0xA0 | n >> 8, n & 0xFF)) + body
        return b"\x7e" + head + fcs_bytes(head) + b"\x7e"

    with pytest.raises(MalformedDataError, match="control"):
        parse_frame(framed(b"\x03\x21\x09"))  # REJ is not in the profile
    with pytest.raises(MalformedDataError, match="3 bytes"):
        parse_frame(framed(b"\x00\x02\x23\x21\x93"))


def test_bad_caller_input() -> None:
    with pytest.raises(LocalProtocolError):
        Frame(FrameKind.I, METER, CLIENT, send_seq=8)
    with pytest.raises(LocalProtocolError):
        Frame(FrameKind.UA, METER, CLIENT, send_seq=1)
    with pytest.raises(LocalProtocolError):
        Frame(FrameKind.SNRM, METER, CLIENT, receive_seq=1)
    with pytest.raises(LocalProtocolError):
        Frame(FrameKind.RR, METER, CLIENT, info=b"x")


# -- peers ----------------------------------------------------------------------------------------
def test_gurux_frames_parse() -> None:
    from gurux_dlms import GXDLMSClient
    from gurux_dlms.enums import Authentication, InterfaceType

    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.HDLC)
    snrm = parse_frame(bytes(client.snrmRequest()))
    assert snrm.kind is FrameKind.SNRM and snrm.source == CLIENT and snrm.destination == HdlcAddress(1)
    client.limits.maxInfoRX = 512
    client.limits.windowSizeRX = 3
    snrm = parse_frame(bytes(client.snrmRequest()))
    assert HdlcParameters.from_info(snrm.info) == HdlcParameters(128, 512, 1, 3)
    (aarq,) = client.aarqRequest()
    frame = parse_frame(bytes(aarq))
    assert frame.kind is FrameKind.I and frame.send_seq == 0 and frame.poll_final
    assert frame.info[:4] == b"\xe6\xe6\x00\x60"


def test_gurux_reads_our_frames() -> None:
    from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
    from gurux_dlms.enums import Authentication, InterfaceType

    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.HDLC)
    client.snrmRequest()
    ua = Frame(FrameKind.UA, CLIENT, HdlcAddress(1), True, HdlcParameters(0x80, 0x3E, 1, 1).to_info())
    reply = GXReplyData()
    assert client.getData(GXByteBuffer(ua.to_bytes()), reply)
    client.parseUAResponse(reply.data)
    assert client.limits.maxInfoTX == 0x3E  # our receive value limits what Gurux sends


def test_dlms_cosem_both_ways() -> None:
    from dlms_cosem.hdlc import address, frames

    server = address.HdlcAddress(logical_address=1, physical_address=17, address_type="server")
    client = address.HdlcAddress(logical_address=16, address_type="client")
    theirs = frames.SetNormalResponseModeFrame(destination_address=server, source_address=client)
    ours = parse_frame(theirs.to_bytes())
    assert ours.kind is FrameKind.SNRM and ours.destination.same_station(METER) and ours.source == CLIENT

    iframe = frames.InformationFrame(
        destination_address=server,
        source_address=client,
        payload=b"\xe6\xe6\x00\xc0\x01\xc1",
        send_sequence_number=3,
        receive_sequence_number=4,
    )
    parsed = parse_frame(iframe.to_bytes())
    assert (parsed.kind, parsed.send_seq, parsed.receive_seq) == (FrameKind.I, 3, 4)
    assert parsed.info == b"\xe6\xe6\x00\xc0\x01\xc1"

    mine = Frame(
        FrameKind.I,
        CLIENT,
        HdlcAddress(1, 17),
        True,
        b"\xe6\xe7\x00\xc4\x01\xc1\x00\x06\x00\x00\x00\x01",
        send_seq=4,
        receive_seq=4,
    )
    back = frames.InformationFrame.from_bytes(mine.to_bytes())
    assert back.send_sequence_number == 4 and back.receive_sequence_number == 4
    assert back.payload == mine.info
    rr = Frame(FrameKind.RR, CLIENT, HdlcAddress(1, 17), True, receive_seq=5)
    assert frames.ReceiveReadyFrame.from_bytes(rr.to_bytes()).receive_sequence_number == 5


# -- fuzz -----------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_parse_random(data: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        parse_frame(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.integers(0, 60), st.integers(0, 255))
def test_fuzz_parse_mutated(body: bytes, where: int, value: int) -> None:
    """Valid lengths and checksums around random content reach the deeper checks."""
    n = len(body) + 4
    head = bytes((0xA0 | (n >> 8 & 7), n & 0xFF)) + body
    raw = bytearray(b"\x7e" + head + fcs_bytes(head) + b"\x7e")
    if where < len(raw) and where % 3 == 0:
        raw[where] = value
    try:
        frame = parse_frame(bytes(raw))
    except MeterlinkError:
        return
    assert parse_frame(frame.to_bytes()) == frame
