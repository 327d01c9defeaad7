"""Incremental framing: byte chunks in, whole IEC 62056-21 messages out.

Feed whatever the link delivered - split anywhere, with the parity bit still in bit 7, preceded
by the echo of what we just sent, by wake-up NULs or by line noise - and take complete messages
out one at a time. Nothing here blocks, sleeps or knows about time: a message that has not
ended simply stays buffered until more bytes come (up to a bound), and the state machine decides
when silence means the meter has finished (see :meth:`Framer.take_unterminated`).

The framer keeps two views of its buffer: the bytes as received, and the same bytes with the
parity bit cleared. Framing works on the second; the first is what :meth:`Framer.detach` hands
over unchanged when mode E switches the link to 8-bit HDLC.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from meterlink._sansio import NEED_DATA, NeedData
from meterlink.errors import FrameTooLongError, LocalProtocolError, MalformedDataError

from .bcc import BccKind
from .messages import (
    Ack,
    CommandMessage,
    DataMessage,
    ErrorMessage,
    Identification,
    Message,
    Nak,
    OptionSelect,
    RequestMessage,
)

__all__ = ["DEFAULT_ERROR_PATTERN", "NEED_DATA", "BrokenOffError", "Framer", "NeedData", "Role"]

_PARITY_MASK: Final = bytes(b & 0x7F for b in range(256))
_START: Final = re.compile(rb"[/\x01\x02\x06\x15]")
_BLOCK_END: Final = re.compile(rb"[\x03\x04]")
_REQUEST_LINE: Final = re.compile(rb"/[^\r\n/!]{0,40}!\r?\n")
_FRAME_START: Final = re.compile(rb"[\x01\x02]")
_CONTROL: Final = re.compile(rb"[\x01-\x04]")
_PUSH_END: Final = re.compile(rb"![0-9A-Fa-f]{0,4}\r?\n")
_MAX_LINE: Final = 256

DEFAULT_ERROR_PATTERN: Final = re.compile(r"\((?:ER[A-Z0-9 _-]*|ERROR.*|#\d{1,5})\)\r?\n?")
"""An error message is a lone address-less group whose text starts with ``ER`` or is ``#nnnn``."""


class BrokenOffError(MalformedDataError):
    """A frame stopped where another began: only its stump is dropped here.

    Whether that is a new frame or more of the same damaged transmission (a bit flip made a
    character STX) is decided by what follows, so a receiver need not answer the stump itself.
    """


class Role(StrEnum):
    """Which end of the link the framer reads for."""

    CLIENT = "client"
    """The hand-held unit or head-end: it receives identifications, data and meter commands."""
    METER = "meter"
    """The meter: it receives requests, option selects and programming commands."""


