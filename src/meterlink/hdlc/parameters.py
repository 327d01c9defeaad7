"""SNRM/UA parameter negotiation: ``81 80 len`` + TLVs for maximum information lengths and windows.

Each station states its own view: ``05`` max information field length it will *transmit`,
``06`` the one it can *receive*, ``07``/``08`` window sizes transmit/receive. Values are 1, 2
or 4 bytes big-endian (Gurux sends windows as 4 bytes, Kamstrup lengths as 2); an absent
parameter means the default 128 / 128 / 1 / 1. What a direction may use is the smaller of the
sender's transmit wish and the receiver's receive value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from meterlink.errors import LocalProtocolError, MalformedDataError

__all__ = [
    "DEFAULT_PARAMETERS",
    "MAX_INFO_LENGTH",
    "MAX_WINDOW",
    "HdlcParameters",
    "answer_snrm",
    "negotiate",
]

MAX_WINDOW: Final = 7
"""Sequence numbers are modulo 8: at most 7 frames may be unacknowledged."""
MAX_INFO_LENGTH: Final = 2030
"""The largest information field a frame with 4-byte addresses can carry (jDLMS uses it too)."""

_FORMAT_ID: Final = 0x81
_GROUP_ID: Final = 0x80
_TX_INFO, _RX_INFO, _TX_WINDOW, _RX_WINDOW = 0x05, 0x06, 0x07, 0x08
_FIELDS: Final = {
    _TX_INFO: "max_info_transmit",
    _RX_INFO: "max_info_receive",
    _TX_WINDOW: "window_transmit",
    _RX_WINDOW: "window_receive",
}


def _value_bytes(value: int, size: int | None) -> bytes:
    if size is None:
        size = 1 if value <= 0xFF else 2 if value <= 0xFFFF else 4
    return bytes((size,)) + value.to_bytes(size, "big")


@dataclass(frozen=True, slots=True)
class HdlcParameters:
    """One station's HDLC link parameters, seen from that station (transmit = what it sends)."""

    max_info_transmit: int = 128
    max_info_receive: int = 128
    window_transmit: int = 1
    window_receive: int = 1

    def __post_init__(self) -> None:
        for name in ("max_info_transmit", "max_info_receive"):
            value = getattr(self, name)
            if not 1 <= value <= 0xFFFFFFFF:
                raise LocalProtocolError(f"{name} must be a positive 32-bit value, not {value}")
        for name in ("window_transmit", "window_receive"):
            value = getattr(self, name)
            if not 1 <= value <= 0xFFFFFFFF:
                raise LocalProtocolError(f"{name} must be a positive 32-bit value, not {value}")

    @property
    def is_default(self) -> bool:
        return self == DEFAULT_PARAMETERS

    def to_info(self, *, omit_defaults: bool = False, window_bytes: int | None = None) -> bytes:
        """The SNRM/UA information field; empty when ``omit_defaults`` and nothing differs.

        ``window_bytes`` forces the byte count of the window values (4 as Gurux sends them);
        ``None`` picks the shortest.
        """
        parts: list[bytes] = []
        for pid, name in _FIELDS.items():
            value: int = getattr(self, name)
            if omit_defaults and value == getattr(DEFAULT_PARAMETERS, name):
                continue
            size = window_bytes if pid in (_TX_WINDOW, _RX_WINDOW) else None
            parts.append(bytes((pid,)) + _value_bytes(value, size))
        if not parts:
            return b""
        body = b"".join(parts)
        return bytes((_FORMAT_ID, _GROUP_ID, len(body))) + body

    @classmethod
    def from_info(cls, data: bytes) -> HdlcParameters:
        """Read an SNRM/UA information field; an empty field means all defaults.

        Unknown parameters are skipped. Raises :class:`~meterlink.errors.MalformedDataError`
        (with offset) for a wrong format/group id, a bad group length, a value that is not
        1 to 4 bytes long or a zero length or window.
        """
        data = bytes(data)
        if not data:
            return DEFAULT_PARAMETERS
        if len(data) < 3:
            raise MalformedDataError("HDLC parameter field cut short", data=data, offset=len(data))
        if data[0] != _FORMAT_ID or data[1] != _GROUP_ID:
            raise MalformedDataError(
                f"HDLC parameter field must start 81 80, not {data[:2].hex(' ')}", data=data, offset=0
            )
        if data[2] != len(data) - 3:
            raise MalformedDataError(
                f"HDLC parameter group length {data[2]} but {len(data) - 3} bytes follow", data=data, offset=2
            )
        values: dict[str, int] = {}
        pos = 3
        while pos < len(data):
            if pos + 2 > len(data):
                raise MalformedDataError("HDLC parameter cut short", data=data, offset=pos)
            pid, size = data[pos], data[pos + 1]
            if not 1 <= size <= 4:
                raise MalformedDataError(
                    f"HDLC parameter {pid:#04x} with a {size}-byte value", data=data, offset=pos + 1
                )
            end = pos + 2 + size
            if end > len(data):
                raise MalformedDataError(f"HDLC parameter {pid:#04x} cut short", data=data, offset=pos)
            name = _FIELDS.get(pid)
            if name is not None:
                value = int.from_bytes(data[pos + 2 : end], "big")
                if value == 0:
                    raise MalformedDataError(f"HDLC parameter {name} is zero", data=data, offset=pos + 2)
                values[name] = value
            pos = end
        return cls(**values)


DEFAULT_PARAMETERS: Final = HdlcParameters()


def negotiate(own: HdlcParameters, peer: HdlcParameters) -> HdlcParameters:
    """What this station may use, from its own wish and the peer's stated parameters.

    The client calls it with what it sent in the SNRM and what the UA says; the result is its
    effective view (transmit = client to server). Windows are capped at 7, lengths at 2030.
    """
    return HdlcParameters(
        max_info_transmit=min(own.max_info_transmit, peer.max_info_receive, MAX_INFO_LENGTH),
        max_info_receive=min(own.max_info_receive, peer.max_info_transmit, MAX_INFO_LENGTH),
        window_transmit=min(own.window_transmit, peer.window_receive, MAX_WINDOW),
        window_receive=min(own.window_receive, peer.window_transmit, MAX_WINDOW),
    )


def answer_snrm(requested: HdlcParameters, own: HdlcParameters) -> HdlcParameters:
    """The parameters a server states in its UA: its capability limited by the client's request."""
    return negotiate(own, requested)
