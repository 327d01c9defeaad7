"""The meter behind the protocol: registers, readouts, passwords, profiles and archives.

:class:`MeterModel` is the application a :class:`~meterlink.iec62056_21.connection.MeterConnection`
reports to. It answers each event with the connection's own calls (``send_readout``, ``reply``,
``reply_data``) through :meth:`MeterModel.handle`, the same method the tiny
:class:`~meterlink.iec62056_21.loopback.MeterApp` offers, so a model runs on the in-memory
:class:`~meterlink.iec62056_21.loopback.Wire` (virtual time, milliseconds per session) exactly as
behind a TCP socket or a pseudo-terminal.

Time is only what the caller passes as ``now``: the meter's wall clock reads
``origin + (now - start) x speed``. Growing registers, the readout, VDEW ``P.01`` rows and LIS-200
archive rows are all functions of that clock, so a profile read twice gives the same rows and a
test with a fake clock gets exact values.

Per session (one sign-on to the next) the model keeps what was unlocked; what was written stays
for the model's lifetime, across sessions and connections.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Final

from meterlink.errors import LocalProtocolError
from meterlink.iec62056_21.connection import ClientConnection, ClientSettings, MeterConnection, MeterSettings
from meterlink.iec62056_21.events import (
    CommandReceived,
    Event,
    ReadoutRequested,
    SessionEnded,
    SignOnReceived,
)
from meterlink.iec62056_21.loopback import Wire
from meterlink.iec62056_21.messages import BREAK, Ack, CommandMessage, ErrorMessage, Nak, ProtocolMode

from .connection import EmulatorConnection
from .description import (
    BREAK_REPLY,
    EPOCH,
    NAK_REPLY,
    Access,
    Archive,
    LayoutItem,
    MeterDescription,
    ProfileSpec,
    Protocol,
    RegisterSpec,
    builtin_description,
    format_number,
)
from .faults import Faults
from .passwords import PASSWORD_ALGORITHMS

__all__ = ["MeterModel"]

_ARCHIVE_RE: Final = re.compile(r"([0-9]{1,3}):V\.([0-9A-Za-z])")
_LIS_TIME: Final = "%Y-%m-%d,%H:%M:%S"
_MAX_WRITE: Final = 128


@dataclass(frozen=True, slots=True)
class _Data:
    """Answer with data, in partial blocks of ``block_size`` characters if given."""

    text: str
    block_size: int | None = None


_Answer = Ack | Nak | ErrorMessage | CommandMessage | _Data


@dataclass
class _Session:
    """What one session (sign-on to break) has unlocked and is in the middle of."""

    readout_list: str = "?"
    level: Access = Access.NONE
    open_locks: set[str] = field(default_factory=set)
    write_address: str | None = None
    write_value: str = ""


@dataclass(frozen=True, slots=True)
class _Written:
    number: float | None
    text: str | None
    at: dt.datetime


class _Refusal(Exception):
    """Internal: answer the current command with the error of ``kind``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class MeterModel:
    """An emulated meter's application, built from a :class:`MeterDescription`.

    ``start`` is the caller's ``now`` at which the meter clock shows ``origin`` (defaults: the
    monotonic clock at construction, and the description's ``[clock] origin`` or the host's local
    time). ``faults`` overrides the description's ``[faults]``.
    """

    binary_greeting: bytes = b""
    """Sent raw right after the switch to mode E (the in-memory Wire and the servers honour it)."""

    def __init__(
        self,
        description: MeterDescription | None = None,
        *,
        start: float | None = None,
        origin: dt.datetime | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.description = description or builtin_description()
        d = self.description
        self.faults = faults if faults is not None else d.faults
        self.start = time.monotonic() if start is None else start
        chosen = origin or d.clock.origin or dt.datetime.now().replace(microsecond=0)
        if chosen.tzinfo is not None:
            raise LocalProtocolError("the meter clock origin must be a naive wall-clock time")
        self.origin = chosen
        self._clock_offset = dt.timedelta()
        self._written: dict[str, _Written] = {}
        self._sessions: weakref.WeakKeyDictionary[MeterConnection, _Session] = weakref.WeakKeyDictionary()

    # -- wiring ---------------------------------------------------------------------------------
    def settings(self) -> MeterSettings:
        """The core's meter settings for this description (timing, ident, address, operand)."""
        d = self.description
        return MeterSettings(
            identification=d.identification,
            address=d.address,
            reaction_time=d.reaction_time,
            switch_delay=d.switch_delay,
            option_timeout=d.option_timeout,
            after_readout_timeout=d.after_readout_timeout,
            inactivity_timeout=self.faults.inactivity_timeout or d.inactivity_timeout,
            operand=d.operand,
            accept_lower_baud=d.accept_lower_baud,
            binary_mode=ProtocolMode.E in d.modes,
            bcc_kind=d.bcc,
            fast_wake_up=d.fast_wake_up,
            wake_window=d.wake_window,
        )

    def connection(self, faults: Faults | None = None) -> EmulatorConnection:
        """A fresh meter connection for one line (one per TCP connection, one per pty)."""
        modes = self.description.modes
        return EmulatorConnection(
            self.settings(),
            faults if faults is not None else self.faults,
            listening=modes != {ProtocolMode.D},
        )

    @property
    def pushes(self) -> bool:
        """Whether the meter sends mode D telegrams by itself (every ``push_interval`` s)."""
        return ProtocolMode.D in self.description.modes and self.description.push_interval is not None

    def wire(self, client: ClientConnection | ClientSettings | None = None, **options: Any) -> Wire:
        """An in-memory line (virtual clock) from a client to a fresh connection of this meter.

        ``options`` go to :class:`~meterlink.iec62056_21.loopback.Wire` (``echo``, ``fixed_rate``...).
        """
        if not isinstance(client, ClientConnection):
            client = ClientConnection(client)
        return Wire(client, self.connection(), self, **options)

    # -- the clock ------------------------------------------------------------------------------
    def wall_time(self, now: float) -> dt.datetime:
        """The meter's clock at the caller's time ``now``."""
        elapsed = (now - self.start) * self.description.clock.speed
        return self.origin + dt.timedelta(seconds=elapsed) + self._clock_offset

    # -- registers ------------------------------------------------------------------------------
    def register_number(self, address: str, at: dt.datetime) -> float:
        """A numeric register's value at wall-clock time ``at``."""
        spec = self.description.registers[address]
        return self._number(spec, at)

    def _number(self, spec: RegisterSpec, at: dt.datetime) -> float:
        written = self._written.get(spec.address)
        if written is not None and written.number is not None and at >= written.at:
            base, since = written.number, written.at
        else:
            base, since = spec.value or 0.0, self.origin
        if spec.rate_per_hour:
            base += spec.rate_per_hour * (spec.weighted_hours(at) - spec.weighted_hours(since))
        return max(base, 0.0) if spec.rate_per_hour else base

    def register_text(self, address: str, now: float) -> str:
        """What the meter prints inside the brackets of ``address``: ``value*unit``."""
        spec = self.description.registers[address]
        if spec.clock is not None:
            value = self.wall_time(now).strftime(spec.clock)
        elif spec.numeric:
            value = spec.format_number(self._number(spec, self.wall_time(now)))
        else:
            written = self._written.get(spec.address)
            value = written.text if written is not None and written.text is not None else spec.text or ""
        return f"{value}*{spec.unit}" if spec.unit else value

    def _lines(self, layout: tuple[LayoutItem, ...], now: float) -> bytes:
        lines = [
            f"{item.register}({self.register_text(item.register, now)})" if item.register else item.text or ""
            for item in layout
        ]
        return ("".join(line + "\r\n" for line in lines) + "!\r\n").encode("ascii")

    def readout_block(self, now: float, readout_list: str = "?") -> bytes:
        """The data block of a readout (lines, ``!`` CR LF); the core adds STX, ETX and BCC."""
        d = self.description
        return self._lines(d.lists.get(readout_list, d.layout), now)

    def push_data(self, now: float) -> bytes:
        """A mode D telegram's data lines for ``MeterConnection.push``."""
        return self._lines(self.description.push_layout, now)

    # -- the application ------------------------------------------------------------------------
    def handle(self, meter: MeterConnection, event: Event, now: float) -> None:
        """React to one event of ``meter`` (call for every event that is not Send/SetLink)."""
        if isinstance(event, SignOnReceived):
            self._sessions[meter] = _Session(readout_list=event.request.command)
        elif isinstance(event, ReadoutRequested):
            session = self._session(meter)
            meter.send_readout(self.readout_block(now, session.readout_list), now)
        elif isinstance(event, CommandReceived):
            session = self._session(meter)
            try:
                answer = self._answer(session, event.command, event.operand, now)
            except _Refusal as refusal:
                answer = self._error(refusal.kind)
            if isinstance(answer, _Data):
                meter.reply_data(answer.text, now, block_size=answer.block_size)
            else:
                meter.reply(answer, now)
        elif isinstance(event, SessionEnded):
            self._sessions.pop(meter, None)

    def _session(self, meter: MeterConnection) -> _Session:
        session = self._sessions.get(meter)
        if session is None:
            session = self._sessions[meter] = _Session()
        return session

    def _error(self, kind: str) -> Nak | ErrorMessage | CommandMessage:
        text = self.description.error_text(kind)
        if text == NAK_REPLY:
            return Nak()
        if text == BREAK_REPLY:
            return BREAK
        return ErrorMessage(text, bcc_kind=self.description.bcc)

    # -- commands -------------------------------------------------------------------------------
    def _answer(self, session: _Session, command: CommandMessage, operand: str, now: float) -> _Answer:
        letter, kind = command.command, command.command_type
        lis200 = self.description.protocol is Protocol.LIS200
        if letter == "P":
            return self._password(session, kind, _bracketed(command.data), operand)
        if letter == "W" and (command.partial or session.write_address is not None):
            return self._partial_write(session, command, now)
        if command.data is None:
            raise _Refusal("syntax")
        address, value = _split(command.data)
        if letter == "R":
            if kind in ("1", "3") or (not lis200 and kind in ("5", "6")):
                return self._read(session, address, value, kind in ("3", "6"), now)
            raise _Refusal("unsupported")
        if letter == "W":
            if kind == "1" or (not lis200 and kind == "5"):
                return self._write(session, address, value, now)
            raise _Refusal("unsupported")
        if letter == "E" and not lis200 and kind in ("1", "2"):
            if session.level < self.description.security.execute:
                raise _Refusal("write_not_authorised")
            return Ack()
        raise _Refusal("unsupported")

    def _password(self, session: _Session, kind: str, password: str, operand: str) -> _Answer:
        if self.description.protocol is Protocol.LIS200:
            return Ack()  # LIS-200 opens locks with W1; a P1 changes nothing
        security = self.description.security
        if kind == "1":
            ok = security.p1 is None or password == security.p1
            level = Access.LEVEL1
        elif kind == "2":
            algorithm = PASSWORD_ALGORITHMS[security.p2_algorithm]
            ok = security.p2 is None or password == algorithm(security.p2, operand)
            level = Access.LEVEL2
        else:
            raise _Refusal("unsupported")
        if not ok:
            raise _Refusal("wrong_password")
        session.level = max(session.level, level)
        return Ack()

    def _level(self, session: _Session) -> Access:
        if self.description.protocol is Protocol.LIS200:
            locks = self.description.locks
            if locks.supplier_address in session.open_locks:
                return Access.LEVEL2
            if locks.customer_address in session.open_locks:
                return Access.LEVEL1
            return Access.NONE
        return session.level

    def _block_size(self, partial: bool, size: int | None = None) -> int | None:
        if not partial:
            return None
        return size or self.description.block_size

    # -- reads ----------------------------------------------------------------------------------
    def _read(self, session: _Session, address: str, value: str, partial: bool, now: float) -> _Answer:
        d = self.description
        level = self._level(session)
        for profile in d.profiles:
            if address == profile.address:
                if level < profile.read:
                    raise _Refusal("read_not_authorised")
                text = self.profile_text(profile, value, now)
                return _Data(text, self._block_size(partial, profile.block_size))
        if d.protocol is Protocol.LIS200:
            match = _ARCHIVE_RE.fullmatch(address)
            if match is not None:
                return self._archive(
                    session, int(match.group(1)), match.group(2).upper(), value, partial, now
                )
            key = d.locks.key_address(address)
            if key is not None:
                state = "1" if key in session.open_locks else "0"
                return _Data(f"{address}({state})")
        spec = d.registers.get(address)
        if spec is None:
            raise _Refusal(self._unknown_kind(address))
        if level < spec.read:
            raise _Refusal("read_not_authorised")
        return _Data(f"{address}({self.register_text(address, now)})", self._block_size(partial))

    def _unknown_kind(self, address: str) -> str:
        """LIS-200 tells an unknown attribute of a known object from an unknown object."""
        if self.description.protocol is Protocol.LIS200 and "." in address:
            obj = address.rsplit(".", 1)[0] + "."
            if any(a.startswith(obj) for a in self.description.registers):
                return "unknown_attribute"
        return "unknown_address"

    # -- writes ---------------------------------------------------------------------------------
    def _partial_write(self, session: _Session, command: CommandMessage, now: float) -> _Answer:
        data = command.data or ""
        if session.write_address is None:
            if "(" not in data:
                raise _Refusal("syntax")
            session.write_address, _, session.write_value = data.partition("(")
        else:
            session.write_value += data
        if command.partial:
            return Ack()
        address, value = session.write_address, session.write_value
        session.write_address, session.write_value = None, ""
        return self._write(session, address, value.removesuffix(")"), now)

    def _write(self, session: _Session, address: str, value: str, now: float) -> _Answer:
        d = self.description
        if d.protocol is Protocol.LIS200 and d.locks.key_address(address) is not None:
            return self._lock(session, address, value)
        spec = d.registers.get(address)
        if spec is None:
            raise _Refusal(self._unknown_kind(address))
        level = self._level(session)
        value, _, inline_password = value.partition(")(")
        if (
            inline_password
            and d.protocol is Protocol.IEC
            and (d.security.p1 is None or inline_password == d.security.p1)
        ):
            level = max(level, Access.LEVEL1)  # VDEW W5 carries the password as a second group
        if spec.write is Access.NEVER:
            raise _Refusal("not_writable")
        if level < spec.write:
            raise _Refusal("write_not_authorised")
        value = value.split("*", 1)[0] if spec.unit else value
        at = self.wall_time(now)
        if spec.clock is not None:
            self._set_clock(spec.clock, value, at)
        elif spec.numeric:
            try:
                number = float(value)
            except ValueError:
                raise _Refusal("bad_value") from None
            if not re.fullmatch(r"[+-]?[0-9]+(?:\.[0-9]*)?", value.strip()):
                raise _Refusal("bad_value")
            self._written[address] = _Written(number, None, at)
        else:
            if len(value) > _MAX_WRITE or any(ch in value for ch in "()*/!"):
                raise _Refusal("bad_value")
            self._written[address] = _Written(None, value, at)
        return Ack()

    def _set_clock(self, pattern: str, value: str, at: dt.datetime) -> None:
        """A write to a clock register sets the meter clock (only the fields the pattern has)."""
        try:
            parsed = dt.datetime.strptime(value, pattern)
        except ValueError:
            raise _Refusal("bad_value") from None
        has_date = any(code in pattern for code in ("%y", "%Y", "%m", "%d", "%j"))
        has_time = any(code in pattern for code in ("%H", "%M", "%S", "%I"))
        new = at
        if has_date:
            new = new.replace(year=parsed.year, month=parsed.month, day=parsed.day)
        if has_time:
            new = new.replace(hour=parsed.hour, minute=parsed.minute, second=parsed.second)
        self._clock_offset += new - at

    def _lock(self, session: _Session, address: str, key: str) -> _Answer:
        locks = self.description.locks
        lock = locks.key_address(address)
        if key in ("", "0") and lock in session.open_locks:
            session.open_locks.discard(lock)
            return Ack()
        if address != lock:
            raise _Refusal("bad_value")  # the status address only takes 0, to close
        expected = locks.supplier if lock == locks.supplier_address else locks.customer
        if expected is None or key == expected:
            session.open_locks.add(lock)
            return Ack()
        raise _Refusal("wrong_password")

    # -- VDEW load profiles ---------------------------------------------------------------------
    def profile_text(self, profile: ProfileSpec, bounds: str, now: float) -> str:
        """The answer to ``R5 P.01(from;to)``: headers and rows, CR LF between lines."""
        start_text, _, end_text = bounds.partition(";")
        start, end = _vdew_time(start_text), _vdew_time(end_text)
        period = dt.timedelta(minutes=profile.period)
        latest = _align(self.wall_time(now), profile.period)
        oldest = latest - (profile.depth - 1) * period
        first = oldest if start is None else max(oldest, _align_up(start, profile.period))
        last = latest if end is None else min(latest, _align(end, profile.period))
        if first > last:
            raise _Refusal("no_data")
        season = self.description.clock.season
        channel_list = "".join(f"({c.code})({c.unit or ''})" for c in profile.channels)
        lines: list[str] = []
        status: int | None = None
        at = first
        while at <= last:
            now_status = _status_at(profile, at)
            if now_status != status:
                status = now_status
                lines.append(
                    f"{profile.address}({season}{at:%y%m%d%H%M%S})({status:0{profile.status_digits}X})"
                    f"({profile.period})({len(profile.channels)}){channel_list}"
                )
            lines.append(
                "".join(f"({self._channel_value(profile, i, at)})" for i in range(len(profile.channels)))
            )
            at += period
        return "\r\n".join(lines)

    def _channel_value(self, profile: ProfileSpec, index: int, at: dt.datetime) -> str:
        channel = profile.channels[index]
        if channel.register is None:
            number = channel.constant
        else:
            spec = self.description.registers[channel.register]
            reading = self._number(spec, at)
            if channel.kind == "reading":
                number = reading
            else:
                delta = reading - self._number(spec, at - dt.timedelta(minutes=profile.period))
                number = delta if channel.kind == "delta" else delta * 60 / profile.period
        return format_number(number, channel.digits, channel.decimals)

    # -- LIS-200 archives -----------------------------------------------------------------------
    def _archive(
        self, session: _Session, number: int, attribute: str, params: str, partial: bool, now: float
    ) -> _Answer:
        archive = next((a for a in self.description.archives if a.number == number), None)
        if archive is None:
            raise _Refusal("archive_unknown")
        if self._level(session) < archive.read:
            raise _Refusal("read_not_authorised")
        if attribute == "3":
            return _Data("".join(f"({c.unit})" for c in archive.columns))
        if attribute == "4":
            return _Data("".join(f"({c.address})" for c in archive.columns))
        if attribute not in ("0", "A"):
            raise _Refusal("unknown_attribute")
        parts = params.split(";")
        if len(parts) not in (3, 4):
            raise _Refusal("syntax")
        position_text, start_text, end_text = parts[:3]
        rows_text = parts[3] if len(parts) == 4 else ""
        try:
            position = int(position_text) if position_text.strip() else 1
            rows_per_block = int(rows_text) if rows_text.strip() else 0
        except ValueError:
            raise _Refusal("syntax") from None
        if not 1 <= position <= len(archive.columns):
            raise _Refusal("position_unknown")
        column = archive.columns[position - 1]
        start = self._archive_bound(archive, column.kind, start_text)
        end = self._archive_bound(archive, column.kind, end_text)
        period = dt.timedelta(minutes=archive.period)
        latest = _align(self.wall_time(now), archive.period)
        oldest = latest - (archive.depth - 1) * period
        if start is not None and start > latest:
            raise _Refusal("lower_bound")
        if end is not None and end < oldest:
            raise _Refusal("upper_bound")
        first = oldest if start is None else max(oldest, _align_up(start, archive.period))
        last = latest if end is None else min(latest, _align(end, archive.period))
        count = (last - first) // period + 1 if first <= last else 0
        if attribute == "A":
            return _Data(f"({count})")
        if count == 0:
            raise _Refusal("no_data")
        rows = [self._archive_row(archive, first + i * period) + "\r\n" for i in range(count)]
        size = len(rows[0]) * rows_per_block if partial and rows_per_block else self._block_size(partial)
        return _Data("".join(rows), size)

    def _archive_bound(self, archive: Archive, kind: str, text: str) -> dt.datetime | None:
        text = text.strip()
        if not text:
            return None
        if kind == "time":
            try:
                return dt.datetime.strptime(text, _LIS_TIME)
            except ValueError:
                raise _Refusal("syntax") from None
        if kind in ("gnum", "lnum"):
            if not text.isdigit():
                raise _Refusal("syntax")
            ordinal = int(text) - (archive.gnum_offset if kind == "gnum" else 0)
            return EPOCH + (ordinal - 1) * dt.timedelta(minutes=archive.period)
        raise _Refusal("position_unknown")

    def _archive_row(self, archive: Archive, at: dt.datetime) -> str:
        lnum = (at - EPOCH) // dt.timedelta(minutes=archive.period) + 1
        cells: list[str] = []
        for column in archive.columns:
            if column.kind == "gnum":
                cells.append(f"{lnum + archive.gnum_offset:0{archive.counter_digits}d}")
            elif column.kind == "lnum":
                cells.append(f"{lnum:0{archive.counter_digits}d}")
            elif column.kind == "time":
                cells.append(at.strftime(_LIS_TIME))
            elif column.kind == "register" and column.register is not None:
                spec = self.description.registers[column.register]
                cells.append(spec.format_number(self._number(spec, at)))
            else:
                cells.append(column.text)
        return "".join(f"({cell})" for cell in cells)


# ------------------------------------------------------------------------------------------------
def _bracketed(data: str | None) -> str:
    if data is None:
        return ""
    return data[1:-1] if data.startswith("(") and data.endswith(")") else data


def _split(data: str) -> tuple[str, str]:
    """``address(value)`` into its parts; anything else is a syntax error."""
    address, bracket, rest = data.partition("(")
    if not bracket or not rest.endswith(")") or not address:
        raise _Refusal("syntax")
    return address, rest[:-1]


def _vdew_time(text: str) -> dt.datetime | None:
    """``sYYMMDDhhmm[ss]`` (the season digit optional) as a naive datetime."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) not in (10, 11, 12, 13):
        raise _Refusal("syntax")
    if len(text) in (11, 13):
        text = text[1:]
    try:
        return dt.datetime.strptime(text.ljust(12, "0"), "%y%m%d%H%M%S")
    except ValueError:
        raise _Refusal("syntax") from None


def _align(at: dt.datetime, minutes: int) -> dt.datetime:
    """The last grid point (multiples of ``minutes`` since :data:`EPOCH`) at or before ``at``."""
    step = dt.timedelta(minutes=minutes)
    return EPOCH + ((at - EPOCH) // step) * step


def _align_up(at: dt.datetime, minutes: int) -> dt.datetime:
    aligned = _align(at, minutes)
    return aligned if aligned == at else aligned + dt.timedelta(minutes=minutes)


def _status_at(profile: ProfileSpec, at: dt.datetime) -> int:
    status = 0
    for change in profile.status_changes:
        if change.at <= at:
            status = change.status
    return status
