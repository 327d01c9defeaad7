"""Sans-io IEC 62056-21 connections: the hand-held unit (client) and the meter.

Neither class touches a port, a socket, a clock or a thread. The code around them:

1. tells them what the caller wants (``read_out``, ``program``, ``send_command``... or, on the
   meter side, ``send_readout`` and ``reply``) and what arrived (``receive_data``), passing its
   clock's ``now`` each time;
2. drains :meth:`next_event` until it returns :data:`~.framer.NEED_DATA`, carrying out
   :class:`~.events.Send` and :class:`~.events.SetLink` instructions and handling the
   protocol events;
3. calls :meth:`time_passed` when :attr:`deadline` has come without input: that is how a
   connection learns that a meter stayed silent, and decides to repeat, fall back or give up.

Every transition is looked up in the tables of :mod:`._state`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from meterlink.errors import (
    LocalProtocolError,
    MeterlinkError,
    RemoteProtocolError,
    ResponseTimeout,
    UnexpectedMessageError,
)

from ._state import CLIENT_TABLE, METER_TABLE, RECEIVED, ClientState, Input, MeterState
from .bcc import BccKind
from .events import (
    BinaryModeEntered,
    CommandAccepted,
    CommandReceived,
    DataReceived,
    Event,
    IdentificationReceived,
    MeterErrorReceived,
    PasswordRejected,
    ProgrammingModeEntered,
    PushReceived,
    ReadoutReceived,
    ReadoutRequested,
    Send,
    SessionEnded,
    SetLink,
    SignOnReceived,
)
from .framer import DEFAULT_ERROR_PATTERN, NEED_DATA, BrokenOffError, Framer, NeedData, Role
from .messages import (
    BREAK,
    Ack,
    CommandMessage,
    DataMessage,
    ErrorMessage,
    Identification,
    Message,
    Nak,
    OptionSelect,
    ProtocolMode,
    RequestMessage,
    baud_rate_for_mode_b,
    baud_rate_for_mode_c,
    mode_c_baud_char,
)

__all__ = [
    "ClientConnection",
    "ClientSettings",
    "MeterConnection",
    "MeterSettings",
    "transmission_time",
]

BITS_PER_CHARACTER: Final = 10
"""Start bit, 7 data bits, parity and stop bit (7E1) - and also 8N1."""

WAKE_UP_NULS: Final = 66
"""NUL characters in a 2.2 s wake-up train at 300 Bd (Annex B: 2.1 to 2.3 s)."""
WAKE_UP_PAUSE: Final = 1.6
"""Pause between the wake-up train and the request (Annex B: 1.5 to 1.7 s)."""
FAST_WAKE_BURST: Final = 0.55
"""Length of one fast wake-up NUL burst (Annex B.2: Tn = 500 to 600 ms); rounded up to whole
characters, so at least 0.55 s and at most one character more."""
FAST_WAKE_PAUSE: Final = 0.04
"""Td beyond its two character times: 20 ms plus the 20 ms the standard allows on top. The
meter's ACK must have arrived by then, or the next burst starts."""
FAST_WAKE_TOTAL: Final = 4.5
"""Keep bursting for this long (the standard's recommendation) before the attempt has failed."""
FAST_WAKE_REQUEST_DELAY: Final = 0.3
"""Request this long after the wake-up ACK (Annex B.2: 200 to 1500 ms)."""
FAST_WAKE_MIN_BURST: Final = 0.5
"""A sleeping meter wakes on a NUL burst at least this long (at its line rate)."""
FAST_WAKE_ACK_DELAY: Final = 0.01
"""Ta: the meter's ACK starts at least this long after the burst."""
RESTART_PAUSE: Final = 2.0
"""Wait after a break, a finished or a failed session before the next sign-on (meters need 1.5-2 s)."""
ECHO_WINDOW: Final = 0.1
"""An echo of our own bytes arrives while they are sent; later, identical bytes are an answer.

The window is also capped at half the peer's minimum reaction time: nothing the peer says can
come sooner than that, so a 20 ms meter's mode E confirmation is never taken for our echo."""


_B1: Final = CommandMessage.break_(command_type="1")
"""Sign-off for fast wake-up devices: the meter acknowledges it, then sleeps."""


def transmission_time(size: int, baud_rate: int) -> float:
    """Seconds that ``size`` characters take on the line at ``baud_rate``."""
    return size * BITS_PER_CHARACTER / baud_rate


def _classify(message: Message) -> Input:
    if isinstance(message, DataMessage):
        return Input.PARTIAL_DATA if message.partial else Input.DATA
    if isinstance(message, CommandMessage):
        return Input.BREAK if message.is_break else Input.COMMAND
    return _INPUT_OF[type(message)]


_WAKE_STATES: Final = frozenset({MeterState.ASLEEP, MeterState.AWAKE})
_AT_REST: Final = frozenset({MeterState.IDLE, MeterState.ASLEEP, MeterState.AWAKE})

_INPUT_OF: Final[dict[type, Input]] = {
    RequestMessage: Input.REQUEST,
    Identification: Input.IDENTIFICATION,
    OptionSelect: Input.OPTION_SELECT,
    ErrorMessage: Input.ERROR,
    Ack: Input.ACK,
    Nak: Input.NAK,
}


