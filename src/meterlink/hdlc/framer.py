"""Incremental HDLC framing: byte chunks in, whole frames (or reports of damaged ones) out.

Frames are delimited by their length field, never by looking for a closing flag: the DLMS
profile has no byte stuffing, so 0x7E occurs inside frames, even in the FCS. A candidate start
is a flag followed by a type-3 format byte (``0xA?``); the candidate counts once the header
check (HCS) or, for short frames, the closing flag and FCS agree. Anything else - line noise,
a second flag (``7E 7E``), the tail of a frame cut short - is skipped up to the next plausible
start. A flag may be shared: the closing flag of one frame opens the next.

A damaged frame does not stop the stream: :meth:`Framer.next_frame` returns a
:class:`BadFrame` carrying the error, and the next call carries on with what follows.
Optical heads and RS-485 adapters echo what we send; :meth:`Framer.expect_echo` makes the framer
drop a frame identical to one we just transmitted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final, Literal

from meterlink._sansio import NEED_DATA, NeedData
from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError, RemoteProtocolError

from .crc import fcs
from .frames import FLAG, MIN_FRAME_LENGTH, Frame, parse_frame

__all__ = ["NEED_DATA", "BadFrame", "Framer", "NeedData"]

_COMPACT_AT: Final = 4096
_MAX_ECHOES: Final = 16


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame (or frame head) that was dropped; ``error`` says why and holds its bytes."""

    error: RemoteProtocolError


class Framer:
    """Cuts a received byte stream into HDLC frames.

    ``max_buffer`` bounds the bytes kept unprocessed (the caller should drain
    :meth:`next_frame` after each :meth:`feed`); past it the oldest bytes are dropped and
    reported as a :class:`BadFrame`. ``drop_echo`` enables :meth:`expect_echo`.
    """

    def __init__(self, *, max_buffer: int = 1 << 16, drop_echo: bool = True) -> None:
        smallest = 2 * (MIN_FRAME_LENGTH + 0x7FF)
        if max_buffer < smallest:
            raise LocalProtocolError(f"max_buffer must hold two of the longest frames ({smallest} bytes)")
        self.max_buffer = max_buffer
        self.drop_echo = drop_echo
        self.discarded = 0
        """Bytes skipped as noise, echo or damaged frames, for diagnostics."""
        self.echoes_dropped = 0
        self._buf = bytearray()
        self._pos = 0
        self._echo: deque[bytes] = deque()
        self._overflow: RemoteProtocolError | None = None

    # -- input ----------------------------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes."""
        self._buf += data
        excess = len(self._buf) - self._pos - self.max_buffer
        if excess > 0:
            dropped = bytes(self._buf[self._pos : self._pos + excess])
            self._pos += excess
            self.discarded += excess
            self._overflow = MalformedDataError(
                f"receive buffer over {self.max_buffer} bytes: {excess} oldest bytes dropped",
                data=dropped[:64],
                offset=0,
            )

    def expect_echo(self, frame: bytes) -> None:
        """Note a frame just sent (with or without flags): if it comes back, it is dropped."""
        if self.drop_echo and frame:
            body = frame[1:-1] if frame[0] == FLAG else frame
            self._echo.append(bytes(body))
            if len(self._echo) > _MAX_ECHOES:
                self._echo.popleft()

    def cancel_echo(self) -> None:
        self._echo.clear()

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned in a frame or skipped."""
        return len(self._buf) - self._pos

    def clear(self) -> None:
        """Forget everything buffered (after a link reset)."""
        self.discarded += self.buffered
        self._buf.clear()
        self._pos = 0
        self._echo.clear()

    # -- output ---------------------------------------------------------------------------------
    def next_frame(self) -> Frame | BadFrame | NeedData:
        """The next whole frame, a :class:`BadFrame` report, or :data:`NEED_DATA`."""
        if self._overflow is not None:
            error, self._overflow = self._overflow, None
            return BadFrame(error)
        buf = self._buf
        while True:
            pos = self._pos
            size = len(buf)
            if pos >= _COMPACT_AT:
                del buf[:pos]
                self._pos = pos = 0
                size = len(buf)
            if pos >= size:
                return NEED_DATA
            if buf[pos] != FLAG:
                flag = buf.find(b"\x7e", pos)
                skip = (flag if flag >= 0 else size) - pos
                self._skip(skip)
                continue
            if pos + 3 > size:
                return NEED_DATA
            fmt = buf[pos + 1]
            if fmt & 0xF0 != 0xA0:
                self._skip(1)  # a second flag (7E 7E) or noise after a flag
                continue
            length = ((fmt & 0x07) << 8) | buf[pos + 2]
            if length < MIN_FRAME_LENGTH:
                self._skip(1)
                continue
            end = pos + length + 2
            header = self._check_header(pos, length)
            if isinstance(header, BadFrame):
                return header
            if header is False:
                continue  # not a frame start: skipped
            if end > size:
                return NEED_DATA
            if buf[end - 1] != FLAG:
                self._skip(1)  # the length does not lead to a flag: not a frame start
                continue
            raw = bytes(buf[pos:end])
            self._pos = end - 1  # the closing flag may open the next frame
            if self._echo:
                if raw[1:-1] == self._echo[0]:
                    self._echo.popleft()
                    self.discarded += len(raw) - 1
                    self.echoes_dropped += 1
                    continue
                self._echo.clear()  # the peer answered: nothing more of ours is coming back
            try:
                return parse_frame(raw)
            except RemoteProtocolError as exc:
                self.discarded += len(raw) - 1
                return BadFrame(exc)

    def __iter__(self) -> Framer:
        return self

    def __next__(self) -> Frame | BadFrame:
        item = self.next_frame()
        if isinstance(item, NeedData):
            raise StopIteration
        return item

    # -- internals ------------------------------------------------------------------------------
    def _skip(self, n: int) -> None:
        self._pos += n
        self.discarded += n

    def _check_header(self, pos: int, length: int) -> BadFrame | Literal[False] | None:
        """Check the address structure and the HCS of a candidate as soon as its head is in.

        Returns None to go on (head fine, no HCS in this frame, or too few bytes yet to tell),
        False after skipping a start that cannot be a frame, or a BadFrame report for a head
        whose HCS is wrong (its opening flag is skipped and the search goes on after it).
        """
        buf = self._buf
        frame_end = pos + 1 + length  # first byte after the FCS
        avail = min(len(buf), frame_end)
        start = pos + 3
        for _ in range(2):  # destination, then source
            stop = min(start + 4, avail)
            i = start
            while i < stop and not buf[i] & 1:
                i += 1
            if i >= stop:
                if i < start + 4 and avail < frame_end:
                    return None  # the address is still coming
                self._skip(1)  # longer than 4 bytes, or runs past the frame
                return False
            if i - start == 2:
                self._skip(1)  # a 3-byte address does not exist
                return False
            start = i + 1
        control_end = start + 1
        rest = frame_end - 2 - control_end  # HCS + information
        if rest == 0:
            return None  # no information field: the FCS alone decides
        if rest < 2:
            self._skip(1)
            return False
        if control_end + 2 > len(buf):
            return None
        expected = fcs(bytes(buf[pos + 1 : control_end]))
        received = buf[control_end] | (buf[control_end + 1] << 8)
        if expected == received:
            return None
        head = bytes(buf[pos : control_end + 2])
        self._skip(1)
        return BadFrame(
            ChecksumError(
                f"HDLC HCS {received:#06x} does not match {expected:#06x}",
                expected=expected,
                received=received,
                data=head,
                offset=control_end - pos,
            )
        )
