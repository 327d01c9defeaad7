"""Link URLs: one string in a configuration file or on a command line names a whole link.

=====================================================  ==========================================
``/dev/ttyUSB0``, ``COM3``                              local serial port, 300 Bd 7E1
``serial:///dev/ttyUSB0?baud=9600&parity=E``           the same, with rate and format
``tcp://10.0.0.5:4001``                                raw socket to a transparent converter
``tcp://10.0.0.5:4001?parity=sw7e1``                   ... that passes 8-bit bytes: software 7E1
``rfc2217://10.0.0.5:4001``                            converter with remote line control
``socket://10.0.0.5:4001``                             pyserial's raw socket (no line control)
=====================================================  ==========================================

Query keys: ``baud`` (the opening rate, default 300), ``parity`` (``E`` = 7E1, ``N`` = 8N1,
``sw7e1`` = 7E1 done in software over an 8-bit path) and, for TCP, ``timeout`` (seconds to
connect). Other query keys of ``rfc2217://`` and ``socket://`` URLs are pyserial's own and are
passed on. Anything else is a :class:`~meterlink.errors.LocalProtocolError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from meterlink.errors import LocalProtocolError

from .base import AsyncLink, Link, Trace, check_line
from .serial import AsyncSerialLink, SerialLink
from .tcp import CONNECT_TIMEOUT, AsyncTcpLink, TcpLink

__all__ = ["LinkSpec", "SerialSpec", "TcpSpec", "open_async_link", "open_link", "parse_url"]

_PYSERIAL_SCHEMES: Final = ("rfc2217", "socket", "loop")
_PARITY: Final = {"e": (7, False), "n": (8, False), "sw7e1": (7, True)}


@dataclass(frozen=True, slots=True)
class SerialSpec:
    """A port pyserial opens: a device path or a pyserial URL (``rfc2217://``, ``socket://``)."""

    port: str
    baud_rate: int = 300
    data_bits: int = 7
    """7 = 7E1, 8 = 8N1 (the format the link opens with)."""
    software_parity: bool = False

    def __post_init__(self) -> None:
        if not self.port:
            raise LocalProtocolError("a serial link needs a port")
        check_line(self.baud_rate, self.data_bits)
        if self.software_parity and self.data_bits != 7:
            raise LocalProtocolError("software parity is 7E1: data_bits must be 7")

    @property
    def url(self) -> str:
        """The spec written back as a URL that parses to it."""
        query = {"baud": str(self.baud_rate), "parity": _parity_name(self.data_bits, self.software_parity)}
        if "://" in self.port:
            separator = "&" if "?" in self.port else "?"
            return f"{self.port}{separator}{urlencode(query)}"
        return f"serial://{self.port}?{urlencode(query)}"


@dataclass(frozen=True, slots=True)
class TcpSpec:
    """A raw TCP connection to a transparent converter or modem."""

    host: str
    port: int
    software_parity: bool = False
    connect_timeout: float = CONNECT_TIMEOUT

    def __post_init__(self) -> None:
        if not self.host:
            raise LocalProtocolError("a TCP link needs a host")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise LocalProtocolError(f"TCP port must be 1-65535, got {self.port!r}")
        if not self.connect_timeout > 0:
            raise LocalProtocolError("connect timeout must be positive")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        query: dict[str, str] = {}
        if self.software_parity:
            query["parity"] = "sw7e1"
        if self.connect_timeout != CONNECT_TIMEOUT:
            query["timeout"] = repr(self.connect_timeout)
        return f"tcp://{host}:{self.port}" + (f"?{urlencode(query)}" if query else "")


LinkSpec = SerialSpec | TcpSpec
"""Everything needed to open a link, checked and typed."""


def _parity_name(data_bits: int, software: bool) -> str:
    return "sw7e1" if software else ("E" if data_bits == 7 else "N")


def _bad(url: str, why: str) -> LocalProtocolError:
    return LocalProtocolError(f"bad link URL {url!r}: {why}")


def _number(url: str, key: str, text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise _bad(url, f"{key}={text!r} is not a number") from None
    if value <= 0:
        raise _bad(url, f"{key} must be positive")
    return value


def _query(url: str, query: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise _bad(url, "malformed query") from None


def _host_port(url: str, netloc: str, scheme: str) -> tuple[str, int]:
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        raise _bad(url, "the port must be a number from 1 to 65535") from None
    if not parts.hostname or port is None or port == 0:
        raise _bad(url, f"{scheme}:// needs host:port")
    return parts.hostname, port


def parse_url(url: str) -> LinkSpec:
    """Read a link URL (or a bare device path) into a :data:`LinkSpec`."""
    if not isinstance(url, str) or not url.strip():
        raise LocalProtocolError("a link URL cannot be empty")
    url = url.strip()
    if "://" not in url:  # a bare device path, optionally with a query
        path, _, query = url.partition("?")
        return _serial(url, path, query, passthrough=False)
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    location, _, query = rest.partition("?")
    if scheme == "serial":
        return _serial(url, location, query, passthrough=False)
    if scheme == "tcp":
        host, port = _host_port(url, location, scheme)
        software, timeout = False, CONNECT_TIMEOUT
        for key, value in _query(url, query):
            if key == "parity":
                if value.lower() not in ("sw7e1", "e"):
                    raise _bad(url, "parity over raw TCP is E (the converter's) or sw7e1 (software)")
                software = value.lower() == "sw7e1"
            elif key == "timeout":
                timeout = _number(url, key, value, float)
            else:
                raise _bad(url, f"unknown key {key!r} (tcp:// takes parity and timeout)")
        return TcpSpec(host, port, software_parity=software, connect_timeout=timeout)
    if scheme in _PYSERIAL_SCHEMES:
        if scheme != "loop":
            _host_port(url, location, scheme)
        return _serial(url, f"{scheme}://{location}", query, passthrough=True)
    raise _bad(url, f"unknown scheme {scheme!r} (serial, tcp, rfc2217, socket, loop or a device path)")


def _serial(url: str, port: str, query: str, *, passthrough: bool) -> SerialSpec:
    if not port:
        raise _bad(url, "no serial port given")
    baud, bits, software = 300, 7, False
    others: list[tuple[str, str]] = []
    for key, value in _query(url, query):
        if key == "baud":
            baud = int(_number(url, key, value, int))
        elif key == "parity":
            if value.lower() not in _PARITY:
                raise _bad(url, f"parity={value!r}: use E (7E1), N (8N1) or sw7e1")
            bits, software = _PARITY[value.lower()]
        elif passthrough:
            others.append((key, value))
        else:
            raise _bad(url, f"unknown key {key!r} (serial ports take baud and parity)")
    if others:
        port = f"{port}?{urlencode(others)}"
    return SerialSpec(port, baud, bits, software)


def open_link(spec: LinkSpec | str, *, trace: Trace | None = None) -> Link:
    """Open the link a spec or URL names (blocking)."""
    if isinstance(spec, str):
        spec = parse_url(spec)
    if isinstance(spec, TcpSpec):
        return TcpLink.connect(
            spec.host,
            spec.port,
            software_parity=spec.software_parity,
            timeout=spec.connect_timeout,
            trace=trace,
        )
    return SerialLink.open(
        spec.port, spec.baud_rate, spec.data_bits, software_parity=spec.software_parity, trace=trace
    )


async def open_async_link(spec: LinkSpec | str, *, trace: Trace | None = None) -> AsyncLink:
    """Open the link a spec or URL names, for asyncio."""
    if isinstance(spec, str):
        spec = parse_url(spec)
    if isinstance(spec, TcpSpec):
        return await AsyncTcpLink.connect(
            spec.host,
            spec.port,
            software_parity=spec.software_parity,
            timeout=spec.connect_timeout,
            trace=trace,
        )
    return await AsyncSerialLink.open(
        spec.port, spec.baud_rate, spec.data_bits, software_parity=spec.software_parity, trace=trace
    )
