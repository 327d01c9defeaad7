"""What every link offers, blocking and asyncio, and the small helpers the links share.

A link moves bytes and sets the line; it never looks inside them. The protocol cores tell the
code around them *when* to send and *when* to switch the line (see
:class:`~meterlink.iec62056_21.events.SetLink`); a link only has to do it faithfully:

* ``write`` queues bytes; ``drain`` returns once they have physically left (``tcdrain`` plus
  the line time the UART still needs), because a rate switch before that garbles the tail;
* ``read(timeout)`` returns whatever has arrived, ``b""`` when nothing did within ``timeout``
  (a hard bound: no read ever waits longer);
* ``set_line(baud_rate, data_bits)`` switches between 7E1 (7) and 8N1 (8). Links that cannot
  change the rate (a raw TCP socket to a converter) report ``can_set_line = False`` and only
  record the request, except that a software-7E1 link honours the data bits;
* ``trace`` sees every chunk as it goes on or comes off the wire, with a
  :func:`time.monotonic` time stamp, for hex dumps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Literal, Protocol

from meterlink.errors import LocalProtocolError

__all__ = [
    "BITS_PER_CHARACTER",
    "AsyncLink",
    "Direction",
    "Link",
    "Trace",
    "add_even_parity",
    "check_line",
    "emit",
    "line_time",
    "strip_parity",
]

Direction = Literal["tx", "rx"]
Trace = Callable[[Direction, bytes, float], None]
"""``trace(direction, data, timestamp)``: ``"tx"`` bytes written, ``"rx"`` bytes read, as on the wire."""

BITS_PER_CHARACTER: Final = 10
"""Start, 7 data, parity, stop (7E1) or start, 8 data, stop (8N1): ten bit times either way."""

_EVEN_PARITY: Final = bytes((b & 0x7F) | (0x80 if (b & 0x7F).bit_count() % 2 else 0) for b in range(256))
_STRIP_PARITY: Final = bytes(b & 0x7F for b in range(256))


def add_even_parity(data: bytes) -> bytes:
    """The 7-bit characters of ``data`` with even parity in bit 7, as a 7E1 UART sends them."""
    return data.translate(_EVEN_PARITY)


def strip_parity(data: bytes) -> bytes:
    """``data`` with bit 7 cleared, as a 7E1 UART delivers it."""
    return data if data.isascii() else data.translate(_STRIP_PARITY)


def line_time(size: int, baud_rate: int) -> float:
    """Seconds ``size`` characters occupy the line at ``baud_rate``."""
    return size * BITS_PER_CHARACTER / baud_rate


def check_line(baud_rate: int, data_bits: int) -> None:
    """Reject line settings no link supports, before touching any hardware."""
    if not isinstance(baud_rate, int) or isinstance(baud_rate, bool) or baud_rate <= 0:
        raise LocalProtocolError(f"baud rate must be a positive integer, got {baud_rate!r}")
    if data_bits not in (7, 8):
        raise LocalProtocolError(f"data bits are 7 (7E1) or 8 (8N1), got {data_bits!r}")


def emit(trace: Trace | None, direction: Direction, data: bytes) -> None:
    """Call the trace hook, if any, for a non-empty chunk."""
    if trace is not None and data:
        trace(direction, data, time.monotonic())


class Link(Protocol):
    """A blocking byte link to a meter (serial port, RFC 2217 port, TCP socket)."""

    trace: Trace | None

    @property
    def baud_rate(self) -> int:
        """The rate last set (on links that cannot switch, the rate last asked for)."""
        ...

    @property
    def data_bits(self) -> int:
        """7 for 7E1, 8 for 8N1."""
        ...

    @property
    def can_set_line(self) -> bool:
        """Whether :meth:`set_line` really changes the rate on the wire."""
        ...

    def write(self, data: bytes) -> None:
        """Queue ``data`` for transmission."""
        ...

    def drain(self) -> None:
        """Return once everything written has left the transmitter."""
        ...

    def read(self, timeout: float) -> bytes:
        """Whatever arrived, waiting at most ``timeout`` seconds; ``b""`` if nothing did."""
        ...

    def set_line(self, baud_rate: int, data_bits: int) -> None:
        """Switch rate and character format (7 = 7E1, 8 = 8N1)."""
        ...

    def close(self) -> None:
        """Release the port or socket; further calls raise :class:`~meterlink.errors.LinkError`."""
        ...


class AsyncLink(Protocol):
    """The asyncio twin of :class:`Link`: the same calls, awaited."""

    trace: Trace | None

    @property
    def baud_rate(self) -> int: ...

    @property
    def data_bits(self) -> int: ...

    @property
    def can_set_line(self) -> bool: ...

    async def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    async def read(self, timeout: float) -> bytes: ...

    async def set_line(self, baud_rate: int, data_bits: int) -> None: ...

    async def close(self) -> None: ...
