"""The TCP and pseudo-terminal servers, exercised by minimal raw clients written here."""

from __future__ import annotations

import contextlib
import os
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterlink.emulator import EmulatorThread, Faults, MeterModel, load_description
from meterlink.emulator.server import parse_tcp_url
from meterlink.errors import LocalProtocolError
from meterlink.iec62056_21.messages import CommandMessage, DataMessage
from meterlink.iec62056_21.readout import parse_readout

from .helpers import (
    EXAMPLES,
    ORIGIN,
    block_end,
    describe,
    line_end,
    open_pty,
    read_until,
    set_rate,
    tcp_client,
)

IDENT = b"/EMH5\\@D4LZQJ-XC\r\n"
needs_pty = pytest.mark.skipif(not Path("/dev/ptmx").exists(), reason="no pseudo-terminals here")


def live(description_extra: str = "", ident: str = "/EMH5\\@D4LZQJ-XC", **kwargs: object) -> MeterModel:
    """A model on the real monotonic clock (its wall clock starts at ORIGIN)."""
    return MeterModel(describe(ident, description_extra), origin=ORIGIN, **kwargs)  # type: ignore[arg-type]


@contextlib.contextmanager
def pty_line(emulator: EmulatorThread, rate: int = 300) -> Iterator[int]:
    fd = open_pty(emulator.url, rate)
    try:
        yield fd
    finally:
        os.close(fd)


# ==================================================================================================
# TCP
# ==================================================================================================
def test_tcp_readout() -> None:
    with EmulatorThread(live()) as emulator, tcp_client(emulator.url) as sock:
        assert emulator.url.startswith("tcp://127.0.0.1:")
        sock.sendall(b"/?!\r\n")
        ident = read_until(sock, line_end)
        assert ident == IDENT
        sock.sendall(b"\x06050\r\n")
        block = read_until(sock, block_end)
        readout = parse_readout(ident + block)
        assert readout.bcc_valid is True
        assert readout["0.0.0"].value.value == "12345678"
        assert readout["1.8.0"].value.unit == "kWh"


def test_tcp_programming_session() -> None:
    model = MeterModel(describe(extra='[security]\np1 = "00000000"'), origin=ORIGIN)
    with EmulatorThread(model) as emulator, tcp_client(emulator.url) as sock:
        sock.sendall(b"/?!\r\n")
        assert read_until(sock, line_end) == IDENT
        sock.sendall(b"\x06051\r\n")
        assert read_until(sock, block_end) == b"\x01P0\x02()\x03`"
        sock.sendall(CommandMessage.password("00000000").to_bytes())
        assert read_until(sock, lambda b: b == b"\x06") == b"\x06"
        sock.sendall(CommandMessage.read("0.0.0", command_type="5").to_bytes())
        assert read_until(sock, block_end) == DataMessage(b"0.0.0(12345678)").to_bytes()
        sock.sendall(CommandMessage.read("9.9.9", command_type="5").to_bytes())
        assert read_until(sock, block_end) == DataMessage(b"(ER02)").to_bytes()
        sock.sendall(b"\x01B0\x03q")
        sock.sendall(b"/?!\r\n")  # back at rest: a new sign-on is answered
        assert read_until(sock, line_end) == IDENT


def test_tcp_connections_share_the_meter() -> None:
    extra = '[security]\np1 = "00000000"\n[registers."C.90.1"]\nvalue = "OLD"\nwrite = "p1"\n'
    with (
        EmulatorThread(MeterModel(describe(extra=extra), origin=ORIGIN)) as emulator,
        tcp_client(emulator.url) as first,
        tcp_client(emulator.url) as second,
    ):
        for sock in (first, second):
            sock.sendall(b"/?!\r\n")
        for sock in (first, second):  # two sessions at once, one connection each
            assert read_until(sock, line_end) == IDENT
        for sock in (first, second):
            sock.sendall(b"\x06051\r\n")
            read_until(sock, block_end)
            sock.sendall(CommandMessage.password("00000000").to_bytes())
            assert read_until(sock, lambda b: b == b"\x06") == b"\x06"
        first.sendall(CommandMessage.write("C.90.1", "NEW", command_type="5").to_bytes())
        assert read_until(first, lambda b: b == b"\x06") == b"\x06"
        second.sendall(CommandMessage.read("C.90.1", command_type="5").to_bytes())
        assert read_until(second, block_end) == DataMessage(b"C.90.1(NEW)").to_bytes()


