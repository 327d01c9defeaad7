"""Blocking and asyncio IEC 62056-21 clients: one sans-io connection, two ways to wait.

Every operation is written once, as a *driver*: a generator that runs a
:class:`~.connection.ClientConnection` and yields the I/O it needs - write these bytes, not
before *t*; drain, wait the guard and switch the line; read until the connection's deadline;
sleep. :class:`Client` carries those requests out with blocking calls on a
:class:`~meterlink.transport.Link`, :class:`AsyncClient` awaits them on an
:class:`~meterlink.transport.AsyncLink`. The two fronts differ only in ``await``: same
constructors, same methods, same results, same errors, and no protocol logic of their own.

Timing belongs to the connection (reaction time, t2 guard, timeouts, retries); the runners only
obey it with the monotonic clock. Every read is bounded by a deadline, so no call can hang on a
silent meter: it ends in :class:`~meterlink.errors.ResponseTimeout`. Only meterlink exceptions
escape: :class:`~meterlink.errors.LinkError` for I/O, :class:`~meterlink.errors.MeterReportedError`
when the meter refuses (``(ERxx)``, a rejected password, a break), and the protocol errors of the
core.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Final, Generic, Self, TypedDict, TypeVar, Unpack

from meterlink.errors import (
    LocalProtocolError,
    MalformedDataError,
    MeterlinkError,
    MeterReportedError,
    RemoteProtocolError,
    ResponseTimeout,
)
from meterlink.transport import (
    AsyncLink,
    Link,
    LinkSpec,
    SerialSpec,
    TcpSpec,
    Trace,
    open_async_link,
    open_link,
    parse_url,
)

from ._state import ClientState
from .bcc import BccKind
from .connection import ClientConnection, ClientSettings
from .events import (
    BinaryModeEntered,
    CommandAccepted,
    DataReceived,
    Event,
    IdentificationReceived,
    MeterErrorReceived,
    PasswordRejected,
    ProgrammingModeEntered,
    PushReceived,
    ReadoutReceived,
    Send,
    SessionEnded,
    SetLink,
)
from .framer import NeedData
from .messages import BREAK, CommandMessage, Identification, ProtocolMode, mode_c_baud_char
from .profile import LoadProfile, parse_load_profile
from .readout import DataSet, Readout, Value, parse_data_block
from .values import MeterDateTime

__all__ = [
    "AsyncClient",
    "AsyncProgramming",
    "BinaryLink",
    "Client",
    "MeterInfo",
    "Programming",
    "ReadResult",
    "SessionOptions",
]

T = TypeVar("T")
L = TypeVar("L", Link, AsyncLink)

_POLL: Final = 0.5
"""Longest single read while the connection has no deadline of its own (listening)."""
LISTEN_TIMEOUT: Final = 10.0
"""Default wait for a push meter's next telegram to begin (they send every 1-10 s)."""
_DISCARD_LIMIT: Final = 1.0
"""Stale input is dropped for at most this long before a sign-on."""
_BREAKS: Final = frozenset({BREAK.to_bytes(), CommandMessage.break_(command_type="1").to_bytes()})
_ERROR_CODE: Final = re.compile(r"\d+")


# ================================================================================================
# results
# ================================================================================================
@dataclass(frozen=True, slots=True)
class ReadResult:
    """The meter's answer to a read command: its text (partial blocks joined) and its data sets."""

    command: CommandMessage
    text: str
    """Everything between STX and ETX, all blocks joined."""
    blocks: int = 1
    """How many (partial) blocks the answer came in."""

    @property
    def data_sets(self) -> tuple[DataSet, ...]:
        return tuple(parse_data_block(self.text))

    @property
    def data_set(self) -> DataSet:
        """The first data set: ``0.9.1(101415)`` for a single register."""
        found = self.data_sets
        if not found:
            raise MalformedDataError(f"{self.command.name} answer holds no data set", data=self.text.encode())
        return found[0]

    @property
    def value(self) -> Value:
        """The first value of the first data set."""
        return self.data_set.value


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """What a sign-on tells about a meter before any data flows (see :meth:`Client.identify`)."""

    identification: Identification
    mode: ProtocolMode
    """The mode the identification announces (A, B, C, or E with ``\\2``)."""
    baud_rate: int
    """The rate the meter proposes."""
    reaction_time: float
    """The minimum pause the meter needs before an answer (0.02 or 0.2 s)."""

    @property
    def mode_e_capable(self) -> bool:
        return self.identification.mode_e_capable


@dataclass(frozen=True, slots=True)
class BinaryLink(Generic[L]):
    """Mode E: the link, now at ``baud_rate`` 8N1, and the bytes already received for HDLC."""

    link: L
    baud_rate: int
    leftover: bytes = b""


