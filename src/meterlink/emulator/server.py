"""Serving an emulated meter over TCP or a pseudo-terminal, in real time.

Each line (a TCP connection, or the pty) gets its own
:class:`~meterlink.emulator.connection.EmulatorConnection` and a :class:`LineSession` that feeds
it what arrives, stamped with the monotonic clock, calls ``time_passed`` at its deadline, hands
protocol events to the shared :class:`~meterlink.emulator.model.MeterModel`, and transmits in
order, never before ``Send.not_before``. The meter pushes mode D telegrams by itself when its
description says so, and in mode E it holds the link until the client has been quiet for the
inactivity timeout.

What the meter hears arrives, as on a line, when its last character would have: its reaction
time and switch delay count from there (a pty or socket delivers at once, while the client waits
out its own line time before switching). Mode D telegrams go out at the rate the
identification's ``Z`` names.

``simulate_baud`` paces transmissions at the line rate (10 bits per character), so a client can
measure what a real 300 Bd line would take. On the pty, ``check_line`` compares the client's
termios (rate, character size, parity) with the meter's line at every transfer and hands over
what the other end would really read: noise at the wrong rate, parity bits in bit 7 at 8N1...

:class:`EmulatorThread` runs a server in a background thread for tests and scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import termios
import time
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Final

from meterlink.errors import LocalProtocolError, MeterlinkError
from meterlink.iec62056_21._state import MeterState
from meterlink.iec62056_21.events import BinaryModeEntered, Send, SetLink
from meterlink.iec62056_21.framer import NeedData
from meterlink.transport.base import line_time

from ._thread import BackgroundServer
from .description import MeterDescription
from .line import LineFormat, format_of_termios, transfer
from .model import MeterModel

__all__ = [
    "EmulatorServer",
    "EmulatorThread",
    "LineSession",
    "PtyEmulator",
    "TcpEmulator",
    "open_server",
    "serve_pty",
    "serve_tcp",
]

log = logging.getLogger("meterlink.emulator")

BITS_PER_CHARACTER: Final = 10
_PACING_SLICE: Final = 0.02
"""Seconds of line time written at once when pacing (finer is pointless for asyncio timers)."""
INTER_CHARACTER_TIMEOUT: Final = 1.5
"""ta: after this long without a character, a partial message is void."""
_WRITE_PATIENCE: Final = 1.0
"""How long a full pty buffer is waited for before the bytes are lost, as on a real line."""


# ------------------------------------------------------------------------------------------------
# ports: where the bytes go
# ------------------------------------------------------------------------------------------------
class _Port(ABC):
    """One end of a line as the meter sees it."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        """Received chunks; ``None`` when the peer went away."""

    @abstractmethod
    async def write(self, data: bytes) -> None: ...

    def hears(self, data: bytes, line: LineFormat) -> bytes:
        """What the meter reads of ``data`` the client sent."""
        return data

    def shows(self, data: bytes, line: LineFormat) -> bytes:
        """What the client reads of ``data`` the meter sent."""
        return data

    @abstractmethod
    def close(self) -> None: ...


class _TcpPort(_Port):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__()
        self.reader = reader
        self.writer = writer
        self.pump = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while data := await self.reader.read(4096):
                self.incoming.put_nowait(data)
        except (ConnectionError, OSError):
            pass
        self.incoming.put_nowait(None)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.pump.cancel()
        self.writer.close()


class PtyPort(_Port):
    """The master side of a pseudo-terminal; the emulator keeps a slave fd open too.

    Holding the slave keeps the pty alive while clients come and go, and lets the emulator
    read the termios the client set on the same terminal.
    """

    def __init__(self, check_line: bool, seed: int) -> None:
        super().__init__()
        self.check_line = check_line
        self.random = random.Random(seed)
        self.master, self.slave = os.openpty()
        try:
            tty.setraw(self.slave)
            attributes = termios.tcgetattr(self.slave)
            attributes[2] = (attributes[2] & ~(termios.CSIZE | termios.PARODD)) | termios.CS7 | termios.PARENB
            attributes[4] = attributes[5] = termios.B300
            termios.tcsetattr(self.slave, termios.TCSANOW, attributes)
            # Linux ptys force CS8 and clear PARENB whatever the client sets: then only the
            # rate tells anything, and the client is taken to use the meter's format.
            self.formats_observable = format_of_termios(
                termios.tcgetattr(self.slave), receiving=True
            ) == LineFormat(300, 7, "E")
            os.set_blocking(self.master, False)
            self.path = os.ttyname(self.slave)
            self.loop = asyncio.get_running_loop()
            self.loop.add_reader(self.master, self._readable)
        except BaseException:
            os.close(self.master)
            os.close(self.slave)
            raise

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError:
            self.loop.remove_reader(self.master)
            self.incoming.put_nowait(None)
            return
        if data:
            self._unlatch()
            self.incoming.put_nowait(data)

    def _unlatch(self) -> None:
        """Clear CLOCAL that a client set, so the next client's settings change something.

        Linux fails a tcsetattr that changes nothing with EINVAL, and a pty ignores the
        character size and parity: a second client opening the path with the first one's
        settings (pyserial always sets CLOCAL) would fail. CLOCAL means nothing to a pty.
        """
        with contextlib.suppress(termios.error, OSError):
            attributes = termios.tcgetattr(self.slave)
            if attributes[2] & termios.CLOCAL:
                attributes[2] &= ~termios.CLOCAL
                termios.tcsetattr(self.slave, termios.TCSANOW, attributes)

    def client_format(self, line: LineFormat, *, receiving: bool) -> LineFormat:
        """The client's line settings as its termios show them (rate only on Linux)."""
        seen = format_of_termios(termios.tcgetattr(self.slave), receiving=receiving)
        if self.formats_observable:
            return seen
        return LineFormat(seen.baud_rate, line.data_bits, line.parity)

    def hears(self, data: bytes, line: LineFormat) -> bytes:
        if not self.check_line:
            return data
        return transfer(data, self.client_format(line, receiving=False), line, self.random)

    def shows(self, data: bytes, line: LineFormat) -> bytes:
        if not self.check_line:
            return data
        return transfer(data, line, self.client_format(line, receiving=True), self.random)

    async def write(self, data: bytes) -> None:
        deadline = time.monotonic() + _WRITE_PATIENCE
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.debug("pty buffer full, %d bytes lost", len(view))
                    return
                await asyncio.sleep(0.01)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)


