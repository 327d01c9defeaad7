"""Serving the emulated DLMS meter in real time: HDLC or the wrapper over TCP, the wrapper over UDP,
HDLC on a pseudo-terminal (optionally behind the mode E sign-on), and scheduled pushes.

The only module of the DLMS emulator that touches sockets, ptys and the clock. Each line runs a
sans-io :class:`~.session.LinkSession` (or :class:`~.session.ModeESession`): what arrives goes in
stamped with the monotonic clock, ``time_passed`` runs at the session's deadline, and what comes
out is written no earlier than its ``not_before``. A session that closes itself (idle timeout)
ends its TCP connection. Pushes go to each push setup's destination every ``interval`` seconds
and whenever a client invokes the push method.

:class:`DlmsEmulatorThread` runs a server in a background thread for tests and demos.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self

from meterlink.emulator.server import _PtyPort
from meterlink.errors import LocalProtocolError, MeterlinkError
from meterlink.obis import Obis

from .description import SESSION, DlmsDescription
from .objects import DlmsMeter
from .session import LinkSession, ModeESession, Outgoing, PushSender

__all__ = [
    "DlmsEmulatorThread",
    "DlmsPtyServer",
    "DlmsServer",
    "DlmsTcpServer",
    "DlmsUdpServer",
    "live_meter",
    "open_dlms_server",
    "parse_listen",
]

log = logging.getLogger("meterlink.emulator.dlms")

Session = LinkSession | ModeESession
_READ_SIZE: Final = 4096
_UDP_SWEEP: Final = 1.0
"""Seconds between looks for idle UDP sessions."""


def parse_listen(listen: str) -> tuple[str, str, int]:
    """``tcp://HOST:PORT``, ``udp://HOST:PORT`` or ``pty`` into (scheme, host, port)."""
    if listen == "pty":
        return "pty", "", 0
    scheme, sep, rest = listen.partition("://")
    host, colon, port = rest.rpartition(":")
    host = host.strip("[]")
    if (
        scheme not in ("tcp", "udp")
        or not sep
        or not colon
        or not host
        or not port.isdigit()
        or int(port) > 65535
    ):
        raise LocalProtocolError(
            f"listen address {listen!r}: expected tcp://HOST:PORT, udp://HOST:PORT or pty"
        )
    return scheme, host, int(port)


def _url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


# ------------------------------------------------------------------------------------------------
# one stream line in real time
# ------------------------------------------------------------------------------------------------
async def _run_stream(
    session: Session,
    incoming: asyncio.Queue[bytes | None],
    write: Callable[[bytes], object],
    *,
    on_switch: Callable[[int], None] | None = None,
) -> bool:
    """Feed ``session`` from ``incoming`` until the peer goes (True) or the session closes itself."""
    while not (isinstance(session, LinkSession) and session.closed):
        deadline = session.deadline
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            async with asyncio.timeout(timeout):
                data = await incoming.get()
        except TimeoutError:
            data = b""
        if data is None:
            return True
        now = time.monotonic()
        if data:
            session.receive_data(data, now)
        session.time_passed(now)
        for item in session.data_to_send():
            await _send_at(item, write)
        if on_switch is not None and isinstance(session, ModeESession):
            on_switch(session.baud_rate)
    return False


async def _send_at(item: Outgoing, write: Callable[[bytes], object]) -> None:
    wait = item.not_before - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)
    result = write(item.data)
    if asyncio.iscoroutine(result):
        await result