class SessionOptions(TypedDict, total=False):
    """Per-meter options, passed through to :class:`~.connection.ClientSettings` (see there)."""

    request_command: str
    protocol_char: str | None
    baud_char: str | None
    mode_char: str | None
    max_baud_rate: int | None
    switch_baud_rate: bool
    reaction_time: float | None
    baud_switch_guard: float
    response_timeout: float
    inter_char_timeout: float
    retries: int
    password: str | None
    password_level: int
    password_function: Callable[[str], str] | None
    wake_up: bool
    fast_wake_up: bool
    echo: bool | None
    strict_bcc: bool
    bcc_kind: BccKind
    max_message_size: int


# ================================================================================================
# what a driver asks of a runner
# ================================================================================================
@dataclass(frozen=True, slots=True)
class _Write:
    data: bytes
    not_before: float


@dataclass(frozen=True, slots=True)
class _Relink:
    """Drain, wait ``guard``, then set the line if it differs. ``baud_rate=None`` keeps the rate."""

    baud_rate: int | None
    data_bits: int
    guard: float = 0.0


@dataclass(frozen=True, slots=True)
class _Read:
    """Read what arrives until ``deadline`` (monotonic); ``None``: a short poll."""

    deadline: float | None


@dataclass(frozen=True, slots=True)
class _Sleep:
    until: float


@dataclass(frozen=True, slots=True)
class _Discard:
    """Drop input that is already waiting (late bytes of an earlier session)."""


@dataclass(frozen=True, slots=True)
class _Deliver:
    """Hand a result to the caller and carry on (listening)."""

    value: Readout


_Op = _Write | _Relink | _Read | _Sleep | _Discard | _Deliver
_Driver = Generator[_Op, bytes, T]


def _error_code(text: str) -> int | None:
    match = _ERROR_CODE.search(text)
    return int(match.group()) if match else None


def _vdew_time(stamp: dt.datetime | MeterDateTime | None) -> str:
    """``sYYMMDDhhmm`` as VDEW range requests want it; empty for an open end."""
    if stamp is None:
        return ""
    season = 0
    if isinstance(stamp, MeterDateTime):
        season = int(stamp.season) if stamp.season is not None else 0
        stamp = stamp.datetime
    return f"{season}{stamp:%y%m%d%H%M}"


def _command(text: str, letter: str, data: str) -> CommandMessage:
    if len(text) != 2 or text[0] != letter:
        raise LocalProtocolError(f"command must be {letter} and a type character, got {text!r}")
    return CommandMessage(letter, text[1], data)


def _idle(conn: ClientConnection) -> bool:
    return conn.state is ClientState.IDLE


def _mode(mode: ProtocolMode | str | None) -> ProtocolMode | None:
    if mode is None or isinstance(mode, ProtocolMode):
        return mode
    try:
        return ProtocolMode(str(mode).upper())
    except ValueError:
        raise LocalProtocolError(f"mode must be one of A, B, C, D, E; got {mode!r}") from None


