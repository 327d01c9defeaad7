"""HDLC addresses: the reference's examples, every size both ways, errors on bad bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.hdlc.address import (
    CLIENT_MANAGEMENT,
    CLIENT_PUBLIC,
    SERVER_LOWER_CALLING_4,
    HdlcAddress,
    decode_address,
)


@pytest.mark.parametrize(
    ("address", "wire"),
    [
        (HdlcAddress(1, 17), "0223"),
        (HdlcAddress(1, 17, 4), "00020023"),
        (HdlcAddress(1, 866), "00020CC5"),
        (HdlcAddress(17, 5481), "002254D3"),
        (HdlcAddress.client(CLIENT_PUBLIC), "21"),
        (HdlcAddress.client(CLIENT_MANAGEMENT), "03"),
        (HdlcAddress.client(0x30), "61"),
        (HdlcAddress(1), "03"),
        (HdlcAddress(1, SERVER_LOWER_CALLING_4), "0002FEFD"),
    ],
)
def test_reference_examples(address: HdlcAddress, wire: str) -> None:
    raw = bytes.fromhex(wire)
    assert address.to_bytes() == raw
    decoded, end = decode_address(raw + b"\x21", 0)
    assert decoded == address
    assert end == len(raw)


def test_size_is_chosen_and_kept() -> None:
    assert HdlcAddress(1, 17).size == 2
    assert HdlcAddress(1, 200).size == 4
    assert HdlcAddress(5).size == 1
    assert HdlcAddress(1, 17, 4) != HdlcAddress(1, 17)  # different bytes on the wire
    assert HdlcAddress(1, 17, 4).same_station(HdlcAddress(1, 17))


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"logical": 128},
        {"logical": 1, "physical": 200, "size": 2},
        {"logical": 1, "physical": 0x4000},
        {"logical": 1, "physical": 1, "size": 1},
        {"logical": 1, "size": 4},
        {"logical": 1, "physical": 1, "size": 3},
        {"logical": -1},
    ],
)
def test_bad_caller_input(kwargs: dict[str, int]) -> None:
    with pytest.raises(LocalProtocolError):
        HdlcAddress(**kwargs)


@pytest.mark.parametrize(("raw", "offset"), [("000001", 0), ("0000000001", 0), ("0000", 0), ("", 0)])
def test_bad_bytes(raw: str, offset: int) -> None:
    with pytest.raises(MalformedDataError) as info:
        decode_address(bytes.fromhex(raw), 0)
    assert info.value.offset == offset


def test_server_accepts_calling_and_all_station() -> None:
    meter = HdlcAddress(1, 866)
    assert meter.accepts(HdlcAddress(1, 866))
    assert meter.accepts(HdlcAddress(1, SERVER_LOWER_CALLING_4))
    assert meter.accepts(HdlcAddress(0x3FFF, 0x3FFF))
    assert not meter.accepts(HdlcAddress(1, 867))
    assert not meter.accepts(HdlcAddress(2, 866))
    client = HdlcAddress.client(16)
    assert client.accepts(HdlcAddress(16)) and client.accepts(HdlcAddress(0x7F))
    assert not client.accepts(HdlcAddress(1))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0x3FFF), st.integers(0, 0x3FFF), st.sampled_from([1, 2, 4]))
def test_round_trip(logical: int, physical: int, size: int) -> None:
    limit = 0x7F if size < 4 else 0x3FFF
    address = HdlcAddress(logical & limit, None if size == 1 else physical & limit, size)
    decoded, end = decode_address(address.to_bytes(), 0)
    assert decoded == address and end == size


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=8), st.integers(0, 8))
def test_fuzz_decode(data: bytes, offset: int) -> None:
    with contextlib.suppress(MeterlinkError):
        decode_address(data, offset)
