"""The messages of IEC 62056-21 (section 6.3), one frozen class each, encoded and decoded alike.

The same classes serve the client and the meter emulator: ``to_bytes()`` writes a message exactly
as it goes on the wire (7-bit characters, parity is the transport's business) and
``from_bytes()`` reads one complete message back. Incremental reading of a byte stream, echo and
garbage handling live in :mod:`meterlink.iec62056_21.framer`.

Text fields hold ISO 646 characters as ``str``. A data message keeps its data block as ``bytes``
because it is the bulk of the traffic and goes straight to the readout parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Final

from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError

from .bcc import BccKind, bcc

__all__ = [
    "ACK",
    "BREAK",
    "CR",
    "CRLF",
    "EOT",
    "ETX",
    "LF",
    "NAK",
    "SOH",
    "STX",
    "Ack",
    "CommandMessage",
    "DataMessage",
    "ErrorMessage",
    "Identification",
    "Message",
    "Nak",
    "OptionSelect",
    "ProtocolMode",
    "RequestMessage",
    "baud_rate_for_mode_b",
    "baud_rate_for_mode_c",
    "mode_c_baud_char",
]

SOH: Final = 0x01
STX: Final = 0x02
ETX: Final = 0x03
EOT: Final = 0x04
ACK: Final = 0x06
NAK: Final = 0x15
CR: Final = 0x0D
LF: Final = 0x0A
CRLF: Final = b"\r\n"

_MODE_C_RATES: Final = {str(i): 300 << i for i in range(7)}  # '0'=300 ... '6'=19200
_MODE_B_RATES: Final = {ch: 600 << i for i, ch in enumerate("ABCDEF")}  # 'A'=600 ... 'F'=19200
_MODE_C_CHARS: Final = {rate: ch for ch, rate in _MODE_C_RATES.items()}


def baud_rate_for_mode_c(baud_char: str) -> int | None:
    """Rate named by a mode C/E baud character ``'0'``-``'6'``; ``None`` for anything else."""
    return _MODE_C_RATES.get(baud_char)


def baud_rate_for_mode_b(baud_char: str) -> int | None:
    """Rate named by a mode B baud character ``'A'``-``'F'``; ``None`` for anything else."""
    return _MODE_B_RATES.get(baud_char)


def mode_c_baud_char(rate: int) -> str:
    """The mode C/E character for a standard rate (``9600`` -> ``'5'``)."""
    try:
        return _MODE_C_CHARS[rate]
    except KeyError:
        raise LocalProtocolError(
            f"{rate} Bd has no mode C character; standard rates are {sorted(_MODE_C_CHARS)}"
        ) from None


class ProtocolMode(StrEnum):
    """The protocol modes of IEC 62056-21."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


def _check_text(name: str, value: str, forbidden: str = "\r\n", max_len: int | None = None) -> None:
    if not value.isascii():
        raise LocalProtocolError(f"{name} must be ISO 646 (ASCII) text, got {value!r}")
    bad = [ch for ch in value if ch in forbidden or ord(ch) < 0x20 or ord(ch) == 0x7F]
    if bad:
        raise LocalProtocolError(f"{name} {value!r} contains forbidden character {bad[0]!r}")
    if max_len is not None and len(value) > max_len:
        raise LocalProtocolError(f"{name} {value!r} is longer than {max_len} characters")


def _check_char(name: str, value: str) -> None:
    if len(value) != 1 or not (0x20 <= ord(value) < 0x7F):
        raise LocalProtocolError(f"{name} must be one printable character, got {value!r}")


def _ascii(data: bytes) -> str:
    # Callers have already masked parity; latin-1 cannot fail and keeps bytes 1:1.
    return data.decode("latin-1")