# ================================================================================================
# the drivers: every operation, once
# ================================================================================================
class _Engine:
    """Session state and the drivers both fronts run; it never does I/O itself."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        push: bool,
        baud_step_down: bool,
        restart_pause: float,
        home: tuple[int, int],
    ) -> None:
        if restart_pause < 0:
            raise LocalProtocolError("restart_pause cannot be negative")
        self.settings = settings
        self.push = push
        self.baud_step_down = baud_step_down
        self.restart_pause = restart_pause
        self.home = home
        self.clock: Callable[[], float] = time.monotonic
        self.conn: ClientConnection | None = None
        """The open programming or mode E session."""
        self.identification: Identification | None = None
        self.readout: Readout | None = None
        self.operand: str | None = None
        self.busy = False
        self._quiet_until = 0.0
        self._fastest: int | None = None

    # -- plumbing -------------------------------------------------------------------------------
    def claim(self) -> None:
        if self.busy:
            raise LocalProtocolError("another operation is running on this client")
        self.busy = True

    def _require_idle(self) -> None:
        if self.conn is not None:
            raise LocalProtocolError("a programming or mode E session is open: end it first")

    def _write(self, event: Send) -> _Driver[None]:
        if event.flush:  # a repeated sign-on: late answers to the last attempt came in the pause
            yield _Sleep(event.not_before)
            yield _Discard()
        yield _Write(event.data, event.not_before)
        if event.data in _BREAKS:
            self._quiet_until = self.clock() + self.restart_pause

    def _relink(self, event: SetLink, conn: ClientConnection) -> _Op:
        if event.baud_rate > conn.initial_baud_rate:
            self._fastest = max(self._fastest or 0, event.baud_rate)
        return _Relink(event.baud_rate, event.data_bits, event.guard)

    def _pump(
        self, conn: ClientConnection, stop: tuple[type[Event], ...], idle: float | None
    ) -> _Driver[Event]:
        """Run the connection until one of ``stop`` (or the end of the session) comes out.

        ``idle`` bounds the wait while the connection has no deadline of its own: seconds
        without a message (or part of one) before :class:`ResponseTimeout` (``None``: wait as
        long as it takes). Noise does not count: a push meter heard at the wrong rate, whose
        bytes the framer drops as garbage, ends in a timeout instead of keeping the wait alive.
        """
        last_byte = self.clock()
        heard: float | None = None
        """When bytes came that have not yet shown whether they are more than noise."""
        try:
            while True:
                event = conn.next_event()
                if heard is not None and (not isinstance(event, NeedData) or conn.receiving):
                    last_byte = heard
                heard = None
                if isinstance(event, NeedData):
                    deadline = conn.deadline
                    limit = None if idle is None else last_byte + idle
                    data = yield _Read(deadline if deadline is not None else limit)
                    now = self.clock()
                    if data:
                        heard = now
                        conn.receive_data(data, now)
                    elif deadline is not None:
                        if now >= deadline:
                            conn.time_passed(now)
                    elif limit is not None and now >= limit:
                        raise ResponseTimeout(f"nothing received for {idle} s while {conn.state.value}")
                elif isinstance(event, Send):
                    yield from self._write(event)
                elif isinstance(event, SetLink):
                    yield self._relink(event, conn)
                elif isinstance(event, (*stop, SessionEnded)):
                    return event
                elif isinstance(event, IdentificationReceived):
                    self.identification = event.identification
                elif isinstance(event, ReadoutReceived):
                    self.readout = event.readout()
        except MeterlinkError:
            yield from self._settle(conn)
            self._quiet_until = max(self._quiet_until, self.clock() + self.restart_pause)
            raise

    def _settle(self, conn: ClientConnection) -> _Driver[None]:
        """Carry out what the connection queued while finishing: the B0, the switch back."""
        while True:
            try:
                event = conn.next_event()
            except MeterlinkError:
                return
            if isinstance(event, NeedData):
                return
            if isinstance(event, Send):
                yield from self._write(event)
            elif isinstance(event, SetLink):
                yield self._relink(event, conn)

    def _lower(self, settings: ClientSettings, conn: ClientConnection) -> ClientSettings | None:
        """Settings for one more try at the next lower rate, if stepping down can help."""
        fastest = self._fastest
        if not self.baud_step_down or fastest is None or conn.mode not in (ProtocolMode.C, ProtocolMode.E):
            return None
        rate = fastest // 2
        if rate < 300 or (settings.max_baud_rate is not None and rate >= settings.max_baud_rate):
            return None
        return replace(settings, max_baud_rate=rate)

    def _sign_on(
        self,
        start: Callable[[ClientConnection, float], None],
        settings: ClientSettings,
        stop: tuple[type[Event], ...],
    ) -> _Driver[tuple[ClientConnection, Event]]:
        """A fresh connection, signed on until ``stop``; on failure one rate lower if allowed."""
        self._require_idle()
        while True:
            conn = ClientConnection(settings)
            yield _Sleep(self._quiet_until)
            yield _Discard()
            yield _Relink(settings.initial_baud_rate, 7)
            self._fastest = None
            self.readout = None
            start(conn, self.clock())
            try:
                event = yield from self._pump(conn, stop, settings.response_timeout)
            except (ResponseTimeout, RemoteProtocolError):
                lower = self._lower(settings, conn)
                if lower is None:
                    raise
                settings = lower
                continue
            return conn, event

    @staticmethod
    def _ended(event: Event, what: str) -> MeterReportedError:
        reason = event.reason if isinstance(event, SessionEnded) else type(event).__name__
        return MeterReportedError("B0", meaning=f"the meter ended the session ({reason}) {what}")

    # -- operations -----------------------------------------------------------------------------
    def read_out(self) -> _Driver[Readout]:
        if self.push:
            return (yield from self._one_push())
        conn, event = yield from self._sign_on(ClientConnection.read_out, self.settings, (ReadoutReceived,))
        yield from self._settle(conn)
        if not isinstance(event, ReadoutReceived):
            raise self._ended(event, "before its readout")
        if conn.mode is ProtocolMode.C and event.baud_rate != conn.initial_baud_rate:
            # the meter stays at that rate a while for a NAK: a sign-on now would be noise to it
            self._quiet_until = max(self._quiet_until, self.clock() + self.restart_pause)
        return event.readout()

    def identify(self) -> _Driver[MeterInfo]:
        # Forcing mode A keeps the connection from acknowledging: it waits, we break off.
        settings = replace(self.settings, mode=ProtocolMode.A)
        conn, event = yield from self._sign_on(ClientConnection.read_out, settings, (IdentificationReceived,))
        if isinstance(event, IdentificationReceived):
            yield from self._sign_off(conn)
        yield from self._settle(conn)
        if not isinstance(event, IdentificationReceived):
            raise self._ended(event, "before identifying itself")
        ident = event.identification
        return MeterInfo(ident, ident.mode, ident.baud_rate, ident.reaction_time_ms / 1000)

    def programming(
        self, password: str | None, level: int | None, function: Callable[[str], str] | None
    ) -> _Driver[ProgrammingModeEntered]:
        settings = self.settings
        if password is not None:
            settings = replace(settings, password=password)
        if level is not None:
            settings = replace(settings, password_level=level)
        if function is not None:
            settings = replace(settings, password_function=function)
        conn, event = yield from self._sign_on(
            ClientConnection.program, settings, (ProgrammingModeEntered, PasswordRejected)
        )
        if isinstance(event, PasswordRejected):
            yield from self._settle(conn)  # the break the connection sent, the switch back
            raise MeterReportedError(event.reply, meaning="password rejected")
        if not isinstance(event, ProgrammingModeEntered):
            yield from self._settle(conn)
            raise self._ended(event, "before programming mode")
        self.conn = conn
        self.operand = event.operand
        return event

    def command(self, message: CommandMessage) -> _Driver[CommandAccepted | DataReceived]:
        conn = self.conn
        if conn is None or conn.state is not ClientState.PROGRAMMING:
            raise LocalProtocolError("no programming session is open")
        conn.send_command(message, self.clock())
        try:
            event = yield from self._pump(
                conn, (CommandAccepted, DataReceived, MeterErrorReceived), self.settings.response_timeout
            )
        except MeterlinkError:
            if _idle(conn):  # the connection gave up (and sent its B0): the session is over
                self.conn = None
            raise
        if isinstance(event, MeterErrorReceived):
            raise MeterReportedError(event.text, code=_error_code(event.text))
        if isinstance(event, CommandAccepted | DataReceived):
            return event
        self.conn = None
        yield from self._settle(conn)
        raise self._ended(event, f"instead of answering {message.name}")

    def read(self, message: CommandMessage) -> _Driver[ReadResult]:
        event = yield from self.command(message)
        if isinstance(event, DataReceived):
            return ReadResult(message, event.data, event.blocks)
        return ReadResult(message, "", 0)  # some meters acknowledge a read they cannot serve

    def accept(self, message: CommandMessage) -> _Driver[None]:
        event = yield from self.command(message)
        if isinstance(event, DataReceived):  # an E/W answered with data: not what was asked
            raise RemoteProtocolError(
                f"meter answered {message.name} with data instead of ACK", data=event.data.encode("latin-1")
            )

    def load_profile(self, message: CommandMessage, profile: str) -> _Driver[LoadProfile]:
        result = yield from self.read(message)
        return parse_load_profile(result.text, profile=profile)

    def binary(self) -> _Driver[BinaryModeEntered]:
        conn, event = yield from self._sign_on(ClientConnection.binary, self.settings, (BinaryModeEntered,))
        if not isinstance(event, BinaryModeEntered):
            yield from self._settle(conn)
            raise self._ended(event, "before mode E")
        # 8N1 even where the rate stays (TCP): software 7E1 must stop for HDLC
        yield _Relink(None, 8)
        self.conn = conn
        return event

    def end(self) -> _Driver[None]:
        conn, self.conn = self.conn, None
        if conn is None or _idle(conn):
            return
        yield from self._sign_off(conn)
        yield from self._settle(conn)

    def _sign_off(self, conn: ClientConnection) -> _Driver[None]:
        """B0, or with fast wake-up B1 and the meter's ACK (waited for within the response timeout)."""
        conn.end(self.clock())
        if conn.state is ClientState.AWAIT_SIGN_OFF_ACK:
            yield from self._pump(conn, (), self.settings.response_timeout)

    def _listener(self, baud_rate: int | None, data_bits: int | None) -> _Driver[ClientConnection]:
        self._require_idle()
        conn = ClientConnection(replace(self.settings, mode=None))
        yield _Relink(baud_rate or self.home[0], data_bits or self.home[1])
        conn.listen(self.clock())
        return conn

    def _one_push(self) -> _Driver[Readout]:
        conn = yield from self._listener(None, None)
        event = yield from self._pump(conn, (PushReceived,), LISTEN_TIMEOUT)
        conn.end(self.clock())
        assert isinstance(event, PushReceived)  # a listening connection ends no session
        return event.readout()

    def listen(
        self, baud_rate: int | None, data_bits: int | None, timeout: float | None
    ) -> Generator[_Op, bytes, None]:
        conn = yield from self._listener(baud_rate, data_bits)
        while True:
            event = yield from self._pump(conn, (PushReceived,), timeout)
            if isinstance(event, PushReceived):
                yield _Deliver(event.readout())