class _Connection:
    """Machinery both roles share: framer, output queue, deadline, table dispatch."""

    _table: dict[tuple[Any, Input], tuple[str, frozenset[Any]]]
    state: Any

    def __init__(self, framer: Framer, initial_baud_rate: int, echo: bool | None = None) -> None:
        self._framer = framer
        self._echo = echo
        self._echo_until = float("-inf")
        self._out: deque[Event] = deque()
        self._deadline: float | None = None
        self._now = 0.0
        self._tx_end = 0.0
        self._last_rx = float("-inf")
        self.initial_baud_rate = initial_baud_rate
        self.baud_rate = initial_baud_rate
        """The line rate the connection believes is set now."""
        self.data_bits = 7

    # -- input ----------------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes arrived from the link at time ``now``."""
        self._now = max(self._now, now)
        if data:
            if self._echo is None and now > self._echo_until:
                self._framer.cancel_echo()
            self._framer.feed(data)
            self._last_rx = now
            if self._deadline is not None and self._stretches_deadline():
                self._deadline = max(self._deadline, now + self._inter_char_timeout())

    def time_passed(self, now: float) -> None:
        """Let the connection see the clock; past the deadline, the timeout transition runs.

        Raises :class:`~meterlink.errors.ResponseTimeout` when the peer stayed silent and the
        connection has no retry left.
        """
        self._now = max(self._now, now)
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._input(Input.TIMEOUT, None)

    @property
    def receiving(self) -> bool:
        """Whether part of a message has arrived and waits for the rest (noise is dropped)."""
        return self._framer.in_message

    @property
    def deadline(self) -> float | None:
        """When the connection wants :meth:`time_passed` called if nothing arrives before."""
        return self._deadline

    def next_event(self) -> Event | NeedData:
        """The next instruction or protocol event, or :data:`NEED_DATA`.

        Raises :class:`~meterlink.errors.RemoteProtocolError` when the peer broke the protocol in a
        way the state machine cannot recover from. Any other exception is a bug in meterlink.
        """
        while not self._out:
            try:
                message = self._framer.next_message()
            except RemoteProtocolError as exc:
                if (self.state, Input.BAD_FRAME) not in self._table:
                    raise
                self._input(Input.BAD_FRAME, exc)
                continue
            if isinstance(message, NeedData):
                return NEED_DATA
            self._input(_classify(message), message)
        return self._out.popleft()

    def events(self) -> list[Event]:
        """Drain :meth:`next_event` into a list."""
        found: list[Event] = []
        while not isinstance(event := self.next_event(), NeedData):
            found.append(event)
        return found

    # -- dispatch -------------------------------------------------------------------------------
    def _input(self, kind: Input, payload: object) -> None:
        entry = self._table.get((self.state, kind))
        if entry is None:
            if kind in RECEIVED:
                data = payload.to_bytes() if hasattr(payload, "to_bytes") else b""
                raise UnexpectedMessageError(
                    f"{kind.value} not allowed while {self.state.value}", data=data, offset=0
                )
            raise LocalProtocolError(f"{kind.value} not allowed while {self.state.value}")
        name, targets = entry
        handler: Callable[[Any], Any] = getattr(self, "_" + name)
        new_state = handler(payload)
        if new_state not in targets:  # guards the table against the code
            raise AssertionError(f"{name} moved to {new_state} from {self.state}; table allows {targets}")
        self.state = new_state

    def _fail(
        self, error: MeterlinkError, rest: Any, farewell: bytes = b"", not_before: float | None = None
    ) -> None:
        """Give up: send ``farewell`` (a break) if given, back to rest, then raise."""
        self._deadline = None
        self._framer.clear()
        if farewell:
            self._send(farewell, not_before)
        self._link(self.initial_baud_rate, 7)
        self.state = rest
        raise error

    # -- output helpers -------------------------------------------------------------------------
    def _send(self, data: bytes, not_before: float | None = None, *, flush: bool = False) -> float:
        """Queue a transmission; returns when it will have left the line."""
        start = max(self._now, not_before if not_before is not None else self._now)
        if self._echo is not False:
            if self._echo is None and self._now > self._echo_until:
                self._framer.cancel_echo()  # the last echo is overdue: do not pile them up
            self._framer.expect_echo(data)
        self._out.append(Send(data, start, flush))
        self._tx_end = max(start, self._tx_end) + transmission_time(len(data), self.baud_rate)
        self._echo_until = self._tx_end + min(ECHO_WINDOW, self._peer_reaction_time() / 2)
        return self._tx_end

    def _link(self, baud_rate: int, data_bits: int, guard: float = 0.0) -> None:
        if baud_rate == self.baud_rate and data_bits == self.data_bits:
            return
        if self._switches() or data_bits != self.data_bits:
            # a fixed-rate link (TCP) still needs to know about 7E1 <-> 8N1 (software parity)
            self._out.append(SetLink(baud_rate, data_bits, guard))
        self.baud_rate = baud_rate
        self.data_bits = data_bits
        self._tx_end += guard

    def _switches(self) -> bool:
        return True

    def _stretches_deadline(self) -> bool:
        """Whether arriving bytes push the deadline out (a message may be coming in)."""
        return True

    def _inter_char_timeout(self) -> float:
        return 1.5

    def _peer_reaction_time(self) -> float:
        """The soonest the peer may answer (tr of the standard: 200 ms, 20 ms for fast meters)."""
        return 0.2


# ================================================================================================
# client
# ================================================================================================
@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How a hand-held unit or head-end talks to one meter.

    The defaults follow the standard; the overrides exist because real meters need them.
    """

    address: str = ""
    """Device address sent in the request; empty = general address (never on a bus)."""
    mode: ProtocolMode | None = None
    """Force a mode instead of reading it from the identification (e.g. E for a meter that
    does not announce ``\\2``)."""
    request_command: str = "?"
    """Character after ``/``: ``?``, a VDEW list ``2``/``3``/``4``, or ``#``."""
    protocol_char: str | None = None
    """Override V in the option select."""
    baud_char: str | None = None
    """Override Z in the option select (``"0"`` keeps 300 Bd, e.g. for L+G E350)."""
    mode_char: str | None = None
    """Override Y in the option select (Elster A1700 wants ``"6"``)."""
    max_baud_rate: int | None = None
    """Never ask for more than this rate (modes C/E)."""
    switch_baud_rate: bool = True
    """False on links that cannot change rate (TCP converters): no SetLink is issued."""
    initial_baud_rate: int = 300
    reaction_time: float | None = None
    """Wait before answering the meter (tr); None = 20 or 200 ms from the identification."""
    baud_switch_guard: float = 0.3
    """Pause between the end of the ACK and the rate switch (t2)."""
    response_timeout: float = 1.5
    """No first character within this time after a request or command = no answer."""
    inter_char_timeout: float = 1.5
    """Longest pause inside one message (ta)."""
    retries: int = 3
    """Repeats of a sign-on, command or damaged block before giving up."""
    restart_pause: float = RESTART_PAUSE
    """Wait before signing on again after a failed attempt (at least 1.5 s for real meters)."""
    password: str | None = None
    password_level: int = 1
    """1 sends ``P1(password)``; 2 sends ``P2(...)``, usually with ``password_function``."""
    password_function: Callable[[str], str] | None = field(default=None, compare=False)
    """Computes the password from the P0 operand (P2 secure algorithms)."""
    wake_up: bool = False
    """Send the Annex B.1 NUL train before the request (battery meters)."""
    fast_wake_up: bool = False
    """Annex B.2 fast wake-up: NUL bursts at ``initial_baud_rate`` until the meter ACKs, then
    the request at that same rate; sessions end with B1, which the meter acknowledges."""
    echo: bool | None = None
    """Does the link echo what we send (optical heads, RS-485)? None: drop our own bytes if
    they come back while being sent; True: always expect them back; False: never."""
    strict_bcc: bool = True
    bcc_kind: BccKind = BccKind.XOR
    max_message_size: int = 4 << 20

    def __post_init__(self) -> None:
        for name in ("protocol_char", "baud_char", "mode_char"):
            value = getattr(self, name)
            if value is not None and (len(value) != 1 or not value.isprintable()):
                raise LocalProtocolError(f"{name} must be one printable character, got {value!r}")
        if self.mode is ProtocolMode.D:
            raise LocalProtocolError("mode D has no sign-on: use ClientConnection.listen()")
        if not 0.0 <= self.baud_switch_guard <= 1.5:
            raise LocalProtocolError("baud_switch_guard (t2) must be between 0 and 1.5 s")
        if self.retries < 0:
            raise LocalProtocolError("retries must be zero or more")
        if self.wake_up and self.fast_wake_up:
            raise LocalProtocolError("wake_up (B.1 train) and fast_wake_up (B.2 bursts) exclude each other")
        if self.password_level not in (1, 2):
            raise LocalProtocolError("password_level is 1 (P1) or 2 (P2)")
        if self.max_baud_rate is not None:
            mode_c_baud_char(self.max_baud_rate)
        RequestMessage(self.address, self.request_command)  # validates both


