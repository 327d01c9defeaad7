"""What the IEC 62056-21 state machines hand to the code around them.

Two kinds of event come out of :meth:`~.connection.ClientConnection.next_event` and
:meth:`~.connection.MeterConnection.next_event`:

* **instructions** for the I/O layer - :class:`Send` these bytes (not before a given time),
  :class:`SetLink` to another rate or character format once the line has drained;
* **protocol events** - an identification arrived, a readout is complete, the meter rejected a
  password, the link now belongs to HDLC...

Times are in the caller's clock (whatever ``now`` it passes in, usually ``time.monotonic()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .messages import CommandMessage, DataMessage, Identification, OptionSelect, RequestMessage
from .readout import Readout, readout_from_message

__all__ = [
    "BinaryModeEntered",
    "CommandAccepted",
    "CommandReceived",
    "DataReceived",
    "Event",
    "IdentificationReceived",
    "MeterErrorReceived",
    "PasswordRejected",
    "ProgrammingModeEntered",
    "PushReceived",
    "ReadoutReceived",
    "ReadoutRequested",
    "Send",
    "SessionEnded",
    "SetLink",
    "SignOnReceived",
]


def _short(data: bytes, limit: int = 24) -> str:
    return repr(data) if len(data) <= limit else f"{data[:limit]!r}... ({len(data)} bytes)"


@dataclass(frozen=True, slots=True)
class Send:
    """Transmit ``data`` on the link, but not before ``not_before`` (reaction time tr).

    ``flush``: drop whatever arrived before this goes out, unread. A sign-on repeated after a
    pause asks for it: a late answer to the attempt given up on, arriving in the pause, would
    otherwise pass for the answer to the new one.
    """

    data: bytes
    not_before: float
    flush: bool = False

    def __repr__(self) -> str:
        flush = ", flush=True" if self.flush else ""
        return f"Send({_short(self.data)}, not_before={self.not_before:.3f}{flush})"


@dataclass(frozen=True, slots=True)
class SetLink:
    """Change the line settings once everything sent so far has left the UART.

    ``guard`` is the pause to keep between the end of transmission and the switch (t2): the
    last byte must be out at the old rate, and the peer needs a moment to switch as well.
    ``data_bits`` is 7 for 7E1 and 8 for 8N1 (mode E after the switch).
    """

    baud_rate: int
    data_bits: int = 7
    guard: float = 0.0


@dataclass(frozen=True, slots=True)
class IdentificationReceived:
    """The meter identified itself; the session goes on by itself."""

    identification: Identification


@dataclass(frozen=True, slots=True)
class ReadoutReceived:
    """A complete data readout. ``message.bcc_ok`` tells whether its BCC matched (None: no BCC)."""

    identification: Identification | None
    message: DataMessage
    baud_rate: int

    def readout(self) -> Readout:
        """The parsed readout (data sets, identification, BCC verdict)."""
        return readout_from_message(self.identification, self.message)

    def __repr__(self) -> str:
        return f"ReadoutReceived({self.identification!r}, {_short(self.message.data)}, {self.baud_rate} Bd)"


@dataclass(frozen=True, slots=True)
class PushReceived:
    """A mode D telegram from a push meter (``identification`` is None if its start was missed)."""

    identification: Identification | None
    message: DataMessage

    def readout(self) -> Readout:
        """The parsed telegram."""
        return readout_from_message(self.identification, self.message)


@dataclass(frozen=True, slots=True)
class ProgrammingModeEntered:
    """The meter accepted the sign-on (and the password, if one was given).

    ``operand`` is the P0 operand the meter sent (a seed, its serial...), ``None`` if it sent none.
    """

    operand: str | None


@dataclass(frozen=True, slots=True)
class PasswordRejected:
    """The meter refused the password (NAK after the retries, an error message or a break)."""

    reply: str


@dataclass(frozen=True, slots=True)
class CommandAccepted:
    """The meter executed a write/execute/password command and answered ACK."""

    command: CommandMessage


@dataclass(frozen=True, slots=True)
class DataReceived:
    """The meter answered a read command; partial blocks are already joined.

    ``data`` is the text between STX and ETX of all blocks, ``blocks`` how many there were.
    """

    command: CommandMessage
    data: str
    blocks: int = 1


@dataclass(frozen=True, slots=True)
class MeterErrorReceived:
    """The meter understood the command but answered with an error message."""

    command: CommandMessage | None
    text: str


@dataclass(frozen=True, slots=True)
class BinaryModeEntered:
    """Mode E: the link now runs ``baud_rate`` 8N1 and belongs to the next protocol (HDLC).

    ``leftover`` holds bytes already received after the switch, exactly as received.
    """

    baud_rate: int
    leftover: bytes = b""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The session is over and the link is back at 300 Bd, waiting for a new sign-on.

    ``reason`` is ``"break"`` (a B0/B1 was exchanged), ``"meter break"`` (the meter sent B0),
    ``"inactivity"`` (the meter's timeout) or ``"done"``.
    """

    reason: str


# -- meter side ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SignOnReceived:
    """A request addressed to this meter arrived; the identification is on its way."""

    request: RequestMessage


@dataclass(frozen=True, slots=True)
class ReadoutRequested:
    """The HHU wants the data readout: answer with ``MeterConnection.send_readout``.

    ``option`` is the option select that asked for it (``None`` in modes A and B, and when the
    HHU sent none in time and the meter falls back to 300 Bd).
    """

    baud_rate: int
    option: OptionSelect | None = None


@dataclass(frozen=True, slots=True)
class CommandReceived:
    """A programming command: answer with ``MeterConnection.reply`` or ``reply_data``."""

    command: CommandMessage
    operand: str = field(default="", compare=False)


Event = (
    Send
    | SetLink
    | IdentificationReceived
    | ReadoutReceived
    | PushReceived
    | ProgrammingModeEntered
    | PasswordRejected
    | CommandAccepted
    | DataReceived
    | MeterErrorReceived
    | BinaryModeEntered
    | SessionEnded
    | SignOnReceived
    | ReadoutRequested
    | CommandReceived
)
"""Anything ``next_event()`` returns besides ``NEED_DATA``."""