# ================================================================================================
# the fronts
# ================================================================================================
def _settings(
    settings: ClientSettings | None,
    *,
    address: str | None,
    mode: ProtocolMode | None,
    baud_rate: int | None,
    fixed_baud_rate: int | None,
    options: SessionOptions,
) -> ClientSettings:
    base = settings or ClientSettings()
    changes: dict[str, Any] = dict(options)
    if address is not None:
        changes["address"] = address
    if mode is not None and mode is not ProtocolMode.D:
        changes["mode"] = mode
    if baud_rate is not None:
        changes["initial_baud_rate"] = baud_rate
    if fixed_baud_rate is not None:
        changes["baud_char"] = mode_c_baud_char(fixed_baud_rate)
    return replace(base, **changes) if changes else base


class _Front(Generic[L]):
    """Construction and state the blocking and the asyncio client share."""

    def __init__(
        self,
        link: L | LinkSpec | str,
        settings: ClientSettings | None = None,
        *,
        mode: ProtocolMode | str | None = None,
        baud_step_down: bool = False,
        restart_pause: float | None = None,
        trace: Trace | None = None,
    ) -> None:
        if isinstance(link, str):
            link = parse_url(link)
        self._spec: LinkSpec | None
        self._link: L | None
        if isinstance(link, SerialSpec | TcpSpec):
            self._spec, self._link = link, None
            home = (link.baud_rate, link.data_bits) if isinstance(link, SerialSpec) else (300, 7)
        else:
            self._spec, self._link = None, link
            home = (link.baud_rate, link.data_bits)
            if trace is not None:
                link.trace = trace
        self._trace = trace
        self._closed = False
        protocol_mode = _mode(mode)
        settings = _settings(
            settings, address=None, mode=protocol_mode, baud_rate=None, fixed_baud_rate=None, options={}
        )
        # One pause for both places that restart: the front between operations, the core between
        # sign-on attempts. An explicit argument wins over the settings' value.
        if restart_pause is None:
            restart_pause = settings.restart_pause
        elif restart_pause != settings.restart_pause:
            settings = replace(settings, restart_pause=restart_pause)
        self._engine = _Engine(
            settings,
            push=protocol_mode is ProtocolMode.D,
            baud_step_down=baud_step_down,
            restart_pause=restart_pause,
            home=home,
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        address: str | None = None,
        mode: ProtocolMode | str | None = None,
        baud_rate: int | None = None,
        fixed_baud_rate: int | None = None,
        baud_step_down: bool = False,
        restart_pause: float | None = None,
        trace: Trace | None = None,
        settings: ClientSettings | None = None,
        **options: Unpack[SessionOptions],
    ) -> Self:
        """A client for the link a URL names (see :mod:`meterlink.transport.url`); opened on first use.

        ``baud_rate`` is the rate the link opens at and sign-on starts at (default: the URL's,
        else 300); ``fixed_baud_rate`` asks a mode C meter for exactly that rate instead of its
        proposal (300 keeps the line at 300); ``baud_step_down`` retries a failed session one
        rate lower. ``mode="D"`` makes :meth:`read_out` wait for a pushed telegram.
        """
        spec = parse_url(url)
        if baud_rate is not None and isinstance(spec, SerialSpec):
            spec = replace(spec, baud_rate=baud_rate)
        opening = spec.baud_rate if isinstance(spec, SerialSpec) else None
        return cls._build(
            spec, settings, address, mode, baud_rate or opening, fixed_baud_rate, options,
            baud_step_down=baud_step_down, restart_pause=restart_pause, trace=trace,
        )

    @classmethod
    def serial(
        cls,
        port: str,
        *,
        address: str | None = None,
        mode: ProtocolMode | str | None = None,
        baud_rate: int | None = None,
        data_bits: int = 7,
        fixed_baud_rate: int | None = None,
        baud_step_down: bool = False,
        restart_pause: float | None = None,
        trace: Trace | None = None,
        settings: ClientSettings | None = None,
        **options: Unpack[SessionOptions],
    ) -> Self:
        """A client on a serial port or pyserial URL, opened at ``baud_rate`` (300) 7E1 on first use.

        ``data_bits=8`` opens 8N1 (DSMR P1 push meters with ``mode="D"``).
        """
        rate = baud_rate or (settings.initial_baud_rate if settings else 300)
        return cls._build(
            SerialSpec(port, rate, data_bits), settings, address, mode, rate, fixed_baud_rate, options,
            baud_step_down=baud_step_down, restart_pause=restart_pause, trace=trace,
        )

    @classmethod
    def tcp(
        cls,
        host: str,
        port: int,
        *,
        software_parity: bool = False,
        connect_timeout: float = 5.0,
        address: str | None = None,
        mode: ProtocolMode | str | None = None,
        baud_rate: int | None = None,
        fixed_baud_rate: int | None = None,
        baud_step_down: bool = False,
        restart_pause: float | None = None,
        trace: Trace | None = None,
        settings: ClientSettings | None = None,
        **options: Unpack[SessionOptions],
    ) -> Self:
        """A client on a raw TCP converter; ``software_parity`` for 8-bit paths to 7E1 meters.

        The converter's rate cannot change from here: pass ``fixed_baud_rate=300`` (ACK with
        ``Z=0``) when the converter stays at 300 Bd, or the rate it runs at as ``baud_rate``.
        """
        spec = TcpSpec(host, port, software_parity=software_parity, connect_timeout=connect_timeout)
        return cls._build(
            spec, settings, address, mode, baud_rate, fixed_baud_rate, options,
            baud_step_down=baud_step_down, restart_pause=restart_pause, trace=trace,
        )

    @classmethod
    def _build(
        cls,
        spec: LinkSpec,
        settings: ClientSettings | None,
        address: str | None,
        mode: ProtocolMode | str | None,
        baud_rate: int | None,
        fixed_baud_rate: int | None,
        options: SessionOptions,
        *,
        baud_step_down: bool,
        restart_pause: float | None,
        trace: Trace | None,
    ) -> Self:
        """What every factory does once it knows the link: settings from the arguments, then the client."""
        built = _settings(
            settings,
            address=address,
            mode=_mode(mode),
            baud_rate=baud_rate,
            fixed_baud_rate=fixed_baud_rate,
            options=options,
        )
        return cls(
            spec, built, mode=mode, baud_step_down=baud_step_down, restart_pause=restart_pause, trace=trace
        )

    @property
    def settings(self) -> ClientSettings:
        """The settings every session starts from."""
        return self._engine.settings

    @property
    def identification(self) -> Identification | None:
        """The identification the meter sent last."""
        return self._engine.identification

    @property
    def link(self) -> L:
        """The open link (:class:`~meterlink.errors.LocalProtocolError` before opening)."""
        if self._link is None:
            raise LocalProtocolError("the client is not open yet")
        return self._link

    def _check_usable(self) -> None:
        if self._closed:
            raise LocalProtocolError("the client is closed")


