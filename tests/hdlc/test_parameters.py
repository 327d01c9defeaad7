"""SNRM/UA parameters: real UA values, 1/2/4-byte forms, negotiation per direction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.hdlc.parameters import DEFAULT_PARAMETERS, HdlcParameters, answer_snrm, negotiate


def ua_info(tx: bytes, rx: bytes, wtx: bytes = b"\x01", wrx: bytes = b"\x01") -> bytes:
    body = b"".join(bytes((pid, len(v))) + v for pid, v in ((5, tx), (6, rx), (7, wtx), (8, wrx)))
    return bytes((0x81, 0x80, len(body))) + body


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (ua_info(b"\x80", b"\x80"), HdlcParameters(128, 128, 1, 1)),  # Kmethy
        (ua_info(b"\x9a", b"\x9a"), HdlcParameters(154, 154, 1, 1)),
        (ua_info(b"\x80", b"\x3e"), HdlcParameters(128, 62, 1, 1)),  # L+G E650
        (ua_info(b"\x00\x74", b"\x00\x74"), HdlcParameters(116, 116, 1, 1)),  # Kamstrup
        (ua_info(b"\x7e", b"\x7e"), HdlcParameters(126, 126, 1, 1)),  # ISKRA
        (ua_info(b"\x80", b"\x80", b"\x00\x00\x00\x01", b"\x00\x00\x00\x07"), HdlcParameters(128, 128, 1, 7)),
        (bytes.fromhex("818012050180060180070400000001080400000001"), HdlcParameters()),  # Gurux
        (b"", DEFAULT_PARAMETERS),
        (bytes.fromhex("8180030601 40".replace(" ", "")), HdlcParameters(max_info_receive=64)),
        (bytes.fromhex("818006 0901ff 060140".replace(" ", "")), HdlcParameters(max_info_receive=64)),
    ],
)
def test_real_values(info: bytes, expected: HdlcParameters) -> None:
    assert HdlcParameters.from_info(info) == expected


def test_encoding() -> None:
    assert HdlcParameters().to_info() == bytes.fromhex("8180 0c 050180 060180 070101 080101".replace(" ", ""))
    assert HdlcParameters().to_info(omit_defaults=True) == b""
    big = HdlcParameters(max_info_transmit=512, window_receive=3)
    expected = bytes.fromhex("81800a 05020200 080400000003".replace(" ", ""))
    assert big.to_info(omit_defaults=True, window_bytes=4) == expected
    for params in (big, HdlcParameters(0x7E, 0x7E), HdlcParameters(70000, 1, 7, 7)):
        assert HdlcParameters.from_info(params.to_info()) == params
        assert HdlcParameters.from_info(params.to_info(window_bytes=4)) == params


def test_negotiation_per_direction() -> None:
    client = HdlcParameters(max_info_transmit=512, max_info_receive=512, window_transmit=7, window_receive=7)
    ua = HdlcParameters(max_info_transmit=0x80, max_info_receive=0x3E, window_transmit=1, window_receive=1)
    effective = negotiate(client, ua)
    # the client may send only what the meter can receive, and the other way round
    assert effective == HdlcParameters(0x3E, 0x80, 1, 1)
    # the server side: its UA is its capability limited by the request
    meter = HdlcParameters(256, 256, 3, 3)
    stated = answer_snrm(HdlcParameters(128, 1024, 1, 7), meter)
    assert stated == HdlcParameters(
        max_info_transmit=256, max_info_receive=128, window_transmit=3, window_receive=1
    )
    assert negotiate(HdlcParameters(128, 1024, 1, 7), stated) == HdlcParameters(128, 256, 1, 3)
    assert negotiate(HdlcParameters(4000, 4000, 9, 9), HdlcParameters(4000, 4000, 9, 9)) == HdlcParameters(
        2030, 2030, 7, 7
    )


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        ("8180", 2),
        ("8280020601", 0),
        ("818004050180", 2),
        ("818003050580", 4),
        ("81800305 0280".replace(" ", ""), 3),
        ("818003050100", 5),
        ("81800106", 3),
    ],
)
def test_malformed(raw: str, offset: int) -> None:
    with pytest.raises(MalformedDataError) as info:
        HdlcParameters.from_info(bytes.fromhex(raw))
    assert info.value.offset == offset


def test_bad_caller_values() -> None:
    with pytest.raises(LocalProtocolError):
        HdlcParameters(max_info_transmit=0)
    with pytest.raises(LocalProtocolError):
        HdlcParameters(window_receive=0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz(data: bytes) -> None:
    try:
        HdlcParameters.from_info(b"\x81\x80" + bytes((len(data),)) + data)
        HdlcParameters.from_info(data)
    except MeterlinkError:
        pass