@dataclass(frozen=True, slots=True)
class RequestMessage:
    """``/ ? [address] ! CR LF`` - the sign-on that opens every session but mode D's.

    ``command`` is the character after ``/``: ``?`` normally; VDEW meters select readout lists
    with ``2``, ``3``, ``4``, and some heat meters return more data for ``#``.
    An empty address is the general address every meter answers (never on a bus).
    """

    address: str = ""
    command: str = "?"

    def __post_init__(self) -> None:
        _check_text("device address", self.address, forbidden="\r\n/!")
        _check_char("request command", self.command)
        if self.command in "/!":
            raise LocalProtocolError(f"request command cannot be {self.command!r}")

    def to_bytes(self) -> bytes:
        return f"/{self.command}{self.address}!\r\n".encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> RequestMessage:
        if len(data) < 5 or data[:1] != b"/" or not data.endswith(b"!\r\n"):
            raise MalformedDataError("not a request message '/?...!CRLF'", data=data, offset=0)
        text = _ascii(data[1:-3])
        try:
            return cls(address=text[1:], command=text[0])
        except LocalProtocolError as exc:
            raise MalformedDataError(f"bad request message: {exc}", data=data, offset=1) from None

    def matches(self, own_address: str) -> bool:
        """Whether a meter whose address is ``own_address`` must answer this request.

        Leading zeros are ignored on both sides; an empty request address reaches every meter.
        """
        if not self.address:
            return True
        return self.address.lstrip("0") == own_address.lstrip("0")


@dataclass(frozen=True, slots=True)
class Identification:
    """``/ X X X Z [\\W]... ident CR LF`` - the meter's answer to a request.

    ``manufacturer`` is the FLAG id (``XXX``), ``baud_char`` the character ``Z`` that names the
    mode and the proposed rate, ``enhanced`` the characters of the ``\\W`` pairs that follow it
    (``'2'`` means the meter can do mode E), and ``ident`` the rest as sent. Real meters break the
    rules (spaces, lower case, more than 16 characters, ``<1>``): everything is kept verbatim,
    so ``to_bytes()`` reproduces the line exactly.
    """

    manufacturer: str
    baud_char: str
    ident: str = ""
    enhanced: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_text("manufacturer", self.manufacturer, forbidden="\r\n", max_len=3)
        if self.baud_char:
            _check_char("baud character", self.baud_char)
            if len(self.manufacturer) != 3:
                raise LocalProtocolError("a baud character needs a three-character manufacturer id")
        elif self.ident or self.enhanced:
            raise LocalProtocolError("an identification without a baud character cannot carry more text")
        for ch in self.enhanced:
            _check_char("enhanced identification character", ch)
        _check_text("identification", self.ident, forbidden="\r\n")
        if self.ident[:1] == "\\" and len(self.ident) > 1:
            # On the wire it would read back as one more enhanced pair.
            raise LocalProtocolError(f"identification {self.ident!r} cannot start with an escape pair")

    # -- what the identification tells -------------------------------------------------------
    @property
    def mode_e_capable(self) -> bool:
        """``\\2`` present: the meter can switch to HDLC (mode E)."""
        return "2" in self.enhanced

    @property
    def fast_reaction(self) -> bool:
        """Lower-case third manufacturer letter: the meter answers within 20 ms."""
        return len(self.manufacturer) == 3 and self.manufacturer[2].islower()

    @property
    def reaction_time_ms(self) -> int:
        """Minimum time to wait before answering this meter (20 or 200 ms)."""
        return 20 if self.fast_reaction else 200

    @property
    def mode(self) -> ProtocolMode:
        """The mode ``Z`` implies for a request-driven session (A, B or C; E if also ``\\2``)."""
        if self.baud_char and self.baud_char in "ABCDEFGHI":
            return ProtocolMode.B
        if self.baud_char and self.baud_char in "0123456789":
            return ProtocolMode.E if self.mode_e_capable else ProtocolMode.C
        return ProtocolMode.A

    @property
    def baud_rate(self) -> int:
        """The rate the meter proposes (300 Bd for mode A and for reserved characters)."""
        rate = _MODE_C_RATES.get(self.baud_char) or _MODE_B_RATES.get(self.baud_char)
        return rate or 300

    @property
    def text(self) -> str:
        """The whole identification line without ``/`` and CR LF."""
        pairs = "".join(f"\\{ch}" for ch in self.enhanced)
        return f"{self.manufacturer}{self.baud_char}{pairs}{self.ident}"

    # -- codec -------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        return f"/{self.text}\r\n".encode("ascii")

    @classmethod
    def from_text(cls, text: str) -> Identification:
        """Split an identification line (without ``/`` and CR LF) into its parts."""
        if len(text) < 4:
            return cls(manufacturer=text[:3], baud_char=text[3:4])
        manufacturer, baud_char, rest = text[:3], text[3], text[4:]
        enhanced: list[str] = []
        while len(rest) >= 2 and rest[0] == "\\" and 0x20 <= ord(rest[1]) < 0x7F:
            enhanced.append(rest[1])
            rest = rest[2:]
        return cls(manufacturer=manufacturer, baud_char=baud_char, ident=rest, enhanced=tuple(enhanced))

    @classmethod
    def from_bytes(cls, data: bytes) -> Identification:
        if len(data) < 3 or data[:1] != b"/" or not data.endswith(b"\r\n"):
            raise MalformedDataError("not an identification message '/XXXZ...CRLF'", data=data, offset=0)
        try:
            return cls.from_text(_ascii(data[1:-2]))
        except LocalProtocolError as exc:
            raise MalformedDataError(f"bad identification: {exc}", data=data, offset=1) from None


