"""Annotated hex transcripts of a session: every byte both ways, with what it meant.

:class:`Annotator` follows the byte stream the client's ``trace`` hook reports and recognises
IEC 62056-21 messages in it (request, identification, option select, data and command
messages, ACK/NAK, wake-up NULs, noise). It also infers the line rate from the option select,
since the client reports bytes but not its line switches. :class:`Dump` writes a transcript::

        0.0 ms  tx  2f 3f 21 0d 0a                                  /?!<CR><LF>
    # request /?!: sign-on, any meter (general address)
      201.4 ms  rx  2f 45 4d 48 35 5c 40 44 34 4c 5a 51 4a 2d 58 43  /EMH5\\@D4LZQJ-XC
      201.4 ms  rx  0d 0a                                            <CR><LF>
    # identification /EMH5\\@D4LZQJ-XC, mode C, proposes 9600 Bd
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TextIO

from meterlink.errors import MeterlinkError
from meterlink.iec62056_21.bcc import xor_bcc
from meterlink.iec62056_21.messages import Identification, baud_rate_for_mode_b, baud_rate_for_mode_c
from meterlink.transport import Direction

__all__ = ["Annotator", "Dump", "printable"]

_C0: Final = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
)
CONTROL_NAMES: Final = {**dict(enumerate(_C0.split(" "))), 0x7F: "DEL"}
ROW: Final = 16
"""Bytes per transcript row."""
_SOH, _STX, _ETX, _EOT, _ACK, _NAK = 0x01, 0x02, 0x03, 0x04, 0x06, 0x15
_STARTS: Final = frozenset(b"/\x01\x02\x06\x15\x00")
_MAX_LINE: Final = 256
"""A ``/`` line longer than this without CR LF is noise, not a request or identification."""
_EXCERPT: Final = 48
_ERROR_TEXT: Final = re.compile(rb"\(([^()\r\n]*)\)")
_MASK: Final = bytes(b & 0x7F for b in range(256))


def printable(data: bytes, *, seven_bit: bool = True) -> str:
    """``data`` as text, control characters named (``<STX>``); bit 7 masked on a 7-bit line."""
    if seven_bit:
        data = data.translate(_MASK)
    out: list[str] = []
    for byte in data:
        if byte in CONTROL_NAMES:
            out.append(f"<{CONTROL_NAMES[byte]}>")
        elif byte >= 0x80:
            out.append(".")
        else:
            out.append(chr(byte))
    return "".join(out)


def _excerpt(text: bytes) -> str:
    shown = printable(text[:_EXCERPT])
    return shown + ("..." if len(text) > _EXCERPT else "")


@dataclass
class _Stream:
    """Bytes of one direction not yet recognised as a whole message."""

    buffer: bytearray
    scanned: int = 0
    """How far the search for the end of the current framed message has got."""


class Annotator:
    """Recognises messages in the traced bytes of both directions and says what they are."""

    def __init__(self, initial_baud_rate: int = 300) -> None:
        self.initial_baud_rate = initial_baud_rate
        self.baud_rate = initial_baud_rate
        """The rate the line runs at now, as far as the bytes tell."""
        self.data_bits = 7
        self.binary = False
        """Mode E entered: the rest is HDLC, not annotated."""
        self.identification: Identification | None = None
        self.data_baud_rate: int | None = None
        """The rate the meter's last message after its identification arrived at."""
        self.requested_at: float | None = None
        self.answered_after: float | None = None
        """Seconds from the last request to the first byte of its identification."""
        self._streams: dict[Direction, _Stream] = {"tx": _Stream(bytearray()), "rx": _Stream(bytearray())}
        self._last_tx = b""
        self._last_command = ""
        self._blocks = 0
        self._option_due = False
        """An identification came and we have not answered yet: an ACK starts an option select."""

    # -- input ----------------------------------------------------------------------------------
    def feed(self, direction: Direction, data: bytes, timestamp: float) -> list[str]:
        """Notes for the messages ``data`` completes (none while a message is still open)."""
        if self.binary:
            return []
        stream = self._streams[direction]
        if (
            direction == "rx"
            and self.requested_at is not None
            and self.answered_after is None
            and not stream.buffer
        ):
            self.answered_after = max(0.0, timestamp - self.requested_at)
        stream.buffer += data
        notes: list[str] = []
        while stream.buffer and not self.binary:
            size = self._next_size(direction, stream)
            if size == 0:
                break
            message = bytes(stream.buffer[:size])
            del stream.buffer[:size]
            stream.scanned = 0
            notes.extend(self._describe(direction, message, timestamp))
        if self.binary:
            for other in self._streams.values():
                other.buffer.clear()
        return notes

    def flush(self) -> list[str]:
        """Notes for bytes left over at the end (an unfinished message, noise)."""
        notes = []
        for direction, stream in self._streams.items():
            if stream.buffer:
                notes.append(f"{direction}: {len(stream.buffer)} bytes without a complete message")
                stream.buffer.clear()
        return notes

    # -- framing --------------------------------------------------------------------------------
    def _next_size(self, direction: Direction, stream: _Stream) -> int:
        """Length of the complete message at the start of the buffer; 0 if it is incomplete."""
        buffer = stream.buffer
        first = buffer[0] & 0x7F
        if first == 0x00:
            run = len(buffer) - len(bytes(buffer).lstrip(b"\x00\x80"))
            return run if run < len(buffer) else 0
        if first == ord("/"):
            end = buffer.find(b"\n", stream.scanned)
            if end < 0:
                stream.scanned = len(buffer)
                return 0 if len(buffer) <= _MAX_LINE else self._noise_size(buffer)
            return end + 1
        if first == _ACK:
            if len(buffer) == 1 and self._option_due and direction == "tx":
                return 0  # the rest of an option select is on its way
            if len(buffer) >= 2 and 0x30 <= buffer[1] & 0x7F <= 0x39:
                if len(buffer) < 6:
                    return 0
                if bytes(buffer[4:6]).translate(_MASK) == b"\r\n":
                    return 6
            return 1
        if first == _NAK:
            return 1
        if first in (_SOH, _STX):
            start = max(1, stream.scanned)
            for index in range(start, len(buffer)):
                if buffer[index] & 0x7F in (_ETX, _EOT):
                    return index + 2 if index + 1 < len(buffer) else 0
            stream.scanned = len(buffer)
            return 0
        return self._noise_size(buffer)

    @staticmethod
    def _noise_size(buffer: bytearray) -> int:
        """Unframed bytes up to ``! CR LF`` (a mode D telegram) or the next message start."""
        end = buffer.find(b"!\r\n")
        for index in range(1, len(buffer)):
            if end >= 0 and index > end:
                return end + 3
            if buffer[index] & 0x7F in _STARTS:
                return index
        return end + 3 if end >= 0 else 0

    # -- meaning --------------------------------------------------------------------------------
    def _describe(self, direction: Direction, raw: bytes, timestamp: float) -> list[str]:
        message = raw.translate(_MASK) if self.data_bits == 7 else raw
        if direction == "rx" and message == self._last_tx:
            self._last_tx = b""
            return [f"echo of our own bytes: {_excerpt(message)}"]
        if direction == "tx":
            self._last_tx = message
            self._option_due = False
            return self._tx(message, timestamp)
        return self._rx(message)

    def _switch(self, rate: int, data_bits: int = 7) -> list[str]:
        changed = (rate, data_bits) != (self.baud_rate, self.data_bits)
        self.baud_rate, self.data_bits = rate, data_bits
        return [f"switch to {rate} Bd {'7E1' if data_bits == 7 else '8N1'}"] if changed else []

    def _tx(self, message: bytes, timestamp: float) -> list[str]:
        first = message[0]
        if first == 0x00:
            return [f"wake-up: {len(message)} NUL characters"]
        if first == ord("/") and message.endswith(b"!\r\n"):
            self.requested_at, self.answered_after = timestamp, None
            self.identification, self._last_command, self._blocks = None, "", 0
            self.data_baud_rate = None
            notes = self._switch(self.initial_baud_rate)
            return [*notes, self._request(message)]
        if first == _ACK and len(message) == 6:
            return self._option_select(message)
        if first == _ACK:
            return ["ACK: next block, please" if self._blocks else "ACK"]
        if first == _NAK:
            return ["NAK: repeat, please"]
        if first == _SOH:
            return self._command(message, ours=True)
        return [f"{len(message)} unframed bytes sent"]

    def _request(self, message: bytes) -> str:
        text = message[:-2].decode("latin-1")
        kind, address = text[1:2], text[2:-1]
        target = f"address {address}" if address else "any meter (general address)"
        extra = {"?": "", "#": ", '#' (extended data set)"}.get(kind, f", list {kind}")
        return f"request {text}: sign-on, {target}{extra}"

    def _option_select(self, message: bytes) -> list[str]:
        text = message[1:4].decode("latin-1")
        protocol, baud_char, mode = text[0], text[1], text[2]
        rate = baud_rate_for_mode_c(baud_char) or 300
        what = {"0": "data readout", "1": "programming mode", "2": "binary mode E (HDLC)"}.get(
            mode, f"manufacturer mode {mode}"
        )
        notes = [f"option select {protocol} {baud_char} {mode}: {what} at {rate} Bd"]
        if mode == "2" and protocol == "2":
            notes += self._switch(rate, 8)
            notes.append("the link now belongs to HDLC: not annotated further")
            self.binary = True
        else:
            notes += self._switch(rate)
        return notes

    def _command(self, message: bytes, *, ours: bool) -> list[str]:
        letter, kind = (
            chr(message[1]) if len(message) > 1 else "?",
            chr(message[2]) if len(message) > 2 else "",
        )
        name = f"{letter}{kind}"
        body = message[4:-2] if len(message) > 4 and message[3] == _STX else b""
        check = self._bcc(message)
        if ours:
            self._last_command = name
        if letter == "B":
            who = "" if ours else "the meter ends the session "
            notes = [f"break {name}: {who}end of session{check}"]
            if ours or self.baud_rate != self.initial_baud_rate:
                notes += self._switch(self.initial_baud_rate)
            return notes
        if letter == "P" and ours:
            password = body.decode("latin-1").strip("()")
            return [f"password {name} ({len(password)} characters){check}"]
        if letter == "P":
            operand = body.decode("latin-1").removeprefix("(").removesuffix(")")
            return [f"password prompt {name}, operand {operand!r}{check}"]
        verb = {"R": "read", "W": "write", "E": "execute"}.get(letter, "command")
        who = "" if ours else "meter sends "
        return [f"{who}{verb} {name} {_excerpt(body)}{check}"]

    @staticmethod
    def _bcc(message: bytes) -> str:
        if len(message) < 3:
            return ""
        computed, received = xor_bcc(message[1:-1]), message[-1] & 0x7F
        return (
            "" if computed == received else f", BCC WRONG (computed 0x{computed:02X}, got 0x{received:02X})"
        )

    def _rx(self, message: bytes) -> list[str]:
        first = message[0]
        if first == ord("/") and message.endswith(b"\r\n"):
            return self._identification(message)
        if first != 0x00:
            self.data_baud_rate = self.baud_rate
        if first == _ACK and len(message) == 6:
            rate = baud_rate_for_mode_c(chr(message[2])) or 300
            return [f"the meter confirms option {printable(message[1:4])} at {rate} Bd"]
        if first == _ACK:
            return [
                {"P": "ACK: password accepted", "W": "ACK: written", "E": "ACK: executed"}.get(
                    self._last_command[:1], "ACK"
                )
            ]
        if first == _NAK:
            return ["NAK: the meter asks for a repeat"]
        if first == _SOH:
            return self._command(message, ours=False)
        if first == _STX:
            return self._data(message)
        if first == 0x00:
            return [f"{len(message)} NUL characters"]
        if message.endswith(b"!\r\n"):
            lines = message.count(b"\n")
            return [f"unframed data block (mode D telegram): {len(message)} bytes, {lines} lines"]
        return [f"noise: {len(message)} bytes not recognised"]

    def _identification(self, message: bytes) -> list[str]:
        text = message[1:-2].decode("latin-1").rstrip("\r")
        try:
            ident = Identification.from_text(text)
        except MeterlinkError:
            return [f"identification-like line /{text} (not valid)"]
        self.identification = ident
        self._option_due = True
        mode = ident.mode
        if self.requested_at is None:
            return [f"identification /{text} without a request: a mode D telegram follows"]
        parts = [f"identification /{text}", f"mode {mode.value}"]
        if mode.value != "A":
            parts.append(f"proposes {ident.baud_rate} Bd")
        if ident.fast_reaction:
            parts.append("answers after 20 ms")
        if ident.mode_e_capable:
            parts.append("offers mode E (DLMS/HDLC)")
        notes = [", ".join(parts)]
        rate_b = baud_rate_for_mode_b(ident.baud_char)
        if rate_b is not None and mode.value == "B" and self._last_tx.startswith(b"/"):
            notes += self._switch(rate_b)
        return notes

    def _data(self, message: bytes) -> list[str]:
        body, end = message[1:-2], message[-2]
        check = self._bcc(message) or ", BCC ok"
        if end == _EOT:
            self._blocks += 1
            return [f"partial block {self._blocks}: {len(body)} bytes{check}"]
        error = _ERROR_TEXT.fullmatch(body)
        if error is not None and self._last_command:
            return [f"error message ({error.group(1).decode('latin-1')}){check}"]
        if self._last_command:
            blocks, self._blocks = self._blocks, 0
            more = f" (last of {blocks + 1} blocks)" if blocks else ""
            return [f"answer to {self._last_command}{more}: {_excerpt(body)}{check}"]
        lines = body.count(b"\n")
        return [f"data readout: {len(body)} bytes, {lines} lines at {self.baud_rate} Bd{check}"]


class Dump:
    """Writes the transcript: one row per 16 bytes, a ``#`` note per recognised message."""

    def __init__(self, stream: TextIO, *, title: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.start = clock()
        stream.write(f"# {title}\n")
        stream.write(f"# started {time.strftime('%Y-%m-%d %H:%M:%S %z')}; times in ms from the start\n")
        stream.write("# columns: time, direction (tx = to the meter, rx = from it), hex, text\n")
        stream.flush()

    def chunk(
        self, direction: Direction, data: bytes, timestamp: float, notes: list[str], *, seven_bit: bool
    ) -> None:
        """Rows for ``data`` as it went over the wire, then the notes it completed."""
        ms = (timestamp - self.start) * 1000
        for offset in range(0, len(data), ROW):
            row = data[offset : offset + ROW]
            text = printable(row, seven_bit=seven_bit)
            self.stream.write(f"{ms:10.1f} ms  {direction}  {row.hex(' '):<{ROW * 3 - 1}}  {text}\n")
        for note in notes:
            self.note(note)
        self.stream.flush()

    def note(self, text: str) -> None:
        self.stream.write(f"# {text}\n")
        self.stream.flush()
