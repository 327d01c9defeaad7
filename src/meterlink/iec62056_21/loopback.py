"""An in-memory line with a virtual clock that drives a client and a meter connection together.

This is how the sans-io cores are tried without hardware and without waiting: each side's
transmissions take the time the line rate dictates, a rate switch takes effect once the side's
transmitter has drained plus the guard, bytes that arrive while the receiver listens at another
rate turn into noise as on a real line, and a fault hook may change bytes in flight. The clock
is virtual, so a 300 Bd session of several seconds runs in milliseconds while every time stamp
stays what the real line would show.

:class:`MeterApp` is a deliberately small meter behind the meter connection (a readout, some
registers, one password); the full meter emulator builds on the same connection.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from meterlink.errors import LocalProtocolError

from .connection import ClientConnection, MeterConnection, transmission_time
from .events import (
    CommandReceived,
    Event,
    ReadoutRequested,
    Send,
    SetLink,
)
from .framer import NeedData
from .messages import Ack, CommandMessage, ErrorMessage, Nak

__all__ = ["Fault", "MeterApp", "Side", "Wire"]

Fault = Callable[[str, bytes], bytes]
CHUNK = 32
"""Bytes handed to the receiver at a time (a UART FIFO's worth)."""
"""(sender, bytes) -> the bytes that arrive."""


@dataclass
class Side:
    name: str
    connection: ClientConnection | MeterConnection
    links: list[tuple[float, int]] = field(default_factory=lambda: [(float("-inf"), 300)])
    tx_free: float = 0.0
    events: list[Event] = field(default_factory=list)
    sent: list[tuple[float, bytes]] = field(default_factory=list)

    def rate_at(self, t: float) -> int:
        rate = self.links[0][1]
        for since, r in self.links:
            if since <= t:
                rate = r
        return rate


@dataclass
class MeterApp:
    """A tiny meter behind the meter connection: readout text, registers, a password."""

    readout: bytes = b"1.8.0(001234.5*kWh)\r\n!\r\n"
    registers: dict[str, str] = field(default_factory=dict)
    password: str | None = "00000000"
    block_size: int | None = None
    logged_in: bool = False
    commands: list[CommandMessage] = field(default_factory=list)

    def handle(self, meter: MeterConnection, event: Event, now: float) -> None:
        if isinstance(event, ReadoutRequested):
            meter.send_readout(self.readout, now)
        elif isinstance(event, CommandReceived):
            self.commands.append(event.command)
            self._command(meter, event.command, now)

    def _command(self, meter: MeterConnection, command: CommandMessage, now: float) -> None:
        data = command.data or ""
        address, _, rest = data.partition("(")
        value = rest[:-1] if rest.endswith(")") else rest
        if command.command == "P":
            self.logged_in = self.password is None or value == self.password
            meter.reply(Ack() if self.logged_in else ErrorMessage("ERR_PW"), now)
        elif not self.logged_in and self.password is not None:
            meter.reply(ErrorMessage("ER18"), now)
        elif command.command == "R":
            if address not in self.registers:
                meter.reply(ErrorMessage("ER02"), now)
            else:
                meter.reply_data(f"{address}({self.registers[address]})", now, block_size=self.block_size)
        elif command.command == "W":
            self.registers[address] = value
            meter.reply(Ack(), now)
        else:
            meter.reply(Nak(), now)


class Wire:
    def __init__(
        self,
        client: ClientConnection,
        meter: MeterConnection,
        app: MeterApp | None = None,
        fault: Fault | None = None,
    ) -> None:
        self.client = Side("client", client)
        self.meter = Side("meter", meter)
        self.app = app or MeterApp()
        self.fault = fault
        self.now = 0.0
        self._queue: list[tuple[float, int, str, Side, bytes, int]] = []
        self._seq = itertools.count()

    def peer(self, side: Side) -> Side:
        return self.meter if side is self.client else self.client

    def _schedule(self, t: float, kind: str, side: Side, data: bytes = b"", rate: int = 0) -> None:
        heapq.heappush(self._queue, (t, next(self._seq), kind, side, data, rate))

    def _drain(self, side: Side) -> None:
        conn = side.connection
        while not isinstance(event := conn.next_event(), NeedData):
            side.events.append(event)
            if isinstance(event, Send):
                start = max(self.now, event.not_before, side.tx_free)
                rate = side.rate_at(start)
                side.tx_free = start + transmission_time(len(event.data), rate)
                side.sent.append((start, event.data))
                data = self.fault(side.name, event.data) if self.fault else event.data
                # Bytes trickle in as on a UART, so inter-character timeouts see progress.
                for offset in range(0, len(data), CHUNK):
                    piece = data[offset : offset + CHUNK]
                    end = start + transmission_time(offset + len(piece), rate)
                    self._schedule(end, "deliver", self.peer(side), piece, rate)
            elif isinstance(event, SetLink):
                side.links.append((max(self.now, side.tx_free) + event.guard, event.baud_rate))
            elif side is self.meter:
                assert isinstance(conn, MeterConnection)
                self.app.handle(conn, event, self.now)
        if conn.deadline is not None:
            self._schedule(conn.deadline, "deadline", side)

    def run(self, *, until: float = 600.0, settle: bool = False) -> None:
        """Process transmissions and timers until the client waits for its caller.

        With ``settle=True`` the meter's own timers run out too (inactivity and the like).
        """
        self._drain(self.client)
        self._drain(self.meter)
        while self._queue:
            if not settle and self.client.connection.deadline is None and not any(
                item[2] == "deliver" for item in self._queue
            ):
                return
            t, _, kind, side, data, rate = heapq.heappop(self._queue)
            if t > until:
                raise LocalProtocolError(f"simulated line still busy at t={t:.3f} s (limit {until} s)")
            self.now = max(self.now, t)
            conn = side.connection
            if kind == "deliver":
                if side.rate_at(t) != rate:
                    data = b"\x7f" * len(data)  # wrong rate: the receiver sees noise
                conn.receive_data(data, t)
            elif conn.deadline is None or conn.deadline > t:
                continue
            else:
                conn.time_passed(t)
            self._drain(side)

    def client_events(self, kind: type) -> list[Event]:
        return [e for e in self.client.events if isinstance(e, kind)]

    def client_sent(self) -> list[bytes]:
        return [data for _, data in self.client.sent]

    def meter_sent(self) -> list[bytes]:
        return [data for _, data in self.meter.sent]

