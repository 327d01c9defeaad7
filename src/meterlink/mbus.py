"""Wired M-Bus long frames (EN 13757-2) and the DLMS segmentation carried in them, sans-io.

A long frame is ``68 L L 68 | C A CI data | CS 16``: ``L`` counts the bytes from ``C`` to the end
of ``data``, ``CS`` is their sum modulo 256. Austrian smart meters (EVN, Netz NOe, Salzburg: Kaifa,
Sagemcom) push DLMS APDUs this way (reference notes 4.9, "DLMS over wired M-Bus"):

* ``data`` starts with two transport SAPs (``STSAP DTSAP``, ``01 67`` in the captures) and then the
  next piece of the APDU;
* ``CI`` bits 0-3 number the segments of one APDU (0 for the first), bit 4 (``0x10``) marks the
  last one: a two-frame push is ``CI 00`` then ``CI 11``, a one-frame push ``CI 10``.

Quirks handled here, both seen in real captures (``tests/fixtures/dlms/amshan_test_wiredmb_*``):

* the Sagemcom T210-D writes only the low byte of a length above 255 (``68 01 01 68`` for 257
  bytes). When checksum and stop byte are not where ``L`` puts them, ``L + 256`` is tried
  (:attr:`MbusFramer.length_overflows` counts these);
* a listener may start mid-push: a continuation segment without its first one is an *orphan*
  and is dropped (:attr:`DlmsSegmenter.orphans`).

Single-character (``E5``) and short frames (``10 C A CS 16``) carry no DLMS data and are skipped
like line noise. Everything is bounded: at most one frame of 4 + 511 + 2 bytes is buffered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, NoReturn

from meterlink._sansio import NEED_DATA, NeedData
from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError, RemoteProtocolError

__all__ = [
    "FIN",
    "NEED_DATA",
    "BadMbusFrame",
    "DlmsSegmenter",
    "LongFrame",
    "MbusFramer",
    "MbusReceiver",
    "NeedData",
    "encode_apdu",
    "read_frame",
]

START: Final = 0x68
STOP: Final = 0x16
FIN: Final = 0x10
"""CI bit marking the last segment of an APDU."""
_SEGMENT: Final = 0x0F
_MIN_BODY: Final = 3  # C, A, CI
_MAX_BODY: Final = 255 + 256  # a low-byte-only length can stand for up to 511
_COMPACT_AT: Final = 4096


def _checksum(body: bytes | bytearray | memoryview) -> int:
    return sum(body) & 0xFF


@dataclass(frozen=True, slots=True)
class LongFrame:
    """One long frame; ``data`` is everything after ``CI`` (SAPs and APDU piece for DLMS).

    The standard allows 252 data bytes; up to 508 are accepted because of the low-byte-only
    length quirk, and re-encode the same way.
    """

    control: int
    address: int
    ci: int
    data: bytes = b""

    def __post_init__(self) -> None:
        for name in ("control", "address", "ci"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
                raise LocalProtocolError(f"M-Bus {name} field must be a byte, got {value!r}")
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if len(self.data) + _MIN_BODY > _MAX_BODY:
            raise LocalProtocolError(f"an M-Bus long frame holds at most 508 data bytes: {len(self.data)}")

    @property
    def segment(self) -> int:
        """DLMS segment number (CI bits 0-3)."""
        return self.ci & _SEGMENT

    @property
    def last(self) -> bool:
        """DLMS: this is the last segment of the APDU (CI bit 4)."""
        return bool(self.ci & FIN)

    @property
    def stsap(self) -> int | None:
        return self.data[0] if self.data else None

    @property
    def dtsap(self) -> int | None:
        return self.data[1] if len(self.data) > 1 else None

    @property
    def payload(self) -> bytes:
        """The APDU piece: ``data`` without the two transport SAPs."""
        return self.data[2:]

    def to_bytes(self) -> bytes:
        body = bytes((self.control, self.address, self.ci)) + self.data
        size = len(body) & 0xFF  # above 255 only the low byte fits: what the Sagemcom T210-D sends
        return bytes((START, size, size, START)) + body + bytes((_checksum(body), STOP))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> LongFrame:
        """Exactly one long frame (the low-byte-only length quirk accepted)."""
        buf = bytes(data)
        body_len = _frame_body_length(buf, 0, strict=True)
        if body_len is None or 4 + body_len + 2 != len(buf):
            raise MalformedDataError(
                f"M-Bus long frame of {len(buf)} bytes does not match its length field", data=buf, offset=1
            )
        return cls._from_body(buf[4 : 4 + body_len])

    @classmethod
    def _from_body(cls, body: bytes) -> LongFrame:
        return cls(body[0], body[1], body[2], body[3:])


def _frame_body_length(buf: bytes | bytearray, pos: int, *, strict: bool) -> int | None:
    """Body length of the frame at ``pos`` or None when more bytes are needed (never when strict).

    Raises for a head that is not a long frame, a bad checksum or a missing stop byte.
    """
    size = len(buf) - pos
    if size < 4:
        if strict:
            raise MalformedDataError("M-Bus long frame cut short", data=bytes(buf[pos:]), offset=0)
        return None
    if buf[pos] != START or buf[pos + 3] != START or buf[pos + 1] != buf[pos + 2]:
        head = bytes(buf[pos : pos + 4])
        raise MalformedDataError("not an M-Bus long frame head (68 L L 68)", data=head, offset=0)
    length = buf[pos + 1]
    first_error: RemoteProtocolError | None = None
    for candidate in (length, length + 256):
        if candidate < _MIN_BODY:
            continue
        end = pos + 4 + candidate
        if end + 2 > len(buf):
            if strict:
                break
            return None  # may still turn out right when the rest arrives
        received = buf[end]
        expected = _checksum(memoryview(buf)[pos + 4 : end])
        if buf[end + 1] == STOP and received == expected:
            return candidate
        # A stop byte where the short reading ends but a wrong checksum: a damaged short frame,
        # or a frame 256 bytes longer whose byte there happens to be 0x16 (Sagemcom writes only
        # the low byte of the length: 1 such frame in 256). What follows decides: another frame
        # (or an ACK) right after means damage; otherwise the longer reading is tried.
        if candidate == length and buf[end + 1] == STOP and _frame_starts(buf, end + 2):
            return _bad_checksum(buf, pos, end, expected, received)
        if first_error is None:
            frame = bytes(buf[pos : end + 2])
            if received != expected:
                first_error = ChecksumError(
                    f"M-Bus checksum {received:#04x} does not match {expected:#04x}",
                    expected=expected,
                    received=received,
                    data=frame,
                    offset=4 + candidate,
                )
            else:
                first_error = MalformedDataError(
                    f"M-Bus stop byte {buf[end + 1]:#04x} is not 0x16", data=frame, offset=5 + candidate
                )
    if first_error is None:
        first_error = MalformedDataError(
            f"M-Bus long frame of {length} bytes cut short", data=bytes(buf[pos:]), offset=1
        )
    raise first_error


def read_frame(data: bytes, offset: int = 0) -> tuple[LongFrame, int, bool]:
    """The long frame at ``offset`` of a complete buffer: the frame, the offset after it and
    whether its length byte held only the low 8 bits of the length."""
    body_len = _frame_body_length(data, offset, strict=True)
    if body_len is None:  # pragma: no cover - strict never waits
        raise MalformedDataError("M-Bus long frame cut short", data=data, offset=offset)
    end = offset + 4 + body_len + 2
    return LongFrame._from_body(data[offset + 4 : offset + 4 + body_len]), end, body_len != data[offset + 1]


def _frame_starts(buf: bytes | bytearray, pos: int) -> bool:
    """Whether an M-Bus frame (long ``68 L L 68``, short ``10``, or the ACK ``E5``) starts at ``pos``."""
    if pos >= len(buf):
        return False
    first = buf[pos]
    if first in (0xE5, 0x10):
        return True
    return (
        first == START and pos + 3 < len(buf) and buf[pos + 3] == START and buf[pos + 1] == buf[pos + 2]
    )


def _bad_checksum(buf: bytes | bytearray, pos: int, end: int, expected: int, received: int) -> NoReturn:
    raise ChecksumError(
        f"M-Bus checksum {received:#04x} does not match {expected:#04x}",
        expected=expected,
        received=received,
        data=bytes(buf[pos : end + 2]),
        offset=end - pos,
    )


@dataclass(frozen=True, slots=True)
class BadMbusFrame:
    """A frame head that did not lead to a valid frame; skipped, ``error`` says why."""

    error: RemoteProtocolError


class MbusFramer:
    """Cuts a byte stream into long frames; noise, ACKs (``E5``) and short frames are skipped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.discarded = 0
        """Bytes skipped as noise or as parts of damaged frames."""
        self.length_overflows = 0
        """Frames whose length byte held only the low 8 bits of their length (Sagemcom)."""

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def clear(self) -> None:
        self.discarded += self.buffered
        self._buf.clear()
        self._pos = 0

    def next_frame(self) -> LongFrame | BadMbusFrame | NeedData:
        buf = self._buf
        while True:
            if self._pos >= _COMPACT_AT:
                del buf[: self._pos]
                self._pos = 0
            pos = self._pos
            if pos >= len(buf):
                return NEED_DATA
            if buf[pos] != START:
                found = buf.find(START, pos)
                skip = (found if found >= 0 else len(buf)) - pos
                self._pos += skip
                self.discarded += skip
                continue
            if len(buf) - pos < 4:
                return NEED_DATA
            if buf[pos + 3] != START or buf[pos + 1] != buf[pos + 2]:
                self._pos += 1  # a stray 0x68 in noise: not worth a report
                self.discarded += 1
                continue
            try:
                body_len = _frame_body_length(buf, pos, strict=False)
            except RemoteProtocolError as exc:
                self._pos += 1
                self.discarded += 1
                return BadMbusFrame(exc)
            if body_len is None:
                return NEED_DATA
            if body_len != buf[pos + 1]:
                self.length_overflows += 1
            body = bytes(buf[pos + 4 : pos + 4 + body_len])
            self._pos = pos + 4 + body_len + 2
            return LongFrame._from_body(body)

    def __iter__(self) -> Iterator[LongFrame | BadMbusFrame]:
        while True:
            item = self.next_frame()
            if isinstance(item, NeedData):
                return
            yield item