@dataclass(frozen=True, slots=True)
class OptionSelect:
    """``ACK V Z Y CR LF`` - the HHU's choice of procedure, rate and mode (modes C and E).

    ``protocol`` (V): ``0`` normal, ``1`` secondary, ``2`` HDLC. ``baud_char`` (Z): the rate to
    switch to, ``0`` to stay at 300 Bd. ``mode`` (Y): ``0`` data readout, ``1`` programming,
    ``2`` binary (HDLC), ``6``-``9`` manufacturer specific.
    """

    protocol: str = "0"
    baud_char: str = "0"
    mode: str = "0"

    READOUT: ClassVar[str] = "0"
    PROGRAMMING: ClassVar[str] = "1"
    BINARY: ClassVar[str] = "2"

    def __post_init__(self) -> None:
        _check_char("protocol control character V", self.protocol)
        _check_char("baud character Z", self.baud_char)
        _check_char("mode control character Y", self.mode)

    @classmethod
    def readout(cls, baud_char: str = "0") -> OptionSelect:
        return cls("0", baud_char, cls.READOUT)

    @classmethod
    def programming(cls, baud_char: str = "0") -> OptionSelect:
        return cls("0", baud_char, cls.PROGRAMMING)

    @classmethod
    def binary(cls, baud_char: str) -> OptionSelect:
        """``ACK 2 Z 2``: enter mode E (HDLC) at the rate named by ``baud_char``."""
        return cls("2", baud_char, cls.BINARY)

    @property
    def baud_rate(self) -> int:
        return _MODE_C_RATES.get(self.baud_char, 300)

    def to_bytes(self) -> bytes:
        return f"\x06{self.protocol}{self.baud_char}{self.mode}\r\n".encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> OptionSelect:
        if len(data) != 6 or data[0] != ACK or data[4:] != b"\r\n":
            raise MalformedDataError("not an option select message 'ACK V Z Y CRLF'", data=data, offset=0)
        text = _ascii(data[1:4])
        try:
            return cls(text[0], text[1], text[2])
        except LocalProtocolError as exc:
            raise MalformedDataError(f"bad option select: {exc}", data=data, offset=1) from None


@dataclass(frozen=True, slots=True)
class Ack:
    """A lone ``ACK``: command executed, or partial block received, send the next."""

    def to_bytes(self) -> bytes:
        return b"\x06"

    @classmethod
    def from_bytes(cls, data: bytes) -> Ack:
        if data != b"\x06":
            raise MalformedDataError("not an ACK", data=data, offset=0)
        return cls()


@dataclass(frozen=True, slots=True)
class Nak:
    """``NAK``: the last message was damaged, send it again."""

    def to_bytes(self) -> bytes:
        return b"\x15"

    @classmethod
    def from_bytes(cls, data: bytes) -> Nak:
        if data != b"\x15":
            raise MalformedDataError("not a NAK", data=data, offset=0)
        return cls()


def _check_bcc(frame: bytes, start: int, kind: BccKind, strict: bool) -> bool:
    """Compare the last byte of ``frame`` with the BCC over ``frame[start:-1]``."""
    expected = bcc(frame[start:-1], kind)
    received = frame[-1] & 0x7F
    if expected == received:
        return True
    if strict:
        raise ChecksumError(
            f"BCC mismatch: computed 0x{expected:02X}, received 0x{received:02X}",
            expected=expected,
            received=received,
            data=frame,
            offset=len(frame) - 1,
            reply=b"\x15",
        )
    return False


