"""A small meter on a real pseudo-terminal or TCP socket, for transport and client tests.

A thread drives a :class:`MeterConnection` and the tiny :class:`loopback.MeterApp` on the other
end of a pty (the master side) or of a TCP connection, with the real monotonic clock. It is
deliberately minimal - the full emulator lives in :mod:`meterlink.emulator` - but it models the
two line facts the clients must get right:

* bytes from the client reach the meter after their line time at the meter's rate, as on a
  real line (a pty or socket would deliver them at once, faster than any meter could);
* ``line()`` reports the rate the client's side of the pty is set to; every chunk the meter
  receives is logged with it, so a test can check that a command went out after the switch;
* ``software_parity=True`` makes the meter behave like a 7E1 meter behind a converter that
  passes 8-bit bytes: it sends even parity in bit 7 and treats bytes with wrong parity as noise.

``mute_above`` turns the meter's transmissions into noise above a rate (a line that does not
carry 9600 Bd), and ``push_every`` makes a mode D meter push its readout periodically.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from meterlink.errors import MeterlinkError
from meterlink.iec62056_21._state import MeterState
from meterlink.iec62056_21.connection import MeterConnection, MeterSettings
from meterlink.iec62056_21.events import BinaryModeEntered, Event, Send, SetLink
from meterlink.iec62056_21.framer import NeedData
from meterlink.iec62056_21.loopback import MeterApp, even_parity
from meterlink.iec62056_21.messages import Identification
from meterlink.transport.base import line_time

__all__ = ["LiveMeter", "pty_meter", "silent_pty", "slave_rate", "tcp_meter"]

FAST: dict[str, Any] = {
    "reaction_time": 0.02,
    "switch_delay": 0.1,
    "option_timeout": 1.5,
    "after_readout_timeout": 0.5,
    "inactivity_timeout": 5.0,
}
_SPEEDS = {getattr(termios, f"B{rate}"): rate for rate in (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)}


class Endpoint(Protocol):
    def recv(self, timeout: float) -> bytes: ...

    def send(self, data: bytes) -> None: ...


class PtyEndpoint:
    def __init__(self, master: int) -> None:
        self.master = master

    def recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:  # the slave side is closed: nothing to read
            time.sleep(timeout)
            return b""

    def send(self, data: bytes) -> None:
        os.write(self.master, data)


class AcceptingEndpoint:
    """The server end of a TCP connection; accepts again after the client went away."""

    def __init__(self, server: socket.socket) -> None:
        self.server = server
        self.conn: socket.socket | None = None

    def recv(self, timeout: float) -> bytes:
        if self.conn is None:
            ready, _, _ = select.select([self.server], [], [], timeout)
            if ready:
                self.conn, _ = self.server.accept()
            return b""
        ready, _, _ = select.select([self.conn], [], [], timeout)
        if not ready:
            return b""
        try:
            data = self.conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.conn.close()
            self.conn = None
        return data

    def send(self, data: bytes) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.sendall(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _has_even_parity(byte: int) -> bool:
    return byte.bit_count() % 2 == 0


class LiveMeter:
    def __init__(
        self,
        endpoint: Endpoint,
        identification: str,
        *,
        app: MeterApp | None = None,
        line: Callable[[], int] | None = None,
        software_parity: bool = False,
        mute_above: int | None = None,
        push_every: float | None = None,
        **settings: Any,
    ) -> None:
        options = {**FAST, **settings}
        self.conn = MeterConnection(MeterSettings(Identification.from_text(identification), **options))
        self.endpoint = endpoint
        self.app = app or MeterApp()
        self.line = line
        self.software_parity = software_parity
        self.mute_above = mute_above
        self.push_every = push_every
        self.rate = 300
        self.bits = 7
        self.received: list[tuple[bytes, int | None]] = []
        """Every chunk received, with the client's line rate seen at that moment (pty only)."""
        self.sent: list[bytes] = []
        self.events: list[Event] = []
        self.raw = bytearray()
        """What arrived after the switch to mode E."""
        self.errors: list[BaseException] = []
        self._greeted = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-meter", daemon=True)

    # -- control from the test ----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll ``condition`` until it holds: the meter thread works at its own pace."""
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                return False
            time.sleep(0.01)
        return True

    def heard(self, data: bytes) -> bool:
        """Whether the meter has received ``data`` (waiting a little for it)."""
        return self.wait_for(lambda: data in self.received_bytes())

    def event_types(self) -> list[str]:
        return [type(event).__name__ for event in list(self.events)]

    def received_bytes(self) -> bytes:
        return b"".join(data for data, _ in list(self.received))

    # -- the meter ----------------------------------------------------------------------------
    def _run(self) -> None:
        next_push = time.monotonic() + (self.push_every or 0.0)
        try:
            while not self._stop.is_set():
                self._drain()
                now = time.monotonic()
                if self.push_every is not None and now >= next_push:
                    next_push = now + self.push_every
                    if self.conn.state is MeterState.IDLE:
                        self.conn.push(self.app.readout, now)
                        continue
                deadline = self.conn.deadline
                wait = 0.01 if deadline is None else min(0.01, max(0.0, deadline - now))
                data = self.endpoint.recv(wait)
                now = time.monotonic()
                if data:
                    self._receive(data, now)
                elif deadline is not None and now >= deadline:
                    self.conn.time_passed(now)
        except BaseException as exc:  # reported to the test through self.errors
            self.errors.append(exc)

    def _receive(self, data: bytes, now: float) -> None:
        # A pty or socket delivers at once; on a line the last byte arrives after its line time,
        # and the client's connection reckons with that (reaction times, echo window).
        time.sleep(line_time(len(data), self.rate))
        now = time.monotonic()
        if self.software_parity and self.bits == 7:
            data = bytes(b & 0x7F if _has_even_parity(b) else 0x7F for b in data)
        self.received.append((data, self.line() if self.line else None))
        if self.conn.state is MeterState.BINARY:
            self.raw += data
            if self.app.binary_greeting and not self._greeted:
                self._greeted = True
                self._transmit(self.app.binary_greeting)
            return
        self.conn.receive_data(data, now)

    def _transmit(self, data: bytes) -> None:
        self.sent.append(data)
        if self.mute_above is not None and self.rate > self.mute_above:
            data = b"\x7f" * len(data)
        elif self.software_parity and self.bits == 7:
            data = even_parity(data)
        self.endpoint.send(data)

    def _drain(self) -> None:
        while True:
            try:
                event = self.conn.next_event()
            except MeterlinkError as exc:
                self.errors.append(exc)
                continue
            if isinstance(event, NeedData):
                return
            self.events.append(event)
            if isinstance(event, Send):
                time.sleep(max(0.0, event.not_before - time.monotonic()))
                self._transmit(event.data)
            elif isinstance(event, SetLink):
                self.rate, self.bits = event.baud_rate, event.data_bits
            elif isinstance(event, BinaryModeEntered):
                self.raw += event.leftover
            else:
                self.app.handle(self.conn, event, time.monotonic())


