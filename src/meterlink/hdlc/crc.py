"""CRC-16/X.25 ("PPP FCS") for the HCS and FCS of HDLC frames.

The polynomial is the reflected CCITT one (0x8408), init and xorout 0xFFFF, and the result goes
on the wire least significant byte first. Python's :func:`binascii.crc_hqx` runs the
*non*-reflected CCITT CRC in C; feeding it bit-reversed bytes and bit-reversing its result gives
the reflected CRC at C speed, which matters because every received frame is checked twice.
"""

from __future__ import annotations

import struct
from binascii import crc_hqx
from typing import Final

__all__ = ["fcs", "fcs_bytes", "fcs_of_reversed", "reversed_bytes"]

_REVERSED: Final = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))
"""Byte translation table: every byte with its bit order reversed."""

_PACK_WIRE: Final = struct.Struct("<H").pack


def fcs(data: bytes | bytearray) -> int:
    """CRC-16/X.25 of ``data`` as an integer (``fcs(b"123456789") == 0x906E``)."""
    crc = crc_hqx(data.translate(_REVERSED), 0xFFFF)
    return ((_REVERSED[crc & 0xFF] << 8) | _REVERSED[crc >> 8]) ^ 0xFFFF


def reversed_bytes(data: bytes | bytearray) -> bytes | bytearray:
    """``data`` with every byte bit-reversed: compute once, then take several CRCs of slices."""
    return data.translate(_REVERSED)


def fcs_of_reversed(view: bytes | bytearray | memoryview) -> int:
    """:func:`fcs` of the bytes whose bit-reversed form is ``view`` (from :func:`reversed_bytes`)."""
    crc = crc_hqx(view, 0xFFFF)
    return ((_REVERSED[crc & 0xFF] << 8) | _REVERSED[crc >> 8]) ^ 0xFFFF


def fcs_bytes(data: bytes | bytearray) -> bytes:
    """CRC-16/X.25 of ``data`` as the two bytes sent on the wire (least significant first)."""
    return _PACK_WIRE(fcs(data))
