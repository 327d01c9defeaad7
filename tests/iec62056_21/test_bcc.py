"""Tests of the IEC 62056-21 block check characters (reference section 1.5 and 1.7)."""

from __future__ import annotations

import functools
import operator
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.iec62056_21.bcc import BccKind, bcc, sum_bcc, xor_bcc

SOH = b"\x01"
STX = b"\x02"
ETX = b"\x03"
EOT = b"\x04"
CRLF = b"\r\n"


# -- helpers ---------------------------------------------------------------------------------------
def naive_xor(data: bytes) -> int:
    """Reference LRC: XOR of every byte, one at a time, then the 7-bit mask."""
    return functools.reduce(operator.xor, data, 0) & 0x7F


def naive_sum(data: bytes) -> int:
    """Reference additive checksum: sum of every byte, one at a time, modulo 128."""
    return functools.reduce(operator.add, data, 0) % 128


def bcc_range(frame: bytes) -> bytes:
    """The bytes a BCC covers: after the first SOH or STX up to and including the ending ETX/EOT.

    ``frame`` is a complete message with its BCC as last byte.
    """
    starts = [i for i in (frame.find(SOH), frame.find(STX)) if i >= 0]
    assert starts, f"no SOH or STX in {frame!r}"
    start = min(starts) + 1
    end = len(frame) - 1  # the BCC itself
    assert frame[end - 1 : end] in (ETX, EOT), f"no ETX/EOT before the BCC in {frame!r}"
    return frame[start:end]


def big_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# Verified vectors of reference section 1.5, as complete frames (the last byte is the BCC).
VECTORS: list[tuple[str, bytes]] = [
    ("B0 break", SOH + b"B0" + ETX + b"q"),
    ("P0 empty operand", SOH + b"P0" + STX + b"()" + ETX + b"`"),
    ("P1 password 00000000", SOH + b"P1" + STX + b"(00000000)" + ETX + b"a"),
    ("P1 empty password", SOH + b"P1" + STX + b"()" + ETX + b"a"),
    ("P0 operand 1234567", SOH + b"P0" + STX + b"(1234567)" + ETX + b"P"),
    ("R1 1.8.0(1)", SOH + b"R1" + STX + b"1.8.0(1)" + ETX + b"k"),
    ("R5 0.9.2()", SOH + b"R5" + STX + b"0.9.2()" + ETX + b"\\"),
    ("R5 0.9.1()", SOH + b"R5" + STX + b"0.9.1()" + ETX + b"_"),
    ("R5 1.8.1()", SOH + b"R5" + STX + b"1.8.1()" + ETX + b"_"),
    ("data 0.9.2(130103)", STX + b"0.9.2(130103)" + ETX + b"9"),
    ("data 0.9.1(101415)", STX + b"0.9.1(101415)" + ETX + b":"),
    (
        "W5 EMH time write",
        SOH + b"W5" + STX + b"1-0:0.9.129*255(1301031605000002)(00000000)" + ETX + b"^",
    ),
    ("W2 Annex C formatted write", SOH + b"W2" + STX + b"C003(910324092239)" + ETX + b"\x1b"),
    ("LIS-200 3:171.0(0)", STX + b"3:171.0(0)" + ETX + b"\x12"),
    (
        "readout with two data sets",
        STX + b"3:14(314*kWh)4:15(415*kWh)" + CRLF + b"!" + CRLF + ETX + b'"',
    ),
]

# The EMH EM4TII reference session of section 1.7: every frame that carries a BCC.
EMH_SESSION: list[tuple[str, bytes]] = [
    ("meter P0 ()", b"\x01P0\x02()\x03`"),
    ("HHU P1 (00000000)", b"\x01P1\x02(00000000)\x03a"),
    ("HHU R5 0.9.2()", b"\x01R5\x020.9.2()\x03\\"),
    ("meter 0.9.2(130103)", b"\x020.9.2(130103)\x039"),
    ("HHU R5 0.9.1()", b"\x01R5\x020.9.1()\x03_"),
    ("meter 0.9.1(101415)", b"\x020.9.1(101415)\x03:"),
    ("HHU B0", b"\x01B0\x03q"),
]