class ClientConnection(_Connection):
    """The HHU/head-end side of IEC 62056-21, modes A to E, as a pure state machine."""

    _table = CLIENT_TABLE

    def __init__(self, settings: ClientSettings | None = None) -> None:
        self.settings = settings or ClientSettings()
        s = self.settings
        super().__init__(
            Framer(
                Role.CLIENT,
                bcc_kind=s.bcc_kind,
                strict_bcc=s.strict_bcc,
                max_message_size=s.max_message_size,
                error_pattern=DEFAULT_ERROR_PATTERN,
                suppress_echo=s.echo is not False,
            ),
            s.initial_baud_rate,
            s.echo,
        )
        self.state: ClientState = ClientState.IDLE
        self.identification: Identification | None = None
        self.mode: ProtocolMode | None = None
        self.operand: str | None = None
        self._goal = Input.READ_OUT
        self._attempts = 0
        self._repeats = 0
        self._command: CommandMessage | None = None
        self._blocks: list[str] = []
        self._first_sent = 0.0
        """When the outstanding command (or password) first went out."""
        self._provoked: float | None = None
        """When we last repeated the command or NAKed its answer: a duplicate answer may follow."""
        self._quiet_until = float("-inf")
        """No new command before this: late duplicates of the last answer pass first."""
        self._wake_started = 0.0
        """When the first fast wake-up burst of this attempt was due."""
        self._nak_heard_at = float("-inf")
        """When the meter has heard our last NAK for a damaged frame: damage that arrived
        before then is more of the transmission already NAKed, and earns no second NAK."""

    # -- what the caller wants ------------------------------------------------------------------
    def read_out(self, now: float) -> None:
        """Sign on and read the data readout (modes A, B, C)."""
        self._now = max(self._now, now)
        self._input(Input.READ_OUT, Input.READ_OUT)

    def program(self, now: float) -> None:
        """Sign on into programming mode (mode C; modes A/B after their readout)."""
        self._now = max(self._now, now)
        self._input(Input.PROGRAM, Input.PROGRAM)

    def binary(self, now: float) -> None:
        """Sign on and switch to mode E (``ACK 2 Z 2``), handing the link to HDLC."""
        self._now = max(self._now, now)
        self._input(Input.BINARY, Input.BINARY)

    def listen(self, now: float) -> None:
        """Mode D: wait for telegrams the meter pushes by itself."""
        self._now = max(self._now, now)
        self._input(Input.LISTEN, None)

    def send_command(self, command: CommandMessage, now: float) -> None:
        """Send a programming command (R, W, E, P); the reply comes as an event."""
        if command.is_break:
            raise LocalProtocolError("end the session with end(), not a break command")
        self._now = max(self._now, now)
        self._input(Input.SEND_COMMAND, command)

    def end(self, now: float, *, battery: bool | None = None) -> None:
        """Break off the session (B0; B1 with ``battery=True`` for fast-wake-up devices).

        ``battery`` defaults to :attr:`ClientSettings.fast_wake_up`. After B1 the connection
        waits (``response_timeout`` at most) for the meter's ACK before it is at rest again.
        While listening in mode D, stop listening; after mode E, take the link back.
        """
        self._now = max(self._now, now)
        if battery is None:
            battery = self.settings.fast_wake_up
        self._input(Input.END, _B1 if battery else BREAK)

    # -- helpers ------------------------------------------------------------------------------
    def _switches(self) -> bool:
        return self.settings.switch_baud_rate

    def _stretches_deadline(self) -> bool:
        # the wake-up pause is fixed: the echo of our own burst must not lengthen it
        return self.state is not ClientState.AWAIT_WAKE_ACK

    def _farewell(self) -> bytes:
        """The break a failed session ends with: B1 sends a battery meter back to sleep."""
        return (_B1 if self.settings.fast_wake_up else BREAK).to_bytes()

    def _inter_char_timeout(self) -> float:
        return self.settings.inter_char_timeout

    def _peer_reaction_time(self) -> float:
        ident = self.identification
        return 0.02 if ident is not None and ident.fast_reaction else 0.2

    def _reaction_time(self) -> float:
        if self.settings.reaction_time is not None:
            return self.settings.reaction_time
        if self.identification is not None:
            return self.identification.reaction_time_ms / 1000
        return 0.2

    def _answer(self, data: bytes) -> None:
        """Send a reply to what just arrived, tr after it, and wait for the meter again."""
        end = self._send(data, self._last_rx + self._reaction_time())
        self._deadline = end + self.settings.response_timeout

    def _request(self, not_before: float, *, flush: bool = False) -> ClientState:
        """Sign on; ``flush`` (a repeated attempt): what arrived in the pause is no answer."""
        s = self.settings
        self._link(self.initial_baud_rate, 7)
        if s.fast_wake_up:
            self._wake_started = not_before
            self._burst(not_before, flush=flush)
            return ClientState.AWAIT_WAKE_ACK
        if s.wake_up:
            end = self._send(b"\x00" * WAKE_UP_NULS, not_before, flush=flush)
            not_before, flush = end + WAKE_UP_PAUSE, False
        end = self._send(RequestMessage(s.address, s.request_command).to_bytes(), not_before, flush=flush)
        self._deadline = end + s.response_timeout
        return ClientState.AWAIT_IDENTIFICATION

    def _burst(self, not_before: float, *, flush: bool = False) -> None:
        """One fast wake-up burst (Tn), then the pause Td in which the meter's ACK must come."""
        rate = self.baud_rate
        size = math.ceil(FAST_WAKE_BURST * rate / BITS_PER_CHARACTER)
        end = self._send(bytes(size), not_before, flush=flush)
        self._deadline = end + 2 * transmission_time(1, rate) + FAST_WAKE_PAUSE

    # -- handlers (named in the table) ---------------------------------------------------------
    def _start_sign_on(self, goal: Input) -> ClientState:
        self._goal = goal
        self._attempts = 0
        self._repeats = 0
        self.identification = None
        self.operand = None
        self._provoked = None
        self._quiet_until = float("-inf")
        self._framer.clear()
        self._framer.expect_option_select = False  # a failed mode E attempt may have left it set
        return self._request(self._now)

    def _retry_sign_on(self, error: object) -> ClientState:
        self._attempts += 1
        if self._attempts > self.settings.retries:
            if isinstance(error, MeterlinkError):
                self._fail(error, ClientState.IDLE)
            self._fail(
                ResponseTimeout(f"no usable answer to the sign-on after {self._attempts} attempts"),
                ClientState.IDLE,
            )
        self._framer.clear()
        self._repeats = 0
        self.identification = None
        return self._request(self._now + self.settings.restart_pause, flush=True)

    def _next_burst(self, _: object) -> ClientState:
        if self._now - self._wake_started < FAST_WAKE_TOTAL:
            self._burst(self._now)
            return ClientState.AWAIT_WAKE_ACK
        # a failed sign-on attempt like any other: pause, then wake it again or give up
        spent = self._now - self._wake_started
        return self._retry_sign_on(ResponseTimeout(f"no ACK to fast wake-up bursts for {spent:.2f} s"))

    def _on_wake_ack(self, _: Ack) -> ClientState:
        s = self.settings
        self._framer.clear()  # the rest of our burst's echo, if any
        not_before = max(self._last_rx, self._tx_end) + FAST_WAKE_REQUEST_DELAY
        end = self._send(RequestMessage(s.address, s.request_command).to_bytes(), not_before)
        self._deadline = end + s.response_timeout
        return ClientState.AWAIT_IDENTIFICATION

    def _on_identification(self, ident: Identification) -> ClientState:
        s = self.settings
        self.identification = ident
        self._out.append(IdentificationReceived(ident))
        mode = s.mode or ident.mode
        if self._goal is Input.BINARY and mode is not ProtocolMode.E:
            if mode is ProtocolMode.C:
                mode = ProtocolMode.E if ident.mode_e_capable else mode
            if mode is not ProtocolMode.E:
                self._fail(
                    LocalProtocolError(
                        f"meter {ident.text!r} does not offer mode E (no '\\2'); "
                        "set mode=ProtocolMode.E to force it"
                    ),
                    ClientState.IDLE,
                )
        if self._goal is not Input.BINARY and mode is ProtocolMode.E:
            mode = ProtocolMode.C
        self.mode = mode
        if mode is ProtocolMode.A:
            self._deadline = self._now + s.response_timeout
            return ClientState.AWAIT_READOUT
        if mode is ProtocolMode.B:
            rate = baud_rate_for_mode_b(ident.baud_char) or self.initial_baud_rate
            self._link(rate, 7)
            self._deadline = self._now + s.response_timeout
            return ClientState.AWAIT_READOUT
        # modes C and E: acknowledge with the option select, then switch
        baud_char = s.baud_char or ident.baud_char
        if baud_rate_for_mode_c(baud_char) is None:
            baud_char = "0"
        if s.max_baud_rate is not None and (baud_rate_for_mode_c(baud_char) or 300) > s.max_baud_rate:
            baud_char = mode_c_baud_char(s.max_baud_rate)
        if self._goal is Input.BINARY:
            option = OptionSelect.binary(baud_char)
        else:
            y = OptionSelect.PROGRAMMING if self._goal is Input.PROGRAM else OptionSelect.READOUT
            option = OptionSelect(s.protocol_char or "0", baud_char, s.mode_char or y)
        self._answer(option.to_bytes())
        self._link(baud_rate_for_mode_c(baud_char) or 300, 7, s.baud_switch_guard)
        self._deadline = self._tx_end + s.response_timeout
        if self._goal is Input.BINARY:
            self._framer.expect_option_select = True
            return ClientState.AWAIT_BINARY_CONFIRM
        if self._goal is Input.PROGRAM:
            return ClientState.AWAIT_OPERAND
        return ClientState.AWAIT_READOUT

    def _on_readout(self, message: DataMessage) -> ClientState:
        self._deadline = None
        self._out.append(ReadoutReceived(self.identification, message, self.baud_rate))
        if self._goal is Input.PROGRAM:
            # modes A and B: programming commands follow the readout at the initial rate
            self._link(self.initial_baud_rate, 7)
            return self._log_in(None)
        self._link(self.initial_baud_rate, 7)
        self._out.append(SessionEnded("done"))
        return ClientState.IDLE

    def _damage(self, payload: object) -> RemoteProtocolError:
        """The error a damaged frame stands for; a message that cannot be the answer here
        (an ACK that was the STX of a readout before a bit flipped) counts as damaged too."""
        if isinstance(payload, RemoteProtocolError):
            return payload
        data = payload.to_bytes() if isinstance(payload, Message) else b""
        kind = type(payload).__name__
        return UnexpectedMessageError(f"{kind} is no answer while {self.state.value}", data=data, offset=0)

    def _same_damage(self, error: object) -> bool:
        """Whether this damage needs no NAK of its own.

        A flipped bit can make one transmission two bad frames (a stray STX cuts it in two): one
        NAK is due, or the meter repeats twice and every later ACK answers the wrong block. So a
        stump waits for what follows it (the NAK goes out tr after the whole transmission), and
        damage that came before the meter could have heard our NAK was answered by it already.
        """
        return isinstance(error, BrokenOffError) or self._last_rx < self._nak_heard_at

    def _nak(self) -> None:
        self._answer(Nak().to_bytes())
        self._nak_heard_at = self._tx_end

    def _on_bad_readout(self, error: object) -> ClientState:
        if self._same_damage(error):
            return ClientState.AWAIT_READOUT
        if self.mode in (ProtocolMode.C, ProtocolMode.E) and self._repeats < self.settings.retries:
            self._repeats += 1
            self._nak()
            return ClientState.AWAIT_READOUT
        return self._retry_sign_on(self._damage(error))

    def _on_readout_timeout(self, _: object) -> ClientState:
        message = self._framer.take_unterminated()
        if message is not None:
            return self._on_readout(message)
        return self._retry_sign_on(None)

    def _on_operand(self, command: CommandMessage) -> ClientState:
        if command.name != "P0":  # a damaged P0 whose BCC still matched (two flips)
            return self._nak_and_wait(
                UnexpectedMessageError(
                    f"expected the P0 operand, got {command.name}", data=command.to_bytes(), offset=1
                )
            )
        data = command.data or ""
        self.operand = data[1:-1] if data.startswith("(") and data.endswith(")") else data
        return self._log_in(self.operand)

    def _log_in(self, operand: str | None) -> ClientState:
        s = self.settings
        if s.password is None and s.password_function is None:
            self._deadline = None
            self._out.append(ProgrammingModeEntered(operand))
            return ClientState.PROGRAMMING
        password = s.password_function(operand or "") if s.password_function is not None else s.password or ""
        self._command = CommandMessage.password(password, level=s.password_level)
        self._repeats = 0
        self._transmit_command()
        return ClientState.AWAIT_PASSWORD_REPLY

    def _on_password_accepted(self, _: Ack) -> ClientState:
        self._answered()
        self._out.append(ProgrammingModeEntered(self.operand))
        return ClientState.PROGRAMMING

    def _on_password_nak(self, nak: Nak) -> ClientState:
        if self._repeats < self.settings.retries:
            return self._resend_command(nak)
        return self._reject_password("NAK")

    def _on_password_error(self, error: ErrorMessage) -> ClientState:
        return self._reject_password(error.text)

    def _reject_password(self, reply: str) -> ClientState:
        self._out.append(PasswordRejected(reply))
        self._answer(self._farewell())
        self._deadline = None
        self._link(self.initial_baud_rate, 7)
        self._out.append(SessionEnded("break"))
        return ClientState.IDLE

    def _send_command(self, command: CommandMessage) -> ClientState:
        self._command = command
        self._repeats = 0
        self._blocks = []
        if self._now < self._quiet_until:
            self._deadline = self._quiet_until
            return ClientState.SETTLING
        self._transmit_command()
        return ClientState.AWAIT_REPLY

    def _send_settled(self, _: object) -> ClientState:
        self._transmit_command()
        return ClientState.AWAIT_REPLY

    def _transmit_command(self) -> None:
        assert self._command is not None
        self._first_sent = self._now
        self._provoked = None
        self._answer(self._command.to_bytes())

    def _answered(self) -> None:
        """The answer is in. If we repeated ourselves for it, the meter may still answer the
        repeats (late, or after our NAK): the next command waits until such duplicates have
        come and gone, so none is taken for its answer."""
        self._deadline = None
        if self._provoked is not None:
            span = self._provoked - self._first_sent
            self._quiet_until = self._now + span + self.settings.response_timeout
            self._provoked = None

    def _resend_command(self, why: object) -> ClientState:
        command = self._command
        assert command is not None
        self._repeats += 1
        if self._repeats > self.settings.retries:
            if why is None:
                error: MeterlinkError = ResponseTimeout(
                    f"no answer to {command.name} after {self._repeats} attempts"
                )
            else:
                error = RemoteProtocolError(
                    f"meter refused {command.name} {self._repeats} times (NAK)", data=command.to_bytes()
                )
            # B0 like any answer: tr after the last input, and its echo expected
            self._fail(error, ClientState.IDLE, self._farewell(), self._last_rx + self._reaction_time())
        self._blocks = []  # the meter starts its answer over
        if not isinstance(why, Nak):  # unanswered: the first attempt may still be answered late
            self._provoked = self._now
        self._answer(command.to_bytes())
        return self.state

    def _on_command_ack(self, _: Ack) -> ClientState:
        assert self._command is not None
        if self._blocks:  # a meter answers our block ACK with the next block: this is its echo
            return ClientState.AWAIT_REPLY
        self._answered()
        self._out.append(CommandAccepted(self._command))
        return ClientState.PROGRAMMING

    def _on_command_data(self, message: DataMessage) -> ClientState:
        assert self._command is not None
        self._answered()
        self._blocks.append(message.text)
        self._out.append(DataReceived(self._command, "".join(self._blocks), len(self._blocks)))
        self._blocks = []
        return ClientState.PROGRAMMING

    def _on_partial_block(self, message: DataMessage) -> ClientState:
        if self._provoked is not None and self._blocks == [message.text]:
            # the first block twice after a repeated command: the late answer to the first
            # attempt and the answer to the repeat. One ACK only, or the meter skips a block.
            return ClientState.AWAIT_REPLY
        self._blocks.append(message.text)
        self._repeats = 0
        self._answer(Ack().to_bytes())
        return ClientState.AWAIT_REPLY

    def _on_command_error(self, error: ErrorMessage) -> ClientState:
        self._answered()
        self._out.append(MeterErrorReceived(self._command, error.text))
        return ClientState.PROGRAMMING

    def _nak_and_wait(self, error: object) -> ClientState:
        if self._same_damage(error):
            return self.state
        if self._repeats >= self.settings.retries:
            # give up as after an unanswered command: B0, so the meter leaves programming too
            self._fail(
                self._damage(error), ClientState.IDLE, self._farewell(), self._last_rx + self._reaction_time()
            )
        self._repeats += 1
        self._provoked = self._now  # the damaged frame may be followed by a good one we also take
        self._nak()
        return self.state

    def _on_binary_confirm(self, option: OptionSelect) -> ClientState:
        if option.protocol != "2" or option.mode != "2":
            raise UnexpectedMessageError(
                "meter did not confirm mode E with ACK 2 Z 2", data=option.to_bytes(), offset=1
            )
        self._deadline = None
        self._link(self.baud_rate, 8)
        self._out.append(BinaryModeEntered(self.baud_rate, self._framer.detach()))
        return ClientState.BINARY

    def _fail_timeout(self, _: object) -> ClientState:
        self._fail(ResponseTimeout(f"no answer while {self.state.value}"), ClientState.IDLE)
        return ClientState.IDLE  # pragma: no cover - _fail raises

    def _start_listening(self, _: object) -> ClientState:
        self._framer.expect_option_select = False
        self._framer.push = True
        self.identification = None
        return ClientState.LISTENING

    def _on_push_identification(self, ident: Identification) -> ClientState:
        self.identification = ident
        return ClientState.LISTENING

    def _on_push_data(self, message: DataMessage) -> ClientState:
        self._out.append(PushReceived(self.identification, message))
        self.identification = None
        return ClientState.LISTENING

    def _drop_push(self, _: RemoteProtocolError) -> ClientState:
        self.identification = None
        return ClientState.LISTENING

    def _stop_listening(self, _: object) -> ClientState:
        self._framer.push = False
        self._framer.clear()
        return ClientState.IDLE

    def _ignore(self, _: object) -> ClientState:
        return self.state

    def _send_break(self, command: object) -> ClientState:
        self._deadline = None
        sign_off = command if isinstance(command, CommandMessage) else BREAK
        end = self._send(sign_off.to_bytes(), self._last_rx + self._reaction_time())
        if sign_off.command_type == "1":
            # B1: the meter ACKs at the session's rate before it sleeps; switch back after that
            self._deadline = end + self.settings.response_timeout
            return ClientState.AWAIT_SIGN_OFF_ACK
        self._link(self.initial_baud_rate, 7)
        self._out.append(SessionEnded("break"))
        return ClientState.IDLE

    def _signed_off(self, _: object) -> ClientState:
        """B1 acknowledged, or not within the response timeout: at rest either way."""
        self._deadline = None
        self._framer.clear()
        self._link(self.initial_baud_rate, 7)
        self._out.append(SessionEnded("break"))
        return ClientState.IDLE

    def _on_meter_break(self, _: CommandMessage) -> ClientState:
        if self.state is ClientState.AWAIT_PASSWORD_REPLY:
            self._out.append(PasswordRejected("B0"))
        self._deadline = None
        self._link(self.initial_baud_rate, 7)
        self._out.append(SessionEnded("meter break"))
        return ClientState.IDLE

    def _forget_binary(self, _: object) -> ClientState:
        self._link(self.initial_baud_rate, 7)
        return ClientState.IDLE


