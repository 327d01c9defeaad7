"""Serial links on real pseudo-terminals, TCP links on 127.0.0.1: bytes, line settings, errors, traces."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import tty
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlink.errors import LinkError, LocalProtocolError
from meterlink.iec62056_21.loopback import even_parity
from meterlink.transport import (
    AsyncSerialLink,
    AsyncTcpLink,
    Link,
    SerialLink,
    SerialSpec,
    TcpLink,
    TcpSpec,
    add_even_parity,
    open_async_link,
    open_link,
    strip_parity,
)

from .live_meter import slave_rate

Trace = list[tuple[str, bytes, float]]


@pytest.fixture
def pty() -> Iterator[tuple[int, int, str]]:
    """A raw pty: (master fd, slave fd, slave path). The slave fd stays open so reads never fail."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, slave, os.ttyname(slave)
    os.close(master)
    os.close(slave)


@pytest.fixture
def server() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(5.0)
    yield sock
    sock.close()


def read_all(link: Link, size: int) -> bytes:
    data = b""
    for _ in range(50):
        data += link.read(0.1)
        if len(data) >= size:
            break
    return data


# -- parity helpers --------------------------------------------------------------------------
@given(st.binary(max_size=64))
def test_software_parity_matches_the_loopback_line_model(data: bytes) -> None:
    seven_bit = bytes(b & 0x7F for b in data)
    wire = add_even_parity(seven_bit)
    assert wire == even_parity(seven_bit)
    assert all(b.bit_count() % 2 == 0 for b in wire)
    assert strip_parity(wire) == seven_bit
    assert strip_parity(add_even_parity(data)) == seven_bit


def test_known_software_7e1_capture() -> None:
    # STX F.F(00000000) ETX as an 8-bit TCP path delivers it (reference 1.13, pwitab #16)
    assert strip_parity(b"\x82\xc6.\xc6(00000000\xa9\x03") == b"\x02F.F(00000000)\x03"
    assert add_even_parity(b"\x02F.F(00000000)\x03") == b"\x82\xc6.\xc6(00000000\xa9\x03"


# -- serial on a pty ----------------------------------------------------------------------------
def test_serial_link_opens_at_300_and_moves_bytes(pty: tuple[int, int, str]) -> None:
    master, slave, path = pty
    trace: Trace = []
    with SerialLink.open(path, trace=lambda d, b, t: trace.append((d, b, t))) as link:
        assert (link.baud_rate, link.data_bits, link.can_set_line) == (300, 7, True)
        assert slave_rate(slave) == 300
        link.write(b"/?!\r\n")
        link.drain()
        assert os.read(master, 100) == b"/?!\r\n"
        os.write(master, b"/LGZ5ZMD\r\n")
        assert read_all(link, 10) == b"/LGZ5ZMD\r\n"
        assert link.read(0.05) == b""  # nothing there: empty, not a hang
        assert link.read(0.0) == b""
    assert [(d, b) for d, b, _ in trace] == [("tx", b"/?!\r\n"), ("rx", b"/LGZ5ZMD\r\n")]
    assert trace[0][2] <= trace[1][2]


def test_serial_link_switches_the_rate(pty: tuple[int, int, str]) -> None:
    _, slave, path = pty
    with SerialLink.open(path) as link:
        link.set_line(9600, 7)
        assert slave_rate(slave) == 9600
        assert (link.baud_rate, link.data_bits) == (9600, 7)
        link.set_line(300, 7)
        assert slave_rate(slave) == 300


def test_serial_link_with_software_parity(pty: tuple[int, int, str]) -> None:
    master, slave, path = pty
    with SerialLink.open(path, software_parity=True) as link:
        link.write(b"\x02F.F(00000000)\x03")
        assert os.read(master, 100) == b"\x82\xc6.\xc6(00000000\xa9\x03"
        os.write(master, b"\x82\xc6.\xc6(00000000\xa9\x03")
        assert read_all(link, 15) == b"\x02F.F(00000000)\x03"
        link.set_line(9600, 8)  # mode E: parity off, port stays 8N1, rate changes
        assert slave_rate(slave) == 9600
        link.write(b"\x7e\xa0\x07")
        assert os.read(master, 100) == b"\x7e\xa0\x07"


def test_serial_link_errors_are_meterlink_errors(pty: tuple[int, int, str]) -> None:
    _, _, path = pty
    with pytest.raises(LinkError):
        SerialLink.open("/dev/meterlink-no-such-port")
    with pytest.raises(LocalProtocolError):
        SerialLink.open(path, data_bits=6)
    link = SerialLink.open(path)
    with pytest.raises(LocalProtocolError):
        link.set_line(9600, 9)
    link.close()
    link.close()  # twice is fine
    for call in (lambda: link.write(b"x"), lambda: link.read(0.0), link.drain, lambda: link.set_line(300, 7)):
        with pytest.raises(LinkError):
            call()


def test_pyserial_urls_go_through_serial_for_url() -> None:
    link = open_link("loop://?baud=9600")
    try:
        assert isinstance(link, SerialLink)
        assert link.baud_rate == 9600
        link.write(b"hello")
        assert read_all(link, 5) == b"hello"
    finally:
        link.close()


