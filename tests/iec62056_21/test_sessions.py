"""Whole client <-> meter sessions over the in-memory wire (reference sections 1.3-1.10).

Every test drives a :class:`ClientConnection` and a :class:`MeterConnection` against each other on
a simulated line with a virtual clock and checks the bytes on the wire against the standard, the
events both sides report, the rates and the reaction times.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from meterlink.errors import (
    ChecksumError,
    LocalProtocolError,
    RemoteProtocolError,
    ResponseTimeout,
    UnexpectedMessageError,
)
from meterlink.iec62056_21._state import ClientState, MeterState
from meterlink.iec62056_21.connection import (
    FAST_WAKE_ACK_DELAY,
    FAST_WAKE_PAUSE,
    FAST_WAKE_REQUEST_DELAY,
    FAST_WAKE_TOTAL,
    RESTART_PAUSE,
    WAKE_UP_NULS,
    WAKE_UP_PAUSE,
    ClientConnection,
    ClientSettings,
    MeterConnection,
    MeterSettings,
    transmission_time,
)
from meterlink.iec62056_21.events import (
    BinaryModeEntered,
    CommandAccepted,
    CommandReceived,
    DataReceived,
    IdentificationReceived,
    MeterErrorReceived,
    PasswordRejected,
    ProgrammingModeEntered,
    PushReceived,
    ReadoutReceived,
    ReadoutRequested,
    Send,
    SessionEnded,
    SetLink,
    SignOnReceived,
)
from meterlink.iec62056_21.messages import (
    BREAK,
    CommandMessage,
    DataMessage,
    Identification,
    OptionSelect,
    ProtocolMode,
)

from .wire import MeterApp, Side, Wire, data_message, readout_block

REQUEST = b"/?!\r\n"
B0 = b"\x01B0\x03q"
ACK = b"\x06"
NAK = b"\x15"
HDLC_FRAME = bytes.fromhex("7ea00703219310017e")  # an SNRM-shaped frame with bytes >= 0x80

EMH = "EMH5\\@D4EM4TII"
READOUT = readout_block(["0.0.0(12345678)", "1.8.0(001234.5*kWh)", "2.8.0(000012.0*kWh)"])


def ident(text: str) -> Identification:
    return Identification.from_text(text)


def make_wire(
    ident_text: str = EMH,
    client: ClientSettings | None = None,
    app: MeterApp | None = None,
    fault: Callable[[str, bytes], bytes] | None = None,
    *,
    echo: tuple[str, ...] = (),
    eight_bit: bool = False,
    fixed_rate: bool = False,
    **meter: object,
) -> Wire:
    settings = MeterSettings(ident(ident_text), **meter)  # type: ignore[arg-type]
    return Wire(
        ClientConnection(client or ClientSettings()),
        MeterConnection(settings),
        app or MeterApp(readout=READOUT),
        fault,
        echo=echo,
        eight_bit=eight_bit,
        fixed_rate=fixed_rate,
    )


def client_of(w: Wire) -> ClientConnection:
    conn = w.client.connection
    assert isinstance(conn, ClientConnection)
    return conn


def meter_of(w: Wire) -> MeterConnection:
    conn = w.meter.connection
    assert isinstance(conn, MeterConnection)
    return conn


def app_of(w: Wire) -> MeterApp:
    app = w.app
    assert isinstance(app, MeterApp)
    return app


def state(conn: ClientConnection | MeterConnection) -> ClientState | MeterState:
    """The current state, typed broadly (asserting it does not narrow later checks)."""
    return conn.state


def check_reaction_times(w: Wire, client_tr: float = 0.2, meter_tr: float = 0.2) -> None:
    """Nothing is sent sooner than tr after the last message that side received."""
    for side, tr in ((w.client, client_tr), (w.meter, meter_tr)):
        arrivals = [t for t, _ in side.received]
        for start, data in side.sent:
            before = [t for t in arrivals if t <= start + 1e-12]
            if before:
                gap = start - before[-1]
                assert gap >= tr - 1e-9, f"{side.name} sent {data!r} {gap * 1000:.1f} ms after receiving"


def sent_at(side: Side, data: bytes) -> float:
    return next(t for t, d in side.sent if d == data)


def arrival_of(side: Side, message: bytes) -> float:
    """When the last byte of the first occurrence of ``message`` arrived at ``side``."""
    stream = b"".join(d for _, d in side.received)
    end = stream.index(message) + len(message)
    seen = 0
    for t, d in side.received:
        seen += len(d)
        if seen >= end:
            return t
    raise AssertionError("not received")  # pragma: no cover


def drop_once(sender: str, match: Callable[[bytes], bool]) -> Callable[[str, bytes], bytes]:
    """A fault that loses the first matching transmission of ``sender``."""
    done = False

    def fault(who: str, data: bytes) -> bytes:
        nonlocal done
        if who == sender and not done and match(data):
            done = True
            return b""
        return data

    return fault


def corrupt_once(
    sender: str, match: Callable[[bytes], bool], times: int = 1
) -> Callable[[str, bytes], bytes]:
    """A fault that flips a bit in the middle of the first ``times`` matching transmissions."""
    left = times

    def fault(who: str, data: bytes) -> bytes:
        nonlocal left
        if who == sender and left and match(data):
            left -= 1
            i = len(data) // 2
            return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        return data

    return fault


# ==================================================================================================
# mode A
# ==================================================================================================
def test_mode_a_readout_at_300() -> None:
    w = make_wire("KAM MC")
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent() == [REQUEST]  # no option select in mode A
    assert w.meter_sent() == [b"/KAM MC\r\n", DataMessage(READOUT).to_bytes()]
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.message.data == READOUT
    assert got.message.bcc_ok is True
    assert got.baud_rate == 300
    assert got.identification == ident("KAM MC")
    assert client_of(w).mode is ProtocolMode.A
    assert w.client_events(SessionEnded) == [SessionEnded("done")]
    assert not w.client_events(SetLink)
    assert all(rate == 300 for _, rate in w.client.links + w.meter.links)
    assert state(client_of(w)) is ClientState.IDLE
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(300)]
    check_reaction_times(w)
    # the ident follows the request after exactly tr, the readout right after the ident
    request_end = transmission_time(len(REQUEST), 300)
    assert sent_at(w.meter, b"/KAM MC\r\n") == pytest.approx(request_end + 0.2)
    w.run(settle=True)
    assert state(meter_of(w)) is MeterState.IDLE


def test_mode_a_reaction_time_is_enforced_by_the_meter() -> None:
    w = make_wire("KAM MC", reaction_time=0.5)
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_events(ReadoutReceived)
    check_reaction_times(w, meter_tr=0.5)


# ==================================================================================================
# mode B
# ==================================================================================================
def test_mode_b_both_switch_right_after_the_ident() -> None:
    w = make_wire("SIEC2WR5")
    client = client_of(w)
    client.read_out(0.0)
    w.run()
    assert w.client_sent() == [REQUEST]  # mode B: no ACK
    assert w.meter_sent() == [b"/SIEC2WR5\r\n", DataMessage(READOUT).to_bytes()]
    kinds = [type(e) for e in w.client.events]
    assert kinds == [Send, IdentificationReceived, SetLink, ReadoutReceived, SetLink, SessionEnded]
    assert w.client_events(SetLink) == [SetLink(2400), SetLink(300)]
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.baud_rate == 2400
    assert got.message.data == READOUT
    # both ends switch when the ident has left the line, and the readout travels at 2400
    ident_end = arrival_of(w.client, b"/SIEC2WR5\r\n")
    assert w.client.rate_at(ident_end - 1e-6) == 300
    assert w.client.rate_at(ident_end + 1e-6) == 2400
    assert w.meter.rate_at(ident_end + 1e-6) == 2400
    readout_start = sent_at(w.meter, DataMessage(READOUT).to_bytes())
    assert w.meter.rate_at(readout_start) == 2400
    assert client.baud_rate == 300
    assert meter_of(w).baud_rate == 300  # the meter returns to 300 after the readout
    check_reaction_times(w)


def test_mode_b_programming_after_readout_at_300() -> None:
    app = MeterApp(readout=READOUT, registers={"0.9.1": "101415"})
    w = make_wire("SIEC2WR5", ClientSettings(password="00000000"), app)
    client = client_of(w)
    client.program(0.0)
    w.run()
    assert w.client_events(ReadoutReceived)
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered(None)]
    password = CommandMessage.password("00000000").to_bytes()
    assert w.client_sent() == [REQUEST, password]
    assert w.client.rate_at(sent_at(w.client, password)) == 300
    client.send_command(CommandMessage.read("0.9.1", command_type="5"), w.now)
    w.run()
    assert w.client_events(DataReceived)[-1] == DataReceived(
        CommandMessage.read("0.9.1", command_type="5"), "0.9.1(101415)"
    )
    client.end(w.now)
    w.run(settle=True)
    assert w.client_sent()[-1] == B0
    assert state(meter_of(w)) is MeterState.IDLE
    check_reaction_times(w)


def test_mode_a_programming_after_readout() -> None:
    app = MeterApp(readout=READOUT, registers={"1.8.0": "001234.5*kWh"})
    w = make_wire("KAM MC", ClientSettings(password="00000000"), app)
    client = client_of(w)
    client.program(0.0)
    w.run()
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered(None)]
    client.send_command(CommandMessage.read("1.8.0", "1"), w.now)
    w.run()
    (data,) = w.client_events(DataReceived)
    assert isinstance(data, DataReceived)
    assert data.data == "1.8.0(001234.5*kWh)"
    client.end(w.now)
    w.run(settle=True)
    assert w.meter_events(SessionEnded) == [SessionEnded("break")]
    assert all(rate == 300 for _, rate in w.client.links + w.meter.links)
    check_reaction_times(w)


# ==================================================================================================
# mode C
# ==================================================================================================
def test_mode_c_readout_at_the_proposed_rate() -> None:
    w = make_wire()
    client = client_of(w)
    client.read_out(0.0)
    w.run()
    option = b"\x06050\r\n"
    assert w.client_sent() == [REQUEST, option]
    assert w.meter_sent() == [("/" + EMH + "\r\n").encode(), DataMessage(READOUT).to_bytes()]
    # the SetLink comes right after the ACK and carries the t2 guard
    sends = [e for e in w.client.events if isinstance(e, Send | SetLink)]
    assert sends[1:3] == [sends[1], SetLink(9600, 7, 0.3)]
    assert isinstance(sends[1], Send)
    assert sends[1].data == option
    ack_end = sent_at(w.client, option) + transmission_time(len(option), 300)
    assert w.client.rate_at(ack_end + 0.3 - 1e-6) == 300
    assert w.client.rate_at(ack_end + 0.3) == 9600
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.baud_rate == 9600
    assert got.message.data == READOUT
    readout_start = sent_at(w.meter, DataMessage(READOUT).to_bytes())
    assert w.meter.rate_at(readout_start) == 9600
    assert readout_start >= ack_end + 0.3  # never before the HHU has switched
    # the client is back at 300 right after
    assert w.client_events(SetLink)[-1] == SetLink(300)
    assert client.baud_rate == 300
    assert state(client) is ClientState.IDLE
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(9600, OptionSelect.readout("5"))]
    check_reaction_times(w)
    w.run(settle=True)
    assert meter_of(w).baud_rate == 300
    assert w.meter.rate_at(w.now) == 300


def test_mode_c_fast_meter_gets_answers_after_20_ms() -> None:
    w = make_wire("ISk5MT174-0001", reaction_time=0.02, switch_delay=0.35)
    client = client_of(w)
    client.read_out(0.0)
    w.run()
    assert w.client_events(ReadoutReceived)
    ident_arrival = arrival_of(w.client, b"/ISk5MT174-0001\r\n")
    assert sent_at(w.client, b"\x06050\r\n") == pytest.approx(ident_arrival + 0.02)
    check_reaction_times(w, client_tr=0.02, meter_tr=0.02)


def test_mode_c_upper_case_meter_gets_answers_after_200_ms() -> None:
    w = make_wire("ISK5ME371")
    client_of(w).read_out(0.0)
    w.run()
    ident_arrival = arrival_of(w.client, b"/ISK5ME371\r\n")
    assert sent_at(w.client, b"\x06050\r\n") == pytest.approx(ident_arrival + 0.2)
    check_reaction_times(w)


def test_max_baud_rate_clamps_the_option_select() -> None:
    w = make_wire("LGZ6ZMD", ClientSettings(max_baud_rate=4800))
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[1] == b"\x06040\r\n"
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.baud_rate == 4800
    assert SetLink(4800, 7, 0.3) in w.client.events


def test_baud_char_zero_keeps_300() -> None:
    w = make_wire(client=ClientSettings(baud_char="0"))
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[1] == b"\x06000\r\n"
    assert not w.client_events(SetLink)
    assert not w.meter_events(SetLink)
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.baud_rate == 300


def test_option_select_overrides() -> None:
    w = make_wire(client=ClientSettings(protocol_char="1", mode_char="6"))
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[1] == b"\x06156\r\n"
    assert w.client_events(ReadoutReceived)  # Y=6: manufacturer option, the meter reads out


def test_no_baud_switch_on_tcp() -> None:
    w = make_wire(client=ClientSettings(switch_baud_rate=False), fixed_rate=True)
    client = client_of(w)
    client.read_out(0.0)
    w.run()
    assert not w.client_events(SetLink)
    assert w.client_sent()[1] == b"\x06050\r\n"
    assert w.client_events(ReadoutReceived)
    client.program(w.now + 5)
    w.run()
    client.end(w.now)
    w.run()
    assert not w.client_events(SetLink)


def test_mode_c_falls_back_to_300_without_option_select() -> None:
    # the HHU reads the ident as mode A and waits: after tt the meter reads out at 300
    w = make_wire(client=ClientSettings(mode=ProtocolMode.A, response_timeout=3.0))
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent() == [REQUEST]
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(300, None)]
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.baud_rate == 300
    ident_end = arrival_of(w.client, f"/{EMH}\r\n".encode())
    readout_start = sent_at(w.meter, DataMessage(READOUT).to_bytes())
    assert readout_start == pytest.approx(ident_end + 2.0)  # tt
    assert not w.meter_events(SetLink)


def test_mode_c_falls_back_to_300_on_an_unsupported_rate() -> None:
    # AUX-like meter: only its proposed rate; the HHU asks for 4800 over a fixed-rate TCP link
    w = make_wire(
        "AUX5SX330",
        ClientSettings(baud_char="4", switch_baud_rate=False),
        accept_lower_baud=False,
        fixed_rate=True,
    )
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[1] == b"\x06040\r\n"
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(300, OptionSelect.readout("4"))]
    assert not w.meter_events(SetLink)
    assert w.client_events(ReadoutReceived)


def test_mode_c_reserved_rate_falls_back() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH)))
    meter.receive_data(REQUEST, 0.0)
    meter.events()
    meter.receive_data(b"\x06090\r\n", 1.0)
    events = meter.events()
    assert ReadoutRequested(300, OptionSelect.readout("9")) in events
    assert not any(isinstance(e, SetLink) for e in events)


def test_mode_c_lower_rate_accepted_when_allowed() -> None:
    w = make_wire(client=ClientSettings(baud_char="3"))
    client_of(w).read_out(0.0)
    w.run()
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.baud_rate == 2400
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(2400, OptionSelect.readout("3"))]


# ==================================================================================================
# mode D
# ==================================================================================================
PUSH_DATA = readout_block(["1-0:1.8.0*255(000123.4567*kWh)", "1-0:16.7.0*255(000321*W)"])


def push_wire(ident_text: str = "EBZ5DD3", fault: Callable[[str, bytes], bytes] | None = None) -> Wire:
    return make_wire(ident_text, fault=fault)


def test_mode_d_push_telegram() -> None:
    w = push_wire()
    client, meter = client_of(w), meter_of(w)
    client.listen(0.0)
    meter.push(PUSH_DATA, 0.5)
    w.run()
    assert w.meter_sent() == [b"/EBZ5DD3\r\n\r\n" + PUSH_DATA]
    assert not w.client.sent  # a listener never transmits
    (got,) = w.client_events(PushReceived)
    assert isinstance(got, PushReceived)
    assert got.identification == ident("EBZ5DD3")
    assert got.message.framed is False
    assert got.message.data.strip(b"\r\n") == PUSH_DATA.strip(b"\r\n")
    assert state(client) is ClientState.LISTENING
    assert state(meter) is MeterState.IDLE
    client.end(w.now)
    assert state(client) is ClientState.IDLE


def test_mode_d_several_telegrams_in_a_row() -> None:
    w = push_wire()
    client, meter = client_of(w), meter_of(w)
    client.listen(0.0)
    for i in range(4):
        data = readout_block([f"1-0:1.8.0*255(00012{i}.0*kWh)"])
        meter.push(data, 2.0 * i)
        w.run()
    pushes = w.client_events(PushReceived)
    assert len(pushes) == 4
    for i, got in enumerate(pushes):
        assert isinstance(got, PushReceived)
        assert got.identification == ident("EBZ5DD3")
        assert f"00012{i}.0".encode() in got.message.data


def test_mode_d_telegram_joined_mid_stream() -> None:
    # the listener starts while the first telegram is on the line: its head is lost
    def fault(who: str, data: bytes) -> bytes:
        return data[20:] if b"(000120" in data else data

    w = push_wire(fault=fault)
    client, meter = client_of(w), meter_of(w)
    client.listen(0.0)
    for i in range(3):
        meter.push(readout_block([f"1-0:1.8.0*255(00012{i}.0*kWh)"]), 2.0 * i)
        w.run()
    pushes = w.client_events(PushReceived)
    assert len(pushes) == 2
    assert all(isinstance(p, PushReceived) and p.identification is not None for p in pushes)
    assert b"000121.0" in pushes[0].message.data  # type: ignore[union-attr]


def test_mode_d_meter_does_not_hoard_its_own_telegrams() -> None:
    # a pushing meter expects its echo only briefly; unanswered expectations must not pile up
    w = push_wire()
    meter = meter_of(w)
    client_of(w).listen(0.0)
    for i in range(50):
        meter.push(PUSH_DATA, 5.0 * i)  # a telegram takes 2.4 s at 300 Bd
        w.run()
    assert len(w.client_events(PushReceived)) == 50
    assert len(meter._framer._echo) <= len(b"/EBZ5DD3\r\n\r\n" + PUSH_DATA)


def test_mode_d_framed_push_without_its_identification() -> None:
    # ZPA-style push with STX ... ETX BCC; the ident line was missed
    client = ClientConnection()
    client.listen(0.0)
    body = readout_block(["1.8.0(000001.0*kWh)"])
    client.receive_data(b"\r\n" + DataMessage(body).to_bytes(), 0.1)
    (got,) = client.events()
    assert isinstance(got, PushReceived)
    assert got.identification is None
    assert got.message.data == body
    client.receive_data(b"/ZPA5GH305\r\n\r\n" + DataMessage(body).to_bytes(), 2.0)
    (got,) = client.events()
    assert isinstance(got, PushReceived)
    assert got.identification == ident("ZPA5GH305")


# ==================================================================================================
# mode E
# ==================================================================================================
def test_mode_e_switch_to_binary() -> None:
    app = MeterApp(binary_greeting=HDLC_FRAME)
    w = make_wire("ISK5\\2MT382", app=app)
    client, meter = client_of(w), meter_of(w)
    client.binary(0.0)
    w.run()
    option = b"\x06252\r\n"
    assert w.client_sent() == [REQUEST, option]
    assert w.meter_sent() == [b"/ISK5\\2MT382\r\n", option, HDLC_FRAME]
    # the meter confirms at the new rate, still 7E1, and both go 8N1
    confirm_start = sent_at(w.meter, option)
    assert w.meter.rate_at(confirm_start) == 9600
    assert w.meter.bits_at(confirm_start) == 7
    line = [e for e in w.meter.events if isinstance(e, Send | SetLink)]
    assert [e if isinstance(e, SetLink) else e.data for e in line] == [
        b"/ISK5\\2MT382\r\n",
        SetLink(9600, 7),  # the new rate...
        option,  # ...still 7E1 for the confirmation
        SetLink(9600, 8),  # then 8N1
    ]
    assert w.client_events(SetLink) == [SetLink(9600, 7, 0.3), SetLink(9600, 8)]
    assert w.client_events(BinaryModeEntered) == [BinaryModeEntered(9600, b"")]
    assert w.meter_events(BinaryModeEntered) == [BinaryModeEntered(9600, b"")]
    assert state(client) is ClientState.BINARY
    assert state(meter) is MeterState.BINARY
    assert (client.baud_rate, client.data_bits) == (9600, 8)
    assert (meter.baud_rate, meter.data_bits) == (9600, 8)
    # the HDLC frame sent right after the confirmation arrives unchanged, 8-bit
    assert bytes(w.client.raw) == HDLC_FRAME
    check_reaction_times(w)
    # the next protocol finished: both back to rest
    client.end(w.now)
    meter.end(w.now)
    w.run()
    assert state(client) is ClientState.IDLE
    assert state(meter) is MeterState.IDLE
    assert (client.baud_rate, client.data_bits) == (300, 7)
    assert w.meter_events(SessionEnded) == [SessionEnded("done")]
    assert B0 not in w.client_sent()  # HDLC has its own disconnect


def test_mode_e_leftover_is_handed_over_exactly() -> None:
    client = ClientConnection()
    client.binary(0.0)
    client.events()
    client.receive_data(b"/ISK5\\2MT382\r\n", 0.5)
    client.events()
    # 8N1-equivalent confirmation (parity in bit 7) glued to the first HDLC frame
    client.receive_data(bytes.fromhex("06b235b28d0a") + HDLC_FRAME, 2.0)
    events = client.events()
    assert events[-1] == BinaryModeEntered(9600, HDLC_FRAME)
    assert SetLink(9600, 8) in events
    assert state(client) is ClientState.BINARY


def test_mode_e_capable_meter_read_out_in_mode_c() -> None:
    w = make_wire("ISK5\\2MT382")
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[1] == b"\x06050\r\n"
    assert w.client_events(ReadoutReceived)


def test_binary_refused_for_a_meter_without_mode_e() -> None:
    w = make_wire()
    client = client_of(w)
    client.binary(0.0)
    with pytest.raises(LocalProtocolError, match="mode E"):
        w.run()
    assert state(client) is ClientState.IDLE


def test_mode_e_confirmation_never_comes() -> None:
    w = make_wire("ISK5\\2MT382", fault=drop_once("meter", lambda d: d.startswith(b"\x06")))
    client = client_of(w)
    client.binary(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    w.run()
    assert state(client) is ClientState.IDLE
    assert client.baud_rate == 300


def test_after_a_failed_mode_e_switch_a_lone_ack_is_read_at_once() -> None:
    # the framer must not keep waiting for an option select after the mode E attempt is over
    client = ClientConnection(ClientSettings(password="00000000"))
    client.binary(0.0)
    client.events()
    client.receive_data(b"/ISK5\\2MT382\r\n", 0.5)
    client.events()
    with pytest.raises(ResponseTimeout):
        client.time_passed(10.0)
    client.events()
    client.program(20.0)
    client.events()
    client.receive_data(b"/ISK5\\2MT382\r\n", 20.5)
    client.events()
    client.receive_data(CommandMessage.operand("").to_bytes(), 22.0)
    client.events()
    assert state(client) is ClientState.AWAIT_PASSWORD_REPLY
    client.receive_data(ACK, 23.0)
    assert ProgrammingModeEntered("") in client.events()


# ==================================================================================================
# programming mode
# ==================================================================================================
def programming_wire(**kwargs: object) -> tuple[Wire, ClientConnection]:
    client_settings = kwargs.pop("client", ClientSettings(password="00000000"))
    app = kwargs.pop("app", MeterApp(registers={"0.9.1": "101415", "0.9.2": "130103"}))
    fault = kwargs.pop("fault", None)
    w = make_wire(EMH, client_settings, app, fault, operand="", **kwargs)  # type: ignore[arg-type]
    client = client_of(w)
    client.program(0.0)
    w.run()
    return w, client


def test_programming_session_matches_the_reference_transcript() -> None:
    w, client = programming_wire()
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered("")]
    client.send_command(CommandMessage.read("0.9.2", command_type="5"), w.now)
    w.run()
    client.send_command(CommandMessage.read("0.9.1", command_type="5"), w.now)
    w.run()
    client.end(w.now)
    w.run()
    # EMH EM4TII session from the LEM manual (reference 1.7), every BCC as there
    assert w.client_sent() == [
        b"/?!\r\n",
        b"\x06051\r\n",
        b"\x01P1\x02(00000000)\x03a",
        b"\x01R5\x020.9.2()\x03\\",
        b"\x01R5\x020.9.1()\x03_",
        b"\x01B0\x03q",
    ]
    assert w.meter_sent() == [
        b"/EMH5\\@D4EM4TII\r\n",
        b"\x01P0\x02()\x03`",
        b"\x06",
        b"\x020.9.2(130103)\x039",
        b"\x020.9.1(101415)\x03:",
    ]
    data = [e for e in w.client.events if isinstance(e, DataReceived)]
    assert [d.data for d in data] == ["0.9.2(130103)", "0.9.1(101415)"]
    assert all(d.blocks == 1 for d in data)
    assert w.client_events(SessionEnded) == [SessionEnded("break")]
    assert w.meter_events(SessionEnded) == [SessionEnded("break")]
    assert state(client) is ClientState.IDLE
    assert state(meter_of(w)) is MeterState.IDLE
    assert client.baud_rate == 300
    assert meter_of(w).baud_rate == 300
    # programming runs at the negotiated rate
    assert w.client.rate_at(sent_at(w.client, b"\x01R5\x020.9.1()\x03_")) == 9600
    check_reaction_times(w)


def test_programming_operand_and_commands() -> None:
    app = MeterApp(registers={"1.8.0": "1"})
    w = make_wire(EMH, ClientSettings(password="00000000"), app, operand="00000001")
    client = client_of(w)
    client.program(0.0)
    w.run()
    assert client.operand == "00000001"
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered("00000001")]
    assert w.meter_sent()[1] == CommandMessage.operand("00000001").to_bytes()
    commands = [
        CommandMessage.read("1.8.0", "1"),
        CommandMessage.write("1.8.0", "42"),
        CommandMessage.read("1.8.0", command_type="5"),
        CommandMessage.write("1-0:0.9.129*255", "1301031605000002)(00000000", command_type="5"),
        CommandMessage.execute("0000", "0000"),
        CommandMessage.read("9.9.9", "1"),
    ]
    for command in commands:
        client.send_command(command, w.now)
        w.run()
        assert state(client) is ClientState.PROGRAMMING
    assert w.client_sent()[-3] == b"\x01W5\x021-0:0.9.129*255(1301031605000002)(00000000)\x03^"
    results = [
        e for e in w.client.events if isinstance(e, DataReceived | CommandAccepted | MeterErrorReceived)
    ]
    assert results == [
        DataReceived(commands[0], "1.8.0(1)"),
        CommandAccepted(commands[1]),
        DataReceived(commands[2], "1.8.0(42)"),
        CommandAccepted(commands[3]),
        CommandAccepted(commands[4]),
        MeterErrorReceived(commands[5], "ER02"),
    ]
    assert [c.name for c in app.commands] == ["P1", "R1", "W1", "R5", "W5", "E2", "R1"]
    client.end(w.now)
    w.run()
    assert w.client_sent()[-1] == B0
    check_reaction_times(w)


def test_programming_without_password() -> None:
    w, _ = programming_wire(client=ClientSettings(), app=MeterApp(password=None))
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered("")]
    assert w.client_sent() == [REQUEST, b"\x06051\r\n"]


def test_p2_password_from_the_operand() -> None:
    def algorithm(operand: str) -> str:
        return operand[::-1]

    app = MeterApp(password="87654321")
    w = make_wire(
        EMH,
        ClientSettings(password_level=2, password_function=algorithm),
        app,
        operand="12345678",
    )
    client_of(w).program(0.0)
    w.run()
    assert w.client_sent()[2] == CommandMessage.password("87654321", level=2).to_bytes()
    assert w.client_sent()[2].startswith(b"\x01P2\x02(87654321)")
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered("12345678")]


def test_wrong_password_error_message() -> None:
    w, client = programming_wire(client=ClientSettings(password="11111111"))
    assert w.client_events(PasswordRejected) == [PasswordRejected("ERR_PW")]
    assert w.client_events(SessionEnded) == [SessionEnded("break")]
    assert w.client_sent()[-1] == B0
    assert state(client) is ClientState.IDLE
    assert client.baud_rate == 300
    assert state(meter_of(w)) is MeterState.IDLE
    check_reaction_times(w)


def test_wrong_password_meter_breaks() -> None:
    app = MeterApp(password_reply="break")
    w, client = programming_wire(client=ClientSettings(password="11111111"), app=app)
    assert w.meter_sent()[-1] == B0
    assert w.client_events(PasswordRejected) == [PasswordRejected("B0")]
    assert w.client_events(SessionEnded) == [SessionEnded("meter break")]
    assert B0 not in w.client_sent()
    assert state(client) is ClientState.IDLE
    assert client.baud_rate == 300
    assert state(meter_of(w)) is MeterState.IDLE
    assert meter_of(w).baud_rate == 300
    assert w.meter_events(SessionEnded) == [SessionEnded("break")]
    check_reaction_times(w)


def test_wrong_password_meter_naks_repeatedly() -> None:
    app = MeterApp(password_reply="nak")
    w, client = programming_wire(client=ClientSettings(password="11111111", retries=2), app=app)
    password = CommandMessage.password("11111111").to_bytes()
    assert w.client_sent().count(password) == 3
    assert w.meter_sent().count(NAK) == 3
    assert w.client_events(PasswordRejected) == [PasswordRejected("NAK")]
    assert w.client_sent()[-1] == B0
    assert state(client) is ClientState.IDLE
    check_reaction_times(w)


def test_partial_blocks_from_the_meter_are_joined() -> None:
    value = "".join(f"({i:04d})" for i in range(40))
    app = MeterApp(registers={"P.01": value}, block_size=64)
    w, client = programming_wire(app=app)
    command = CommandMessage.read("P.01", command_type="6")
    client.send_command(command, w.now)
    w.run()
    text = f"P.01({value})"
    expected_blocks = -(-len(text) // 64)
    assert w.client_events(DataReceived) == [DataReceived(command, text, expected_blocks)]
    replies = w.meter_sent()[3:]
    assert len(replies) == expected_blocks
    assert all(r.startswith(b"\x02") and r[-2] == 0x04 for r in replies[:-1])
    assert replies[-1][-2] == 0x03
    assert w.client_sent()[4:] == [ACK] * (expected_blocks - 1)
    assert state(client) is ClientState.PROGRAMMING
    check_reaction_times(w)


def test_damaged_partial_block_is_repeated_on_nak() -> None:
    value = "".join(f"({i:04d})" for i in range(30))
    app = MeterApp(registers={"P.01": value}, block_size=48)
    second_block: list[bytes] = []

    def fault(who: str, data: bytes) -> bytes:
        if who == "meter" and data.startswith(b"\x02") and data[-2] == 0x04:
            second_block.append(data)
            if len(second_block) == 2:  # corrupt the second block once
                return data[:5] + b"X" + data[6:]
        return data

    w, client = programming_wire(app=app, fault=fault)
    command = CommandMessage.read("P.01", command_type="6")
    client.send_command(command, w.now)
    w.run()
    text = f"P.01({value})"
    blocks = -(-len(text) // 48)
    assert w.client_events(DataReceived) == [DataReceived(command, text, blocks)]
    assert second_block[1] == second_block[2]  # the meter repeated the block
    assert w.client_sent()[4:] == [ACK, NAK] + [ACK] * (blocks - 2)
    check_reaction_times(w)


def test_damaged_last_block_is_repeated_on_nak() -> None:
    app = MeterApp(registers={"0.9.1": "101415"})
    fault = corrupt_once("meter", lambda d: d.startswith(b"\x020.9.1"))
    w, client = programming_wire(app=app, fault=fault)
    command = CommandMessage.read("0.9.1", command_type="5")
    client.send_command(command, w.now)
    w.run()
    assert w.client_events(DataReceived) == [DataReceived(command, "0.9.1(101415)")]
    assert w.client_sent()[-1] == NAK
    assert w.meter_sent()[-2:] == [data_message("0.9.1(101415)")] * 2


def test_partial_block_write_w3() -> None:
    app = MeterApp()
    w, client = programming_wire(app=app)
    blocks = [
        CommandMessage("W", "3", "C.90.1(0123456789", partial=True),
        CommandMessage("W", "3", "ABCDEFGHIJ", partial=True),
        CommandMessage("W", "3", "KLMNOP)"),
    ]
    for block in blocks:
        client.send_command(block, w.now)
        w.run()
    assert w.client_events(CommandAccepted) == [CommandAccepted(b) for b in blocks]
    assert w.client_sent()[3].endswith(b"\x04" + w.client_sent()[3][-1:])
    assert w.client_sent()[3][-2] == 0x04
    assert w.client_sent()[5][-2] == 0x03
    assert app.registers["C.90.1"] == "0123456789ABCDEFGHIJKLMNOP"
    received = [e.command for e in w.meter.events if isinstance(e, CommandReceived)][1:]
    assert [c.partial for c in received] == [True, True, False]


def test_corrupted_command_is_resent_after_nak() -> None:
    fault = corrupt_once("client", lambda d: d.startswith(b"\x01R5"))
    w, client = programming_wire(fault=fault)
    command = CommandMessage.read("0.9.1", command_type="5")
    client.send_command(command, w.now)
    w.run()
    assert w.client_sent().count(command.to_bytes()) == 2
    assert w.meter_sent()[-2:] == [NAK, data_message("0.9.1(101415)")]
    assert w.client_events(DataReceived) == [DataReceived(command, "0.9.1(101415)")]
    assert state(client) is ClientState.PROGRAMMING
    check_reaction_times(w)


def test_command_unanswered_until_retries_run_out() -> None:
    w, client = programming_wire(client=ClientSettings(password="00000000", retries=2))
    app_of(w).silent = "R"
    command = CommandMessage.read("0.9.1", command_type="5")
    client.send_command(command, w.now)
    with pytest.raises(ResponseTimeout):
        w.run()
    w.run()
    assert w.client_sent().count(command.to_bytes()) == 3
    assert w.client_sent()[-1] == B0
    assert state(client) is ClientState.IDLE
    assert client.baud_rate == 300
    assert client.deadline is None
    # the command went out, then again after each 1.5 s silence
    starts = [t for t, d in w.client.sent if d == command.to_bytes()]
    length = transmission_time(len(command.to_bytes()), 9600)
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx([length + 1.5] * 2)


def test_command_refused_until_retries_run_out() -> None:
    # every command the meter sees is damaged: it NAKs each one
    fault = corrupt_once("client", lambda d: d.startswith(b"\x01R5"), times=99)
    w, client = programming_wire(client=ClientSettings(password="00000000", retries=2), fault=fault)
    command = CommandMessage.read("0.9.1", command_type="5")
    client.send_command(command, w.now)
    with pytest.raises(RemoteProtocolError) as info:
        w.run()
    assert not isinstance(info.value, UnexpectedMessageError)
    w.run(settle=True)
    assert w.client_sent().count(command.to_bytes()) == 3
    assert w.meter_sent().count(NAK) == 3
    assert w.client_sent()[-1] == B0
    assert state(client) is ClientState.IDLE
    assert client.baud_rate == 300
    assert state(meter_of(w)) is MeterState.IDLE
    check_reaction_times(w)


def test_damaged_blocks_until_retries_run_out() -> None:
    value = "".join(f"({i:04d})" for i in range(30))
    app = MeterApp(registers={"P.01": value}, block_size=48)
    fault = corrupt_once("meter", lambda d: d.startswith(b"\x02P.01"), times=99)
    w, client = programming_wire(app=app, fault=fault)
    command = CommandMessage.read("P.01", command_type="6")
    client.send_command(command, w.now)
    with pytest.raises(ChecksumError):
        w.run()
    w.run()
    assert w.client_sent()[3:] == [command.to_bytes(), NAK, NAK, NAK, B0]
    assert state(client) is ClientState.IDLE
    assert client.baud_rate == 300
    # the break sends the meter back to rest at once, not after its inactivity timeout
    assert state(meter_of(w)) is MeterState.IDLE
    assert w.meter_events(SessionEnded) == [SessionEnded("break")]
    check_reaction_times(w)


def test_readout_always_damaged_in_mode_c() -> None:
    fault = corrupt_once("meter", lambda d: d.startswith(b"\x02"), times=99)
    w = make_wire(fault=fault)
    client = client_of(w)
    client.read_out(0.0)
    with pytest.raises(ChecksumError):
        w.run()
    # each of the 1 + 3 sign-ons: request, option select, then 3 NAKs for repeats
    assert w.client_sent() == [REQUEST, b"\x06050\r\n", NAK, NAK, NAK] * 4
    assert state(client) is ClientState.IDLE
    assert client.baud_rate == 300
    check_reaction_times(w)


def test_damaged_operand_is_repeated_on_nak() -> None:
    fault = corrupt_once("meter", lambda d: d.startswith(b"\x01P0"))
    w, _ = programming_wire(fault=fault)
    assert w.client_sent()[2] == NAK
    assert w.meter_sent()[1] == w.meter_sent()[2] == b"\x01P0\x02()\x03`"
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered("")]
    check_reaction_times(w)


def test_meter_inactivity_ends_the_session() -> None:
    w, client = programming_wire()
    meter = meter_of(w)
    assert state(meter) is MeterState.PROGRAMMING
    entered = w.now
    w.run(settle=True)
    assert w.meter_events(SessionEnded) == [SessionEnded("inactivity")]
    assert state(meter) is MeterState.IDLE
    assert meter.baud_rate == 300
    assert w.meter.rate_at(w.now) == 300
    assert w.now == pytest.approx(entered + 120.0, abs=1.0)
    assert state(client) is ClientState.PROGRAMMING  # the HHU learns it from its next command


def test_meter_break_b1_is_acknowledged() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH)))
    meter.receive_data(REQUEST, 0.0)
    meter.events()
    meter.receive_data(b"\x06051\r\n", 1.0)
    meter.events()
    assert state(meter) is MeterState.PROGRAMMING
    meter.receive_data(CommandMessage.break_(command_type="1").to_bytes(), 3.0)
    events = meter.events()
    assert events[0] == Send(ACK, 3.2)
    assert SetLink(300) in events
    assert events[-1] == SessionEnded("break")
    assert state(meter) is MeterState.IDLE


def test_meter_break_b0_is_not_answered() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH)))
    meter.receive_data(REQUEST, 0.0)
    meter.events()
    meter.receive_data(b"\x06051\r\n", 1.0)
    meter.events()
    meter.receive_data(B0, 3.0)
    events = meter.events()
    assert not any(isinstance(e, Send) for e in events)
    assert events[-1] == SessionEnded("break")


def test_meter_reply_refuses_other_commands() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH)))
    with pytest.raises(LocalProtocolError):
        meter.reply(CommandMessage.read("1.8.0"), 0.0)


# -- break from the client in every active state ----------------------------------------------------
def _await_identification(w: Wire) -> None:
    client_of(w).program(0.0)
    w.run(stop=lambda: bool(w.client.sent))


def _await_readout(w: Wire) -> None:
    app_of(w).answer_readout = False
    client_of(w).read_out(0.0)
    w.run(stop=lambda: bool(w.meter_events(ReadoutRequested)))


def _await_operand(w: Wire) -> None:
    w.fault = drop_once("meter", lambda d: d.startswith(b"\x01P0"))
    client_of(w).program(0.0)
    w.run(stop=lambda: meter_of(w).state is MeterState.PROGRAMMING and w.now > 2.0)


def _await_password_reply(w: Wire) -> None:
    app_of(w).silent = "P"
    client_of(w).program(0.0)
    w.run(stop=lambda: meter_of(w).state is MeterState.REPLY_DUE)


def _programming(w: Wire) -> None:
    client_of(w).program(0.0)
    w.run()


def _await_reply(w: Wire) -> None:
    _programming(w)
    app_of(w).silent = "R"
    client_of(w).send_command(CommandMessage.read("0.9.1", command_type="5"), w.now)
    w.run(stop=lambda: meter_of(w).state is MeterState.REPLY_DUE)


@pytest.mark.parametrize(
    ("reach", "expected"),
    [
        (_await_identification, ClientState.AWAIT_IDENTIFICATION),
        (_await_readout, ClientState.AWAIT_READOUT),
        (_await_operand, ClientState.AWAIT_OPERAND),
        (_await_password_reply, ClientState.AWAIT_PASSWORD_REPLY),
        (_programming, ClientState.PROGRAMMING),
        (_await_reply, ClientState.AWAIT_REPLY),
    ],
)
def test_break_from_the_client(reach: Callable[[Wire], None], expected: ClientState) -> None:
    silent_meter = reach is _await_identification
    w = make_wire(
        EMH,
        ClientSettings(password="00000000", address="11" if silent_meter else ""),
        MeterApp(readout=READOUT, registers={"0.9.1": "1"}),
        address="99" if silent_meter else "",
    )
    client = client_of(w)
    reach(w)
    assert state(client) is expected
    client.end(w.now)
    assert state(client) is ClientState.IDLE
    assert client.deadline is None
    w.run(settle=True)
    assert w.client_sent()[-1] == B0
    assert w.client_events(SessionEnded)[-1] == SessionEnded("break")
    assert client.baud_rate == 300
    assert w.client.rate_at(w.now) == 300
    meter = meter_of(w)
    assert state(meter) is MeterState.IDLE
    assert meter.baud_rate == 300
    if not silent_meter:
        assert w.meter_events(SessionEnded) == [SessionEnded("break")]
    check_reaction_times(w)


def test_break_while_awaiting_the_mode_e_confirmation() -> None:
    w = make_wire("ISK5\\2MT382", fault=drop_once("meter", lambda d: d.startswith(b"\x06")))
    client = client_of(w)
    client.binary(0.0)
    w.run(stop=lambda: meter_of(w).state is MeterState.BINARY and w.now > 2.0)
    assert state(client) is ClientState.AWAIT_BINARY_CONFIRM
    client.end(w.now)
    w.run()
    assert w.client_sent()[-1] == B0
    assert state(client) is ClientState.IDLE
    assert (client.baud_rate, client.data_bits) == (300, 7)


def test_end_when_idle_is_a_caller_error() -> None:
    with pytest.raises(LocalProtocolError):
        ClientConnection().end(0.0)


def test_send_command_refuses_a_break() -> None:
    w, client = programming_wire()
    with pytest.raises(LocalProtocolError):
        client.send_command(BREAK, w.now)


# ==================================================================================================
# sign-on robustness
# ==================================================================================================
@pytest.mark.parametrize("echo_setting", [True, None])
def test_client_on_an_echoing_line(echo_setting: bool | None) -> None:
    app = MeterApp(registers={"0.9.1": "101415"}, block_size=8)
    w = make_wire(EMH, ClientSettings(password="00000000", echo=echo_setting), app, echo=("client",))
    client = client_of(w)
    client.program(0.0)
    w.run()
    assert w.client_events(ProgrammingModeEntered)
    command = CommandMessage.read("0.9.1", command_type="5")
    client.send_command(command, w.now)
    w.run()
    assert w.client_events(DataReceived) == [DataReceived(command, "0.9.1(101415)", 2)]
    client.end(w.now)
    w.run()
    assert state(client) is ClientState.IDLE
    client.read_out(w.now + 3.0)
    w.run()
    assert w.client_events(ReadoutReceived)
    check_reaction_times(w)


def test_meter_on_an_echoing_line() -> None:
    app = MeterApp(registers={"0.9.1": "101415"})
    w = make_wire(EMH, ClientSettings(password="00000000"), app, echo=("meter", "client"))
    client = client_of(w)
    client.program(0.0)
    w.run()
    client.send_command(CommandMessage.read("0.9.1", command_type="5"), w.now)
    w.run()
    assert w.client_events(DataReceived)
    client.end(w.now)
    w.run(settle=True)
    assert state(meter_of(w)) is MeterState.IDLE


@pytest.mark.parametrize(
    "garbage",
    [b"\x00" * 40, b"\x7f" * 17, b"\xff\xfe\x00\x7f\x7f", b"\x00\x00/\x7f\x7f", b"\r\n\r\n", b"~~~~\x00"],
)
def test_garbage_before_the_identification(garbage: bytes) -> None:
    def fault(who: str, data: bytes) -> bytes:
        return garbage + data if who == "meter" and data.startswith(b"/") else data

    w = make_wire("KAM MC", fault=fault, eight_bit=True)
    client_of(w).read_out(0.0)
    w.run()
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.identification == ident("KAM MC")


def test_parity_bit_on_every_byte() -> None:
    app = MeterApp(readout=READOUT, registers={"0.9.1": "101415"})
    w = make_wire(EMH, ClientSettings(password="00000000"), app, eight_bit=True)
    client = client_of(w)
    client.read_out(0.0)
    w.run()
    assert any(b >= 0x80 for _, data in w.client.received for b in data)
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.message.data == READOUT
    assert got.message.bcc_ok is True
    client.program(w.now + 3.0)
    w.run()
    client.send_command(CommandMessage.read("0.9.1", command_type="5"), w.now)
    w.run()
    assert w.client_events(DataReceived)


def test_silent_meter_retries_then_times_out() -> None:
    w = make_wire(EMH, ClientSettings(retries=3, address="12345678"), address="87654321")
    client = client_of(w)
    client.read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    w.run()
    assert w.client_sent() == [b"/?12345678!\r\n"] * 4
    assert not w.meter_sent()
    assert state(client) is ClientState.IDLE
    assert client.deadline is None
    assert not w.meter_events(SignOnReceived)
    starts = [t for t, _ in w.client.sent]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    request_time = transmission_time(len(b"/?12345678!\r\n"), 300)
    settings = ClientSettings()
    assert gaps == pytest.approx([request_time + settings.response_timeout + settings.restart_pause] * 3)


def test_no_retries() -> None:
    w = make_wire(EMH, ClientSettings(retries=0, address="1"), address="2")
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert w.client_sent() == [b"/?1!\r\n"]


@pytest.mark.parametrize(
    ("asked", "own"),
    [("000123", "123"), ("123", "000123"), ("0", "000"), ("00000000", "0"), ("035 0000101", "35 0000101")],
)
def test_leading_zeros_do_not_matter(asked: str, own: str) -> None:
    w = make_wire("KAM MC", ClientSettings(address=asked), address=own)
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[0] == f"/?{asked}!\r\n".encode()
    assert w.client_events(ReadoutReceived)
    assert w.meter_events(SignOnReceived)


def test_general_address_reaches_an_addressed_meter() -> None:
    w = make_wire("KAM MC", address="4711")
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_events(ReadoutReceived)


def test_bad_readout_bcc_gets_a_nak_in_mode_c() -> None:
    fault = corrupt_once("meter", lambda d: d.startswith(b"\x02"))
    w = make_wire(fault=fault)
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent() == [REQUEST, b"\x06050\r\n", NAK]
    assert w.meter_sent()[1:] == [DataMessage(READOUT).to_bytes()] * 2
    assert w.client.rate_at(sent_at(w.client, NAK)) == 9600
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.message.data == READOUT
    check_reaction_times(w)


def test_bad_readout_in_mode_a_signs_on_again() -> None:
    fault = corrupt_once("meter", lambda d: d.startswith(b"\x02"))
    w = make_wire("KAM MC", fault=fault)
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent() == [REQUEST, REQUEST]
    assert w.client_events(ReadoutReceived)


def test_readout_without_etx_is_taken_after_the_timeout() -> None:
    def fault(who: str, data: bytes) -> bytes:
        return data[:-2] if who == "meter" and data.startswith(b"\x02") else data

    w = make_wire("ITR5EM214", fault=fault)
    client = client_of(w)
    client.read_out(0.0)
    w.run()
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    assert got.message.data == READOUT
    assert got.message.bcc_ok is None
    assert got.baud_rate == 9600
    end_of_data = arrival_of(w.client, READOUT)
    assert w.now >= end_of_data + client.settings.inter_char_timeout
    assert w.client_sent() == [REQUEST, b"\x06050\r\n"]
    assert state(client) is ClientState.IDLE


def test_wake_up_train_precedes_the_request() -> None:
    w = make_wire("KAM MC", ClientSettings(wake_up=True))
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[:2] == [b"\x00" * WAKE_UP_NULS, REQUEST]
    train_end = transmission_time(WAKE_UP_NULS, 300)
    assert sent_at(w.client, REQUEST) == pytest.approx(train_end + WAKE_UP_PAUSE)
    assert w.client_events(ReadoutReceived)


def test_request_command_and_address_on_the_wire() -> None:
    w = make_wire("KAM MC", ClientSettings(request_command="2", address="4711"), address="4711")
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[0] == b"/24711!\r\n"
    (sign_on,) = w.meter_events(SignOnReceived)
    assert isinstance(sign_on, SignOnReceived)
    assert sign_on.request.command == "2"


def test_second_session_after_a_readout() -> None:
    w = make_wire()
    client = client_of(w)
    for _ in range(3):
        client.read_out(w.now + 2.0)
        w.run()
    assert len(w.client_events(ReadoutReceived)) == 3
    check_reaction_times(w)


# -- answers that come twice, late, or as our own echo -----------------------------------------------
def test_a_lost_block_restarts_the_answer_without_keeping_the_first_blocks() -> None:
    # the third block never arrives: the client repeats the command and the meter starts over
    value = "".join(f"({i:04d})" for i in range(30))
    app = MeterApp(registers={"P.01": value}, block_size=48)
    blocks: list[bytes] = []

    def fault(who: str, data: bytes) -> bytes:
        if who == "meter" and data.startswith(b"\x02") and data[-2] in (0x03, 0x04):
            blocks.append(data)
            if len(blocks) == 3:
                return b""
        return data

    w, client = programming_wire(app=app, fault=fault)
    command = CommandMessage.read("P.01", command_type="6")
    client.send_command(command, w.now)
    w.run()
    text = f"P.01({value})"
    assert w.client_sent().count(command.to_bytes()) == 2
    assert w.client_events(DataReceived) == [DataReceived(command, text, -(-len(text) // 48))]


def test_a_repeat_the_client_provoked_is_not_taken_for_the_next_answer() -> None:
    # The answer loses its ETX: the client times out and repeats the command; the damaged and
    # the good answer arrive together. The stump needs no NAK (the good frame after it is the
    # answer: a NAK would only provoke one more copy), and no late copy may become the answer
    # to the next command.
    app = MeterApp(registers={"0.9.1": "101415", "C.1.0": "12345678"})
    damaged: list[bytes] = []

    def fault(who: str, data: bytes) -> bytes:
        if who == "meter" and data.startswith(b"\x020.9.1") and not damaged:
            damaged.append(data)
            return data.replace(b"\x03", b"")
        return data

    w, client = programming_wire(app=app, fault=fault)
    first = CommandMessage.read("0.9.1", command_type="5")
    client.send_command(first, w.now)
    w.run(stop=lambda: bool(w.client_events(DataReceived)))
    assert w.client_events(DataReceived) == [DataReceived(first, "0.9.1(101415)")]
    assert NAK not in w.client_sent()
    second = CommandMessage.read("C.1.0", command_type="5")
    client.send_command(second, w.now)  # at once: a late copy could still be on its way
    assert state(client) is ClientState.SETTLING
    w.run()
    assert w.client_events(DataReceived)[1:] == [DataReceived(second, "C.1.0(12345678)")]
    # sent: the one damaged on the line and the answer to the repeated command, nothing more
    assert w.meter_sent().count(data_message("0.9.1(101415)")) == 2
    assert state(client) is ClientState.PROGRAMMING


def test_the_first_block_twice_after_a_repeat_is_acknowledged_once() -> None:
    # The meter's first answer is late: the client repeats the command, then receives the
    # late first block and the first block of the answer to the repeat. One ACK, or the meter
    # would skip a block.
    value = "".join(f"({i:04d})" for i in range(30))
    app = MeterApp(registers={"P.01": value}, block_size=48)
    first_blocks: list[bytes] = []

    def fault(who: str, data: bytes) -> bytes:
        if who == "meter" and data.startswith(b"\x02P.01") and not first_blocks:
            first_blocks.append(data)
            return b""  # held back, delivered late below
        return data

    w, client = programming_wire(app=app, fault=fault)
    command = CommandMessage.read("P.01", command_type="6")
    client.send_command(command, w.now)
    w.run(stop=lambda: w.client_sent().count(command.to_bytes()) == 2)
    client.receive_data(first_blocks[0], w.now)  # the late one, just before the new answer
    w.run()
    text = f"P.01({value})"
    assert w.client_events(DataReceived) == [DataReceived(command, text, -(-len(text) // 48))]


@pytest.mark.parametrize("late", [ACK, CommandMessage.read("P.01", command_type="6").to_bytes()])
def test_a_late_echo_of_our_own_message_is_not_an_answer(late: bytes) -> None:
    # an echo that comes after the echo window (here: no echo was expected at all) of our block
    # ACK or of our command: a meter answers neither with an ACK or a command
    value = "".join(f"({i:04d})" for i in range(30))
    app = MeterApp(registers={"P.01": value}, block_size=48)
    w, client = programming_wire(app=app, client=ClientSettings(password="00000000", echo=False))
    command = CommandMessage.read("P.01", command_type="6")
    client.send_command(command, w.now)
    w.run(stop=lambda: w.client_sent().count(ACK) == 1)
    client.receive_data(late, w.now)
    w.run()
    text = f"P.01({value})"
    assert w.client_events(DataReceived) == [DataReceived(command, text, -(-len(text) // 48))]


# ==================================================================================================
# fast wake-up (Annex B.2)
# ==================================================================================================
B1 = CommandMessage.break_(command_type="1").to_bytes()
CHAR_300 = transmission_time(1, 300)
BURST_300 = 17  # ceil(0.55 s * 30 characters/s)
TD_300 = 2 * CHAR_300 + FAST_WAKE_PAUSE


def fast_wire(fault: Callable[[str, bytes], bytes] | None = None) -> Wire:
    return make_wire(EMH, ClientSettings(fast_wake_up=True), fault=fault, fast_wake_up=True)


def test_fast_wake_up_burst_ack_and_request_timing() -> None:
    w = fast_wire()
    client, meter = client_of(w), meter_of(w)
    assert state(meter) is MeterState.ASLEEP
    client.read_out(0.0)
    assert state(client) is ClientState.AWAIT_WAKE_ACK
    w.run()
    sent = w.client_sent()
    assert sent[:2] == [b"\x00" * BURST_300, REQUEST]
    burst_end = transmission_time(BURST_300, 300)
    assert 0.5 <= burst_end <= 0.6  # Tn
    # the meter waits for the burst to end (plus Ta) and ACKs at the burst's rate
    assert w.meter_sent()[0] == ACK
    ack_start = sent_at(w.meter, ACK)
    assert ack_start >= burst_end + FAST_WAKE_ACK_DELAY - 1e-9
    ack_arrival = arrival_of(w.client, ACK)
    assert ack_arrival <= burst_end + TD_300  # inside the pause Td: no second burst
    # the request 200-1500 ms after the ACK, at the burst's rate (no switch before it)
    request_at = sent_at(w.client, REQUEST)
    assert request_at == pytest.approx(ack_arrival + FAST_WAKE_REQUEST_DELAY)
    assert 0.2 <= request_at - ack_arrival <= 1.5
    assert w.client.rate_at(request_at) == 300
    assert w.client_events(ReadoutReceived)
    assert state(client) is ClientState.IDLE
    # after the readout the meter goes back to sleep, and sleeping it hears no request
    w.run(settle=True)
    assert state(meter) is MeterState.ASLEEP
    meter.receive_data(REQUEST, w.now + 5)
    assert not [e for e in meter.events() if isinstance(e, Send)]


def test_fast_wake_up_bursts_for_4_5_s_then_a_clean_timeout() -> None:
    # an ordinary meter never ACKs a burst: it does not sleep, and NULs are noise to it
    w = make_wire(EMH, ClientSettings(fast_wake_up=True, retries=0))
    client = client_of(w)
    client.read_out(0.0)
    with pytest.raises(ResponseTimeout, match="fast wake-up"):
        w.run()
    assert state(client) is ClientState.IDLE
    assert client.deadline is None
    assert all(data == b"\x00" * BURST_300 for data in w.client_sent())
    starts = [t for t, _ in w.client.sent]
    burst = transmission_time(BURST_300, 300)
    period = burst + TD_300
    assert starts == pytest.approx([i * period for i in range(len(starts))])
    assert starts[-1] < FAST_WAKE_TOTAL <= starts[-1] + period  # bursts for at least 4.5 s
    assert len(starts) == 7
    assert w.now == pytest.approx(len(starts) * period)
    assert not w.meter_sent()


def test_fast_wake_up_failed_attempt_is_retried_after_the_restart_pause() -> None:
    w = make_wire(EMH, ClientSettings(fast_wake_up=True, retries=1))
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    starts = [t for t, _ in w.client.sent]
    assert len(starts) == 14
    period = transmission_time(BURST_300, 300) + TD_300
    assert starts[7] == pytest.approx(7 * period + RESTART_PAUSE)


def test_fast_wake_up_a_lost_ack_is_answered_by_the_next_burst() -> None:
    w = fast_wire(fault=drop_once("meter", lambda data: data == ACK))
    client_of(w).read_out(0.0)
    w.run()
    sent = w.client_sent()
    assert sent[:3] == [b"\x00" * BURST_300, b"\x00" * BURST_300, REQUEST]
    # the awake meter ACKs the second burst as well
    assert w.meter_sent()[:2] == [ACK, ACK]
    assert w.client_events(ReadoutReceived)


def test_fast_wake_up_meter_sleeps_again_without_a_sign_on() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH), fast_wake_up=True))
    burst_end = transmission_time(BURST_300, 300)
    meter.receive_data(b"\x00" * BURST_300, burst_end)
    assert meter.events() == []
    assert meter.deadline == pytest.approx(burst_end + CHAR_300 + FAST_WAKE_ACK_DELAY)
    meter.time_passed(burst_end + CHAR_300 + FAST_WAKE_ACK_DELAY)
    assert meter.events() == [Send(ACK, burst_end + CHAR_300 + FAST_WAKE_ACK_DELAY)]
    assert state(meter) is MeterState.AWAKE
    ack_end = burst_end + 2 * CHAR_300 + FAST_WAKE_ACK_DELAY
    assert meter.deadline == pytest.approx(ack_end + 1.5)
    meter.time_passed(ack_end + 1.5)
    assert state(meter) is MeterState.ASLEEP
    assert meter.deadline is None
    meter.receive_data(REQUEST, ack_end + 1.6)
    assert meter.events() == []


@pytest.mark.parametrize(
    "heard",
    [
        b"\x00" * 14,  # 467 ms: too short
        b"\x00" * 20 + REQUEST,  # not followed by silence
        REQUEST,  # no burst at all
        b"\x00" * 8 + b"\x7f" + b"\x00" * 8,  # broken by noise
    ],
)
def test_fast_wake_up_meter_stays_asleep(heard: bytes) -> None:
    meter = MeterConnection(MeterSettings(ident(EMH), fast_wake_up=True))
    meter.receive_data(heard, 1.0)
    assert meter.deadline is None
    assert meter.events() == []
    assert state(meter) is MeterState.ASLEEP


def test_fast_wake_up_burst_followed_at_once_by_more_is_no_wake_up() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH), fast_wake_up=True))
    meter.receive_data(b"\x00" * 20, 1.0)
    assert meter.deadline is not None  # waiting for the burst to end
    meter.receive_data(b"\x7f", 1.01)
    assert meter.deadline is None
    assert meter.events() == []
    assert state(meter) is MeterState.ASLEEP


def test_fast_wake_up_burst_in_pieces_wakes_the_meter() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH), fast_wake_up=True))
    for i in range(15):  # 15 characters at 300 Bd: exactly 0.5 s
        meter.receive_data(b"\x00", (i + 1) * CHAR_300)
    meter.time_passed(10.0)
    assert [e for e in meter.events() if isinstance(e, Send)] == [Send(ACK, 10.0)]
    assert state(meter) is MeterState.AWAKE


def test_fast_wake_up_at_9600_bursts_and_requests_at_that_rate() -> None:
    client = ClientConnection(ClientSettings(fast_wake_up=True, initial_baud_rate=9600))
    client.read_out(0.0)
    burst = client.events()
    assert burst == [Send(b"\x00" * 528, 0.0)]  # 528 characters at 9600 Bd: 0.55 s
    end = transmission_time(528, 9600)
    assert client.deadline == pytest.approx(end + 2 * transmission_time(1, 9600) + FAST_WAKE_PAUSE)
    client.receive_data(ACK, end + 0.005)
    assert client.events() == [Send(REQUEST, end + 0.005 + FAST_WAKE_REQUEST_DELAY)]
    assert client.baud_rate == 9600
    assert state(client) is ClientState.AWAIT_IDENTIFICATION


def test_fast_wake_up_echo_of_the_burst_does_not_stretch_the_pause() -> None:
    w = make_wire(EMH, ClientSettings(fast_wake_up=True, retries=0, echo=True), echo=("client",))
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    period = transmission_time(BURST_300, 300) + TD_300
    assert [t for t, _ in w.client.sent] == pytest.approx([i * period for i in range(7)])


def test_fast_wake_up_programming_session_ends_with_b1_acknowledged() -> None:
    w = fast_wire()
    client, meter = client_of(w), meter_of(w)
    client.program(0.0)
    w.run()
    assert state(client) is ClientState.PROGRAMMING
    client.send_command(CommandMessage.password("00000000"), w.now)
    w.run()
    client.end(w.now)
    assert state(client) is ClientState.AWAIT_SIGN_OFF_ACK
    assert client.baud_rate == 9600  # the meter ACKs at the session's rate
    w.run()
    assert w.client_sent()[-1] == B1
    assert w.meter_sent()[-1] == ACK
    assert w.client_events(SessionEnded)[-1] == SessionEnded("break")
    assert state(client) is ClientState.IDLE
    ack_arrival = w.client.received[-1][0]
    switch_back = [e for e in w.client.events if isinstance(e, SetLink)][-1]
    assert switch_back == SetLink(300)
    assert w.client.links[-1][0] >= ack_arrival
    w.run(settle=True)
    assert state(meter) is MeterState.ASLEEP


def test_fast_wake_up_unanswered_b1_ends_after_the_response_timeout() -> None:
    late = {"now": 0.0}
    w = fast_wire(fault=lambda who, data: b"" if who == "meter" and data == ACK and late["now"] > 1 else data)
    client = client_of(w)
    client.program(0.0)
    w.run()
    late["now"] = w.now
    client.end(w.now)
    w.run()
    assert state(client) is ClientState.IDLE
    assert w.client_events(SessionEnded)[-1] == SessionEnded("break")
    start, data = w.client.sent[-1]
    assert data == B1
    b1_end = start + transmission_time(len(B1), 9600)
    since, rate = w.client.links[-1]
    assert (since, rate) == (pytest.approx(b1_end + client.settings.response_timeout), 300)  # type: ignore[comparison-overlap]


def test_explicit_b0_overrides_fast_wake_up() -> None:
    w = fast_wire()
    client = client_of(w)
    client.program(0.0)
    w.run()
    client.end(w.now, battery=False)
    assert state(client) is ClientState.IDLE
    w.run()
    assert w.client_sent()[-1] == B0


def test_wake_up_and_fast_wake_up_exclude_each_other() -> None:
    with pytest.raises(LocalProtocolError, match="exclude"):
        ClientSettings(wake_up=True, fast_wake_up=True)


# ==================================================================================================
# damage that splits one transmission, or disguises it (issue 3)
# ==================================================================================================
def test_a_block_cut_in_two_by_a_flipped_bit_gets_one_nak() -> None:
    # A flipped bit turns LF into STX inside a partial block: the framer sees a stump and then a
    # frame with a wrong BCC, both from one transmission. One NAK only: a second would make the
    # meter repeat twice, and every later ACK would answer the wrong block.
    value = "\r\n".join(f"({i:04d})" for i in range(30))
    app = MeterApp(registers={"P.01": value}, block_size=48)
    spoiled: list[bytes] = []

    def fault(who: str, data: bytes) -> bytes:
        partial = data.startswith(b"\x02") and data[-2] == 0x04
        if who == "meter" and partial and not spoiled and b"\n" in data[10:-2]:
            i = data.index(b"\n", 10)
            spoiled.append(data)
            return data[:i] + b"\x02" + data[i + 1 :]
        return data

    w, client = programming_wire(app=app, fault=fault)
    command = CommandMessage.read("P.01", command_type="6")
    client.send_command(command, w.now)
    w.run()
    text = f"P.01({value})"
    blocks = -(-len(text) // 48)
    assert spoiled
    assert w.client_events(DataReceived) == [DataReceived(command, text, blocks)]
    assert w.client_sent()[4:] == [NAK] + [ACK] * (blocks - 1)
    assert state(client) is ClientState.PROGRAMMING
    check_reaction_times(w)


def test_an_operand_damaged_in_two_places_is_asked_for_again() -> None:
    # the same bit flipped in the command letter and in the BCC: "P0" arrives as "R0" with a
    # matching BCC. That is a damaged operand (NAK, the meter repeats it), not a reason to give up.
    left = [1]

    def fault(who: str, data: bytes) -> bytes:
        if who == "meter" and data.startswith(b"\x01P0") and left[0]:
            left[0] -= 1
            return b"\x01R0" + data[3:-1] + bytes([data[-1] ^ 0x02])
        return data

    w, client = programming_wire(fault=fault)
    assert w.client_sent()[2] == NAK
    assert w.meter_sent()[1] == w.meter_sent()[2] == b"\x01P0\x02()\x03`"
    assert w.client_events(ProgrammingModeEntered) == [ProgrammingModeEntered("")]
    assert state(client) is ClientState.PROGRAMMING


@pytest.mark.parametrize("noise", [b"\x7f", b"xyz\r\n", bytes(range(0x30, 0x40))])
def test_noise_does_not_keep_a_meter_session_alive(noise: bytes) -> None:
    # the meter waits tt for the option select; noise on the line (no message start in it) must
    # not restart that timer, or a noisy line keeps the session open for ever
    meter = MeterConnection(MeterSettings(ident(EMH), option_timeout=2.0))
    meter.receive_data(REQUEST, 0.0)
    meter.events()
    assert state(meter) is MeterState.AWAIT_OPTION
    deadline = meter.deadline
    assert deadline is not None
    for t in (0.5, 1.0, deadline - 0.1):
        meter.receive_data(noise, t)
        assert meter.deadline == deadline
        meter.events()
    meter.time_passed(deadline)
    assert ReadoutRequested(300) in meter.events()  # fell back to mode A on time
    assert state(meter) is MeterState.READOUT_DUE


def test_noise_does_not_stretch_the_meter_inactivity_timer() -> None:
    w, _ = programming_wire(inactivity_timeout=10.0)
    meter = meter_of(w)
    deadline = meter.deadline
    assert state(meter) is MeterState.PROGRAMMING and deadline is not None
    meter.receive_data(b"\x7f\x7f", deadline - 0.5)
    meter.events()
    assert meter.deadline == deadline
    meter.time_passed(deadline)
    assert SessionEnded("inactivity") in meter.events()


def test_a_message_under_way_still_holds_the_meter_timer() -> None:
    meter = MeterConnection(MeterSettings(ident(EMH), option_timeout=2.0))
    meter.receive_data(REQUEST, 0.0)
    meter.events()
    deadline = meter.deadline
    assert deadline is not None
    meter.receive_data(b"\x06", deadline - 0.1)  # the start of an option select
    assert meter.deadline == pytest.approx(deadline - 0.1 + 1.5)