@dataclass(frozen=True, slots=True)
class DataMessage:
    """``STX data ETX BCC`` (or ``EOT BCC`` for a partial block).

    Carries a readout data block (ending in ``! CR LF``) or the answer to a programming command.
    ``framed=False`` is the bare form without STX/ETX/BCC that mode D push meters and some
    others send. ``bcc_ok`` records, for a received message, whether its BCC matched (``None``
    when there was none or it was not checked); it is not part of the message's value.
    """

    data: bytes
    partial: bool = False
    framed: bool = True
    bcc_kind: BccKind = field(default=BccKind.XOR, compare=False, repr=False)
    bcc_ok: bool | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))
        if _has_control(self.data):
            raise LocalProtocolError("data of a data message must not contain STX, ETX or EOT")
        if self.partial and not self.framed:
            raise LocalProtocolError("a partial block is always framed (STX ... EOT BCC)")

    @property
    def text(self) -> str:
        return _ascii(self.data)

    def to_bytes(self) -> bytes:
        if not self.framed:
            return self.data
        body = self.data + (b"\x04" if self.partial else b"\x03")
        return b"\x02" + body + bytes((bcc(body, self.bcc_kind),))

    @classmethod
    def from_bytes(
        cls, data: bytes, *, bcc_kind: BccKind = BccKind.XOR, strict: bool = True
    ) -> DataMessage:
        if len(data) < 3 or data[0] != STX or data[-2] not in (ETX, EOT):
            raise MalformedDataError("not a data message 'STX ... ETX|EOT BCC'", data=data, offset=0)
        ok = _check_bcc(data, 1, bcc_kind, strict)
        body = data[1:-2]
        if _has_control(body):
            at = 1 + min(i for i in (body.find(b"\x02"), body.find(b"\x03"), body.find(b"\x04")) if i >= 0)
            raise MalformedDataError("STX, ETX or EOT inside a data message", data=data, offset=at)
        return cls(body, partial=data[-2] == EOT, bcc_kind=bcc_kind, bcc_ok=ok)


def _has_control(data: bytes) -> bool:
    return data.find(b"\x02") >= 0 or data.find(b"\x03") >= 0 or data.find(b"\x04") >= 0


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """``STX ( error text ) ETX BCC`` - the meter cannot execute a well-formed command.

    The text is manufacturer specific (``ER12``, ``ERR5``, ``#0018``...), up to 32 characters.
    On the wire it looks like a data message with a lone, address-less data set; the framer
    tells the two apart with a configurable pattern (see :class:`~.framer.Framer`).
    """

    text: str
    bcc_kind: BccKind = field(default=BccKind.XOR, compare=False, repr=False)
    bcc_ok: bool | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_text("error text", self.text, forbidden="\r\n()*/!")

    def to_bytes(self) -> bytes:
        return DataMessage(f"({self.text})".encode("ascii"), bcc_kind=self.bcc_kind).to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, *, bcc_kind: BccKind = BccKind.XOR, strict: bool = True) -> ErrorMessage:
        message = DataMessage.from_bytes(data, bcc_kind=bcc_kind, strict=strict)
        if message.partial:
            raise MalformedDataError(
                "an error message ends with ETX, not EOT", data=data, offset=len(data) - 2
            )
        return cls.from_data_message(message)

    @classmethod
    def from_data_message(cls, message: DataMessage) -> ErrorMessage:
        text = message.text
        if len(text) < 2 or text[0] != "(" or text[-1] != ")":
            raise MalformedDataError("not an error message '(text)'", data=message.data, offset=0)
        try:
            return cls(text[1:-1], bcc_kind=message.bcc_kind, bcc_ok=message.bcc_ok)
        except LocalProtocolError as exc:
            raise MalformedDataError(f"bad error message: {exc}", data=message.data, offset=1) from None