# ------------------------------------------------------------------------------------------------
# servers
# ------------------------------------------------------------------------------------------------
class DlmsServer(ABC):
    """A running DLMS emulator: where to connect (:attr:`url`) and how to stop it."""

    url: str

    def __init__(self, meter: DlmsMeter) -> None:
        self.meter = meter
        self._push_task: asyncio.Task[None] | None = None
        self._udp_out: asyncio.DatagramTransport | None = None
        self.lines: dict[Session, asyncio.Queue[bytes | None]] = {}
        """Stream lines being served, each with the queue its loop waits on (to wake it)."""

    def start_pushes(self) -> None:
        """Run the push schedule (every push setup with an interval and a destination)."""
        self._push_task = asyncio.get_running_loop().create_task(self._pushes())

    async def _pushes(self) -> None:
        senders: dict[tuple[int, Obis], PushSender] = {}
        due: dict[tuple[int, Obis], float] = {}
        start = time.monotonic()
        for device, setup in self.meter.push_setups():
            key = (device.address, setup.obis)
            interval = setup.params["interval"]
            if interval is not None and setup.params["destination"]:
                due[key] = start + float(interval)
        while True:
            now = time.monotonic()
            ready = [key for key, at in due.items() if at <= now]
            while self.meter.push_requests:
                ready.append(self.meter.push_requests.popleft())
            for key in ready:
                sender = senders.get(key) or senders.setdefault(key, PushSender(self.meter, *key))
                if key in due:
                    interval = float(sender.setup.params["interval"])
                    while due[key] <= now:
                        due[key] += interval
                if sender.destination == SESSION:
                    self.push_on_lines(*key, now)
                elif sender.destination:
                    try:
                        await self._deliver(sender.destination, sender.frames(now))
                    except (OSError, MeterlinkError) as exc:
                        log.debug("push to %s failed: %s", sender.destination, exc)
            wake = min(due.values(), default=now + 0.05)
            await asyncio.sleep(min(max(0.0, wake - time.monotonic()), 0.05))

    def push_on_lines(self, logical: int, obis: Obis, now: float) -> int:
        """A push over the open lines whose client it is for (destination ``session``)."""
        count = 0
        for session, wake in list(self.lines.items()):
            pushed = session.push(logical, obis, now)
            if pushed:
                count += pushed
                wake.put_nowait(b"")  # the line's loop sends what the session queued
        return count

    async def _deliver(self, destination: str, chunks: list[bytes]) -> None:
        scheme, rest = destination.split("://", 1)
        host, _, port_text = rest.rpartition(":")
        port = int(port_text)
        loop = asyncio.get_running_loop()
        if scheme == "udp":
            if self._udp_out is None:
                transport, _ = await loop.create_datagram_endpoint(
                    asyncio.DatagramProtocol, family=socket.AF_INET
                )
                self._udp_out = transport
            for chunk in chunks:
                self._udp_out.sendto(chunk, (host.strip("[]"), port))
            return
        _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), port), 5.0)
        try:
            writer.write(b"".join(chunks))
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def close(self) -> None:
        """Stop serving, end every session, release sockets and descriptors."""
        if self._push_task is not None:
            self._push_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._push_task
        if self._udp_out is not None:
            self._udp_out.close()
        await self._close()

    @abstractmethod
    async def _close(self) -> None: ...


class DlmsTcpServer(DlmsServer):
    """HDLC or the wrapper over TCP: one line (one HDLC link) per TCP connection."""

    def __init__(self, meter: DlmsMeter, transport: str = "hdlc") -> None:
        super().__init__(meter)
        self.transport = transport
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, host, port)
        except OSError as exc:
            raise LocalProtocolError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.url = _url("tcp", host, self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        incoming: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                while data := await reader.read(_READ_SIZE):
                    incoming.put_nowait(data)
            except (ConnectionError, OSError):
                pass
            incoming.put_nowait(None)

        async def write(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        reading = asyncio.get_running_loop().create_task(pump())
        try:
            session = LinkSession(self.meter, self.transport, now=time.monotonic())
            self.lines[session] = incoming
            await _run_stream(session, incoming, write)
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            self.lines = {k: v for k, v in self.lines.items() if v is not incoming}
            reading.cancel()
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            self._tasks.discard(task)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DlmsUdpServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.server.datagram(data, (str(addr[0]), int(addr[1])))


class DlmsUdpServer(DlmsServer):
    """The wrapper over UDP: one session per client address, dropped when idle."""

    def __init__(self, meter: DlmsMeter) -> None:
        super().__init__(meter)
        self.sessions: dict[tuple[str, int], LinkSession] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.url = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(host, port)
            )
        except OSError as exc:
            raise LocalProtocolError(f"cannot listen on udp {host}:{port}: {exc.strerror or exc}") from None
        self._transport = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        self.url = _url("udp", host, self.port)
        self._sweeper = loop.create_task(self._sweep())

    def datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        now = time.monotonic()
        session = self.sessions.get(addr)
        if session is None or session.closed:
            session = self.sessions[addr] = LinkSession(self.meter, "wrapper", datagrams=True, now=now)
        session.receive_data(data, now)
        self._flush(session, addr)

    def push_on_lines(self, logical: int, obis: Obis, now: float) -> int:
        count = 0
        for addr, session in list(self.sessions.items()):
            pushed = session.push(logical, obis, now)
            if pushed:
                count += pushed
                self._flush(session, addr)
        return count

    def _flush(self, session: LinkSession, addr: tuple[str, int]) -> None:
        if self._transport is None:
            return
        for item in session.data_to_send():
            self._transport.sendto(item.data, addr)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_UDP_SWEEP)
            now = time.monotonic()
            for addr, session in list(self.sessions.items()):
                session.time_passed(now)
                self._flush(session, addr)
                if session.closed:
                    del self.sessions[addr]

    async def _close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._transport is not None:
            self._transport.close()


