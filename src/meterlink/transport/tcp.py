"""Raw TCP links to transparent serial converters (Moxa and the like) and meter modems.

A raw socket cannot change the converter's line: :attr:`can_set_line` is False and
:meth:`set_line` only records the rate asked for. Converters that pass 8-bit bytes through
while the meter speaks 7E1 need *software parity* (``software_parity=True``): even parity is
added to every byte sent and bit 7 is cleared from every byte received, as long as the link is
at 7 data bits. Mode E's switch to 8N1 (``set_line(rate, 8)``) turns that off, so HDLC frames
pass untouched - the one line change a raw socket *can* make.

Bit 7 is cleared chunk by chunk, so bytes that arrive in the same chunk as the mode E
confirmation are cleared too; a meter does not send HDLC before the client's first frame, so
this does not happen in a conforming session.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
from typing import Final, Self

from meterlink.errors import LinkError

from .base import Trace, add_even_parity, check_line, emit, strip_parity

__all__ = ["AsyncTcpLink", "TcpLink"]

CONNECT_TIMEOUT: Final = 5.0
WRITE_TIMEOUT: Final = 10.0
_CHUNK: Final = 4096


class _Line:
    """Rate and format bookkeeping shared by the blocking and the asyncio socket link."""

    def __init__(self, software_parity: bool, baud_rate: int, data_bits: int) -> None:
        check_line(baud_rate, data_bits)
        self.software_parity = software_parity
        self.baud_rate = baud_rate
        self.data_bits = data_bits

    def outgoing(self, data: bytes) -> bytes:
        return add_even_parity(data) if self.software_parity and self.data_bits == 7 else bytes(data)

    def incoming(self, data: bytes) -> bytes:
        return strip_parity(data) if self.software_parity and self.data_bits == 7 else data

    def set(self, baud_rate: int, data_bits: int) -> None:
        check_line(baud_rate, data_bits)
        self.baud_rate = baud_rate
        self.data_bits = data_bits


class TcpLink:
    """A blocking :class:`~meterlink.transport.base.Link` over a connected TCP socket."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        software_parity: bool = False,
        baud_rate: int = 300,
        data_bits: int = 7,
        trace: Trace | None = None,
    ) -> None:
        self._sock = sock
        self._line = _Line(software_parity, baud_rate, data_bits)
        self.trace = trace
        self._closed = False
        sock.settimeout(WRITE_TIMEOUT)

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        *,
        software_parity: bool = False,
        timeout: float = CONNECT_TIMEOUT,
        trace: Trace | None = None,
    ) -> Self:
        """Connect to ``host:port`` within ``timeout`` seconds."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise LinkError(f"cannot connect to {host}:{port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, software_parity=software_parity, trace=trace)

    @property
    def baud_rate(self) -> int:
        return self._line.baud_rate

    @property
    def data_bits(self) -> int:
        return self._line.data_bits

    @property
    def can_set_line(self) -> bool:
        return False

    @property
    def software_parity(self) -> bool:
        return self._line.software_parity

    def _check_open(self) -> None:
        if self._closed:
            raise LinkError("the TCP link is closed")

    def write(self, data: bytes) -> None:
        self._check_open()
        wire = self._line.outgoing(data)
        try:
            self._sock.sendall(wire)
        except OSError as exc:
            raise LinkError(f"TCP send failed: {exc}") from exc
        emit(self.trace, "tx", wire)

    def drain(self) -> None:
        """Nothing to wait for here: the converter's UART is out of sight."""
        self._check_open()

    def read(self, timeout: float) -> bytes:
        self._check_open()
        try:
            ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data = self._sock.recv(_CHUNK)
        except OSError as exc:
            raise LinkError(f"TCP receive failed: {exc}") from exc
        if not data:
            raise LinkError("the converter closed the TCP connection")
        emit(self.trace, "rx", data)
        return self._line.incoming(data)

    def set_line(self, baud_rate: int, data_bits: int) -> None:
        self._check_open()
        self._line.set(baud_rate, data_bits)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.close()
        except OSError as exc:
            raise LinkError(f"closing the TCP link failed: {exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        parity = ", software 7E1" if self._line.software_parity else ""
        return f"TcpLink({'closed' if self._closed else 'open'}{parity})"


class AsyncTcpLink:
    """An :class:`~meterlink.transport.base.AsyncLink` over asyncio streams."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        software_parity: bool = False,
        baud_rate: int = 300,
        data_bits: int = 7,
        trace: Trace | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._line = _Line(software_parity, baud_rate, data_bits)
        self.trace = trace
        self._closed = False

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        software_parity: bool = False,
        timeout: float = CONNECT_TIMEOUT,
        trace: Trace | None = None,
    ) -> Self:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as exc:
            raise LinkError(f"cannot connect to {host}:{port}: {exc or 'timed out'}") from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, software_parity=software_parity, trace=trace)

    @property
    def baud_rate(self) -> int:
        return self._line.baud_rate

    @property
    def data_bits(self) -> int:
        return self._line.data_bits

    @property
    def can_set_line(self) -> bool:
        return False

    @property
    def software_parity(self) -> bool:
        return self._line.software_parity

    def _check_open(self) -> None:
        if self._closed:
            raise LinkError("the TCP link is closed")

    async def write(self, data: bytes) -> None:
        self._check_open()
        wire = self._line.outgoing(data)
        try:
            self._writer.write(wire)
            async with asyncio.timeout(WRITE_TIMEOUT):
                await self._writer.drain()
        except (OSError, TimeoutError) as exc:
            raise LinkError(f"TCP send failed: {exc or 'timed out'}") from exc
        emit(self.trace, "tx", wire)

    async def drain(self) -> None:
        self._check_open()

    async def read(self, timeout: float) -> bytes:
        self._check_open()
        try:
            # A zero timeout still returns what is buffered: read() does not suspend then.
            async with asyncio.timeout(max(0.0, timeout)):
                data = await self._reader.read(_CHUNK)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise LinkError(f"TCP receive failed: {exc}") from exc
        if not data:
            raise LinkError("the converter closed the TCP connection")
        emit(self.trace, "rx", data)
        return self._line.incoming(data)

    async def set_line(self, baud_rate: int, data_bits: int) -> None:
        self._check_open()
        self._line.set(baud_rate, data_bits)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(OSError):  # the peer went first: nothing left to release
            await self._writer.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        parity = ", software 7E1" if self._line.software_parity else ""
        return f"AsyncTcpLink({'closed' if self._closed else 'open'}{parity})"