@dataclass(frozen=True, slots=True)
class CommandMessage:
    """``SOH C D [STX data] ETX|EOT BCC`` - a programming-mode command.

    ``command`` is the command letter (``P`` password, ``W`` write, ``R`` read, ``E`` execute,
    ``B`` break), ``command_type`` the type character (``0``-``9``; manufacturers use letters
    too, e.g. Elster's ``RD``). ``data`` is the data set ``address(value)``; ``None`` means the
    STX and data set are absent, as in ``B0``. ``partial`` ends the block with EOT.
    """

    command: str
    command_type: str
    data: str | None = None
    partial: bool = False
    bcc_kind: BccKind = field(default=BccKind.XOR, compare=False, repr=False)
    bcc_ok: bool | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_char("command", self.command)
        _check_char("command type", self.command_type)
        if self.data is not None:
            _check_text("command data", self.data, forbidden="")
            if any(ch in self.data for ch in "\x01\x02\x03\x04"):
                raise LocalProtocolError("command data must not contain SOH, STX, ETX or EOT")
        if self.partial and self.data is None:
            raise LocalProtocolError("a partial command block needs data")

    # -- the commands of the standard ------------------------------------------------------
    @classmethod
    def password(cls, password: str, *, level: int = 1) -> CommandMessage:
        """``P1(password)`` or, with ``level=2``, ``P2(result of the secure algorithm)``."""
        return cls("P", str(level), f"({password})")

    @classmethod
    def operand(cls, operand: str) -> CommandMessage:
        """``P0(operand)``: sent by the meter when programming mode is opened."""
        return cls("P", "0", f"({operand})")

    @classmethod
    def read(cls, address: str, value: str = "", *, command_type: str = "1") -> CommandMessage:
        """``R<type> address(value)``; for R1 the value is the count of locations to read."""
        return cls("R", command_type, f"{address}({value})")

    @classmethod
    def write(cls, address: str, value: str, *, command_type: str = "1") -> CommandMessage:
        """``W<type> address(value)``."""
        return cls("W", command_type, f"{address}({value})")

    @classmethod
    def execute(cls, address: str, value: str = "", *, command_type: str = "2") -> CommandMessage:
        """``E<type> address(value)`` (E2 = Annex C formatted execute)."""
        return cls("E", command_type, f"{address}({value})")

    @classmethod
    def break_(cls, *, command_type: str = "0") -> CommandMessage:
        """``B0`` (complete sign-off) or ``B1`` (sign-off of a fast-wake-up device)."""
        return cls("B", command_type)

    @property
    def is_break(self) -> bool:
        return self.command == "B"

    @property
    def name(self) -> str:
        """The two-character command id, e.g. ``'R5'``."""
        return self.command + self.command_type

    def to_bytes(self) -> bytes:
        head = f"{self.command}{self.command_type}".encode("ascii")
        if self.data is None:
            body = head + b"\x03"
        else:
            body = head + b"\x02" + self.data.encode("ascii") + (b"\x04" if self.partial else b"\x03")
        return b"\x01" + body + bytes((bcc(body, self.bcc_kind),))

    @classmethod
    def from_bytes(
        cls, data: bytes, *, bcc_kind: BccKind = BccKind.XOR, strict: bool = True
    ) -> CommandMessage:
        if len(data) < 5 or data[0] != SOH or data[-2] not in (ETX, EOT):
            raise MalformedDataError("not a command message 'SOH C D ... ETX|EOT BCC'", data=data, offset=0)
        ok = _check_bcc(data, 1, bcc_kind, strict)
        head = _ascii(data[1:3])
        if len(data) == 5:
            payload = None
        elif data[3] == STX:
            payload = _ascii(data[4:-2])
        else:
            raise MalformedDataError("command message without STX before its data set", data=data, offset=3)
        try:
            return cls(head[0], head[1], payload, partial=data[-2] == EOT, bcc_kind=bcc_kind, bcc_ok=ok)
        except LocalProtocolError as exc:
            raise MalformedDataError(f"bad command message: {exc}", data=data, offset=1) from None


BREAK: Final = CommandMessage("B", "0")
"""``SOH B 0 ETX BCC`` = ``01 42 30 03 71``."""

Message = (
    RequestMessage | Identification | OptionSelect | Ack | Nak | DataMessage | ErrorMessage | CommandMessage
)
"""Any IEC 62056-21 message."""