def test_tcp_push_meter() -> None:
    model = live("[push]\ninterval = 0.2", ident="/EBZ5DD3")
    with EmulatorThread(model) as emulator, tcp_client(emulator.url) as sock:
        data = read_until(sock, lambda b: b.count(b"!\r\n") >= 2, timeout=3.0)
        assert data.count(b"/EBZ5DD3\r\n\r\n0.0.0(12345678)\r\n") >= 2


def test_tcp_mode_e_hands_over_then_returns_to_rest() -> None:
    model = live(ident="/ISK5\\2MT382", faults=Faults(inactivity_timeout=0.5))
    model.binary_greeting = b"\x7e\xa0\x07\x03\x21\x93\x10\x01\x7e"
    with EmulatorThread(model) as emulator, tcp_client(emulator.url) as sock:
        sock.sendall(b"/?!\r\n")
        assert read_until(sock, line_end) == b"/ISK5\\2MT382\r\n"
        sock.sendall(b"\x06252\r\n")
        got = read_until(sock, lambda b: b.endswith(b"\x7e") and len(b) > 6)
        assert got == b"\x06252\r\n" + model.binary_greeting
        sock.sendall(b"\x7e\xa0\x07\x03\x21\x53\x10\x01\x7e")  # HDLC bytes go nowhere
        time.sleep(0.8)  # quiet for the inactivity timeout: the meter leaves mode E
        sock.sendall(b"/?!\r\n")
        assert read_until(sock, line_end) == b"/ISK5\\2MT382\r\n"


def test_tcp_faults_apply_per_connection() -> None:
    model = live(faults=Faults(echo=True, answer_after=1))
    with EmulatorThread(model) as emulator, tcp_client(emulator.url) as sock:
        sock.sendall(b"/?!\r\n")
        assert read_until(sock, line_end) == b"/?!\r\n"  # echo only: the first request is ignored
        assert read_until(sock, line_end, timeout=0.5) == b""
        sock.sendall(b"/?!\r\n")
        assert read_until(sock, lambda b: b.count(b"\r\n") >= 2) == b"/?!\r\n" + IDENT


def test_tcp_simulate_baud_paces_the_bytes() -> None:
    with EmulatorThread(live(), simulate_baud=True) as emulator, tcp_client(emulator.url) as sock:
        start = time.monotonic()
        sock.sendall(b"/?!\r\n")
        first = read_until(sock, lambda b: len(b) > 0)
        first_at = time.monotonic()
        rest = read_until(sock, lambda b: (first + b).endswith(b"\r\n"))
        done = time.monotonic()
        assert first + rest == IDENT
        # 18 characters at 300 Bd take 0.6 s; only a loose lower bound is asserted
        assert done - start >= 0.45
        assert done >= first_at


# ==================================================================================================
# pseudo-terminal
# ==================================================================================================
@needs_pty
def test_pty_mode_c_readout_with_a_baud_switch() -> None:
    with EmulatorThread(live(), listen="pty", check_line=True) as emulator, pty_line(emulator) as fd:
        assert emulator.url.startswith("/dev/")
        os.write(fd, b"/?!\r\n")
        assert read_until(fd, line_end) == IDENT
        os.write(fd, b"\x06050\r\n")
        termios.tcdrain(fd)
        time.sleep(0.2)  # t2 guard; the meter waits 0.5 s before its first character at 9600
        set_rate(fd, 9600)
        block = read_until(fd, block_end)
        assert parse_readout(IDENT + block)["0.0.0"].value.value == "12345678"


@needs_pty
def test_pty_mode_b_gives_the_client_time_to_switch() -> None:
    model = live(ident="/SIEC2WR5")
    with EmulatorThread(model, listen="pty", check_line=True) as emulator, pty_line(emulator) as fd:
        os.write(fd, b"/?!\r\n")
        assert read_until(fd, line_end) == b"/SIEC2WR5\r\n"
        set_rate(fd, 2400)
        block = read_until(fd, block_end)
        assert block.startswith(b"\x020.0.0(12345678)")


@needs_pty
def test_pty_check_line_turns_a_wrong_rate_into_noise() -> None:
    with EmulatorThread(live(), listen="pty", check_line=True) as emulator, pty_line(emulator, 9600) as fd:
        os.write(fd, b"/?!\r\n")  # sent at 9600 to a meter listening at 300
        assert read_until(fd, line_end, timeout=0.8) == b""
        set_rate(fd, 300)
        os.write(fd, b"/?!\r\n")
        assert read_until(fd, line_end) == IDENT
        os.write(fd, b"\x06050\r\n")  # ... and the client forgets to switch to 9600
        noise = read_until(fd, lambda b: len(b) >= 3, timeout=1.5)
        assert noise
        assert b"\x02" not in noise
        assert b"0.0.0" not in noise