# ------------------------------------------------------------------------------------------------
# one line in real time
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Transmit:
    data: bytes
    not_before: float


@dataclass(frozen=True, slots=True)
class _Switch:
    line: LineFormat
    guard: float


class LineSession:
    """Runs one meter connection over a port in real time (see the module docstring)."""

    def __init__(self, meter: MeterModel, port: _Port, *, simulate_baud: bool = False) -> None:
        self.meter = meter
        self.port = port
        self.simulate_baud = simulate_baud
        self.connection = meter.connection()
        self.line = LineFormat.meter(300, 7)
        """The meter's UART settings now (changed in order with the transmissions)."""
        self._out: asyncio.Queue[_Transmit | _Switch] = asyncio.Queue()
        self._binary_until: float | None = None
        self._last_rx = float("-inf")
        self._rx_free = 0.0
        """When the last character heard so far has fully arrived at the meter's rate."""
        self._planned = 0.0
        """When the last queued transmission may start (for the mode E quiet timer)."""
        interval = meter.description.push_interval
        self._push_interval = interval if meter.pushes else None
        self._next_push = time.monotonic() + (interval or 0.0)
        self._push_line = LineFormat.meter(meter.description.identification.baud_rate, 7)
        """Telegrams go out at the rate the identification names (Z = 5: 9600 Bd, 3: 2400 Bd)."""
        if self._push_interval is not None and not self.connection.listening:
            self.line = self._push_line  # a push-only meter's UART never leaves that rate

    # -- the receiving side ---------------------------------------------------------------------
    async def run(self) -> None:
        """Serve until the peer goes away or the task is cancelled."""
        writer = asyncio.get_running_loop().create_task(self._transmit())
        try:
            while True:
                wake = self._wake_at()
                timeout = None if wake is None else max(0.0, wake - time.monotonic())
                try:
                    # not asyncio.wait_for: before Python 3.12 it can swallow the cancellation
                    # that stops the server when a chunk arrives at the same moment
                    async with asyncio.timeout(timeout):
                        data = await self.port.incoming.get()
                except TimeoutError:
                    data = b""
                if data is None:
                    return
                self.step(data, time.monotonic())
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _wake_at(self) -> float | None:
        times = [t for t in (self.connection.deadline, self._binary_until) if t is not None]
        if self._push_interval is not None:
            times.append(self._next_push)
        return min(times) if times else None

    def step(self, data: bytes, now: float) -> None:
        """Take received bytes (maybe none) and the time; queue what the meter does."""
        conn = self.connection
        try:
            if data:
                data = self.port.hears(data, self.line)
                # A pty or socket hands over at once what a line delivers character by character:
                # the meter hears the last byte only after its line time (its tr and switch delay
                # count from there, as the client's drain does).
                now = self._rx_free = max(now, self._rx_free) + line_time(len(data), self.line.baud_rate)
                if self._binary_until is not None:
                    self._binary_until = now + conn.settings.inactivity_timeout  # HDLC would go here
                else:
                    at_rest = conn.state in (MeterState.IDLE, MeterState.ASLEEP)
                    if at_rest and now - self._last_rx > INTER_CHARACTER_TIMEOUT:
                        conn = self.connection = conn.renewed()  # forget noise from before the pause
                    conn.receive_data(data, now)
                self._last_rx = now
            if conn.deadline is not None and now >= conn.deadline:
                conn.time_passed(now)
            if self._binary_until is not None and now >= self._binary_until:
                self._binary_until = None
                conn.end(now)
            if self._push_interval is not None and now >= self._next_push:
                while self._next_push <= now:
                    self._next_push += self._push_interval
                if conn.state is MeterState.IDLE:
                    self._push(now)
        except MeterlinkError as exc:  # pragma: no cover - defensive: a meter shrugs and goes on
            log.debug("meter ignored input: %s", exc)
        self._drain(now)

    def _push(self, now: float) -> None:
        """One telegram at the push rate; a meter that also answers requests returns to 300 Bd."""
        conn = self.connection
        rest = LineFormat.meter(300, 7)
        switch = conn.listening and self._push_line != rest
        if switch:
            self._out.put_nowait(_Switch(self._push_line, 0.0))
        conn.push(self.meter.push_data(now), now)
        self._drain(now)
        if switch:
            self._out.put_nowait(_Switch(rest, 0.0))

    def _drain(self, now: float) -> None:
        conn = self.connection
        while True:
            try:
                event = conn.next_event()
            except MeterlinkError as exc:
                # a message the meter may not get in its state: real meters just ignore it
                log.debug("meter ignored a message: %s", exc)
                continue
            if isinstance(event, NeedData):
                return
            if isinstance(event, Send):
                self._planned = max(self._planned, event.not_before)
                self._out.put_nowait(_Transmit(event.data, event.not_before))
            elif isinstance(event, SetLink):
                self._out.put_nowait(_Switch(LineFormat.meter(event.baud_rate, event.data_bits), event.guard))
            else:
                if isinstance(event, BinaryModeEntered):
                    # quiet time counts from the confirmation, which leaves after switch_delay
                    self._binary_until = max(now, self._planned) + conn.settings.inactivity_timeout
                    if self.meter.binary_greeting:
                        self._out.put_nowait(_Transmit(self.meter.binary_greeting, now))
                try:
                    self.meter.handle(conn, event, now)
                except MeterlinkError as exc:  # pragma: no cover - defensive
                    log.debug("meter application failed on %r: %s", event, exc)

    # -- the transmitting side ------------------------------------------------------------------
    async def _transmit(self) -> None:
        tx_free = 0.0
        hold = 0.0
        switch_pause = self.meter.description.switch_delay
        while True:
            item = await self._out.get()
            if isinstance(item, _Switch):
                if item.line.baud_rate != self.line.baud_rate:
                    # the client switches when it has read what came before: give it time
                    # (the core sends a mode B readout right after the identification)
                    hold = max(tx_free, time.monotonic()) + max(item.guard, switch_pause)
                self.line = item.line
                continue
            start = max(item.not_before, tx_free, hold)
            wait = start - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            data = self.port.shows(item.data, self.line)
            try:
                if self.simulate_baud:
                    tx_free = await self._paced(data, self.line.baud_rate)
                else:
                    await self.port.write(data)
                    tx_free = time.monotonic()
            except (ConnectionError, OSError):
                return

    async def _paced(self, data: bytes, rate: int) -> float:
        per_char = BITS_PER_CHARACTER / max(rate, 1)
        chunk = max(1, int(_PACING_SLICE / per_char))
        t = time.monotonic()
        for i in range(0, len(data), chunk):
            piece = data[i : i + chunk]
            # a receiving UART has a character once its last bit is in: hand each piece over
            # when its line time is up, never earlier
            t += len(piece) * per_char
            delay = t - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.port.write(piece)
        return t


