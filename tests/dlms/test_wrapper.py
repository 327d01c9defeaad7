"""The IEC 62056-47 wrapper: header codec, TCP stream reassembly, UDP datagrams, peers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms.wrapper import (
    NEED_DATA,
    WrapperFramer,
    WrapperHeader,
    WrapperPdu,
    decode_datagram,
)
from meterlink.errors import FrameTooLongError, LocalProtocolError, MalformedDataError, MeterlinkError

# Gurux GXDLMSClient(True, 16, 1, ..., InterfaceType.WRAPPER).aarqRequest()
GURUX_AARQ = bytes.fromhex("000100100001001f601da109060760857405080101be10040e01000000065f1f0400401e5dffff")


def test_gurux_aarq() -> None:
    pdu = decode_datagram(GURUX_AARQ)
    assert (pdu.source, pdu.destination) == (16, 1)
    assert pdu.apdu[0] == 0x60 and len(pdu.apdu) == 0x1F
    assert pdu.to_bytes() == GURUX_AARQ
    assert pdu.header == WrapperHeader(16, 1, 0x1F)
    assert WrapperHeader.from_bytes(GURUX_AARQ).to_bytes() == GURUX_AARQ[:8]


def test_gurux_generates_what_we_build() -> None:
    from gurux_dlms import GXDLMSClient
    from gurux_dlms.enums import Authentication, InterfaceType

    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    (aarq,) = client.aarqRequest()
    ours = decode_datagram(bytes(aarq))
    assert WrapperPdu(16, 1, ours.apdu).to_bytes() == bytes(aarq)


def test_dlms_cosem_reads_ours() -> None:
    from dlms_cosem.protocol.wrappers import WrapperProtocolDataUnit

    pdu = WrapperPdu(1, 16, b"\xc4\x01\xc1\x00\x06\x00\x00\x00\x01")
    theirs = WrapperProtocolDataUnit.from_bytes(pdu.to_bytes())
    assert theirs.data == pdu.apdu
    assert theirs.wrapper_header.source_wport == 1 and theirs.wrapper_header.destination_wport == 16


def test_stream_every_split() -> None:
    pdus = [WrapperPdu(16, 1, bytes(range(n))) for n in (0, 1, 31, 200)]
    stream = b"".join(p.to_bytes() for p in pdus)
    for cut in range(len(stream) + 1):
        framer = WrapperFramer()
        framer.feed(stream[:cut])
        out = list(framer)
        framer.feed(stream[cut:])
        out += list(framer)
        assert out == pdus, cut
        assert framer.buffered == 0


def test_stream_errors() -> None:
    framer = WrapperFramer(max_apdu_size=100)
    framer.feed(b"\x00\x02\x00\x10\x00\x01\x00\x01\xff")
    with pytest.raises(MalformedDataError) as info:
        framer.next_pdu()
    assert info.value.data == b"\x00\x02\x00\x10\x00\x01\x00\x01" and info.value.offset == 0
    assert framer.buffered == 0
    framer.feed(b"\x00\x01\x00\x10\x00\x01\x00\x65")
    with pytest.raises(FrameTooLongError):
        framer.next_pdu()
    framer.feed(GURUX_AARQ[:5])
    assert framer.next_pdu() is NEED_DATA


@pytest.mark.parametrize(
    ("raw", "offset"),
    [("0001001000", 0), ("0002001000010000", 0), ("000100100001000501", 6), ("0001001000010000ff", 6)],
)
def test_datagram_errors(raw: str, offset: int) -> None:
    with pytest.raises(MalformedDataError) as info:
        decode_datagram(bytes.fromhex(raw))
    assert info.value.offset == offset


def test_bad_caller_input() -> None:
    with pytest.raises(LocalProtocolError):
        WrapperPdu(0x10000, 1, b"")
    with pytest.raises(LocalProtocolError):
        WrapperPdu(1, 1, bytes(0x10000))
    with pytest.raises(LocalProtocolError):
        WrapperFramer(max_apdu_size=0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=20), max_size=6))
def test_fuzz_stream(chunks: list[bytes]) -> None:
    framer = WrapperFramer()
    for chunk in chunks:
        framer.feed(b"\x00\x01" + chunk)
        with contextlib.suppress(MeterlinkError):
            list(framer)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=30))
def test_fuzz_datagram(data: bytes) -> None:
    try:
        pdu = decode_datagram(data)
    except MeterlinkError:
        return
    assert pdu.to_bytes() == data
