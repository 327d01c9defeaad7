"""HDLC frames of the DLMS profile (IEC 62056-46 / 62056-7-6): one frozen type, encoded and parsed.

``7E | format(2) | destination | source | control | [HCS(2) | information] | FCS(2) | 7E``

The format field holds type 3 (``1010``), the segmentation bit S and an 11-bit length counting
the bytes between the flags. The profile has no byte stuffing, so 0x7E may appear anywhere
inside a frame, the FCS included: a frame is delimited by its length, never by a flag search.
The HCS only exists when an information field follows.

Encoding and parsing are on the hot path of every exchange, so both work from precomputed
control-byte tables, one slice per field and the C-speed CRC of :mod:`.crc`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError

from .address import _CACHE as _ADDRESSES
from .address import HdlcAddress, decode_address
from .crc import fcs_bytes, fcs_of_reversed, reversed_bytes

__all__ = [
    "FLAG",
    "MAX_FRAME_LENGTH",
    "MIN_FRAME_LENGTH",
    "Frame",
    "FrameKind",
    "FrmrInfo",
    "control_byte",
    "parse_frame",
]

FLAG: Final = 0x7E
MAX_FRAME_LENGTH: Final = 0x7FF
"""Largest value of the 11-bit length field: bytes between the flags."""
MIN_FRAME_LENGTH: Final = 7
"""Format, one-byte addresses, control and FCS."""

_FORMAT: Final = struct.Struct(">H")
_PACK_FORMAT: Final = _FORMAT.pack
_FLAG_BYTES: Final = b"\x7e"


class FrameKind(StrEnum):
    """The frame types the DLMS HDLC profile uses."""

    I = "I"  # noqa: E741 - the standard's name
    RR = "RR"
    RNR = "RNR"
    SNRM = "SNRM"
    DISC = "DISC"
    UA = "UA"
    DM = "DM"
    FRMR = "FRMR"
    UI = "UI"


_UNNUMBERED: Final = {
    FrameKind.SNRM: 0x83,
    FrameKind.DISC: 0x43,
    FrameKind.UA: 0x63,
    FrameKind.DM: 0x0F,
    FrameKind.FRMR: 0x87,
    FrameKind.UI: 0x03,
}
_SUPERVISORY: Final = {FrameKind.RR: 0x01, FrameKind.RNR: 0x05}
_PF: Final = 0x10


def control_byte(kind: FrameKind, poll_final: bool, send_seq: int = 0, receive_seq: int = 0) -> int:
    """The control byte of a frame (``I`` with N(S)=1, N(R)=2, P: ``0x52``)."""
    pf = _PF if poll_final else 0
    if kind is FrameKind.I:
        return (receive_seq << 5) | pf | (send_seq << 1)
    base = _SUPERVISORY.get(kind)
    if base is not None:
        return (receive_seq << 5) | pf | base
    return _UNNUMBERED[kind] | pf


def _build_decode_table() -> tuple[tuple[FrameKind, bool, int, int] | None, ...]:
    table: list[tuple[FrameKind, bool, int, int] | None] = []
    by_base = {v: k for k, v in _UNNUMBERED.items()}
    for ctrl in range(256):
        pf = bool(ctrl & _PF)
        nr = ctrl >> 5
        if not ctrl & 1:
            table.append((FrameKind.I, pf, (ctrl >> 1) & 7, nr))
        elif ctrl & 0x0F == 0x01:
            table.append((FrameKind.RR, pf, 0, nr))
        elif ctrl & 0x0F == 0x05:
            table.append((FrameKind.RNR, pf, 0, nr))
        else:
            kind = by_base.get(ctrl & ~_PF)
            table.append(None if kind is None else (kind, pf, 0, 0))
    return tuple(table)


_DECODE: Final = _build_decode_table()
"""Control byte -> (kind, P/F, N(S), N(R)); None for REJ, SREJ and undefined commands."""


@dataclass(frozen=True, slots=True)
class FrmrInfo:
    """The information field of a FRMR frame (ISO/IEC 13239, modulo 8).

    ``rejected_control`` is the control byte of the frame that was rejected; ``send_state`` and
    ``receive_state`` the rejecting station's V(S) and V(R). The reason flags: W (control field
    undefined or not implemented), X (information field not allowed with this frame), Y
    (information field too long), Z (invalid N(R)), V (invalid N(S)). Bits are numbered as they
    are sent, least significant bit first (as in the control field).
    """

    rejected_control: int
    send_state: int = 0
    receive_state: int = 0
    rejected_was_response: bool = False
    undefined_control: bool = False
    info_not_allowed: bool = False
    info_too_long: bool = False
    invalid_receive_seq: bool = False
    invalid_send_seq: bool = False

    @classmethod
    def from_bytes(cls, data: bytes) -> FrmrInfo:
        if len(data) < 3:
            raise MalformedDataError("FRMR information shorter than 3 bytes", data=data, offset=len(data))
        states, flags = data[1], data[2]
        return cls(
            rejected_control=data[0],
            send_state=(states >> 1) & 7,
            receive_state=states >> 5,
            rejected_was_response=bool(states & 0x10),
            undefined_control=bool(flags & 0x01),
            info_not_allowed=bool(flags & 0x02),
            info_too_long=bool(flags & 0x04),
            invalid_receive_seq=bool(flags & 0x08),
            invalid_send_seq=bool(flags & 0x10),
        )

    def to_bytes(self) -> bytes:
        states = (self.receive_state & 7) << 5 | (0x10 if self.rejected_was_response else 0)
        states |= (self.send_state & 7) << 1
        flags = (
            self.undefined_control
            | self.info_not_allowed << 1
            | self.info_too_long << 2
            | self.invalid_receive_seq << 3
            | self.invalid_send_seq << 4
        )
        return bytes((self.rejected_control & 0xFF, states, flags))

    @property
    def reasons(self) -> tuple[str, ...]:
        """The set reason flags by their letters, for messages and logs."""
        names = ("W", "X", "Y", "Z", "V")
        flags = (
            self.undefined_control,
            self.info_not_allowed,
            self.info_too_long,
            self.invalid_receive_seq,
            self.invalid_send_seq,
        )
        return tuple(n for n, f in zip(names, flags, strict=True) if f)


@dataclass(frozen=True, slots=True)
class Frame:
    """One HDLC frame.

    ``send_seq`` (N(S)) applies to I frames, ``receive_seq`` (N(R)) to I, RR and RNR frames;
    both are 0 otherwise. ``segmented`` is the S bit of the format field (more segments of the
    same APDU follow). ``info`` is the information field exactly as carried (an I frame's LLC
    header included).
    """

    kind: FrameKind
    destination: HdlcAddress
    source: HdlcAddress
    poll_final: bool = True
    info: bytes = b""
    segmented: bool = False
    send_seq: int = 0
    receive_seq: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.send_seq <= 7 or not 0 <= self.receive_seq <= 7:
            raise LocalProtocolError("HDLC sequence numbers are counted modulo 8 (0..7)")
        if self.send_seq and self.kind is not FrameKind.I:
            raise LocalProtocolError(f"only I frames carry N(S), not {self.kind}")
        if self.receive_seq and self.kind not in (FrameKind.I, FrameKind.RR, FrameKind.RNR):
            raise LocalProtocolError(f"only I, RR and RNR frames carry N(R), not {self.kind}")
        if self.info and self.kind in (FrameKind.RR, FrameKind.RNR):
            raise LocalProtocolError(f"{self.kind} frames carry no information field")
        if self.length > MAX_FRAME_LENGTH:
            raise LocalProtocolError(
                f"frame of {self.length} bytes exceeds the 11-bit length field ({MAX_FRAME_LENGTH})"
            )

    @property
    def control(self) -> int:
        return control_byte(self.kind, self.poll_final, self.send_seq, self.receive_seq)

    @property
    def length(self) -> int:
        """The value of the length field: bytes between the flags."""
        n = 5 + len(self.destination.encoded) + len(self.source.encoded)
        return n + len(self.info) + 2 if self.info else n

    @property
    def frmr(self) -> FrmrInfo:
        """The decoded reason of a FRMR frame."""
        if self.kind is not FrameKind.FRMR:
            raise LocalProtocolError(f"a {self.kind} frame has no FRMR information")
        return FrmrInfo.from_bytes(self.info)

    def to_bytes(self, *, flags: bool = True) -> bytes:
        """The frame as sent; ``flags=False`` leaves out the opening and closing flag."""
        info = self.info
        dst = self.destination.encoded
        src = self.source.encoded
        n = 5 + len(dst) + len(src)
        if info:
            n += len(info) + 2
        fmt = 0xA800 | n if self.segmented else 0xA000 | n
        head = b"".join((_PACK_FORMAT(fmt), dst, src, bytes((self.control,))))
        body = head + fcs_bytes(head) + info if info else head
        if flags:
            return b"".join((_FLAG_BYTES, body, fcs_bytes(body), _FLAG_BYTES))
        return body + fcs_bytes(body)

    def __repr__(self) -> str:
        parts = [f"{self.kind}", f"{self.source}->{self.destination}"]
        if self.kind is FrameKind.I:
            parts.append(f"N(S)={self.send_seq}")
        if self.kind in (FrameKind.I, FrameKind.RR, FrameKind.RNR):
            parts.append(f"N(R)={self.receive_seq}")
        parts.append("P/F" if self.poll_final else "-")
        if self.segmented:
            parts.append("S")
        if self.info:
            shown = self.info[:16].hex(" ")
            parts.append(f"info={shown}{'...' if len(self.info) > 16 else ''} ({len(self.info)} bytes)")
        return f"Frame({' '.join(parts)})"


_new_frame = object.__new__
_SET_KIND: Callable[[Frame, Any], None] = vars(Frame)["kind"].__set__
_SET_DESTINATION: Callable[[Frame, Any], None] = vars(Frame)["destination"].__set__
_SET_SOURCE: Callable[[Frame, Any], None] = vars(Frame)["source"].__set__
_SET_POLL_FINAL: Callable[[Frame, Any], None] = vars(Frame)["poll_final"].__set__
_SET_INFO: Callable[[Frame, Any], None] = vars(Frame)["info"].__set__
_SET_SEGMENTED: Callable[[Frame, Any], None] = vars(Frame)["segmented"].__set__
_SET_SEND_SEQ: Callable[[Frame, Any], None] = vars(Frame)["send_seq"].__set__
_SET_RECEIVE_SEQ: Callable[[Frame, Any], None] = vars(Frame)["receive_seq"].__set__


def _make(
    kind: FrameKind,
    destination: HdlcAddress,
    source: HdlcAddress,
    poll_final: bool,
    info: bytes,
    segmented: bool,
    send_seq: int,
    receive_seq: int,
) -> Frame:
    """Build a parsed frame without re-running the checks the parser already made."""
    frame: Frame = _new_frame(Frame)
    _SET_KIND(frame, kind)
    _SET_DESTINATION(frame, destination)
    _SET_SOURCE(frame, source)
    _SET_POLL_FINAL(frame, poll_final)
    _SET_INFO(frame, info)
    _SET_SEGMENTED(frame, segmented)
    _SET_SEND_SEQ(frame, send_seq)
    _SET_RECEIVE_SEQ(frame, receive_seq)
    return frame


def parse_frame(data: bytes | bytearray | memoryview) -> Frame:
    """Parse one complete frame, with or without its flags, checking length, HCS and FCS.

    Raises :class:`~meterlink.errors.MalformedDataError` for a frame that breaks the format and
    :class:`~meterlink.errors.ChecksumError` (``expected``/``received``, offset of the check
    field) for a wrong HCS or FCS. ``data``/``offset`` of the error refer to ``data`` as given.
    """
    buf = bytes(data)
    start = 0
    end = len(buf)
    if end and buf[0] == FLAG:
        if end < 2 or buf[-1] != FLAG:
            raise MalformedDataError("HDLC frame without closing flag", data=buf, offset=end - 1)
        start = 1
        end -= 1
    size = end - start
    if size < MIN_FRAME_LENGTH:
        raise MalformedDataError(f"HDLC frame of {size} bytes is too short", data=buf, offset=start)
    fmt = (buf[start] << 8) | buf[start + 1]
    if fmt & 0xF000 != 0xA000:
        raise MalformedDataError(f"HDLC format type {fmt >> 12:#x} is not 0xA", data=buf, offset=start)
    if fmt & 0x7FF != size:
        raise MalformedDataError(
            f"HDLC length field says {fmt & 0x7FF} bytes, frame has {size}", data=buf, offset=start
        )
    fcs_at = end - 2
    received = buf[fcs_at] | (buf[fcs_at + 1] << 8)
    rev = memoryview(reversed_bytes(buf))
    expected = fcs_of_reversed(rev[start:fcs_at])
    if received != expected:
        raise ChecksumError(
            f"HDLC FCS {received:#06x} does not match {expected:#06x}",
            expected=expected,
            received=received,
            data=buf,
            offset=fcs_at,
        )
    # the common 1- and 2-byte addresses straight from the cache, anything else the long way
    pos = start + 2
    cut = pos + 1 if buf[pos] & 1 else pos + 2
    destination = _ADDRESSES.get(buf[pos:cut]) if cut < fcs_at and buf[cut - 1] & 1 else None
    if destination is None:
        destination, cut = decode_address(buf, pos, fcs_at)
    pos = cut
    cut = pos + 1 if buf[pos] & 1 else pos + 2
    source = _ADDRESSES.get(buf[pos:cut]) if cut < fcs_at and buf[cut - 1] & 1 else None
    if source is None:
        source, cut = decode_address(buf, pos, fcs_at)
    pos = cut
    if pos >= fcs_at:
        raise MalformedDataError("HDLC frame ends before its control field", data=buf, offset=pos)
    ctrl = buf[pos]
    decoded = _DECODE[ctrl]
    if decoded is None:
        raise MalformedDataError(f"HDLC control field {ctrl:#04x} is not used in DLMS", data=buf, offset=pos)
    kind, pf, ns, nr = decoded
    pos += 1
    rest = fcs_at - pos
    if rest == 0:
        info = b""
    elif rest < 2:
        raise MalformedDataError("HDLC frame with a cut HCS", data=buf, offset=pos)
    else:
        hcs_received = buf[pos] | (buf[pos + 1] << 8)
        hcs_expected = fcs_of_reversed(rev[start:pos])
        if hcs_received != hcs_expected:
            raise ChecksumError(
                f"HDLC HCS {hcs_received:#06x} does not match {hcs_expected:#06x}",
                expected=hcs_expected,
                received=hcs_received,
                data=buf,
                offset=pos,
            )
        info = buf[pos + 2 : fcs_at]
        if info and kind in (FrameKind.RR, FrameKind.RNR):
            raise MalformedDataError(f"{kind} frame with an information field", data=buf, offset=pos + 2)
    return _make(kind, destination, source, pf, info, bool(fmt & 0x800), ns, nr)
