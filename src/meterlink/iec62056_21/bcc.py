"""Block check characters of IEC 62056-21.

The standard BCC (ISO/IEC 1155 LRC) is the XOR of every 7-bit character after the first SOH or
STX up to and including the ETX or EOT that ends the message. Some GOST/Energomera meters use an
additive checksum (sum modulo 128) instead; it is offered only as an explicit choice.

Both functions work on whole buffers without a per-byte Python loop: the XOR folds the buffer as
one big integer, halving its width each round.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BccKind", "bcc", "sum_bcc", "xor_bcc"]


class BccKind(StrEnum):
    """Which block check a link uses."""

    XOR = "xor"
    """ISO 1155 longitudinal redundancy check, as the standard requires."""
    SUM = "sum"
    """Sum of the characters modulo 128, used by some GOST IEC 61107 meters."""


def xor_bcc(data: bytes | bytearray | memoryview) -> int:
    """XOR of all bytes, reduced to 7 bits."""
    n = len(data)
    if n == 0:
        return 0
    folded = int.from_bytes(data, "little")
    width = 1 << (n - 1).bit_length()  # bytes, rounded up to a power of two
    while width > 1:
        width >>= 1
        shift = width << 3
        folded = (folded & ((1 << shift) - 1)) ^ (folded >> shift)
    return folded & 0x7F


def sum_bcc(data: bytes | bytearray | memoryview) -> int:
    """Sum of all bytes modulo 128 (the additive variant)."""
    return sum(bytes(data)) & 0x7F


def bcc(data: bytes | bytearray | memoryview, kind: BccKind = BccKind.XOR) -> int:
    """The block check of ``data`` (already cut to the BCC range) for ``kind``."""
    return xor_bcc(data) if kind is BccKind.XOR else sum_bcc(data)
