"""Shared bits of the emulator tests: small descriptions, the example meters, raw line clients."""

from __future__ import annotations

import datetime as dt
import os
import select
import socket
import termios
import time
import tty
from collections.abc import Callable
from pathlib import Path

from meterlink.emulator import MeterDescription, MeterModel, load_description, parse_description
from meterlink.iec62056_21.connection import ClientConnection
from meterlink.iec62056_21.loopback import Wire

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "meters"
ORIGIN = dt.datetime(2024, 3, 1, 8, 0, 0)
"""Every model in the tests starts its clock here at now = 0."""


def describe(identification: str = "/EMH5\\@D4LZQJ-XC", extra: str = "", meter: str = "") -> MeterDescription:
    """A small IEC meter; ``extra`` adds TOML tables, ``meter`` lines to [meter]."""
    text = f"""
[meter]
identification = '{identification}'
{meter}

[registers]
"0.0.0" = "12345678"
[registers."1.8.0"]
value = "001234.567"
unit = "kWh"
rate_per_hour = 1.0

[readout]
layout = ["0.0.0", "1.8.0"]
{extra}
"""
    return parse_description(text)


def model(description: MeterDescription | None = None, **kwargs: object) -> MeterModel:
    return MeterModel(description or describe(), start=0.0, origin=ORIGIN, **kwargs)  # type: ignore[arg-type]


def emh() -> MeterModel:
    return model(load_description(EXAMPLES / "emh-lzqj.toml"))


def ek280() -> MeterModel:
    return model(load_description(EXAMPLES / "elster-ek280.toml"))


def client_of(w: Wire) -> ClientConnection:
    conn = w.client.connection
    assert isinstance(conn, ClientConnection)
    return conn


# -- raw clients for the servers -------------------------------------------------------------------
def read_until(source: socket.socket | int, done: Callable[[bytes], bool], timeout: float = 3.0) -> bytes:
    """Read from a socket or fd until ``done(buffer)`` or the timeout (then return what came)."""
    buffer = b""
    end = time.monotonic() + timeout
    while not done(buffer):
        left = end - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([source], [], [], min(left, 0.05))
        if not ready:
            continue
        chunk = source.recv(4096) if isinstance(source, socket.socket) else os.read(source, 4096)
        if not chunk:
            break
        buffer += chunk
    return buffer


def line_end(buffer: bytes) -> bool:
    return buffer.endswith(b"\r\n")


def block_end(buffer: bytes) -> bool:
    """A framed message is complete: ETX or EOT, then the BCC."""
    return len(buffer) >= 2 and buffer[-2] in (0x03, 0x04)


def tcp_client(url: str) -> socket.socket:
    host, _, port = url.removeprefix("tcp://").rpartition(":")
    return socket.create_connection((host, int(port)), timeout=5)


def open_pty(path: str, rate: int = 300) -> int:
    """Open the emulator's pty as a raw serial line at ``rate``."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    set_rate(fd, rate)
    return fd


def set_rate(fd: int, rate: int) -> None:
    attributes = termios.tcgetattr(fd)
    attributes[4] = attributes[5] = getattr(termios, f"B{rate}")
    termios.tcsetattr(fd, termios.TCSANOW, attributes)
