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
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Final

from meterlink.emulator._thread import BackgroundServer
from meterlink.emulator.server import PtyPort
from meterlink.emulator.server import parse_listen as _parse_listen
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
    return _parse_listen(listen, ("tcp", "udp"))


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
            self._port = PtyPort(False, 0)
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
class DlmsEmulatorThread(BackgroundServer):
    """A DLMS emulator in a background thread with its own event loop; ``with`` starts and stops it.

    ``meter`` is a :class:`DlmsMeter`, a description, or None for the built-in meter. :attr:`url`
    says where to connect: ``tcp://127.0.0.1:PORT``, ``udp://...`` or the pty's path.
    """

    thread_name = "meterlink-dlms"

    def __init__(
        self,
        meter: DlmsMeter | DlmsDescription | None = None,
        listen: str = "tcp://127.0.0.1:0",
        *,
        transport: str | None = None,
        mode_e: bool = False,
        start_timeout: float = 10.0,
    ) -> None:
        super().__init__(listen, start_timeout)
        self.meter = meter if isinstance(meter, DlmsMeter) else live_meter(meter)
        self.transport = transport
        self.mode_e = mode_e
        self.server: DlmsServer | None = None

    async def _open(self) -> DlmsServer:
        self.server = await open_dlms_server(
            self.meter, self.listen, transport=self.transport, mode_e=self.mode_e
        )
        return self.server
