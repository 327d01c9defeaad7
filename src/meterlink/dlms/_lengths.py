"""A-XDR / BER length fields, shared by the data codec, the APDUs and the ciphering envelopes.

A length below 0x80 is one byte; longer ones are ``0x80 | n`` followed by ``n`` big-endian
bytes (``81 F8``, ``82 01 F2``). Both A-XDR and the BER of ACSE use this form.
"""

from __future__ import annotations

from meterlink.errors import MalformedDataError

__all__ = ["decode_length", "encode_length"]

_SHORT = [bytes((n,)) for n in range(0x80)]


def encode_length(length: int) -> bytes:
    """Encode ``length`` in the shortest form."""
    if length < 0x80:
        if length < 0:
            raise ValueError(f"a length cannot be negative: {length}")
        return _SHORT[length]
    size = (length.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def decode_length(data: bytes | bytearray | memoryview, offset: int) -> tuple[int, int]:
    """Return ``(length, offset after the length field)``; errors name the offset and bytes."""
    try:
        first = data[offset]
    except IndexError:
        raise MalformedDataError("length field missing", data=bytes(data), offset=offset) from None
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    end = offset + 1 + size
    if size == 0 or size > 4:
        raise MalformedDataError(
            f"length field with {size} length bytes is not supported", data=bytes(data), offset=offset
        )
    if end > len(data):
        raise MalformedDataError("length field cut short", data=bytes(data), offset=offset)
    return int.from_bytes(data[offset + 1 : end], "big"), end
