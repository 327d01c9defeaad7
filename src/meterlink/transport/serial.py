"""Serial links through pyserial: local ports, ``rfc2217://`` converters, ``socket://`` and ``loop://``.

Ports open at 300 Bd 7E1, the rate and format every IEC 62056-21 sign-on starts with. Echo
suppression (RS-485 adapters, optical heads) and the wake-up NUL train belong to the protocol
core: this module only moves bytes and sets the line.

Reads never use pyserial's blocking timeout: changing ``Serial.timeout`` reconfigures the port
(and, over RFC 2217, costs a round trip to the converter). The port stays non-blocking and the
link waits with ``select`` on the descriptor where there is one, or polls briefly where there is
none (RFC 2217).
"""

from __future__ import annotations

import asyncio
import errno
import select
import sys
import time
from typing import Any, Final, Self

import serial

from meterlink.errors import LinkError, LocalProtocolError

from .base import Trace, add_even_parity, check_line, emit, line_time, strip_parity

__all__ = ["AsyncSerialLink", "SerialLink"]

WRITE_TIMEOUT: Final = 10.0
"""A write that cannot hand its bytes to the driver within this time means the port is stuck."""
_CHUNK: Final = 4096
_POLL: Final = 0.005
_NO_LINE_CONTROL: Final = ("socket://",)
"""pyserial URL schemes that accept line settings but cannot apply them."""

if sys.platform != "win32":
    import termios

    _PORT_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError, termios.error)
    """pyserial lets ``termios.error`` (not an OSError) through from tcsetattr and tcdrain."""
else:  # pragma: no cover - no termios on Windows
    _PORT_ERRORS = (serial.SerialException, OSError)


def _format(data_bits: int) -> dict[str, Any]:
    if data_bits == 7:
        return {"bytesize": serial.SEVENBITS, "parity": serial.PARITY_EVEN, "stopbits": serial.STOPBITS_ONE}
    return {"bytesize": serial.EIGHTBITS, "parity": serial.PARITY_NONE, "stopbits": serial.STOPBITS_ONE}


def _fileno(port: serial.SerialBase) -> int | None:
    """The descriptor to wait on, or None where pyserial has none (RFC 2217)."""
    try:
        fd = port.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None