class DlmsSegmenter:
    """Joins the DLMS segments of consecutive long frames into APDUs.

    A frame with segment number 0 starts an APDU (dropping an unfinished one, counted in
    :attr:`abandoned`); the following ones must count up by one (mod 16). A continuation that
    belongs to no started APDU is an orphan (a stream picked up mid-push).
    """

    def __init__(self) -> None:
        self._pending: bytearray | None = None
        self._next = 0
        self.orphans = 0
        self.abandoned = 0

    def add(self, frame: LongFrame) -> bytes | None:
        """Take one frame; the whole APDU when this was its last segment."""
        number = frame.segment
        if number == 0:
            if self._pending is not None:
                self.abandoned += 1
            self._pending = bytearray(frame.payload)
        elif self._pending is None:
            self.orphans += 1
            return None
        elif number != self._next:
            self.abandoned += 1
            self._pending = None
            raise MalformedDataError(
                f"M-Bus DLMS segment {number} where {self._next} was expected: APDU dropped",
                data=frame.to_bytes(),
                offset=6,
            )
        else:
            self._pending += frame.payload
        self._next = (number + 1) & _SEGMENT
        if frame.last:
            whole = bytes(self._pending)
            self._pending = None
            return whole
        return None

    @property
    def in_progress(self) -> bool:
        return self._pending is not None


