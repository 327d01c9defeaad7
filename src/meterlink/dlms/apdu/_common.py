"""Shared pieces of the APDU codecs: a bounds-checked reader, open enums and the small A-XDR fields.

Every decoder reads through :class:`Reader`, so running off the end of the bytes, a bad length or
an unknown choice always becomes a :class:`~meterlink.errors.MalformedDataError` that carries the
whole APDU and the offset - never an ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

import functools
import struct
from enum import IntEnum
from typing import Final, NoReturn, Self

from meterlink.dlms import axdr
from meterlink.dlms._lengths import decode_length, encode_length
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError, ObisError
from meterlink.obis import Obis

U16: Final = struct.Struct(">H")
U32: Final = struct.Struct(">I")
_DESCRIPTOR: Final = struct.Struct(">H6sb")

BOOL_BYTES: Final = (b"\x00", b"\xff")


class OpenIntEnum(IntEnum):
    """An IntEnum that keeps values it does not know instead of failing.

    Meters send vendor-specific result and reason codes; rejecting the whole APDU for one of
    them would hide the answer, so an unknown byte becomes a pseudo-member ``UNKNOWN_<n>`` that
    re-encodes to the same byte.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF:
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None


class Reader:
    """A cursor over one complete APDU; every read is bounds-checked."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def fail(self, message: str, offset: int | None = None) -> NoReturn:
        raise MalformedDataError(message, data=self.data, offset=self.pos if offset is None else offset)

    def need(self, size: int, what: str) -> int:
        """Start offset of ``size`` more bytes; fails naming ``what`` if they are not there."""
        pos = self.pos
        if pos + size > len(self.data):
            self.fail(f"{what} cut short: {size} bytes needed, {len(self.data) - pos} left")
        self.pos = pos + size
        return pos

    def u8(self, what: str) -> int:
        pos = self.pos
        if pos >= len(self.data):
            self.fail(f"{what} missing")
        self.pos = pos + 1
        return self.data[pos]

    def u16(self, what: str) -> int:
        value: int = U16.unpack_from(self.data, self.need(2, what))[0]
        return value

    def u32(self, what: str) -> int:
        value: int = U32.unpack_from(self.data, self.need(4, what))[0]
        return value

    def boolean(self, what: str) -> bool:
        return self.u8(what) != 0

    def take(self, size: int, what: str) -> bytes:
        start = self.need(size, what)
        return self.data[start : start + size]

    def length(self) -> int:
        value, self.pos = decode_length(self.data, self.pos)
        return value

    def octet_string(self, what: str) -> bytes:
        """An A-XDR OCTET STRING without a type tag: length and bytes."""
        return self.take(self.length(), what)

    def count(self, what: str, item_size: int) -> int:
        """A SEQUENCE OF count, refused early when the rest cannot hold that many items."""
        start = self.pos
        number = self.length()
        if number * item_size > len(self.data) - self.pos:
            self.fail(
                f"{what} count {number} does not fit in the {len(self.data) - self.pos} bytes left", start
            )
        return number

    def data_value(self, what: str) -> bytes:
        """One encoded A-XDR Data, returned raw; ``axdr.skip`` finds its end."""
        start = self.pos
        if start >= len(self.data):
            self.fail(f"{what} missing")
        try:
            end = axdr.skip(self.data, start)
        except MeterlinkError as exc:
            offset = getattr(exc, "offset", None)
            raise MalformedDataError(
                f"{what}: {getattr(exc, 'message', exc)}",
                data=self.data,
                offset=offset if isinstance(offset, int) else start,
            ) from None
        self.pos = end
        return self.data[start:end]

    def end(self, what: str) -> None:
        if self.pos != len(self.data):
            self.fail(f"{len(self.data) - self.pos} unexpected bytes after the {what}")


def start(data: bytes | bytearray | memoryview, tag: int, choice: int | None, name: str) -> Reader:
    """A reader positioned after the APDU tag (and the CHOICE byte), both checked."""
    if not isinstance(data, bytes):
        data = bytes(data)
    reader = Reader(data)
    if reader.u8(f"{name} tag") != tag:
        reader.fail(f"not a {name}: tag {data[0]:#04x}, expected {tag:#04x}", 0)
    if choice is not None and reader.u8(f"{name} choice") != choice:
        reader.fail(f"not a {name}: choice {data[1]}, expected {choice}", 1)
    return reader


def decode_choice(data: bytes | bytearray | memoryview, table: dict[int, type], name: str) -> object:
    """Pick the class of a CHOICE from the byte after the tag."""
    if len(data) < 2:
        raise MalformedDataError(f"{name} choice missing", data=bytes(data), offset=len(data))
    cls = table.get(data[1])
    if cls is None:
        raise MalformedDataError(f"unknown {name} choice {data[1]}", data=bytes(data), offset=1)
    return cls.from_bytes(data)  # type: ignore[attr-defined]


def check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LocalProtocolError(f"{name} must be an int in {low}..{high}, got {value!r}")


def check_bytes(name: str, value: object) -> None:
    if not isinstance(value, bytes):
        raise LocalProtocolError(f"{name} must be bytes, got {type(value).__name__}")


def octet_string(value: bytes) -> bytes:
    return encode_length(len(value)) + value


def optional_data(value: bytes | None) -> bytes:
    """A-XDR OPTIONAL Data: ``00`` when absent, ``01`` + the encoded Data otherwise."""
    return b"\x00" if value is None else b"\x01" + value


@functools.lru_cache(maxsize=1024)
def obis_from_wire(raw: bytes) -> Obis:
    """Cached: a session asks for the same few dozen instances again and again."""
    return Obis.from_bytes(raw)


def read_descriptor(reader: Reader, what: str) -> tuple[int, Obis, int]:
    """class-id (uint16), instance-id (6 bytes), attribute-/method-id (int8)."""
    class_id, raw, member = _DESCRIPTOR.unpack_from(reader.data, reader.need(9, what))
    return class_id, obis_from_wire(raw), member


def pack_descriptor(class_id: int, instance: Obis, member: int) -> bytes:
    try:
        return _DESCRIPTOR.pack(class_id, instance.to_bytes(), member)
    except ObisError:
        raise
    except (struct.error, AttributeError) as exc:
        raise LocalProtocolError(
            f"cannot encode descriptor {class_id}/{instance!r}/{member}: {exc}"
        ) from None


def encode_count(number: int) -> bytes:
    return encode_length(number)