class Framer:
    """Cuts a received byte stream into messages for one role.

    ``max_message_size`` bounds what is buffered for one unfinished message; a longer one
    raises :class:`~meterlink.errors.FrameTooLongError` and is discarded. ``strict_bcc=False``
    delivers messages with a wrong BCC, marked ``bcc_ok=False``, instead of raising
    :class:`~meterlink.errors.ChecksumError`. ``error_pattern`` tells an error message
    ``(ER12)`` from a data message; ``None`` treats every STX block as data.
    """

    def __init__(
        self,
        role: Role,
        *,
        bcc_kind: BccKind = BccKind.XOR,
        strict_bcc: bool = True,
        max_message_size: int = 4 << 20,
        error_pattern: re.Pattern[str] | None = DEFAULT_ERROR_PATTERN,
        suppress_echo: bool = True,
    ) -> None:
        if max_message_size < 16:
            raise LocalProtocolError("max_message_size must be at least 16 bytes")
        self.role = role
        self.bcc_kind = bcc_kind
        self.strict_bcc = strict_bcc
        self.max_message_size = max_message_size
        self.error_pattern = error_pattern
        self.suppress_echo = suppress_echo
        self.expect_option_select = False
        """Read ``ACK V Z Y CR LF`` rather than a lone ACK (set while one is due)."""
        self.push = False
        """Mode D: after an identification, the data block follows without STX/ETX/BCC."""
        self.discarded = 0
        """Count of bytes skipped as noise or echo, for diagnostics."""
        self._raw = bytearray()
        self._masked = bytearray()
        self._echo: list[bytes] = []
        self._push_body = False

    # -- input ----------------------------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes."""
        chunk = bytes(data)
        self._raw += chunk
        self._masked += chunk if chunk.isascii() else chunk.translate(_PARITY_MASK)

    def expect_echo(self, sent: bytes) -> None:
        """Note bytes just transmitted: if they come back first, they are dropped as echo."""
        if self.suppress_echo and sent:
            self._echo.append(sent.translate(_PARITY_MASK))

    def cancel_echo(self) -> None:
        """Stop expecting an echo (too late for one: what comes now is the peer's answer)."""
        self._echo = []

    @property
    def buffered(self) -> int:
        """Number of bytes received and not yet returned as a message."""
        return len(self._raw)

    @property
    def in_message(self) -> bool:
        """Whether a message has begun and waits for more (a push telegram after its ident line)."""
        return bool(self._raw) or self._push_body

    @property
    def message_begun(self) -> bool:
        """Whether a message start is buffered: bytes before one are noise, and noise is no
        sign of a message coming (it must not keep a timer from running out)."""
        found = _START.search(self._masked)
        if found is not None and self.role is Role.METER and self._masked[found.start()] == 0x02:
            found = _START.search(self._masked.replace(b"\x02", b"\x00"))  # a meter never gets STX
        return found is not None or self._push_body

    def clear(self) -> None:
        """Forget everything buffered (after a link reset)."""
        self.discarded += len(self._raw)
        self._consume(len(self._raw))
        self._echo = []
        self._push_body = False

    def detach(self) -> bytes:
        """Hand over the unparsed bytes exactly as received (mode E switch to HDLC)."""
        rest = bytes(self._raw)
        self._consume(len(self._raw))
        self._echo = []
        return rest

    def take_unterminated(self) -> DataMessage | None:
        """Return a data block that ended in ``! CR LF`` without ETX/BCC, if one is buffered.

        Some meters (Itron EM214 among them) stop after ``! CR LF``. The caller decides, from its
        clock, that no ETX is coming and asks for what is there.
        """
        buf = self._masked
        start = 0
        while start < len(buf) and buf[start] in (0x00, 0x0A, 0x0D):
            start += 1
        if start >= len(buf) or buf[start] != 0x02:
            return None
        end = _PUSH_END.search(buf, start)
        if end is None or end.end() != len(buf.rstrip(b"\x00")):
            return None
        data = bytes(buf[start + 1 : end.end()])
        if _CONTROL.search(data):
            return None  # not one data block: leave it to next_message()
        self._consume(len(buf))
        return DataMessage(data, framed=False)

    # -- output ---------------------------------------------------------------------------------
    def next_message(self) -> Message | NeedData:
        """The next complete message, or :data:`NEED_DATA`.

        Raises :class:`~meterlink.errors.RemoteProtocolError` subclasses for damaged messages;
        the damaged bytes are consumed first, so the next call carries on with what follows.
        """
        while True:
            buf = self._masked
            if not buf:
                return NEED_DATA
            if self._echo:
                if not self._drop_echo():
                    return NEED_DATA
                continue
            if self._push_body:
                return self._read_push_body()
            head = buf[0]
            # a reader returns None when it dropped something (echo, noise): look again
            if head == 0x2F:  # '/'
                if (message := self._read_line()) is not None:
                    return message
                continue
            if head == 0x02 and self.role is Role.CLIENT:
                return self._read_block(data_message=True)
            if head == 0x01:
                return self._read_block(data_message=False)
            if head == 0x06:
                if (message := self._read_ack()) is not None:
                    return message
                continue
            if head == 0x15:
                self._consume(1)
                return Nak()
            self._skip_noise()

    def __iter__(self) -> Framer:
        return self

    def __next__(self) -> Message:
        message = self.next_message()
        if isinstance(message, NeedData):
            raise StopIteration
        return message

    # -- internals ------------------------------------------------------------------------------
    def _consume(self, n: int) -> None:
        del self._raw[:n]
        del self._masked[:n]

    def _skip_noise(self) -> None:
        starts = _START.search(self._masked, 1)
        if self.role is Role.METER:
            # A meter never receives STX-started frames: skip those too.
            while starts is not None and self._masked[starts.start()] == 0x02:
                starts = _START.search(self._masked, starts.start() + 1)
        n = starts.start() if starts is not None else len(self._masked)
        self.discarded += n
        self._consume(n)

    def _drop_echo(self) -> bool:
        """Drop the buffer head if it repeats what we sent; stop expecting once it differs.

        Each transmission is matched whole. Returns False while the buffer is a true prefix of
        the next expected echo: whether those bytes are the echo or the start of an answer that
        begins alike (the ``/`` of an identification after our ``/?!``) is only known when more
        arrive, so nothing is dropped yet.
        """
        echo = self._echo[0]
        buf = self._masked
        n = min(len(echo), len(buf))
        if buf[:n] != echo[:n]:
            self._echo = []  # the peer answered instead of echoing
            return True
        if n < len(echo):
            return False
        self.discarded += n
        self._consume(n)
        del self._echo[0]
        return True

    def _too_long(self, what: str) -> FrameTooLongError:
        data = bytes(self._raw[:64])
        size = len(self._raw)
        self.discarded += size
        self._consume(size)
        return FrameTooLongError(
            f"{what} exceeds {self.max_message_size} bytes without ending ({size} bytes dropped)",
            data=data,
            offset=0,
        )

    def _read_line(self) -> Message | NeedData | None:
        buf = self._masked
        limit = min(_MAX_LINE, self.max_message_size)
        lf = buf.find(b"\n", 1, limit + 1)
        # '/' never occurs inside a request or an identification: a second one starts the real
        # line, and what came before it was noise (a '/' in the garbage before an ident)
        restart = buf.find(b"/", 1, lf if lf >= 0 else limit + 1)
        if restart > 0:
            self.discarded += restart
            self._consume(restart)
            return None
        if lf < 0:
            if len(buf) > limit:
                return self._reject_line(min(len(buf), limit), f"no line end within {limit} bytes")
            return NEED_DATA
        line = bytes(buf[: lf + 1])
        end = lf - 1 if lf > 1 and buf[lf - 1] == 0x0D else lf
        text = line[1:end].decode("latin-1")
        self._consume(lf + 1)
        if self.role is Role.CLIENT and text.endswith("!"):
            # A request line: the late echo of our own sign-on (identifications never hold '!').
            self.discarded += lf + 1
            return None
        try:
            if self.role is Role.METER:
                if not text.endswith("!") or len(text) < 2:
                    raise MalformedDataError("request line does not end in '!'", data=line, offset=end)
                return RequestMessage(address=text[1:-1], command=text[0])
            ident = Identification.from_text(text)
        except LocalProtocolError as exc:
            raise MalformedDataError(f"bad {self._line_kind()}: {exc}", data=line, offset=1) from None
        if self.push:
            self._push_body = True
        return ident

    def _line_kind(self) -> str:
        return "request" if self.role is Role.METER else "identification"

    def _reject_line(self, n: int, why: str) -> Message:
        data = bytes(self._raw[:n])
        self.discarded += n
        self._consume(n)
        raise MalformedDataError(f"bad {self._line_kind()}: {why}", data=data, offset=0)

    def _read_push_body(self) -> Message | NeedData:
        buf = self._masked
        if buf.lstrip(b"\r\n\x00")[:1] == b"\x02":
            # Some push meters (ZPA) frame the block after all.
            skip = len(buf) - len(buf.lstrip(b"\r\n\x00"))
            self.discarded += skip
            self._consume(skip)
            self._push_body = False
            return self._read_block(data_message=True)
        end = _PUSH_END.search(buf)
        # an identification at the start of a line before the end: this telegram broke off
        restart = buf.find(b"\n/", 0, end.end() if end is not None else len(buf))
        if restart >= 0:
            stump = bytes(self._raw[: restart + 1])
            self.discarded += restart + 1
            self._consume(restart + 1)
            self._push_body = False
            raise MalformedDataError("push telegram broken off by the next one", data=stump, offset=restart)
        if end is None:
            if len(buf) > self.max_message_size:
                self._push_body = False
                raise self._too_long("push telegram")
            return NEED_DATA
        data = bytes(buf[: end.end()])
        self._consume(end.end())
        self._push_body = False
        control = _CONTROL.search(data)
        if control is not None:
            raise MalformedDataError(
                "control character in a push telegram", data=data, offset=control.start()
            )
        return DataMessage(data, framed=False)

    def _read_block(self, *, data_message: bool) -> Message | NeedData:
        buf = self._masked
        end = _BLOCK_END.search(buf, 1)
        # SOH or STX before the end (other than a command's own STX after SOH C D): this frame
        # broke off and another began - drop the stump, keep the new frame
        stop = end.start() if end is not None else len(buf)
        inner = _FRAME_START.search(buf, 1, stop)
        if inner is not None and not data_message and inner.start() == 3 and buf[3] == 0x02:
            inner = _FRAME_START.search(buf, 4, stop)
        if inner is None and self.role is Role.METER:
            # a whole sign-on inside: the HHU gave up on this command and starts over
            inner = _REQUEST_LINE.search(buf, 1, stop)
        if inner is not None:
            n = inner.start()
            stump = bytes(self._raw[:n])
            self.discarded += n
            self._consume(n)
            raise BrokenOffError("message broken off by the start of another", data=stump, offset=n - 1)
        if end is None or end.start() + 1 >= len(buf):
            if len(buf) > self.max_message_size:
                raise self._too_long("data message" if data_message else "command message")
            return NEED_DATA
        size = end.start() + 2
        frame = bytes(buf[:size])
        self._consume(size)
        if not data_message:
            return CommandMessage.from_bytes(frame, bcc_kind=self.bcc_kind, strict=self.strict_bcc)
        message = DataMessage.from_bytes(frame, bcc_kind=self.bcc_kind, strict=self.strict_bcc)
        pattern = self.error_pattern
        if pattern is not None and not message.partial and pattern.fullmatch(message.text):
            text = message.text.rstrip("\r\n")
            try:
                return ErrorMessage(text[1:-1], bcc_kind=message.bcc_kind, bcc_ok=message.bcc_ok)
            except LocalProtocolError:
                return message
        return message

    def _read_ack(self) -> Message | NeedData | None:
        buf = self._masked
        if not self.expect_option_select:
            if self.role is Role.CLIENT and len(buf) >= 2 and 0x30 <= buf[1] <= 0x39:
                # ACK V Z Y CR LF reaching a client unasked is the echo of its own option select.
                if len(buf) < 6:
                    return NEED_DATA
                if buf[4:6] == b"\r\n":
                    self.discarded += 6
                    self._consume(6)
                    return None
            self._consume(1)
            return Ack()
        if len(buf) < 2:
            return NEED_DATA
        if not 0x20 <= buf[1] < 0x7F:
            self._consume(1)
            return Ack()
        if len(buf) < 6:
            return NEED_DATA
        frame = bytes(buf[:6])
        if frame[4:6] != b"\r\n":
            self._consume(1)
            return Ack()
        self._consume(6)
        self.expect_option_select = False
        return OptionSelect.from_bytes(frame)