def test_socket_url_cannot_set_the_line(server: socket.socket) -> None:
    port = server.getsockname()[1]
    link = open_link(f"socket://127.0.0.1:{port}?parity=sw7e1")
    try:
        peer, _ = server.accept()
        assert isinstance(link, SerialLink)
        assert not link.can_set_line
        link.set_line(9600, 7)  # recorded only
        assert link.baud_rate == 9600
        link.write(b"/?!\r\n")
        assert peer.recv(100) == add_even_parity(b"/?!\r\n")
        peer.close()
    finally:
        link.close()


def test_async_serial_link(pty: tuple[int, int, str]) -> None:
    master, slave, path = pty

    async def main() -> None:
        link = await open_async_link(SerialSpec(path))
        assert isinstance(link, AsyncSerialLink)
        async with link:
            await link.write(b"/?!\r\n")
            await link.drain()
            assert os.read(master, 100) == b"/?!\r\n"
            assert await link.read(0.05) == b""
            threading.Timer(0.05, os.write, (master, b"/LGZ5\r\n")).start()
            data = b""
            for _ in range(50):
                data += await link.read(0.2)
                if len(data) >= 7:
                    break
            assert data == b"/LGZ5\r\n"
            await link.set_line(4800, 7)
            assert slave_rate(slave) == 4800
            assert link.baud_rate == 4800

    asyncio.run(main())


# -- TCP --------------------------------------------------------------------------------------------
def test_tcp_link_moves_bytes_and_records_the_line(server: socket.socket) -> None:
    port = server.getsockname()[1]
    trace: Trace = []
    with TcpLink.connect("127.0.0.1", port, trace=lambda d, b, t: trace.append((d, b, t))) as link:
        peer, _ = server.accept()
        assert not link.can_set_line
        link.write(b"/?!\r\n")
        link.drain()
        assert peer.recv(100) == b"/?!\r\n"
        peer.sendall(b"\x82\xc6")
        assert read_all(link, 2) == b"\x82\xc6"  # no software parity: bytes as they come
        assert link.read(0.02) == b""
        link.set_line(9600, 8)
        assert (link.baud_rate, link.data_bits) == (9600, 8)
        peer.close()
        with pytest.raises(LinkError, match="closed"):
            read_all(link, 1)
    assert [d for d, _, _ in trace] == ["tx", "rx"]


def test_tcp_software_parity_until_mode_e(server: socket.socket) -> None:
    port = server.getsockname()[1]
    link = open_link(TcpSpec("127.0.0.1", port, software_parity=True))
    try:
        peer, _ = server.accept()
        link.write(b"\x06050\r\n")
        assert peer.recv(100) == add_even_parity(b"\x06050\r\n")
        peer.sendall(b"\x82\xc6.\xc6(00000000\xa9\x03")
        assert read_all(link, 15) == b"\x02F.F(00000000)\x03"
        link.set_line(9600, 8)
        link.write(b"\x7e\xa0\x07\x03")
        assert peer.recv(100) == b"\x7e\xa0\x07\x03"
        peer.sendall(b"\xa0\x81")
        assert read_all(link, 2) == b"\xa0\x81"
        peer.close()
    finally:
        link.close()
    with pytest.raises(LinkError):
        link.write(b"x")


def test_tcp_connect_failure_is_a_link_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(LinkError, match="cannot connect"):
        TcpLink.connect("127.0.0.1", port, timeout=2.0)

    async def main() -> None:
        with pytest.raises(LinkError, match="cannot connect"):
            await AsyncTcpLink.connect("127.0.0.1", port, timeout=2.0)

    asyncio.run(main())


def test_async_tcp_link(server: socket.socket) -> None:
    port = server.getsockname()[1]

    async def main() -> None:
        trace: Trace = []
        link = await open_async_link(
            f"tcp://127.0.0.1:{port}?parity=sw7e1", trace=lambda d, b, t: trace.append((d, b, t))
        )
        assert isinstance(link, AsyncTcpLink)
        peer, _ = await asyncio.to_thread(server.accept)
        async with link:
            assert not link.can_set_line
            await link.write(b"/?!\r\n")
            await link.drain()
            assert await asyncio.to_thread(peer.recv, 100) == add_even_parity(b"/?!\r\n")
            assert await link.read(0.02) == b""
            peer.sendall(add_even_parity(b"/LGZ5\r\n"))
            data = b""
            for _ in range(50):
                data += await link.read(0.1)
                if len(data) >= 7:
                    break
            assert data == b"/LGZ5\r\n"
            peer.sendall(b"/")
            await asyncio.sleep(0.05)
            assert await link.read(0.0) == b"/"  # what is buffered comes even without waiting
            await link.set_line(9600, 8)
            await link.write(b"\xa0")
            assert await asyncio.to_thread(peer.recv, 100) == b"\xa0"
            peer.close()
            with pytest.raises(LinkError, match="closed"):
                for _ in range(50):
                    await link.read(0.1)
        assert trace[0][:2] == ("tx", add_even_parity(b"/?!\r\n"))

    asyncio.run(main())
