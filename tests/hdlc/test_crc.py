"""CRC-16/X.25: the C-speed trick against a plain table-driven reference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.hdlc.crc import fcs, fcs_bytes, fcs_of_reversed, reversed_bytes


def _reference_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _reference_table()


def reference_fcs(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def test_check_value() -> None:
    assert fcs(b"123456789") == 0x906E
    assert reference_fcs(b"123456789") == 0x906E


def test_wire_order_vectors() -> None:
    # Kmethy SNRM header and the reference's short vector: least significant byte first
    assert fcs_bytes(bytes.fromhex("A00A00020023 2193".replace(" ", ""))) == bytes.fromhex("1871")
    assert fcs_bytes(bytes.fromhex("033F")) == bytes.fromhex("5BEC")


def test_empty_and_bytearray() -> None:
    assert fcs(b"") == reference_fcs(b"") == 0x0000
    assert fcs(bytearray(b"123456789")) == 0x906E


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_matches_reference(data: bytes) -> None:
    assert fcs(data) == reference_fcs(data)
    rev = memoryview(reversed_bytes(data))
    assert fcs_of_reversed(rev[1:]) == reference_fcs(data[1:])