ALL_FRAMES = VECTORS + EMH_SESSION


# -- the range helper itself -------------------------------------------------------------------------
def test_bcc_range_includes_stx_after_soh() -> None:
    assert bcc_range(b"\x01P1\x02(1)\x03x") == b"P1\x02(1)\x03"


def test_bcc_range_excludes_leading_stx() -> None:
    assert bcc_range(b"\x02data\x03x") == b"data\x03"


def test_bcc_range_of_partial_block_ends_with_eot() -> None:
    assert bcc_range(b"\x02data\x04x") == b"data\x04"


# -- verified vectors --------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "frame"), ALL_FRAMES, ids=[n for n, _ in ALL_FRAMES])
def test_verified_vector(name: str, frame: bytes) -> None:
    assert xor_bcc(bcc_range(frame)) == frame[-1], name


@pytest.mark.parametrize(("name", "frame"), ALL_FRAMES, ids=[n for n, _ in ALL_FRAMES])
def test_verified_vector_via_bcc_dispatch(name: str, frame: bytes) -> None:
    assert bcc(bcc_range(frame)) == frame[-1], name
    assert bcc(bcc_range(frame), BccKind.XOR) == frame[-1], name


@pytest.mark.parametrize(("name", "frame"), ALL_FRAMES, ids=[n for n, _ in ALL_FRAMES])
def test_xor_over_range_including_bcc_is_zero(name: str, frame: bytes) -> None:
    assert xor_bcc(bcc_range(frame) + frame[-1:]) == 0, name


@pytest.mark.parametrize(("name", "frame"), ALL_FRAMES, ids=[n for n, _ in ALL_FRAMES])
def test_verified_vector_matches_naive(name: str, frame: bytes) -> None:
    assert naive_xor(bcc_range(frame)) == frame[-1], name


@pytest.mark.parametrize(("name", "frame"), ALL_FRAMES, ids=[n for n, _ in ALL_FRAMES])
def test_verified_vector_with_parity_bits(name: str, frame: bytes) -> None:
    """A link delivering 8-bit bytes with (any) parity in bit 7 gives the same 7-bit BCC."""
    span = bcc_range(frame)
    with_parity = bytes(b | 0x80 if i % 2 else b for i, b in enumerate(span))
    assert xor_bcc(with_parity) == frame[-1], name
    all_high = bytes(b | 0x80 for b in span)
    assert xor_bcc(all_high) == frame[-1], name


def test_break_frame_bytes() -> None:
    assert SOH + b"B0" + ETX + bytes([xor_bcc(b"B0" + ETX)]) == bytes.fromhex("0142300371")


def test_wrong_range_gives_wrong_bcc() -> None:
    """For SOH ... STX ... ETX the STX is inside the range; leaving it out changes the BCC."""
    frame = SOH + b"P1" + STX + b"(00000000)" + ETX
    assert xor_bcc(frame[1:]) == ord("a")
    assert xor_bcc(b"P1(00000000)\x03") != ord("a")


# -- against naive reference implementations ---------------------------------------------------------
@settings(max_examples=200)
@given(st.binary(max_size=2048))
def test_xor_bcc_matches_naive(data: bytes) -> None:
    assert xor_bcc(data) == naive_xor(data)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=1 << 18))
def test_xor_bcc_matches_naive_large(seed: int, size: int) -> None:
    data = big_bytes(seed, size)
    assert xor_bcc(data) == naive_xor(data)


@pytest.mark.parametrize(
    "size",
    [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255, 256, 257, 4095, 4096, 4097, 65537, 1 << 20],
)
def test_xor_bcc_sizes_around_powers_of_two(size: int) -> None:
    data = big_bytes(size, size)
    assert xor_bcc(data) == naive_xor(data)