def _register_message(address: str, value: str, command: str, letter: str) -> CommandMessage:
    """``R1 address(value)``, ``W1 ...``, ``E2 ...`` for both fronts."""
    return _command(command, letter, f"{address}({value})")


def _profile_message(
    start: dt.datetime | MeterDateTime | None,
    end: dt.datetime | MeterDateTime | None,
    profile: str,
    command: str,
) -> CommandMessage:
    return _command(command, "R", f"{profile}({_vdew_time(start)};{_vdew_time(end)})")


class Client(_Front[Link]):
    """A blocking IEC 62056-21 client (hand-held unit / head-end) on one link.

    ::

        with Client.serial("/dev/ttyUSB0", address="12345678") as meter:
            readout = meter.read_out()
            with meter.programming(password="00000000") as prog:
                prog.write("0.9.1", "101415")
    """

    # -- running drivers ------------------------------------------------------------------------
    def open(self) -> None:
        """Open the link now (otherwise the first operation does)."""
        self._check_usable()
        if self._link is None:
            assert self._spec is not None
            self._link = open_link(self._spec, trace=self._trace)

    def _perform(self, op: _Op) -> bytes:
        link = self.link
        clock = self._engine.clock
        if isinstance(op, _Read):
            timeout = _POLL if op.deadline is None else op.deadline - clock()
            return link.read(max(0.0, timeout))
        if isinstance(op, _Write):
            time.sleep(max(0.0, op.not_before - clock()))
            link.write(op.data)
        elif isinstance(op, _Relink):
            link.drain()
            time.sleep(op.guard)
            rate = link.baud_rate if op.baud_rate is None else op.baud_rate
            if (rate, op.data_bits) != (link.baud_rate, link.data_bits):
                link.set_line(rate, op.data_bits)
        elif isinstance(op, _Sleep):
            time.sleep(max(0.0, op.until - clock()))
        elif isinstance(op, _Discard):
            end = clock() + _DISCARD_LIMIT
            while link.read(0.0) and clock() < end:
                pass
        return b""

    def _run(self, driver: _Driver[T]) -> T:
        self.open()
        self._engine.claim()
        try:
            op = next(driver)
            while True:
                if isinstance(op, _Deliver):
                    raise AssertionError("a driver delivered outside listen()")
                op = driver.send(self._perform(op))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            driver.close()
            self._engine.busy = False

    # -- operations -----------------------------------------------------------------------------
    def read_out(self) -> Readout:
        """Sign on and read the data readout (modes A, B, C; in mode D the next pushed telegram)."""
        return self._run(self._engine.read_out())

    def identify(self) -> MeterInfo:
        """Sign on, take the identification, break off: what the meter is and what it offers."""
        return self._run(self._engine.identify())

    def programming(
        self,
        password: str | None = None,
        *,
        password_level: int | None = None,
        password_function: Callable[[str], str] | None = None,
    ) -> Programming:
        """A programming session, entered by ``with`` and left with B0 at its end.

        ``password`` goes out as ``P1(password)``; ``password_level=2`` sends ``P2`` and
        ``password_function`` computes the password from the meter's P0 operand.
        """
        return Programming(self, password, password_level, password_function)

    def binary(self) -> BinaryLink[Link]:
        """Sign on in mode E and hand over the link at 8N1 (call :meth:`end` to take it back)."""
        event = self._run(self._engine.binary())
        return BinaryLink(self.link, event.baud_rate, event.leftover)

    def listen(
        self,
        *,
        baud_rate: int | None = None,
        data_bits: int | None = None,
        timeout: float | None = LISTEN_TIMEOUT,
    ) -> Iterator[Readout]:
        """Mode D: the telegrams a push meter sends, as they come.

        The line is set to ``baud_rate``/``data_bits`` (default: the rate the link opened at).
        Without a telegram (or part of one: noise does not count) for ``timeout`` seconds the
        iteration raises :class:`ResponseTimeout`;
        ``None`` waits indefinitely.
        """
        self.open()
        driver = self._engine.listen(baud_rate, data_bits, timeout)
        try:
            self._engine.claim()
            op = next(driver)
            while True:
                if isinstance(op, _Deliver):
                    self._engine.busy = False
                    yield op.value
                    self._engine.claim()
                    op = driver.send(b"")
                else:
                    op = driver.send(self._perform(op))
        except StopIteration:
            return
        finally:
            driver.close()
            self._engine.busy = False

    def end(self) -> None:
        """Leave the open programming session (B0) or take the link back from mode E."""
        self._run(self._engine.end())

    def close(self) -> None:
        """End any open session, then close the link if this client opened it."""
        if self._closed:
            return
        try:
            if self._link is not None and self._engine.conn is not None and not self._engine.busy:
                self.end()
        finally:
            self._closed = True
            if self._spec is not None and self._link is not None:
                self._link.close()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncClient(_Front[AsyncLink]):
    """The asyncio twin of :class:`Client`: the same constructors and methods, awaited.

    ::

        async with AsyncClient.tcp("10.0.0.5", 4001, address="12345678") as meter:
            readout = await meter.read_out()
    """

    async def open(self) -> None:
        """Open the link now (otherwise the first operation does)."""
        self._check_usable()
        if self._link is None:
            assert self._spec is not None
            self._link = await open_async_link(self._spec, trace=self._trace)

    async def _perform(self, op: _Op) -> bytes:
        link = self.link
        clock = self._engine.clock
        if isinstance(op, _Read):
            timeout = _POLL if op.deadline is None else op.deadline - clock()
            return await link.read(max(0.0, timeout))
        if isinstance(op, _Write):
            await asyncio.sleep(max(0.0, op.not_before - clock()))
            await link.write(op.data)
        elif isinstance(op, _Relink):
            await link.drain()
            await asyncio.sleep(op.guard)
            rate = link.baud_rate if op.baud_rate is None else op.baud_rate
            if (rate, op.data_bits) != (link.baud_rate, link.data_bits):
                await link.set_line(rate, op.data_bits)
        elif isinstance(op, _Sleep):
            await asyncio.sleep(max(0.0, op.until - clock()))
        elif isinstance(op, _Discard):
            end = clock() + _DISCARD_LIMIT
            while await link.read(0.0) and clock() < end:
                pass
        return b""

    async def _run(self, driver: _Driver[T]) -> T:
        await self.open()
        self._engine.claim()
        try:
            op = next(driver)
            while True:
                if isinstance(op, _Deliver):
                    raise AssertionError("a driver delivered outside listen()")
                op = driver.send(await self._perform(op))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            driver.close()
            self._engine.busy = False

    async def read_out(self) -> Readout:
        """Sign on and read the data readout (modes A, B, C; in mode D the next pushed telegram)."""
        return await self._run(self._engine.read_out())

    async def identify(self) -> MeterInfo:
        """Sign on, take the identification, break off: what the meter is and what it offers."""
        return await self._run(self._engine.identify())

    def programming(
        self,
        password: str | None = None,
        *,
        password_level: int | None = None,
        password_function: Callable[[str], str] | None = None,
    ) -> AsyncProgramming:
        """A programming session, entered by ``async with`` and left with B0 at its end."""
        return AsyncProgramming(self, password, password_level, password_function)

    async def binary(self) -> BinaryLink[AsyncLink]:
        """Sign on in mode E and hand over the link at 8N1 (await :meth:`end` to take it back)."""
        event = await self._run(self._engine.binary())
        return BinaryLink(self.link, event.baud_rate, event.leftover)

    async def listen(
        self,
        *,
        baud_rate: int | None = None,
        data_bits: int | None = None,
        timeout: float | None = LISTEN_TIMEOUT,
    ) -> AsyncIterator[Readout]:
        """Mode D: the telegrams a push meter sends, as they come (see :meth:`Client.listen`)."""
        await self.open()
        driver = self._engine.listen(baud_rate, data_bits, timeout)
        try:
            self._engine.claim()
            op = next(driver)
            while True:
                if isinstance(op, _Deliver):
                    self._engine.busy = False
                    yield op.value
                    self._engine.claim()
                    op = driver.send(b"")
                else:
                    op = driver.send(await self._perform(op))
        except StopIteration:
            return
        finally:
            driver.close()
            self._engine.busy = False

    async def end(self) -> None:
        """Leave the open programming session (B0) or take the link back from mode E."""
        await self._run(self._engine.end())

    async def close(self) -> None:
        """End any open session, then close the link if this client opened it."""
        if self._closed:
            return
        try:
            if self._link is not None and self._engine.conn is not None and not self._engine.busy:
                await self.end()
        finally:
            self._closed = True
            if self._spec is not None and self._link is not None:
                await self._link.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


