"""HDLC addresses of the DLMS profile: one-byte client addresses, 1/2/4-byte server addresses.

Every address byte carries seven address bits in bits 7..1; bit 0 is set on the last byte only,
which is how a receiver finds where the destination ends and the source begins. A server
address is the upper (logical device) address, optionally followed by the lower (physical)
address; in the four-byte form each of them takes two bytes of seven bits (14 bits each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from meterlink.errors import LocalProtocolError, MalformedDataError

__all__ = [
    "CLIENT_ALL_STATION",
    "CLIENT_MANAGEMENT",
    "CLIENT_NO_STATION",
    "CLIENT_PUBLIC",
    "SERVER_LOWER_ALL_STATION",
    "SERVER_LOWER_ALL_STATION_4",
    "SERVER_LOWER_CALLING",
    "SERVER_LOWER_CALLING_4",
    "SERVER_UPPER_ALL_STATION",
    "SERVER_UPPER_ALL_STATION_4",
    "SERVER_UPPER_MANAGEMENT",
    "HdlcAddress",
    "decode_address",
]

# Reserved client addresses (SAPs).
CLIENT_NO_STATION: Final = 0x00
CLIENT_MANAGEMENT: Final = 0x01
CLIENT_PUBLIC: Final = 0x10
CLIENT_ALL_STATION: Final = 0x7F
# Reserved server addresses, one-byte (7-bit) and four-byte (14-bit) forms.
SERVER_UPPER_MANAGEMENT: Final = 0x01
SERVER_UPPER_ALL_STATION: Final = 0x7F
SERVER_UPPER_ALL_STATION_4: Final = 0x3FFF
SERVER_LOWER_CALLING: Final = 0x7E
SERVER_LOWER_CALLING_4: Final = 0x3FFE
SERVER_LOWER_ALL_STATION: Final = 0x7F
SERVER_LOWER_ALL_STATION_4: Final = 0x3FFF


def _encode(logical: int, physical: int | None, size: int) -> bytes:
    if size == 1:
        return bytes(((logical << 1) | 1,))
    assert physical is not None
    if size == 2:
        return bytes((logical << 1, (physical << 1) | 1))
    return bytes(
        (
            (logical >> 7) << 1,
            (logical & 0x7F) << 1,
            (physical >> 7) << 1,
            ((physical & 0x7F) << 1) | 1,
        )
    )


@dataclass(frozen=True, slots=True)
class HdlcAddress:
    """A client address (``logical`` = SAP, no physical part) or a server address.

    ``size`` is the number of bytes on the wire (1, 2 or 4); left as ``None`` the shortest form
    that holds both parts is chosen. A decoded address keeps the size it was received in, so
    re-encoding reproduces the original bytes.
    """

    logical: int
    physical: int | None = None
    size: int | None = None
    encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        logical, physical, size = self.logical, self.physical, self.size
        if size is None:
            if physical is None:
                size = 1
            elif logical <= 0x7F and physical <= 0x7F:
                size = 2
            else:
                size = 4
            object.__setattr__(self, "size", size)
        if size not in (1, 2, 4):
            raise LocalProtocolError(f"an HDLC address is 1, 2 or 4 bytes long, not {size}")
        if size == 1:
            if physical is not None:
                raise LocalProtocolError("a one-byte HDLC address has no physical (lower) part")
            limit = 0x7F
        else:
            if physical is None:
                raise LocalProtocolError(f"a {size}-byte HDLC address needs a physical (lower) part")
            limit = 0x7F if size == 2 else 0x3FFF
            if not 0 <= physical <= limit:
                raise LocalProtocolError(f"physical address {physical} exceeds {limit} ({size} bytes)")
        if not 0 <= logical <= limit:
            raise LocalProtocolError(f"logical address {logical} does not fit {size} byte(s) (0..{limit})")
        object.__setattr__(self, "encoded", _encode(logical, physical, size))

    @classmethod
    def client(cls, sap: int) -> HdlcAddress:
        """The one-byte address of client SAP ``sap`` (16 public -> 0x21, 1 management -> 0x03)."""
        return cls(sap)

    def to_bytes(self) -> bytes:
        return self.encoded

    def same_station(self, other: HdlcAddress) -> bool:
        """Same logical and physical address, whatever the size on the wire."""
        return self.logical == other.logical and self.physical == other.physical

    def accepts(self, destination: HdlcAddress) -> bool:
        """Whether a station with this address must read a frame sent to ``destination``.

        All-station addresses reach everyone; a server also answers the "calling" physical
        address (0x7E / 0x3FFE) that a client uses before it knows the physical address.
        """
        if self.physical is None or destination.physical is None:
            if destination.logical in (CLIENT_ALL_STATION, SERVER_UPPER_ALL_STATION_4):
                return True
            if (
                self.physical is None
                and destination.logical == self.logical
                and destination.physical in (SERVER_LOWER_ALL_STATION, SERVER_LOWER_ALL_STATION_4)
            ):
                return True  # our SAP with an all-station lower part (L+G E450 pushes: CE FF)
            return destination.logical == self.logical and destination.physical == self.physical
        if destination.logical not in (self.logical, SERVER_UPPER_ALL_STATION, SERVER_UPPER_ALL_STATION_4):
            return False
        return destination.physical in (
            self.physical,
            SERVER_LOWER_ALL_STATION,
            SERVER_LOWER_ALL_STATION_4,
            SERVER_LOWER_CALLING,
            SERVER_LOWER_CALLING_4,
        )

    def __str__(self) -> str:
        if self.physical is None:
            return f"{self.logical}"
        return f"{self.logical}/{self.physical}"


_CACHE: dict[bytes, HdlcAddress] = {}
_CACHE_LIMIT: Final = 512


def _from_encoded(raw: bytes) -> HdlcAddress:
    size = len(raw)
    if size == 1:
        return HdlcAddress(raw[0] >> 1, None, 1)
    if size == 2:
        return HdlcAddress(raw[0] >> 1, raw[1] >> 1, 2)
    return HdlcAddress(((raw[0] >> 1) << 7) | (raw[1] >> 1), ((raw[2] >> 1) << 7) | (raw[3] >> 1), 4)


def decode_address(data: bytes, offset: int, end: int | None = None) -> tuple[HdlcAddress, int]:
    """Read one address at ``offset``; returns it and the offset after it.

    Raises :class:`~meterlink.errors.MalformedDataError` for a 3-byte or longer-than-4 address
    or one cut off by ``end`` (default: the end of ``data``).
    """
    stop = len(data) if end is None else end
    pos = offset
    limit = min(offset + 4, stop)
    while pos < limit:
        if data[pos] & 1:
            break
        pos += 1
    else:
        if pos >= stop:
            raise MalformedDataError("HDLC address runs past the frame", data=data, offset=offset)
        raise MalformedDataError("HDLC address longer than 4 bytes", data=data, offset=offset)
    size = pos + 1 - offset
    if size == 3:
        raise MalformedDataError("HDLC address of 3 bytes (only 1, 2 or 4 exist)", data=data, offset=offset)
    raw = data[offset : pos + 1]
    address = _CACHE.get(raw)
    if address is None:
        address = _from_encoded(raw)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[raw] = address
    return address, pos + 1