class DlmsPtyServer(DlmsServer):
    """HDLC on a pseudo-terminal (:attr:`path`), optionally behind the mode E sign-on.

    The line outlives its sessions: when the client disconnects (DISC) or goes quiet, the meter
    waits for the next one (a fresh sign-on in mode E).
    """

    def __init__(self, meter: DlmsMeter, *, mode_e: bool = False) -> None:
        super().__init__(meter)
        self.mode_e = mode_e
        try:
            self._port = _PtyPort(False, 0)
        except OSError as exc:
            raise LocalProtocolError(f"cannot open a pseudo-terminal: {exc.strerror or exc}") from None
        self.path = self._port.path
        self.url = self.path
        self.baud_rate = 300
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            now = time.monotonic()
            session: Session = (
                ModeESession(self.meter, now=now) if self.mode_e else LinkSession(self.meter, now=now)
            )
            self.lines = {session: self._port.incoming}
            try:
                ended = await _run_stream(
                    session, self._port.incoming, self._port.write, on_switch=self._switched
                )
            finally:
                self.lines = {}
            if ended:
                return  # the port itself went away

    def _switched(self, baud_rate: int) -> None:
        self.baud_rate = baud_rate  # a pty has no real rate: only recorded

    async def _close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._port.close()


async def open_dlms_server(
    meter: DlmsMeter, listen: str, *, transport: str | None = None, mode_e: bool = False
) -> DlmsServer:
    """Start what ``listen`` names (``tcp://``, ``udp://``, ``pty``) and the push schedule.

    ``transport`` is ``hdlc`` or ``wrapper``; default: the wrapper on TCP and UDP (as the client
    and ``meterlink dlms`` default to it), HDLC on a pty. ``mode_e`` (pty only) puts the
    IEC 62056-21 sign-on first.
    """
    scheme, host, port = parse_listen(listen)
    chosen = transport or ("hdlc" if scheme == "pty" else "wrapper")
    if chosen not in ("hdlc", "wrapper"):
        raise LocalProtocolError(f"transport is hdlc or wrapper, not {chosen!r}")
    if mode_e and scheme != "pty":
        raise LocalProtocolError("mode E needs a serial line: --listen pty")
    if mode_e and chosen != "hdlc":
        raise LocalProtocolError("mode E hands over to HDLC, not the wrapper")
    server: DlmsServer
    if scheme == "udp":
        if chosen != "wrapper":
            raise LocalProtocolError("UDP carries the wrapper only (--transport wrapper)")
        udp = DlmsUdpServer(meter)
        await udp.start(host, port)
        server = udp
    elif scheme == "tcp":
        tcp = DlmsTcpServer(meter, chosen)
        await tcp.start(host, port)
        server = tcp
    else:
        if chosen != "hdlc":
            raise LocalProtocolError("a serial line carries HDLC (--transport hdlc)")
        server = DlmsPtyServer(meter, mode_e=mode_e)
    server.start_pushes()
    return server


def live_meter(description: DlmsDescription | None = None) -> DlmsMeter:
    """A meter on the monotonic clock, showing the host's local time unless the description fixes it."""
    origin = None
    if description is None or description.clock.origin is None:
        origin = dt.datetime.now().replace(microsecond=0)
    return DlmsMeter(description, start=time.monotonic(), origin=origin)


# ------------------------------------------------------------------------------------------------
# in a background thread
# ------------------------------------------------------------------------------------------------
class DlmsEmulatorThread:
    """A DLMS emulator in a background thread with its own event loop; ``with`` starts and stops it.

    ``meter`` is a :class:`DlmsMeter`, a description, or None for the built-in meter. :attr:`url`
    says where to connect: ``tcp://127.0.0.1:PORT``, ``udp://...`` or the pty's path.
    """

    def __init__(
        self,
        meter: DlmsMeter | DlmsDescription | None = None,
        listen: str = "tcp://127.0.0.1:0",
        *,
        transport: str | None = None,
        mode_e: bool = False,
        start_timeout: float = 10.0,
    ) -> None:
        self.meter = meter if isinstance(meter, DlmsMeter) else live_meter(meter)
        self.listen = listen
        self.transport = transport
        self.mode_e = mode_e
        self.start_timeout = start_timeout
        self.url = ""
        self.server: DlmsServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> Self:
        """Start serving; returns once :attr:`url` is valid."""
        if self._thread is not None:
            raise LocalProtocolError("emulator thread already started")
        self._thread = threading.Thread(target=self._main, name=f"meterlink-dlms {self.listen}", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout):  # pragma: no cover - a stuck loop
            raise LocalProtocolError("emulator did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            error, self._error = self._error, None
            if isinstance(error, MeterlinkError):
                raise error
            raise LocalProtocolError(f"emulator failed to start: {error}") from error
        return self

    def call(self, function: Callable[[], None]) -> None:
        """Run ``function`` in the emulator's thread (to poke the meter safely)."""
        if self._loop is None:
            raise LocalProtocolError("emulator thread not running")
        done = threading.Event()

        def run() -> None:
            try:
                function()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(self.start_timeout)

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (idempotent)."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = self._loop = self._stop = None

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # handed to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.server = await open_dlms_server(
            self.meter, self.listen, transport=self.transport, mode_e=self.mode_e
        )
        self.url = self.server.url
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
