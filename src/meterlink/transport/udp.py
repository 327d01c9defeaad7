"""UDP links for the DLMS wrapper (IEC 62056-47 over UDP, port 4059): one datagram per write and per read.

A UDP "link" is a connected datagram socket: only the meter's address is heard, every
:meth:`UdpLink.write` sends exactly one datagram, and every :meth:`UdpLink.read` returns exactly
one (never a join of two, never a part), which is what the wrapper's datagram mode expects. There
is no line to set: :attr:`can_set_line` is False and :meth:`set_line` only records the request,
so the links fit the :class:`~meterlink.transport.base.Link` protocols the clients run on.

An ICMP "port unreachable" for an earlier datagram surfaces as
:class:`~meterlink.errors.LinkError` on the next read, as on a refused TCP connection.
"""

from __future__ import annotations

import asyncio
import select
import socket
from typing import Final, Self

from meterlink.errors import LinkError, LocalProtocolError

from .base import Trace, check_line, emit

__all__ = ["MAX_DATAGRAM", "AsyncUdpLink", "UdpLink"]

MAX_DATAGRAM: Final = 65535
_QUEUE: Final = 256
"""Datagrams an asyncio link keeps before it drops the oldest (a meter flooding pushes)."""


def _resolve(host: str, port: int) -> tuple[int, tuple[object, ...]]:
    if not host:
        raise LocalProtocolError("a UDP link needs a host")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise LocalProtocolError(f"UDP port must be 1-65535, got {port!r}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise LinkError(f"cannot resolve {host}:{port}: {exc}") from exc
    family, _, _, _, address = infos[0]
    return family, address


class _Line:
    """The rate bookkeeping a datagram link carries only to satisfy the Link protocol."""

    def __init__(self) -> None:
        self.baud_rate = 9600
        self.data_bits = 8

    def set(self, baud_rate: int, data_bits: int) -> None:
        check_line(baud_rate, data_bits)
        self.baud_rate, self.data_bits = baud_rate, data_bits


class UdpLink:
    """A blocking datagram link to one peer."""

    def __init__(self, sock: socket.socket, *, trace: Trace | None = None) -> None:
        self._sock = sock
        self._line = _Line()
        self.trace = trace
        self._closed = False
        sock.setblocking(False)

    @classmethod
    def connect(cls, host: str, port: int, *, trace: Trace | None = None) -> Self:
        """A socket bound to an ephemeral port and connected to ``host:port`` (no packet is sent)."""
        family, address = _resolve(host, port)
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            raise LinkError(f"cannot reach {host}:{port}: {exc}") from exc
        return cls(sock, trace=trace)

    @property
    def local_address(self) -> tuple[object, ...]:
        address: tuple[object, ...] = self._sock.getsockname()
        return address

    @property
    def baud_rate(self) -> int:
        return self._line.baud_rate

    @property
    def data_bits(self) -> int:
        return self._line.data_bits

    @property
    def can_set_line(self) -> bool:
        return False

    def _check_open(self) -> None:
        if self._closed:
            raise LinkError("the UDP link is closed")

    def write(self, data: bytes) -> None:
        """Send ``data`` as one datagram."""
        self._check_open()
        if len(data) > MAX_DATAGRAM:
            raise LocalProtocolError(f"{len(data)} bytes do not fit one UDP datagram")
        try:
            self._sock.send(data)
        except OSError as exc:
            raise LinkError(f"UDP send failed: {exc}") from exc
        emit(self.trace, "tx", data)

    def drain(self) -> None:
        self._check_open()

    def read(self, timeout: float) -> bytes:
        """One whole datagram, or ``b""`` if none arrived within ``timeout`` seconds."""
        self._check_open()
        try:
            ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data = self._sock.recv(MAX_DATAGRAM)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise LinkError(f"UDP receive failed: {exc}") from exc
        emit(self.trace, "rx", data)
        return data

    def set_line(self, baud_rate: int, data_bits: int) -> None:
        self._check_open()
        self._line.set(baud_rate, data_bits)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"UdpLink({'closed' if self._closed else 'open'})"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue(_QUEUE)

    def _put(self, item: bytes | Exception) -> None:
        if self.queue.full():
            self.queue.get_nowait()  # keep the newest: an old push is worth less than an answer
        self.queue.put_nowait(item)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._put(bytes(data))

    def error_received(self, exc: Exception) -> None:
        self._put(exc)


class AsyncUdpLink:
    """The asyncio twin of :class:`UdpLink`."""

    def __init__(
        self, transport: asyncio.DatagramTransport, protocol: _Protocol, *, trace: Trace | None
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._line = _Line()
        self.trace = trace
        self._closed = False

    @classmethod
    async def connect(cls, host: str, port: int, *, trace: Trace | None = None) -> Self:
        family, address = _resolve(host, port)
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                _Protocol,
                remote_addr=(str(address[0]), port),
                family=family,
            )
        except OSError as exc:
            raise LinkError(f"cannot reach {host}:{port}: {exc}") from exc
        return cls(transport, protocol, trace=trace)

    @property
    def baud_rate(self) -> int:
        return self._line.baud_rate

    @property
    def data_bits(self) -> int:
        return self._line.data_bits

    @property
    def can_set_line(self) -> bool:
        return False

    def _check_open(self) -> None:
        if self._closed:
            raise LinkError("the UDP link is closed")

    async def write(self, data: bytes) -> None:
        self._check_open()
        if len(data) > MAX_DATAGRAM:
            raise LocalProtocolError(f"{len(data)} bytes do not fit one UDP datagram")
        try:
            self._transport.sendto(bytes(data))
        except OSError as exc:
            raise LinkError(f"UDP send failed: {exc}") from exc
        emit(self.trace, "tx", data)

    async def drain(self) -> None:
        self._check_open()

    async def read(self, timeout: float) -> bytes:
        self._check_open()
        queue = self._protocol.queue
        try:
            if queue.empty():
                async with asyncio.timeout(max(0.0, timeout)):
                    item = await queue.get()
            else:
                item = queue.get_nowait()
        except TimeoutError:
            return b""
        if isinstance(item, Exception):
            raise LinkError(f"UDP receive failed: {item}") from item
        emit(self.trace, "rx", item)
        return item

    async def set_line(self, baud_rate: int, data_bits: int) -> None:
        self._check_open()
        self._line.set(baud_rate, data_bits)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncUdpLink({'closed' if self._closed else 'open'})"
