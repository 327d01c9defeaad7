"""The IEC 62056-47 (62056-9-7) wrapper that carries APDUs over TCP and UDP.

``version(2) = 0x0001 | source wPort(2) | destination wPort(2) | length(2)`` and then exactly
``length`` APDU bytes. On TCP the PDUs follow each other in a stream that the network cuts
anywhere, so :class:`WrapperFramer` reassembles them; on UDP each datagram holds one PDU
(:func:`decode_datagram`). Client wPort = client SAP, server wPort = logical device.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from meterlink._sansio import NEED_DATA, NeedData
from meterlink.errors import FrameTooLongError, LocalProtocolError, MalformedDataError

__all__ = [
    "HEADER_SIZE",
    "NEED_DATA",
    "WRAPPER_PORT",
    "WRAPPER_VERSION",
    "NeedData",
    "WrapperFramer",
    "WrapperHeader",
    "WrapperPdu",
    "decode_datagram",
]

WRAPPER_VERSION: Final = 0x0001
WRAPPER_PORT: Final = 4059
"""IANA port for DLMS/COSEM over TCP and UDP."""
HEADER_SIZE: Final = 8
_HEADER: Final = struct.Struct(">HHHH")


def _check_port(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise LocalProtocolError(f"{name} must fit 16 bits, not {value}")


@dataclass(frozen=True, slots=True)
class WrapperHeader:
    source: int
    destination: int
    length: int
    version: int = WRAPPER_VERSION

    def __post_init__(self) -> None:
        _check_port("source wPort", self.source)
        _check_port("destination wPort", self.destination)
        _check_port("length", self.length)
        _check_port("version", self.version)

    def to_bytes(self) -> bytes:
        return _HEADER.pack(self.version, self.source, self.destination, self.length)

    @classmethod
    def from_bytes(cls, data: bytes, offset: int = 0) -> WrapperHeader:
        """Read the 8-byte header at ``offset``; only version 0x0001 is accepted."""
        if len(data) - offset < HEADER_SIZE:
            raise MalformedDataError("wrapper header cut short", data=bytes(data), offset=offset)
        version, source, destination, length = _HEADER.unpack_from(data, offset)
        if version != WRAPPER_VERSION:
            raise MalformedDataError(
                f"wrapper version {version:#06x} is not 0x0001", data=bytes(data), offset=offset
            )
        return cls(source, destination, length, version)


@dataclass(frozen=True, slots=True)
class WrapperPdu:
    """One wrapper PDU: the ports and the APDU it carries."""

    source: int
    destination: int
    apdu: bytes

    def __post_init__(self) -> None:
        _check_port("source wPort", self.source)
        _check_port("destination wPort", self.destination)
        if len(self.apdu) > 0xFFFF:
            raise LocalProtocolError(f"an APDU of {len(self.apdu)} bytes does not fit the 16-bit length")

    @property
    def header(self) -> WrapperHeader:
        return WrapperHeader(self.source, self.destination, len(self.apdu))

    def to_bytes(self) -> bytes:
        return _HEADER.pack(WRAPPER_VERSION, self.source, self.destination, len(self.apdu)) + self.apdu

    @classmethod
    def from_bytes(cls, data: bytes) -> WrapperPdu:
        """One complete PDU; the length must match the bytes given exactly."""
        return decode_datagram(data)


def decode_datagram(data: bytes | bytearray | memoryview) -> WrapperPdu:
    """Decode a UDP datagram: one PDU whose length field matches the datagram."""
    buf = bytes(data)
    header = WrapperHeader.from_bytes(buf)
    if header.length != len(buf) - HEADER_SIZE:
        raise MalformedDataError(
            f"wrapper length {header.length} but {len(buf) - HEADER_SIZE} bytes follow the header",
            data=buf,
            offset=6,
        )
    return WrapperPdu(header.source, header.destination, buf[HEADER_SIZE:])


class WrapperFramer:
    """Reassembles wrapper PDUs from a TCP stream cut anywhere.

    ``max_apdu_size`` bounds the length a peer may announce (a wrong length would otherwise make
    the framer wait for bytes that never come). After an error the stream cannot be trusted to
    be in step any more: the buffer is cleared and the caller should close the connection.
    """

    def __init__(self, *, max_apdu_size: int = 0xFFFF) -> None:
        if not 1 <= max_apdu_size <= 0xFFFF:
            raise LocalProtocolError("max_apdu_size must be 1..65535")
        self.max_apdu_size = max_apdu_size
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def next_pdu(self) -> WrapperPdu | NeedData:
        """The next complete PDU or :data:`NEED_DATA`; errors clear the buffer."""
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < HEADER_SIZE:
            self._compact()
            return NEED_DATA
        version, source, destination, length = _HEADER.unpack_from(buf, pos)
        if version != WRAPPER_VERSION:
            head = bytes(buf[pos : pos + HEADER_SIZE])
            self._reset()
            raise MalformedDataError(f"wrapper version {version:#06x} is not 0x0001", data=head, offset=0)
        if length > self.max_apdu_size:
            head = bytes(buf[pos : pos + HEADER_SIZE])
            self._reset()
            raise FrameTooLongError(
                f"wrapper PDU announces {length} bytes, more than {self.max_apdu_size}", data=head, offset=6
            )
        end = pos + HEADER_SIZE + length
        if end > len(buf):
            self._compact()
            return NEED_DATA
        apdu = bytes(buf[pos + HEADER_SIZE : end])
        self._pos = end
        return WrapperPdu(source, destination, apdu)

    def __iter__(self) -> WrapperFramer:
        return self

    def __next__(self) -> WrapperPdu:
        pdu = self.next_pdu()
        if isinstance(pdu, NeedData):
            raise StopIteration
        return pdu

    def _compact(self) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0

    def _reset(self) -> None:
        self._buf.clear()
        self._pos = 0