@pytest.mark.parametrize("size", [1, 2, 3, 8, 9, 1000, 65537])
def test_xor_bcc_single_byte_at_every_position(size: int) -> None:
    """A lone non-zero byte anywhere in a zero buffer must survive the folding."""
    positions = range(size) if size <= 1000 else [0, 1, size // 2, size - 2, size - 1]
    for pos in positions:
        buf = bytearray(size)
        buf[pos] = 0x5A
        assert xor_bcc(bytes(buf)) == 0x5A, pos


def test_xor_bcc_empty_is_zero() -> None:
    assert xor_bcc(b"") == 0
    assert sum_bcc(b"") == 0


@settings(max_examples=200)
@given(st.binary(max_size=2048))
def test_sum_bcc_matches_naive(data: bytes) -> None:
    assert sum_bcc(data) == naive_sum(data)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=1 << 18))
def test_sum_bcc_matches_naive_large(seed: int, size: int) -> None:
    data = big_bytes(seed, size)
    assert sum_bcc(data) == naive_sum(data)


@settings(max_examples=100)
@given(st.binary(max_size=512))
def test_bcc_dispatch(data: bytes) -> None:
    assert bcc(data) == naive_xor(data)
    assert bcc(data, BccKind.XOR) == naive_xor(data)
    assert bcc(data, BccKind.SUM) == naive_sum(data)


@settings(max_examples=100)
@given(st.binary(max_size=512))
def test_accepts_bytearray_and_memoryview(data: bytes) -> None:
    for view in (bytearray(data), memoryview(data)):
        assert xor_bcc(view) == naive_xor(data)
        assert sum_bcc(view) == naive_sum(data)
        assert bcc(view, BccKind.SUM) == naive_sum(data)


@settings(max_examples=100)
@given(st.binary(max_size=512))
def test_result_is_seven_bit(data: bytes) -> None:
    assert 0 <= xor_bcc(data) <= 0x7F
    assert 0 <= sum_bcc(data) <= 0x7F


# -- properties ----------------------------------------------------------------------------------------
@settings(max_examples=200)
@given(st.binary(max_size=1024).map(lambda b: bytes(x & 0x7F for x in b)))
def test_xor_over_data_and_its_bcc_is_zero(data: bytes) -> None:
    assert xor_bcc(data + bytes([xor_bcc(data)])) == 0


@settings(max_examples=200)
@given(st.binary(max_size=1024), st.lists(st.booleans(), max_size=1024))
def test_parity_bit_is_ignored(data: bytes, flips: list[bool]) -> None:
    """Setting or clearing bit 7 of any bytes changes neither check (7-bit mask)."""
    masked = bytes(b & 0x7F for b in data)
    mixed = bytes((b | 0x80) if (i < len(flips) and flips[i]) else (b & 0x7F) for i, b in enumerate(data))
    assert xor_bcc(mixed) == xor_bcc(masked) == naive_xor(masked)
    assert sum_bcc(mixed) == sum_bcc(masked) == naive_sum(masked)


@settings(max_examples=100)
@given(st.binary(max_size=512), st.binary(max_size=512))
def test_xor_bcc_is_homomorphic_over_concatenation(a: bytes, b: bytes) -> None:
    assert xor_bcc(a + b) == xor_bcc(a) ^ xor_bcc(b)
    assert sum_bcc(a + b) == (sum_bcc(a) + sum_bcc(b)) % 128


@settings(max_examples=100)
@given(st.binary(min_size=1, max_size=512), st.data())
def test_single_byte_change_is_detected(data: bytes, draw: st.DataObject) -> None:
    """Changing one 7-bit character always changes the XOR BCC."""
    masked = bytearray(b & 0x7F for b in data)
    pos = draw.draw(st.integers(min_value=0, max_value=len(masked) - 1))
    new = draw.draw(st.integers(min_value=0, max_value=0x7F).filter(lambda v: v != masked[pos]))
    before = xor_bcc(bytes(masked))
    masked[pos] = new
    assert xor_bcc(bytes(masked)) != before


def test_bcc_kind_values() -> None:
    assert BccKind("xor") is BccKind.XOR
    assert BccKind("sum") is BccKind.SUM


def test_sum_bcc_known_values() -> None:
    assert sum_bcc(b"B0\x03") == (0x42 + 0x30 + 0x03) % 128
    assert sum_bcc(bytes([0x7F, 0x01])) == 0
    assert sum_bcc(bytes([0xFF] * 2)) == (0xFF * 2) % 128