# ================================================================================================
# programming sessions
# ================================================================================================
class _ProgrammingBase:
    def __init__(
        self,
        engine: _Engine,
        password: str | None,
        level: int | None,
        function: Callable[[str], str] | None,
    ) -> None:
        self._engine = engine
        self._password = password
        self._level = level
        self._function = function

    @property
    def operand(self) -> str | None:
        """The P0 operand the meter sent (a seed for P2 algorithms, often its serial number)."""
        return self._engine.operand

    @property
    def readout(self) -> Readout | None:
        """Modes A and B read out before programming: that readout, else None."""
        return self._engine.readout

    @property
    def active(self) -> bool:
        """Whether the session is still open, as far as the client knows: False once it was left,
        broken off, or given up after a failed command. A meter that dropped the session on its own
        inactivity timer is found out by the next command."""
        conn = self._engine.conn
        return conn is not None and conn.state is ClientState.PROGRAMMING

    def _enter(self) -> _Driver[ProgrammingModeEntered]:
        return self._engine.programming(self._password, self._level, self._function)


class Programming(_ProgrammingBase):
    """An open programming session of a :class:`Client` (use it in a ``with`` block)."""

    def __init__(
        self,
        client: Client,
        password: str | None,
        level: int | None,
        function: Callable[[str], str] | None,
    ) -> None:
        super().__init__(client._engine, password, level, function)
        self._client = client

    def __enter__(self) -> Self:
        self._client._run(self._enter())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.end()
        except MeterlinkError:
            if exc is None:
                raise

    def read(self, address: str, value: str = "", *, command: str = "R1") -> ReadResult:
        """``R1 address(value)`` (``command="R5"`` and the like for VDEW meters)."""
        return self._client._run(self._engine.read(_register_message(address, value, command, "R")))

    def write(self, address: str, value: str, *, command: str = "W1") -> None:
        """``W1 address(value)``; :class:`MeterReportedError` if the meter answers ``(ERxx)``."""
        self._client._run(self._engine.accept(_register_message(address, value, command, "W")))

    def execute(self, address: str, value: str = "", *, command: str = "E2") -> None:
        """``E2 address(value)``: run a meter function (reset, clock sync...)."""
        self._client._run(self._engine.accept(_register_message(address, value, command, "E")))

    def command(self, message: CommandMessage) -> ReadResult | None:
        """Any command message: its data as a :class:`ReadResult`, or None for a plain ACK."""
        event = self._client._run(self._engine.command(message))
        return ReadResult(message, event.data, event.blocks) if isinstance(event, DataReceived) else None

    def load_profile(
        self,
        start: dt.datetime | MeterDateTime | None = None,
        end: dt.datetime | MeterDateTime | None = None,
        *,
        profile: str = "P.01",
        command: str = "R5",
    ) -> LoadProfile:
        """``R5 P.01(sYYMMDDhhmm;sYYMMDDhhmm)``, partial blocks joined, parsed into rows."""
        message = _profile_message(start, end, profile, command)
        return self._client._run(self._engine.load_profile(message, profile))

    def end(self) -> None:
        """Send B0 now (leaving the ``with`` block does it too)."""
        self._client._run(self._engine.end())