# ================================================================================================
# meter
# ================================================================================================
@dataclass(frozen=True, slots=True)
class MeterSettings:
    """How an emulated meter behaves on the link."""

    identification: Identification
    """What the meter answers to a request; its ``Z`` decides the mode (A, B, C, E with ``\\2``)."""
    address: str = ""
    """The meter's device address; requests for other addresses are ignored."""
    reaction_time: float = 0.2
    """tr: wait this long after a message before answering (20 ms allowed for fast meters)."""
    switch_delay: float = 0.5
    """After an option select, wait this long before the first character at the new rate, so
    the HHU has drained its ACK and switched (its guard t2)."""
    option_timeout: float = 2.0
    """tt: without an option select by then, fall back to the readout at 300 Bd (mode A)."""
    after_readout_timeout: float = 1.5
    """How long a NAK (repeat request) is honoured after a readout."""
    inactivity_timeout: float = 120.0
    """Return to rest after this long without a message (60-120 s in the standard)."""
    operand: str = ""
    """The P0 operand sent when programming mode opens."""
    accept_lower_baud: bool = True
    """Accept an option select naming a lower rate than proposed (some meters refuse)."""
    binary_mode: bool = True
    """Honour ``ACK 2 Z 2`` when the identification carries ``\\2``; False answers with the
    readout at 300 Bd instead, as meters do whose HDLC side is switched off."""
    max_repeats: int = 3
    """How often a readout or block is repeated on NAK."""
    echo: bool | None = None
    """As :attr:`ClientSettings.echo`, for a meter on an echoing bus."""
    bcc_kind: BccKind = BccKind.XOR
    strict_bcc: bool = True
    fast_wake_up: bool = False
    """A battery device (Annex B.2) that sleeps between sessions: deaf until a NUL burst of
    :data:`FAST_WAKE_MIN_BURST` at its line rate has ended, which it ACKs; it then takes a
    sign-on within ``wake_window`` and sleeps again after the session (B1 is ACKed)."""
    wake_window: float = 1.5
    """How long after its wake-up ACK the meter waits for the request."""

    def __post_init__(self) -> None:
        RequestMessage(self.address)  # validates the address
        timings = ("reaction_time", "switch_delay", "option_timeout", "after_readout_timeout", "wake_window")
        for name in timings:
            if getattr(self, name) < 0:
                raise LocalProtocolError(f"{name} cannot be negative")
        if self.inactivity_timeout <= 0:
            raise LocalProtocolError("inactivity_timeout must be positive")
        if self.max_repeats < 0:
            raise LocalProtocolError("max_repeats must be zero or more")