@needs_pty
def test_pty_without_check_line_ignores_the_rate() -> None:
    with EmulatorThread(live(), listen="pty") as emulator, pty_line(emulator, 9600) as fd:
        os.write(fd, b"/?!\r\n")
        assert read_until(fd, line_end) == IDENT


@needs_pty
def test_pty_with_pyserial() -> None:
    serial = pytest.importorskip("serial")
    model = MeterModel(MeterModel(describe()).description, origin=ORIGIN)
    with EmulatorThread(model, listen="pty", check_line=True) as emulator:
        port = serial.Serial(
            emulator.url, 300, bytesize=serial.SEVENBITS, parity=serial.PARITY_EVEN, timeout=0.1
        )
        try:
            port.write(b"/?!\r\n")
            ident = read_until(port.fileno(), line_end)
            assert ident == IDENT
            port.write(b"\x06050\r\n")
            port.flush()
            time.sleep(0.2)
            port.baudrate = 9600
            assert read_until(port.fileno(), block_end).startswith(b"\x020.0.0(12345678)")
        finally:
            port.close()


@needs_pty
def test_pty_can_be_opened_again_after_a_client_closed_it() -> None:
    # Linux fails a tcsetattr that changes nothing (EINVAL); a pty ignores size and parity, so
    # a second pyserial open with the first one's settings changed nothing unless the emulator
    # clears what the first client left behind
    serial = pytest.importorskip("serial")
    model = MeterModel(MeterModel(describe()).description, origin=ORIGIN)
    with EmulatorThread(model, listen="pty", check_line=True) as emulator:
        for _ in range(3):
            port = serial.Serial(
                emulator.url, 300, bytesize=serial.SEVENBITS, parity=serial.PARITY_EVEN, timeout=0.1
            )
            try:
                port.write(b"/?!\r\n")
                assert read_until(port.fileno(), line_end) == IDENT
                port.write(b"\x01B0\x03q")  # end the session: the next client starts afresh
                port.flush()
                time.sleep(0.1)
            finally:
                port.close()


# ==================================================================================================
# lifecycle
# ==================================================================================================
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_no_threads_or_descriptors_leak() -> None:
    threads, fds = threading.active_count(), open_fds()
    model = live()
    with EmulatorThread(model) as emulator, tcp_client(emulator.url) as sock:
        sock.sendall(b"/?!\r\n")
        assert read_until(sock, line_end) == IDENT
    if Path("/dev/ptmx").exists():
        with EmulatorThread(model, listen="pty") as emulator, pty_line(emulator) as fd:
            os.write(fd, b"/?!\r\n")
            assert read_until(fd, line_end) == IDENT
    emulator = EmulatorThread(model).start()
    names: list[str] = []
    emulator.call(lambda: names.append(threading.current_thread().name))
    assert names == ["meterlink-emulator tcp://127.0.0.1:0"]
    emulator.stop()
    emulator.stop()  # idempotent
    with pytest.raises(LocalProtocolError, match="not running"):
        emulator.call(lambda: None)
    assert threading.active_count() == threads
    assert open_fds() == fds


def test_start_errors_are_meterlink_errors() -> None:
    with pytest.raises(LocalProtocolError, match="expected tcp://HOST:PORT or pty"):
        EmulatorThread(listen="udp://127.0.0.1:1").start()
    with pytest.raises(LocalProtocolError, match="check_line needs a serial line"):
        EmulatorThread(listen="tcp://127.0.0.1:0", check_line=True).start()
    with EmulatorThread() as emulator:
        with pytest.raises(LocalProtocolError, match="cannot listen"):
            EmulatorThread(listen=emulator.url).start()
        with pytest.raises(LocalProtocolError, match="already started"):
            emulator.start()
    assert parse_tcp_url("tcp://[::1]:8000") == ("::1", 8000)
    with pytest.raises(LocalProtocolError):
        parse_tcp_url("tcp://host:99999")


def test_emulator_thread_takes_a_description() -> None:
    description = load_description(EXAMPLES / "elster-ek280.toml")
    with EmulatorThread(description) as emulator, tcp_client(emulator.url) as sock:
        sock.sendall(b"/?!\r\n")
        assert read_until(sock, line_end) == b"/Els6\\2EK280\r\n"