class AsyncProgramming(_ProgrammingBase):
    """An open programming session of an :class:`AsyncClient` (use it in ``async with``)."""

    def __init__(
        self,
        client: AsyncClient,
        password: str | None,
        level: int | None,
        function: Callable[[str], str] | None,
    ) -> None:
        super().__init__(client._engine, password, level, function)
        self._client = client

    async def __aenter__(self) -> Self:
        await self._client._run(self._enter())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.end()
        except MeterlinkError:
            if exc is None:
                raise

    async def read(self, address: str, value: str = "", *, command: str = "R1") -> ReadResult:
        """``R1 address(value)`` (``command="R5"`` and the like for VDEW meters)."""
        return await self._client._run(self._engine.read(_register_message(address, value, command, "R")))

    async def write(self, address: str, value: str, *, command: str = "W1") -> None:
        """``W1 address(value)``; :class:`MeterReportedError` if the meter answers ``(ERxx)``."""
        await self._client._run(self._engine.accept(_register_message(address, value, command, "W")))

    async def execute(self, address: str, value: str = "", *, command: str = "E2") -> None:
        """``E2 address(value)``: run a meter function (reset, clock sync...)."""
        await self._client._run(self._engine.accept(_register_message(address, value, command, "E")))

    async def command(self, message: CommandMessage) -> ReadResult | None:
        """Any command message: its data as a :class:`ReadResult`, or None for a plain ACK."""
        event = await self._client._run(self._engine.command(message))
        return ReadResult(message, event.data, event.blocks) if isinstance(event, DataReceived) else None

    async def load_profile(
        self,
        start: dt.datetime | MeterDateTime | None = None,
        end: dt.datetime | MeterDateTime | None = None,
        *,
        profile: str = "P.01",
        command: str = "R5",
    ) -> LoadProfile:
        """``R5 P.01(sYYMMDDhhmm;sYYMMDDhhmm)``, partial blocks joined, parsed into rows."""
        message = _profile_message(start, end, profile, command)
        return await self._client._run(self._engine.load_profile(message, profile))

    async def end(self) -> None:
        """Send B0 now (leaving the ``async with`` block does it too)."""
        await self._client._run(self._engine.end())
