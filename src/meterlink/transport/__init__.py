"""Links to meters: serial ports (pyserial, RFC 2217) and raw TCP, blocking and asyncio.

Transports move bytes and set the line (rate, 7E1/8N1); they never parse a protocol. The
protocol cores decide what to send and when to switch; the clients carry that out over a link.
"""

from __future__ import annotations

from .base import AsyncLink, Direction, Link, Trace, add_even_parity, strip_parity
from .serial import AsyncSerialLink, SerialLink
from .tcp import AsyncTcpLink, TcpLink
from .url import LinkSpec, SerialSpec, TcpSpec, open_async_link, open_link, parse_url

__all__ = [
    "AsyncLink",
    "AsyncSerialLink",
    "AsyncTcpLink",
    "Direction",
    "Link",
    "LinkSpec",
    "SerialLink",
    "SerialSpec",
    "TcpLink",
    "TcpSpec",
    "Trace",
    "add_even_parity",
    "open_async_link",
    "open_link",
    "parse_url",
    "strip_parity",
]
