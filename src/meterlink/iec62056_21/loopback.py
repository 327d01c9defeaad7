"""An in-memory line with a virtual clock that drives a client and a meter connection together.

This is how the sans-io cores are tried without hardware and without waiting: a 300 Bd session
of several seconds runs in milliseconds while every time stamp stays what the real line would
show. :class:`MeterApp` is a deliberately small meter behind the meter connection (a readout,
some registers, one password); the full meter emulator builds on the same connection.

Each side's transmissions take the time the line rate dictates; a rate switch takes effect when
the side's transmitter has drained plus the guard; bytes that arrive while the receiver listens
at another rate turn into noise, as on a real line. A fault hook may change bytes in flight.

The character format is modelled too: a side at 7 data bits sends its characters with even
parity in bit 7 (7E1), a side at 8 bits sends bytes as they are (8N1). A 7-bit receiver strips
bit 7 again, unless the line is an ``eight_bit`` one (a TCP converter that passes the parity bit
through). ``echo`` names the sides whose own transmissions come back to them (RS-485, optical
heads); ``fixed_rate`` ignores rate switches (a transparent TCP link). Once a connection has
handed the link over (mode E), what it receives goes to :attr:`Side.raw` instead.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from meterlink.errors import LocalProtocolError

from ._state import ClientState, MeterState
from .connection import ClientConnection, MeterConnection, transmission_time
from .events import (
    BinaryModeEntered,
    CommandReceived,
    Event,
    ReadoutRequested,
    Send,
    SetLink,
)
from .framer import NeedData
from .messages import BREAK, Ack, CommandMessage, ErrorMessage, Nak

__all__ = ["Fault", "MeterApp", "MeterApplication", "Side", "Wire", "even_parity"]

Fault = Callable[[str, bytes], bytes]
"""(sender, bytes) -> the bytes that arrive."""


def even_parity(data: bytes) -> bytes:
    """The bytes of 7-bit characters as a 7E1 transmitter puts them on the line."""
    return bytes(b | 0x80 if (b & 0x7F).bit_count() % 2 else b & 0x7F for b in data)


@dataclass
class Side:
    name: str
    connection: ClientConnection | MeterConnection
    links: list[tuple[float, int]] = field(default_factory=lambda: [(float("-inf"), 300)])
    tx_free: float = 0.0
    events: list[Event] = field(default_factory=list)
    sent: list[tuple[float, bytes]] = field(default_factory=list)
    formats: list[tuple[float, int]] = field(default_factory=lambda: [(float("-inf"), 7)])
    """(since, data bits) alongside :attr:`links`."""
    received: list[tuple[float, bytes]] = field(default_factory=list)
    """What arrived from the peer (not echoes), piece by piece, with arrival times, as delivered."""
    raw: bytearray = field(default_factory=bytearray)
    """Bytes that arrived after the connection handed the link over (mode E)."""

    def rate_at(self, t: float) -> int:
        rate = self.links[0][1]
        for since, r in self.links:
            if since <= t:
                rate = r
        return rate

    def bits_at(self, t: float) -> int:
        bits = self.formats[0][1]
        for since, b in self.formats:
            if since <= t:
                bits = b
        return bits

    @property
    def handed_over(self) -> bool:
        return self.connection.state in (ClientState.BINARY, MeterState.BINARY)


class MeterApplication(Protocol):
    """What sits behind a meter connection on the line: answers its events."""

    binary_greeting: bytes
    """Raw bytes sent right after the meter entered mode E (an HDLC frame, say)."""

    def handle(self, meter: MeterConnection, event: Event, now: float) -> None: ...


@dataclass
class MeterApp:
    """A tiny meter behind the meter connection: readout text, registers, a password.

    ``password_reply`` is what a wrong password earns: an error message, a NAK or a break.
    ``silent`` lists command letters the meter never answers (``"P"``, ``"R"``...), and
    ``answer_readout=False`` leaves a requested readout unsent. ``binary_greeting`` is sent
    raw right after the meter confirmed mode E. W3/W4 partial-block writes are joined.
    """

    readout: bytes = b"1.8.0(001234.5*kWh)\r\n!\r\n"
    registers: dict[str, str] = field(default_factory=dict)
    password: str | None = "00000000"
    block_size: int | None = None
    logged_in: bool = False
    commands: list[CommandMessage] = field(default_factory=list)
    password_reply: str = "error"
    silent: str = ""
    answer_readout: bool = True
    binary_greeting: bytes = b""
    _write_address: str | None = None
    _write_value: str = ""

    def handle(self, meter: MeterConnection, event: Event, now: float) -> None:
        if isinstance(event, ReadoutRequested):
            if self.answer_readout:
                meter.send_readout(self.readout, now)
        elif isinstance(event, CommandReceived):
            self.commands.append(event.command)
            if event.command.command not in self.silent:
                self._command(meter, event.command, now)

    def _command(self, meter: MeterConnection, command: CommandMessage, now: float) -> None:
        data = command.data or ""
        address, _, rest = data.partition("(")
        value = rest[:-1] if rest.endswith(")") else rest
        if command.command == "P":
            self.logged_in = self.password is None or value == self.password
            if self.logged_in:
                meter.reply(Ack(), now)
            elif self.password_reply == "nak":
                meter.reply(Nak(), now)
            elif self.password_reply == "break":
                meter.reply(BREAK, now)
            else:
                meter.reply(ErrorMessage("ERR_PW"), now)
        elif not self.logged_in and self.password is not None:
            meter.reply(ErrorMessage("ER18"), now)
        elif command.command == "R":
            if address not in self.registers:
                meter.reply(ErrorMessage("ER02"), now)
            else:
                meter.reply_data(f"{address}({self.registers[address]})", now, block_size=self.block_size)
        elif command.command == "W" and (command.partial or self._write_address is not None):
            # partial-block write: the address comes in the first block only
            if self._write_address is None:
                self._write_address, self._write_value = address, rest
            else:
                self._write_value += data
            if not command.partial:
                text = self._write_value
                self.registers[self._write_address] = text[:-1] if text.endswith(")") else text
                self._write_address, self._write_value = None, ""
            meter.reply(Ack(), now)
        elif command.command == "W":
            self.registers[address] = value
            meter.reply(Ack(), now)
        elif command.command == "E":
            meter.reply(Ack(), now)
        else:
            meter.reply(Nak(), now)


class Wire:
    CHUNK = 16
    """Bytes delivered at once: long messages arrive piece by piece, as on a real line."""

    def __init__(
        self,
        client: ClientConnection,
        meter: MeterConnection,
        app: MeterApplication | None = None,
        fault: Fault | None = None,
        *,
        echo: Collection[str] = (),
        eight_bit: bool = False,
        fixed_rate: bool = False,
    ) -> None:
        self.client = Side("client", client)
        self.meter = Side("meter", meter)
        self.app: MeterApplication = app or MeterApp()
        self.fault = fault
        self.echo = frozenset(echo)
        self.eight_bit = eight_bit
        self.fixed_rate = fixed_rate
        self.now = 0.0
        self._queue: list[tuple[float, int, str, Side, bytes, int]] = []
        self._seq = itertools.count()

    def peer(self, side: Side) -> Side:
        return self.meter if side is self.client else self.client

    def side(self, name: str) -> Side:
        return self.client if name == "client" else self.meter

    def _schedule(self, t: float, kind: str, side: Side, data: bytes = b"", rate: int = 0) -> None:
        heapq.heappush(self._queue, (t, next(self._seq), kind, side, data, rate))

    def transmit(self, side: Side, data: bytes, not_before: float = 0.0) -> None:
        """Put ``data`` on the line from ``side`` at its current rate and format, as it is."""
        start = max(self.now, not_before, side.tx_free)
        rate = side.rate_at(start)
        side.sent.append((start, data))
        length = len(data)
        if self.fault:
            data = self.fault(side.name, data)
        # bytes a fault adds (noise) take line time too
        side.tx_free = start + transmission_time(max(length, len(data)), rate)
        if side.bits_at(start) == 7:
            data = even_parity(data)
        # characters arrive as they are sent: deliver in small pieces, each at its own time
        t = start
        for i in range(0, len(data), self.CHUNK):
            piece = data[i : i + self.CHUNK]
            t += transmission_time(len(piece), rate)
            self._schedule(t, "deliver", self.peer(side), piece, rate)
            if side.name in self.echo:
                self._schedule(t, "echo", side, piece, rate)

    def inject(self, sender: str, data: bytes) -> None:
        """Send raw bytes from ``sender`` ("client" or "meter") next, bypassing its connection."""
        self.transmit(self.side(sender), data)

    def _drain(self, side: Side) -> None:
        conn = side.connection
        while not isinstance(event := conn.next_event(), NeedData):
            side.events.append(event)
            if isinstance(event, Send):
                self.transmit(side, event.data, event.not_before)
            elif isinstance(event, SetLink):
                since = max(self.now, side.tx_free) + event.guard
                side.tx_free = since  # nothing goes out before the switch
                if not self.fixed_rate:
                    side.links.append((since, event.baud_rate))
                side.formats.append((since, event.data_bits))
            elif side is self.meter:
                assert isinstance(conn, MeterConnection)
                if isinstance(event, BinaryModeEntered) and self.app.binary_greeting:
                    self.transmit(side, self.app.binary_greeting)
                self.app.handle(conn, event, self.now)
        if conn.deadline is not None:
            self._schedule(conn.deadline, "deadline", side)

    def _arrive(self, side: Side, t: float, data: bytes, rate: int, *, echo: bool) -> None:
        if not self.fixed_rate and side.rate_at(t) != rate:
            data = b"\x7f" * len(data)  # wrong rate: the receiver sees noise
        elif side.bits_at(t) == 7 and not self.eight_bit:
            data = bytes(b & 0x7F for b in data)
        if not echo:
            side.received.append((t, data))
        if side.handed_over:
            side.raw += data
        else:
            side.connection.receive_data(data, t)

    def run(
        self, *, until: float = 600.0, settle: bool = False, stop: Callable[[], bool] | None = None
    ) -> None:
        """Process transmissions and timers until the client waits for its caller.

        With ``settle=True`` the meter's own timers run out too (inactivity and the like).
        ``stop`` ends the run early, checked after every step.
        """
        self._drain(self.client)
        self._drain(self.meter)
        while self._queue:
            if stop is not None and stop():
                return
            if (
                not settle
                and self.client.connection.deadline is None
                and not any(item[2] in ("deliver", "echo") for item in self._queue)
            ):
                return
            t, _, kind, side, data, rate = heapq.heappop(self._queue)
            if t > until:
                raise LocalProtocolError(f"simulated line still busy at t={t:.3f} s (limit {until} s)")
            self.now = max(self.now, t)
            conn = side.connection
            if kind in ("deliver", "echo"):
                self._arrive(side, t, data, rate, echo=kind == "echo")
            elif conn.deadline is None or conn.deadline > t:
                continue
            else:
                conn.time_passed(t)
            self._drain(side)

    def client_events(self, kind: type) -> list[Event]:
        return [e for e in self.client.events if isinstance(e, kind)]

    def meter_events(self, kind: type) -> list[Event]:
        return [e for e in self.meter.events if isinstance(e, kind)]

    def client_sent(self) -> list[bytes]:
        return [data for _, data in self.client.sent]

    def meter_sent(self) -> list[bytes]:
        return [data for _, data in self.meter.sent]