class MeterConnection(_Connection):
    """The meter side of IEC 62056-21 as a pure state machine (for emulators and tests)."""

    _table = METER_TABLE

    def __init__(self, settings: MeterSettings) -> None:
        self.settings = settings
        super().__init__(
            Framer(
                Role.METER,
                bcc_kind=settings.bcc_kind,
                strict_bcc=settings.strict_bcc,
                suppress_echo=settings.echo is not False,
            ),
            300,
            settings.echo,
        )
        self.state: MeterState = self._rest_state()
        self.mode = settings.identification.mode
        self.session_mode: ProtocolMode | None = None
        self.operand = settings.operand
        """The P0 operand of the next programming session; an application may set a fresh seed
        when it sees :class:`~.events.SignOnReceived`."""
        self._readout: DataMessage | None = None
        self._last_reply: bytes | None = None
        self._blocks: list[DataMessage] = []
        self._block_index = 0
        self._repeats = 0
        self._ready_at = 0.0
        self._nul_run = 0
        """NULs received in a row while asleep or awake (the wake-up burst so far)."""
        self._burst_heard = False
        """A burst long enough to wake on came: the ACK goes out once it has ended."""

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes arrived at time ``now``; a sleeping battery meter only listens for NULs."""
        super().receive_data(data, now)
        if data and self.state in _WAKE_STATES:
            self._listen_for_burst(data, now)

    def _listen_for_burst(self, data: bytes, now: float) -> None:
        # A NUL is 0x00 with even parity as well. The burst is measured in characters at the
        # line rate: a pty or socket delivers it in lumps, so arrival times tell nothing.
        rest = data.rstrip(b"\x00")
        if rest:
            self._nul_run = len(data) - len(rest)
            if self._burst_heard:  # the burst was followed by something else: no wake-up
                self._burst_heard = False
                if self.state is MeterState.ASLEEP:
                    self._deadline = None
        else:
            self._nul_run += len(data)
        if transmission_time(self._nul_run, self.baud_rate) >= FAST_WAKE_MIN_BURST - 1e-9:
            self._burst_heard = True
            # the burst has ended when one more character time has passed in silence; Ta on top
            self._deadline = now + transmission_time(1, self.baud_rate) + FAST_WAKE_ACK_DELAY

    def _stretches_deadline(self) -> bool:
        # a message under way holds the timer; noise does not keep a session alive
        return self._framer.message_begun

    def _rest_state(self) -> MeterState:
        return MeterState.ASLEEP if self.settings.fast_wake_up else MeterState.IDLE

    # -- what the meter application does -------------------------------------------------------
    def send_readout(self, data: bytes, now: float) -> None:
        """Answer a :class:`~.events.ReadoutRequested` with this data block (ending in ``!\\r\\n``)."""
        self._now = max(self._now, now)
        self._input(Input.SEND_READOUT, DataMessage(data, bcc_kind=self.settings.bcc_kind))

    def reply(self, message: Ack | Nak | ErrorMessage | DataMessage | CommandMessage, now: float) -> None:
        """Answer a :class:`~.events.CommandReceived`.

        A break (:data:`~.messages.BREAK`) refuses the command and ends the session, as meters
        do after a wrong password.
        """
        if isinstance(message, CommandMessage) and not message.is_break:
            raise LocalProtocolError(
                f"a meter answers with data, ACK, NAK, an error or B0, not {message.name}"
            )
        self._now = max(self._now, now)
        self._input(Input.REPLY, [message])

    def reply_data(self, text: str, now: float, *, block_size: int | None = None) -> None:
        """Answer a read command with data, cut into partial blocks of ``block_size`` characters."""
        self._now = max(self._now, now)
        raw = text.encode("ascii")
        if block_size is None or len(raw) <= block_size:
            blocks = [DataMessage(raw, bcc_kind=self.settings.bcc_kind)]
        else:
            if block_size < 1:
                raise LocalProtocolError("block_size must be at least 1")
            pieces = [raw[i : i + block_size] for i in range(0, len(raw), block_size)]
            blocks = [
                DataMessage(piece, partial=i < len(pieces) - 1, bcc_kind=self.settings.bcc_kind)
                for i, piece in enumerate(pieces)
            ]
        self._input(Input.REPLY, blocks)

    def reply_blocks(self, texts: list[str], now: float) -> None:
        """Answer a read command with data already cut into blocks (e.g. at row boundaries)."""
        self._now = max(self._now, now)
        if not texts:
            raise LocalProtocolError("reply_blocks needs at least one block")
        last = len(texts) - 1
        blocks = [
            DataMessage(text.encode("ascii"), partial=i < last, bcc_kind=self.settings.bcc_kind)
            for i, text in enumerate(texts)
        ]
        self._input(Input.REPLY, blocks)

    def push(self, data: bytes, now: float) -> None:
        """Mode D: send the identification and ``data`` (lines ending in ``!\\r\\n``) unasked."""
        self._now = max(self._now, now)
        self._input(Input.PUSH, data)

    def end(self, now: float) -> None:
        """The protocol that took over the link in mode E has finished: back to rest."""
        self._now = max(self._now, now)
        self._input(Input.END, "done")

    # -- helpers ------------------------------------------------------------------------------
    def _answer(self, data: bytes, not_before: float | None = None) -> None:
        start = self._last_rx + self.settings.reaction_time
        if not_before is not None:
            start = max(start, not_before)
        self._send(data, max(start, self._ready_at))

    def _wait_for_hhu(self, timeout: float) -> None:
        self._deadline = max(self._tx_end, self._now) + timeout

    def _switch(self, rate: int) -> None:
        if rate != self.baud_rate:
            self._link(rate, 7)
            self._ready_at = self._last_rx + max(self.settings.switch_delay, self.settings.reaction_time)

    # -- handlers ------------------------------------------------------------------------------
    def _ignore(self, _: object) -> MeterState:
        return self.state

    def _on_request(self, request: RequestMessage) -> MeterState:
        self._link(300, 7)
        self._ready_at = 0.0
        self._framer.expect_option_select = False
        self._last_reply = None
        if not request.matches(self.settings.address):
            self._deadline = None
            return self._rest_state()
        self._out.append(SignOnReceived(request))
        ident = self.settings.identification
        self._answer(ident.to_bytes())
        self.session_mode = self.mode
        if self.mode is ProtocolMode.A:
            self._out.append(ReadoutRequested(300))
            self._wait_for_hhu(self.settings.inactivity_timeout)
            return MeterState.READOUT_DUE
        if self.mode is ProtocolMode.B:
            rate = baud_rate_for_mode_b(ident.baud_char) or 300
            self._link(rate, 7)
            # the HHU switches once our identification is out: give it switch_delay to do so
            self._ready_at = self._tx_end + self.settings.switch_delay
            self._out.append(ReadoutRequested(rate))
            self._wait_for_hhu(self.settings.inactivity_timeout)
            return MeterState.READOUT_DUE
        self._framer.expect_option_select = True
        self._wait_for_hhu(self.settings.option_timeout)
        return MeterState.AWAIT_OPTION

    def _acceptable(self, baud_char: str) -> bool:
        proposed = self.settings.identification.baud_char
        if baud_char == proposed or baud_char == "0":
            return True
        own = baud_rate_for_mode_c(proposed) or 300
        asked = baud_rate_for_mode_c(baud_char)
        return self.settings.accept_lower_baud and asked is not None and asked < own

    def _on_option_select(self, option: OptionSelect) -> MeterState:
        self._framer.expect_option_select = False
        ident = self.settings.identification
        if not self._acceptable(option.baud_char):
            return self._fall_back_to_mode_a(option)
        rate = baud_rate_for_mode_c(option.baud_char) or 300
        if option.protocol == "2" and option.mode == "2":
            if not (ident.mode_e_capable and self.settings.binary_mode):
                return self._fall_back_to_mode_a(option)
            self.session_mode = ProtocolMode.E
            self._switch(rate)
            self._answer(option.to_bytes())
            self._link(rate, 8)
            self._deadline = None
            self._out.append(BinaryModeEntered(rate, self._framer.detach()))
            return MeterState.BINARY
        self.session_mode = ProtocolMode.C
        self._switch(rate)
        if option.mode == OptionSelect.PROGRAMMING:
            operand = CommandMessage.operand(self.operand).to_bytes()
            self._answer(operand)
            self._last_reply = operand  # a NAK asks for the P0 again
            self._wait_for_hhu(self.settings.inactivity_timeout)
            return MeterState.PROGRAMMING
        self._out.append(ReadoutRequested(rate, option))
        self._wait_for_hhu(self.settings.inactivity_timeout)
        return MeterState.READOUT_DUE

    def _fall_back_to_mode_a(self, option: object) -> MeterState:
        self._framer.expect_option_select = False
        self.session_mode = ProtocolMode.A
        self._out.append(ReadoutRequested(300, option if isinstance(option, OptionSelect) else None))
        self._wait_for_hhu(self.settings.inactivity_timeout)
        return MeterState.READOUT_DUE

    def _send_readout(self, message: DataMessage) -> MeterState:
        self._readout = message
        self._repeats = 0
        self._answer(message.to_bytes())
        if self.session_mode is ProtocolMode.B:
            self._link(300, 7)
        self._wait_for_hhu(self.settings.after_readout_timeout)
        return MeterState.AFTER_READOUT

    def _repeat_readout(self, _: Nak) -> MeterState:
        if self._readout is None or self._repeats >= self.settings.max_repeats:
            return self._return_to_rest("done")
        self._repeats += 1
        self._answer(self._readout.to_bytes())
        self._wait_for_hhu(self.settings.after_readout_timeout)
        return MeterState.AFTER_READOUT

    def _command_after_readout(self, command: CommandMessage) -> MeterState:
        if self.session_mode not in (ProtocolMode.A, ProtocolMode.B):
            return self._return_to_rest("done")
        self._link(300, 7)
        return self._on_command(command)

    def _return_to_rest(self, reason: object) -> MeterState:
        was_active = self.state not in _AT_REST
        self._deadline = None
        self._framer.expect_option_select = False
        self._link(300, 7)
        self._ready_at = 0.0
        self._nul_run = 0
        self._burst_heard = False
        if was_active:
            self._out.append(SessionEnded(reason if isinstance(reason, str) else "inactivity"))
        return self._rest_state()

    def _wake_timer(self, _: object) -> MeterState:
        """A wake-up burst has ended (ACK it, wait for the request), or the wait is over."""
        self._nul_run = 0
        self._framer.clear()
        if self._burst_heard:
            self._burst_heard = False
            end = self._send(Ack().to_bytes(), self._now)
            self._deadline = end + self.settings.wake_window
            return MeterState.AWAKE
        self._deadline = None
        return MeterState.ASLEEP

    def _readout_done(self, _: object) -> MeterState:
        return self._return_to_rest("done")

    def _on_command(self, command: CommandMessage) -> MeterState:
        self._out.append(CommandReceived(command, self.operand))
        self._wait_for_hhu(self.settings.inactivity_timeout)
        return MeterState.REPLY_DUE

    def _on_break(self, command: CommandMessage) -> MeterState:
        if command.command_type == "1":
            self._answer(Ack().to_bytes())
        return self._return_to_rest("break")

    def _send_reply(
        self, messages: list[Ack | Nak | ErrorMessage | DataMessage | CommandMessage]
    ) -> MeterState:
        first = messages[0]
        data = first.to_bytes()
        self._answer(data)
        if isinstance(first, CommandMessage):  # B0: the meter drops the session
            return self._return_to_rest("break")
        self._wait_for_hhu(self.settings.inactivity_timeout)
        if len(messages) > 1:
            self._blocks = [m for m in messages if isinstance(m, DataMessage)]
            self._block_index = 0
            self._repeats = 0
            return MeterState.SENDING_BLOCKS
        self._last_reply = data if isinstance(first, DataMessage | ErrorMessage) else None
        return MeterState.PROGRAMMING

    def _send_nak(self, _: RemoteProtocolError) -> MeterState:
        self._answer(Nak().to_bytes())
        self._wait_for_hhu(self.settings.inactivity_timeout)
        return self.state

    def _repeat_reply(self, _: Nak) -> MeterState:
        if self._last_reply is not None:
            self._answer(self._last_reply)
        self._wait_for_hhu(self.settings.inactivity_timeout)
        return MeterState.PROGRAMMING

    def _next_block(self, _: Ack) -> MeterState:
        self._block_index += 1
        self._repeats = 0
        block = self._blocks[self._block_index]
        self._answer(block.to_bytes())
        self._wait_for_hhu(self.settings.inactivity_timeout)
        if not block.partial:
            self._last_reply = block.to_bytes()
            return MeterState.PROGRAMMING
        return MeterState.SENDING_BLOCKS

    def _repeat_block(self, _: Nak) -> MeterState:
        if self._repeats >= self.settings.max_repeats:
            self._wait_for_hhu(self.settings.inactivity_timeout)
            return MeterState.PROGRAMMING
        self._repeats += 1
        self._answer(self._blocks[self._block_index].to_bytes())
        self._wait_for_hhu(self.settings.inactivity_timeout)
        return MeterState.SENDING_BLOCKS

    def _push(self, data: bytes) -> MeterState:
        self._send(self.settings.identification.to_bytes() + b"\r\n" + data, self._now)
        return MeterState.IDLE