# ------------------------------------------------------------------------------------------------
# servers
# ------------------------------------------------------------------------------------------------
class EmulatorServer(ABC):
    """A running emulator: where to connect (:attr:`url`) and how to stop it."""

    url: str

    @abstractmethod
    async def close(self) -> None:
        """Stop serving, end every session, release sockets and descriptors."""


class TcpEmulator(EmulatorServer):
    """An asyncio TCP server: one meter connection per TCP connection."""

    def __init__(self, meter: MeterModel, *, simulate_baud: bool = False) -> None:
        self.meter = meter
        self.simulate_baud = simulate_baud
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, host, port)
        except OSError as exc:
            raise LocalProtocolError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        address = self._server.sockets[0].getsockname()
        self.port = int(address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"tcp://{shown}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        port = _TcpPort(reader, writer)
        try:
            await LineSession(self.meter, port, simulate_baud=self.simulate_baud).run()
        except asyncio.CancelledError:
            pass  # closing: asyncio's stream callback would log a cancelled handler as an error
        finally:
            port.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class PtyEmulator(EmulatorServer):
    """One meter on a pseudo-terminal; clients open :attr:`path` like a serial port."""

    def __init__(
        self, meter: MeterModel, *, check_line: bool = False, simulate_baud: bool = False, seed: int = 0
    ) -> None:
        self.meter = meter
        self._port = PtyPort(check_line, seed)
        self.path = self._port.path
        self.url = self.path
        self.session = LineSession(meter, self._port, simulate_baud=simulate_baud)
        self._task = asyncio.get_running_loop().create_task(self.session.run())

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._port.close()


async def serve_tcp(
    meter: MeterModel, host: str = "127.0.0.1", port: int = 0, *, simulate_baud: bool = False
) -> TcpEmulator:
    """Serve ``meter`` on TCP (port 0 picks a free one; see ``.url``)."""
    server = TcpEmulator(meter, simulate_baud=simulate_baud)
    await server.start(host, port)
    return server


async def serve_pty(
    meter: MeterModel, *, check_line: bool = False, simulate_baud: bool = False, seed: int = 0
) -> PtyEmulator:
    """Serve ``meter`` on a new pseudo-terminal (see ``.path``); ``seed`` drives the line noise."""
    try:
        return PtyEmulator(meter, check_line=check_line, simulate_baud=simulate_baud, seed=seed)
    except OSError as exc:
        raise LocalProtocolError(f"cannot open a pseudo-terminal: {exc.strerror or exc}") from None


async def open_server(
    meter: MeterModel, listen: str, *, simulate_baud: bool = False, check_line: bool = False
) -> EmulatorServer:
    """Start the server ``listen`` names: ``tcp://HOST:PORT`` or ``pty``."""
    if listen == "pty":
        return await serve_pty(
            meter, check_line=check_line, simulate_baud=simulate_baud, seed=meter.faults.seed
        )
    host, port = parse_tcp_url(listen)
    if check_line:
        raise LocalProtocolError("check_line needs a serial line (pty); TCP has no rate to check")
    return await serve_tcp(meter, host, port, simulate_baud=simulate_baud)


def parse_listen(listen: str, schemes: tuple[str, ...] = ("tcp",)) -> tuple[str, str, int]:
    """``pty`` or ``SCHEME://HOST:PORT`` (one of ``schemes``) into (scheme, host, port)."""
    if listen == "pty":
        return "pty", "", 0
    scheme, sep, rest = listen.partition("://")
    host, colon, port = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or scheme not in schemes or not colon or not host or not port.isdigit() or int(port) > 65535:
        forms = ", ".join(f"{name}://HOST:PORT" for name in schemes)
        raise LocalProtocolError(f"listen address {listen!r}: expected {forms} or pty")
    return scheme, host, int(port)


def parse_tcp_url(listen: str) -> tuple[str, int]:
    """``tcp://127.0.0.1:8000`` into host and port."""
    scheme, host, port = parse_listen(listen)
    if scheme != "tcp":
        raise LocalProtocolError(f"listen address {listen!r}: expected tcp://HOST:PORT or pty")
    return host, port


# ------------------------------------------------------------------------------------------------
# in a background thread
# ------------------------------------------------------------------------------------------------
class EmulatorThread(BackgroundServer):
    """A server in a background thread with its own event loop; ``with`` starts and stops it.

    ``meter`` is a model, a description, or ``None`` for the built-in meter.
    """

    def __init__(
        self,
        meter: MeterModel | MeterDescription | None = None,
        listen: str = "tcp://127.0.0.1:0",
        *,
        simulate_baud: bool = False,
        check_line: bool = False,
        start_timeout: float = 10.0,
    ) -> None:
        super().__init__(listen, start_timeout)
        self.meter = meter if isinstance(meter, MeterModel) else MeterModel(meter)
        self.simulate_baud = simulate_baud
        self.check_line = check_line
        self.server: EmulatorServer | None = None

    async def _open(self) -> EmulatorServer:
        self.server = await open_server(
            self.meter, self.listen, simulate_baud=self.simulate_baud, check_line=self.check_line
        )
        return self.server
