"""Each fault knob's effect on the bytes and their timing, on the in-memory Wire."""

from __future__ import annotations

import contextlib

import pytest

from meterlink.emulator import Faults
from meterlink.emulator.faults import FaultInjector
from meterlink.errors import ChecksumError, LocalProtocolError, MeterlinkError, ResponseTimeout
from meterlink.iec62056_21.bcc import xor_bcc
from meterlink.iec62056_21.connection import ClientSettings, transmission_time
from meterlink.iec62056_21.events import ProgrammingModeEntered, ReadoutReceived, SessionEnded
from meterlink.iec62056_21.loopback import Wire
from meterlink.iec62056_21.messages import CommandMessage, DataMessage

from .helpers import client_of, model

REQUEST = b"/?!\r\n"
IDENT = b"/EMH5\\@D4LZQJ-XC\r\n"
READOUT = DataMessage(b"0.0.0(12345678)\r\n1.8.0(001234.567*kWh)\r\n!\r\n").to_bytes()


def read_out(faults: Faults, settings: ClientSettings | None = None) -> Wire:
    w = model(faults=faults).wire(settings)
    client_of(w).read_out(0.0)
    w.run()
    return w


def sent_at(w: Wire, side: str, data: bytes) -> float:
    entries = w.client.sent if side == "client" else w.meter.sent
    return next(t for t, d in entries if d == data)


def test_no_faults_no_change() -> None:
    w = read_out(Faults())
    assert w.meter_sent() == [IDENT, READOUT]


def test_echo_returns_what_the_meter_hears() -> None:
    w = read_out(Faults(echo=True))
    assert w.meter_sent() == [REQUEST, IDENT, b"\x06050\r\n", READOUT]
    assert sent_at(w, "meter", REQUEST) == pytest.approx(transmission_time(len(REQUEST), 300))
    assert w.client_events(ReadoutReceived)  # the client drops its own echo


def test_slow_replies() -> None:
    w = read_out(Faults(delay=0.5))
    request_end = transmission_time(len(REQUEST), 300)
    assert sent_at(w, "meter", IDENT) == pytest.approx(request_end + 0.2 + 0.5)
    assert w.client_events(ReadoutReceived)


def test_late_replies_come_after_the_clients_timeout() -> None:
    w = model(faults=Faults(late=2.0)).wire()
    client = client_of(w)
    client.program(0.0)
    w.run()
    command = CommandMessage.read("1.8.0", command_type="5")
    client.send_command(command, w.now)
    with contextlib.suppress(MeterlinkError):  # the late duplicate answer upsets the client
        w.run()
    assert w.client_sent().count(command.to_bytes()) == 2  # timed out after 1.5 s and resent
    asked = sent_at(w, "client", command.to_bytes()) + transmission_time(len(command.to_bytes()), 9600)
    reply = next(t for t, d in w.meter.sent if d.startswith(b"\x021.8.0("))
    assert reply - asked == pytest.approx(0.2 + 2.0)


def test_late_every_second_reply() -> None:
    injector = FaultInjector(Faults(late=3.0, late_every=2))
    assert [injector.reply_delay() for _ in range(4)] == [0.0, 3.0, 0.0, 3.0]


def test_dropped_bytes_every_nth() -> None:
    w = model(faults=Faults(drop_every=3)).wire(ClientSettings(retries=0))
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert w.meter_sent()[0] == bytes(b for i, b in enumerate(IDENT, 1) if i % 3)


def test_dropped_bytes_by_probability_are_reproducible() -> None:
    injector = FaultInjector(Faults(seed=7, drop_probability=0.3))
    again = FaultInjector(Faults(seed=7, drop_probability=0.3))
    spoiled = injector.spoil(READOUT)
    assert spoiled == again.spoil(READOUT)
    assert len(spoiled) == len(READOUT) - injector.dropped
    assert 0 < injector.dropped < len(READOUT)


def test_corrupted_bytes() -> None:
    def run(seed: int) -> list[bytes]:
        w = model(faults=Faults(seed=seed, corrupt_probability=0.05)).wire(ClientSettings(retries=1))
        client_of(w).read_out(0.0)
        with contextlib.suppress(MeterlinkError):
            w.run()
        return w.meter_sent()

    first, again, other = run(1), run(1), run(2)
    assert first == again  # seeded: the same bytes spoiled every time
    assert first != other
    assert first[0] != IDENT or first[1] != READOUT
    injector = FaultInjector(Faults(corrupt_every=4))
    spoiled = injector.spoil(IDENT)
    changed = [i for i, (a, b) in enumerate(zip(IDENT, spoiled, strict=True), 1) if a != b]
    assert changed == [4, 8, 12, 16]
    assert all(b < 0x80 for b in spoiled)  # still 7-bit characters
    assert all((a ^ b).bit_count() == 1 for a, b in zip(IDENT, spoiled, strict=True) if a != b)


def test_wrong_bcc() -> None:
    w = model(faults=Faults(wrong_bcc_every=1)).wire(ClientSettings(retries=1))
    client_of(w).read_out(0.0)
    with pytest.raises(ChecksumError):
        w.run()
    readouts = [d for d in w.meter_sent() if d.startswith(b"\x02")]
    assert readouts
    assert readouts[0][:-1] == READOUT[:-1]
    assert all(d[-1] == xor_bcc(d[1:-1]) ^ 1 for d in readouts)  # the BCC's lowest bit flipped
    assert b"\x15" in w.client_sent()  # the client asked for a repeat, then gave up


def test_nak_storm() -> None:
    w = model(faults=Faults(nak_storm=2)).wire(ClientSettings(password="00000000"))
    client_of(w).program(0.0)
    w.run()
    password = CommandMessage.password("00000000").to_bytes()
    assert w.client_sent().count(password) == 3
    assert w.meter_sent()[2:5] == [b"\x15", b"\x15", b"\x06"]
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered("")]


def test_silence() -> None:
    w = model(faults=Faults(silent=True)).wire(ClientSettings(retries=2))
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert w.meter_sent() == []
    assert w.client_sent() == [REQUEST] * 3


def test_answer_only_after_n_requests() -> None:
    w = read_out(Faults(answer_after=2), ClientSettings(retries=3))
    assert w.client_sent()[:3] == [REQUEST] * 3
    assert w.meter_sent()[0] == IDENT
    assert len(w.meter_sent()) == 2  # one identification, one readout
    assert w.client_events(ReadoutReceived)


def test_early_inactivity_timeout() -> None:
    w = model(faults=Faults(inactivity_timeout=5.0)).wire()
    client_of(w).program(0.0)
    w.run()
    entered = w.now
    w.run(settle=True)
    ended = w.meter_events(SessionEnded)
    assert ended == [SessionEnded("inactivity")]
    assert w.now == pytest.approx(entered + 5.0, abs=0.5)


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"drop_probability": 1.5}, "faults.drop_probability"),
        ({"nak_storm": -1}, "faults.nak_storm"),
        ({"late_every": 0}, "faults.late_every"),
        ({"delay": -0.1}, "faults.delay"),
        ({"inactivity_timeout": 0.0}, "faults.inactivity_timeout"),
    ],
)
def test_bad_knobs(knobs: dict[str, float], message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        Faults(**knobs)  # type: ignore[arg-type]
