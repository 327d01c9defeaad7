"""A battery meter with fast wake-up (Annex B.2): described in TOML, asleep between sessions."""

from __future__ import annotations

import pytest

from meterlink.emulator import EmulatorThread
from meterlink.errors import LocalProtocolError, ResponseTimeout
from meterlink.iec62056_21._state import ClientState, MeterState
from meterlink.iec62056_21.connection import ClientSettings, MeterConnection
from meterlink.iec62056_21.events import ReadoutReceived, SessionEnded
from meterlink.iec62056_21.messages import CommandMessage

from .helpers import client_of, describe, model, read_until, tcp_client

SLEEPER = "fast_wake_up = true\nwake_window = 1.2"
B1 = CommandMessage.break_(command_type="1").to_bytes()


def meter_of(conn: object) -> MeterConnection:
    assert isinstance(conn, MeterConnection)
    return conn


def test_description_and_settings() -> None:
    d = describe(meter=SLEEPER)
    assert (d.fast_wake_up, d.wake_window) == (True, 1.2)
    settings = model(d).settings()
    assert (settings.fast_wake_up, settings.wake_window) == (True, 1.2)
    plain = describe()
    assert (plain.fast_wake_up, model(plain).settings().fast_wake_up) == (False, False)


@pytest.mark.parametrize(
    ("meter", "extra", "message"),
    [
        ('fast_wake_up = "yes"', "", "true or false"),
        ("fast_wake_up = true\nwake_window = -1", "", "wake_window"),
        ("fast_wake_up = true", "[push]\ninterval = 5", "does not push"),
    ],
)
def test_bad_descriptions(meter: str, extra: str, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        describe(meter=meter, extra=extra)


def test_sleeping_meter_reads_out_after_a_wake_up_and_sleeps_again() -> None:
    m = model(describe(meter=SLEEPER))
    w = m.wire(ClientSettings(fast_wake_up=True))
    meter = meter_of(w.meter.connection)
    assert meter.state is MeterState.ASLEEP
    client_of(w).read_out(0.0)
    w.run()
    assert w.meter_sent()[0] == b"\x06"
    readouts = w.client_events(ReadoutReceived)
    assert len(readouts) == 1 and isinstance(readouts[0], ReadoutReceived)
    assert readouts[0].readout()["0.0.0"].value.value == "12345678"
    w.run(settle=True)
    assert meter.state is MeterState.ASLEEP


def test_sleeping_meter_ignores_a_plain_sign_on() -> None:
    w = model(describe(meter=SLEEPER)).wire(ClientSettings(retries=0))
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert not w.meter_sent()
    assert meter_of(w.meter.connection).state is MeterState.ASLEEP


def test_programming_ends_with_b1_and_the_meter_sleeps() -> None:
    w = model(describe(meter=SLEEPER)).wire(ClientSettings(fast_wake_up=True, password="00000000"))
    client = client_of(w)
    client.program(0.0)
    w.run()
    entered: ClientState = client.state
    assert entered is ClientState.PROGRAMMING
    client.end(w.now)
    w.run(settle=True)
    assert w.client_sent()[-1] == B1
    assert w.meter_sent()[-1] == b"\x06"
    assert SessionEnded("break") in w.meter_events(SessionEnded)
    assert client.state is ClientState.IDLE
    assert meter_of(w.meter.connection).state is MeterState.ASLEEP


def test_tcp_server_wakes_on_a_burst_only() -> None:
    with EmulatorThread(model(describe(meter=SLEEPER))) as emulator, tcp_client(emulator.url) as sock:
        sock.sendall(b"/?!\r\n")  # asleep: not heard
        sock.sendall(bytes(17))  # 0.57 s at 300 Bd
        assert read_until(sock, lambda buf: len(buf) >= 1) == b"\x06"
        sock.sendall(b"/?!\r\n")
        ident = read_until(sock, lambda buf: buf.endswith(b"\r\n"))
        assert ident == b"/EMH5\\@D4LZQJ-XC\r\n"