class SerialLink:
    """A blocking :class:`~meterlink.transport.base.Link` over a pyserial port.

    ``software_parity=True`` runs the port at 8N1 and adds/strips the parity bit in software
    while the link is at 7 data bits (a converter that passes raw 8-bit bytes).
    """

    def __init__(
        self,
        port: serial.SerialBase,
        *,
        data_bits: int | None = None,
        software_parity: bool = False,
        can_set_line: bool = True,
        trace: Trace | None = None,
    ) -> None:
        self._port = port
        self.trace = trace
        self._software_parity = software_parity
        self._can_set_line = can_set_line
        self._baud_rate = int(port.baudrate)
        if data_bits is None:
            data_bits = 8 if port.bytesize == serial.EIGHTBITS and not software_parity else 7
        check_line(self._baud_rate, data_bits)
        self._data_bits = data_bits
        self._fd = _fileno(port)
        self._tx_done = 0.0
        self._closed = False

    @classmethod
    def open(
        cls,
        port: str,
        baud_rate: int = 300,
        data_bits: int = 7,
        *,
        software_parity: bool = False,
        trace: Trace | None = None,
    ) -> Self:
        """Open a device path (``/dev/ttyUSB0``, ``COM3``) or a pyserial URL."""
        check_line(baud_rate, data_bits)
        wire_bits = 8 if software_parity else data_bits
        try:
            handle = serial.serial_for_url(
                port, baudrate=baud_rate, timeout=0, write_timeout=WRITE_TIMEOUT, **_format(wire_bits)
            )
        except ValueError as exc:
            raise LocalProtocolError(f"cannot open serial port {port!r}: {exc}") from exc
        except _PORT_ERRORS as exc:
            raise LinkError(f"cannot open serial port {port!r}: {exc}") from exc
        return cls(
            handle,
            data_bits=data_bits,
            software_parity=software_parity,
            can_set_line=not port.startswith(_NO_LINE_CONTROL),
            trace=trace,
        )

    # -- state --------------------------------------------------------------------------------
    @property
    def port(self) -> serial.SerialBase:
        """The pyserial object, for settings this link does not cover (RS-485 mode, DTR/RTS)."""
        return self._port

    @property
    def baud_rate(self) -> int:
        return self._baud_rate

    @property
    def data_bits(self) -> int:
        return self._data_bits

    @property
    def can_set_line(self) -> bool:
        return self._can_set_line

    @property
    def software_parity(self) -> bool:
        return self._software_parity

    def _check_open(self) -> None:
        if self._closed:
            raise LinkError("the serial link is closed")

    def _parity_in_software(self) -> bool:
        return self._software_parity and self._data_bits == 7

    # -- I/O ----------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self._check_open()
        wire = add_even_parity(data) if self._parity_in_software() else bytes(data)
        try:
            self._port.write(wire)
        except serial.SerialTimeoutException as exc:
            raise LinkError(f"serial write did not complete within {WRITE_TIMEOUT} s") from exc
        except _PORT_ERRORS as exc:
            raise LinkError(f"serial write failed: {exc}") from exc
        emit(self.trace, "tx", wire)
        self._tx_done = max(time.monotonic(), self._tx_done) + line_time(len(wire), self._baud_rate)

    def _flush(self) -> None:
        """Wait for the driver's transmit buffer (``tcdrain`` on POSIX)."""
        self._check_open()
        try:
            self._port.flush()
        except _PORT_ERRORS as exc:
            raise LinkError(f"serial drain failed: {exc}") from exc

    def _line_busy_for(self) -> float:
        """Line time still owed to bytes written: USB adapters and RFC 2217 report drained early."""
        return max(0.0, self._tx_done - time.monotonic())

    def drain(self) -> None:
        self._flush()
        time.sleep(self._line_busy_for())

    def _read_now(self) -> bytes:
        """Whatever the port holds, without waiting."""
        self._check_open()
        try:
            data = bytes(self._port.read(_CHUNK))
        except _PORT_ERRORS as exc:
            raise LinkError(f"serial read failed: {exc}") from exc
        if data:
            emit(self.trace, "rx", data)
            if self._parity_in_software():
                data = strip_parity(data)
        return data

    def read(self, timeout: float) -> bytes:
        data = self._read_now()
        if data or timeout <= 0:
            return data
        if self._fd is not None:
            try:
                ready, _, _ = select.select([self._fd], [], [], timeout)
            except (OSError, ValueError) as exc:
                raise LinkError(f"serial read failed: {exc}") from exc
            return self._read_now() if ready else b""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return self._read_now()
            time.sleep(min(_POLL, left))
            if data := self._read_now():
                return data

    def set_line(self, baud_rate: int, data_bits: int) -> None:
        check_line(baud_rate, data_bits)
        self._check_open()
        if self._can_set_line:
            wire_bits = 8 if self._software_parity else data_bits
            wanted: dict[str, Any] = {"baudrate": baud_rate, **_format(wire_bits)}
            changed = {key: value for key, value in wanted.items() if getattr(self._port, key) != value}
            if changed:
                try:
                    self._port.apply_settings(changed)
                except ValueError as exc:
                    raise LocalProtocolError(f"port refuses {baud_rate} Bd {data_bits} bits: {exc}") from exc
                except _PORT_ERRORS as exc:
                    hint = ""
                    if "baudrate" not in changed and getattr(exc, "args", (None,))[0] == errno.EINVAL:
                        hint = (
                            " (a pseudo-terminal cannot change the character format alone:"
                            " open it with software parity, parity=sw7e1)"
                        )
                    raise LinkError(
                        f"cannot switch the line to {baud_rate} Bd {data_bits} bits: {exc}{hint}"
                    ) from exc
        self._baud_rate = baud_rate
        self._data_bits = data_bits
        self._tx_done = time.monotonic()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._port.close()
        except _PORT_ERRORS as exc:
            raise LinkError(f"closing the serial port failed: {exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self._baud_rate} Bd {self._data_bits} bits"
        return f"SerialLink({self._port.portstr!r}, {state})"


class AsyncSerialLink:
    """An :class:`~meterlink.transport.base.AsyncLink` over the same pyserial port.

    pyserial has no asyncio API: reads wait on the descriptor with ``loop.add_reader`` (polling
    where there is none), ``tcdrain`` and line changes (an RFC 2217 round trip) run in a worker
    thread, and writes go straight to the driver, whose buffer easily holds an IEC message.
    """

    def __init__(self, link: SerialLink) -> None:
        self._link = link

    @classmethod
    async def open(
        cls,
        port: str,
        baud_rate: int = 300,
        data_bits: int = 7,
        *,
        software_parity: bool = False,
        trace: Trace | None = None,
    ) -> Self:
        link = await asyncio.to_thread(
            SerialLink.open, port, baud_rate, data_bits, software_parity=software_parity, trace=trace
        )
        return cls(link)

    @property
    def sync_link(self) -> SerialLink:
        """The blocking link underneath (same port, same state)."""
        return self._link

    @property
    def trace(self) -> Trace | None:
        return self._link.trace

    @trace.setter
    def trace(self, value: Trace | None) -> None:
        self._link.trace = value

    @property
    def baud_rate(self) -> int:
        return self._link.baud_rate

    @property
    def data_bits(self) -> int:
        return self._link.data_bits

    @property
    def can_set_line(self) -> bool:
        return self._link.can_set_line

    async def write(self, data: bytes) -> None:
        self._link.write(data)

    async def drain(self) -> None:
        await asyncio.to_thread(self._link._flush)
        await asyncio.sleep(self._link._line_busy_for())

    async def read(self, timeout: float) -> bytes:
        data = self._link._read_now()
        if data or timeout <= 0:
            return data
        loop = asyncio.get_running_loop()
        fd = self._link._fd
        if fd is not None:
            ready: asyncio.Future[None] = loop.create_future()

            def wake() -> None:
                if not ready.done():
                    ready.set_result(None)

            try:
                loop.add_reader(fd, wake)
            except (NotImplementedError, OSError, ValueError):
                pass  # a loop without add_reader (Windows proactor): poll below
            else:
                try:
                    async with asyncio.timeout(timeout):
                        await ready
                except TimeoutError:
                    pass
                finally:
                    loop.remove_reader(fd)
                return self._link._read_now()
        end = loop.time() + timeout
        while True:
            left = end - loop.time()
            if left <= 0:
                return self._link._read_now()
            await asyncio.sleep(min(_POLL, left))
            if data := self._link._read_now():
                return data

    async def set_line(self, baud_rate: int, data_bits: int) -> None:
        check_line(baud_rate, data_bits)
        await asyncio.to_thread(self._link.set_line, baud_rate, data_bits)

    async def close(self) -> None:
        self._link.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Async{self._link!r}"