class MbusReceiver:
    """Bytes in, DLMS APDUs out: :class:`MbusFramer` and :class:`DlmsSegmenter` together.

    :meth:`next_event` returns an APDU (``bytes``), a :class:`BadMbusFrame` for a damaged frame
    or a broken segment sequence, or :data:`NEED_DATA`.
    """

    def __init__(self) -> None:
        self.framer = MbusFramer()
        self.segmenter = DlmsSegmenter()
        self.frames = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self.framer.feed(data)

    def next_event(self) -> bytes | BadMbusFrame | NeedData:
        while True:
            item = self.framer.next_frame()
            if isinstance(item, NeedData | BadMbusFrame):
                return item
            self.frames += 1
            try:
                apdu = self.segmenter.add(item)
            except MalformedDataError as exc:
                return BadMbusFrame(exc)
            if apdu is not None:
                return apdu


def encode_apdu(
    apdu: bytes,
    *,
    control: int = 0x53,
    address: int = 0xFF,
    stsap: int = 0x01,
    dtsap: int = 0x67,
    max_piece: int = 248,
) -> list[bytes]:
    """Cut an APDU into long frames as the Austrian meters send it (one ``bytes`` per frame)."""
    if not 1 <= max_piece <= 250:
        raise LocalProtocolError("max_piece must be 1..250 (252 data bytes minus the two SAPs)")
    if not apdu:
        raise LocalProtocolError("cannot send an empty APDU")
    pieces = [apdu[at : at + max_piece] for at in range(0, len(apdu), max_piece)]
    if len(pieces) > 16:
        raise LocalProtocolError(f"an APDU of {len(apdu)} bytes needs more than 16 segments")
    out = []
    for number, piece in enumerate(pieces):
        ci = number | (FIN if number == len(pieces) - 1 else 0)
        out.append(LongFrame(control, address, ci, bytes((stsap, dtsap)) + piece).to_bytes())
    return out