def slave_rate(slave: int) -> int:
    """The input speed the pty's client side is set to."""
    return _SPEEDS.get(termios.tcgetattr(slave)[4], 0)


@contextlib.contextmanager
def pty_meter(identification: str, **options: Any) -> Iterator[tuple[str, LiveMeter]]:
    """A meter on the master side of a fresh pty; yields the slave's device path and the meter."""
    master, slave = os.openpty()
    tty.setraw(slave)
    meter = LiveMeter(PtyEndpoint(master), identification, line=lambda: slave_rate(slave), **options)
    meter.start()
    try:
        yield os.ttyname(slave), meter
    finally:
        meter.stop()
        os.close(master)
        os.close(slave)


@contextlib.contextmanager
def tcp_meter(identification: str, **options: Any) -> Iterator[tuple[int, LiveMeter]]:
    """A meter behind a TCP port on 127.0.0.1; yields the port and the meter."""
    server = socket.create_server(("127.0.0.1", 0))
    endpoint = AcceptingEndpoint(server)
    meter = LiveMeter(endpoint, identification, **options)
    meter.start()
    try:
        yield server.getsockname()[1], meter
    finally:
        meter.stop()
        endpoint.close()
        server.close()


@contextlib.contextmanager
def silent_pty() -> Iterator[str]:
    """A pty nobody answers on (its master is open, so writes do not fail)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)
