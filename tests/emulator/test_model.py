"""The meter model behind the core's MeterConnection, driven by ClientConnection on the in-memory Wire.

Every session runs on the virtual clock of :class:`~meterlink.iec62056_21.loopback.Wire`, so
growing registers, profiles and archives have exact expected values.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from meterlink.emulator import MeterModel, xor_password
from meterlink.errors import RemoteProtocolError, ResponseTimeout
from meterlink.iec62056_21._state import MeterState
from meterlink.iec62056_21.connection import ClientSettings, MeterConnection
from meterlink.iec62056_21.events import (
    BinaryModeEntered,
    CommandAccepted,
    DataReceived,
    Event,
    MeterErrorReceived,
    PasswordRejected,
    ProgrammingModeEntered,
    PushReceived,
    ReadoutReceived,
    ReadoutRequested,
    SessionEnded,
)
from meterlink.iec62056_21.loopback import Wire
from meterlink.iec62056_21.messages import CommandMessage, DataMessage, OptionSelect, ProtocolMode
from meterlink.iec62056_21.profile import parse_load_profile
from meterlink.iec62056_21.readout import parse_data_block
from meterlink.iec62056_21.values import Season

from .helpers import ORIGIN, client_of, describe, ek280, emh, model

READOUT = b"0.0.0(12345678)\r\n1.8.0(001234.567*kWh)\r\n!\r\n"
HDLC_FRAME = bytes.fromhex("7ea00703219310017e")


def readout_of(w: Wire) -> ReadoutReceived:
    (got,) = w.client_events(ReadoutReceived)
    assert isinstance(got, ReadoutReceived)
    return got


def meter_conn(w: Wire) -> MeterConnection:
    conn = w.meter.connection
    assert isinstance(conn, MeterConnection)
    return conn


# ==================================================================================================
# modes
# ==================================================================================================
def test_mode_a_readout() -> None:
    w = model(describe("/KAM MC")).wire()
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent() == [b"/?!\r\n"]
    assert w.meter_sent() == [b"/KAM MC\r\n", DataMessage(READOUT).to_bytes()]
    got = readout_of(w)
    assert got.baud_rate == 300
    assert got.readout()["1.8.0"].value.decimal() == Decimal("1234.567")


def test_mode_b_readout_at_the_identified_rate() -> None:
    w = model(describe("/SIEC2WR5")).wire()
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent() == [b"/?!\r\n"]
    got = readout_of(w)
    assert got.baud_rate == 2400
    assert got.message.data == READOUT


def test_mode_c_readout_at_9600() -> None:
    w = model().wire()
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent() == [b"/?!\r\n", b"\x06050\r\n"]
    assert w.meter_sent() == [b"/EMH5\\@D4LZQJ-XC\r\n", DataMessage(READOUT).to_bytes()]
    got = readout_of(w)
    assert got.baud_rate == 9600
    assert got.message.bcc_ok is True


def test_mode_c_falls_back_to_a_without_option_select() -> None:
    w = model().wire(ClientSettings(mode=ProtocolMode.A, response_timeout=3.0))
    client_of(w).read_out(0.0)
    w.run()
    assert readout_of(w).baud_rate == 300
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(300, None)]


def test_readout_list_selected_by_the_request() -> None:
    m = model(describe(extra='[readout.lists]\n"2" = ["1.8.0"]'))
    w = m.wire(ClientSettings(request_command="2"))
    client_of(w).read_out(0.0)
    w.run()
    assert w.client_sent()[0] == b"/2!\r\n"
    assert readout_of(w).message.data == b"1.8.0(001234.567*kWh)\r\n!\r\n"


def test_address_must_match() -> None:
    m = model(describe(meter='address = "12345678"'))
    w = m.wire(ClientSettings(address="0012345678"))  # leading zeros do not count
    client_of(w).read_out(0.0)
    w.run()
    assert readout_of(w).message.data == READOUT
    w = m.wire(ClientSettings(address="999", retries=0))
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert w.meter_sent() == []


def test_mode_d_push() -> None:
    m = model(describe("/EBZ5DD3", "[push]\ninterval = 2.0"))
    assert m.pushes
    w = m.wire()
    client_of(w).listen(0.0)
    for i in range(3):
        meter_conn(w).push(m.push_data(2.0 * i), 2.0 * i)
        w.run()
    pushes = w.client_events(PushReceived)
    assert len(pushes) == 3
    assert w.meter_sent()[0] == b"/EBZ5DD3\r\n\r\n" + READOUT
    assert not w.client.sent  # a listener never transmits
    first = pushes[0]
    assert isinstance(first, PushReceived)
    assert first.readout()["0.0.0"].value.value == "12345678"


def test_push_only_meter_ignores_requests() -> None:
    m = model(describe("/EBZ5DD3", "[push]\ninterval = 1.0", meter='modes = ["D"]'))
    w = m.wire(ClientSettings(retries=1))
    client_of(w).read_out(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert w.meter_sent() == []


def test_mode_e_switch() -> None:
    m = model(describe("/ISK5\\2MT382"))
    m.binary_greeting = HDLC_FRAME
    w = m.wire()
    client_of(w).binary(0.0)
    w.run()
    assert w.client_sent() == [b"/?!\r\n", b"\x06252\r\n"]
    assert w.meter_sent() == [b"/ISK5\\2MT382\r\n", b"\x06252\r\n", HDLC_FRAME]
    assert w.client_events(BinaryModeEntered) == [BinaryModeEntered(9600, b"")]
    assert bytes(w.client.raw) == HDLC_FRAME


def test_mode_e_left_out_gets_the_mode_a_readout() -> None:
    m = model(describe("/ISK5\\2MT382", meter='modes = ["C"]'))
    w = m.wire(ClientSettings(retries=0))
    client_of(w).binary(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(300, OptionSelect.binary("5"))]
    assert not w.meter_events(BinaryModeEntered)
    assert w.meter_sent()[-1] == DataMessage(READOUT).to_bytes()  # at 300 Bd: noise to the client


# ==================================================================================================
# registers and the clock
# ==================================================================================================
def test_registers_grow_with_the_clock() -> None:
    m = model()
    assert m.register_text("1.8.0", 0.0) == "001234.567*kWh"
    assert m.register_text("1.8.0", 2 * 3600.0) == "001236.567*kWh"
    assert m.wall_time(90.0) == ORIGIN + dt.timedelta(seconds=90)
    w = m.wire()
    client_of(w).read_out(3 * 3600.0)
    w.run(until=4 * 3600.0)
    assert readout_of(w).readout()["1.8.0"].value.decimal() == Decimal("1237.567")


def test_daily_shape_and_clock_speed() -> None:
    m = emh()  # 1.8.0: 0.45 kWh/h scaled by the hour's factor; 08:00-09:00 has factor 1.2
    assert m.register_number("1.8.0", ORIGIN + dt.timedelta(hours=1)) == pytest.approx(1234.567 + 0.45 * 1.2)
    fast = model(describe(extra="[clock]\nspeed = 60.0"))
    assert fast.wall_time(60.0) == ORIGIN + dt.timedelta(hours=1)
    assert fast.register_text("1.8.0", 60.0) == "001235.567*kWh"


def test_clock_registers() -> None:
    m = emh()
    assert m.register_text("0.9.1", 3723.0) == "090203"
    assert m.register_text("0.9.2", 0.0) == "240301"


# ==================================================================================================
# programming mode
# ==================================================================================================
def program(m: MeterModel, **settings: object) -> tuple[Wire, list[Event]]:
    w = m.wire(ClientSettings(**settings))  # type: ignore[arg-type]
    client_of(w).program(0.0)
    w.run()
    return w, list(w.client.events)


def ask(w: Wire, command: CommandMessage) -> Event:
    """Send a command and return the client's verdict (data, ACK or error)."""
    client_of(w).send_command(command, w.now)
    w.run()
    last = [e for e in w.client.events if isinstance(e, DataReceived | CommandAccepted | MeterErrorReceived)]
    return last[-1]


def r5(address: str, value: str = "") -> CommandMessage:
    return CommandMessage.read(address, value, command_type="5")


def w5(address: str, value: str) -> CommandMessage:
    return CommandMessage.write(address, value, command_type="5")


def data(event: Event) -> str:
    assert isinstance(event, DataReceived), event
    return event.data


def error(event: Event) -> str:
    assert isinstance(event, MeterErrorReceived), event
    return event.text


def test_p1_unlocks_reads_and_writes() -> None:
    w, events = program(emh(), password="00000000")
    assert ProgrammingModeEntered("") in events
    assert w.client_sent()[1:3] == [b"\x06051\r\n", b"\x01P1\x02(00000000)\x03a"]
    assert w.meter_sent()[1:3] == [b"\x01P0\x02()\x03`", b"\x06"]
    assert data(ask(w, r5("1.6.0"))) == "1.6.0(02.468*kW)"
    assert isinstance(ask(w, w5("C.90.1", "NEW-TAG")), CommandAccepted)
    assert data(ask(w, r5("C.90.1"))) == "C.90.1(NEW-TAG)"
    assert isinstance(ask(w, CommandMessage.execute("0000", "0000")), CommandAccepted)


def test_without_password_protected_things_are_refused() -> None:
    w, events = program(emh())
    assert ProgrammingModeEntered("") in events
    assert data(ask(w, r5("1.8.0"))).startswith("1.8.0(001234.5")
    assert error(ask(w, r5("1.6.0"))) == "ER18"
    assert error(ask(w, w5("C.90.1", "X"))) == "ER18"
    assert error(ask(w, r5("P.01", ";"))) == "ER18"
    assert error(ask(w, CommandMessage.execute("0000", "0000"))) == "ER18"
    assert error(ask(w, r5("9.9.9"))) == "ER02"


def test_wrong_password_ends_the_session() -> None:
    w, events = program(emh(), password="12345678")
    assert PasswordRejected("B0") in events
    assert SessionEnded("meter break") in events
    assert w.meter_sent()[-1] == b"\x01B0\x03q"
    assert meter_conn(w).state is MeterState.IDLE


def test_p2_with_the_xor_algorithm() -> None:
    text = (
        '[security]\np1 = "11111111"\np2 = "SECRET"\np2_algorithm = "xor"\n'
        '[registers."96.1.0"]\nvalue = "CALIBRATION"\nread = "p2"\n'
    )
    m = model(describe(extra=text, meter='operand = "4711"'))
    w, events = program(m, password_level=2, password_function=lambda op: xor_password("SECRET", op))
    assert ProgrammingModeEntered("4711") in events
    assert w.client_sent()[2] == CommandMessage.password(xor_password("SECRET", "4711"), level=2).to_bytes()
    assert data(ask(w, r5("96.1.0"))) == "96.1.0(CALIBRATION)"
    w, events = program(m, password="11111111")
    assert ProgrammingModeEntered("4711") in events
    assert error(ask(w, r5("96.1.0"))) == "ER18"  # P1 is not enough


def test_writes_persist_across_sessions() -> None:
    m = emh()
    w, _ = program(m, password="00000000")
    assert isinstance(ask(w, w5("C.90.1", "KEPT")), CommandAccepted)
    client_of(w).end(w.now)
    w.run()
    w2, _ = program(m)  # a new connection, no password: the register is open for reading
    assert data(ask(w2, r5("C.90.1"))) == "C.90.1(KEPT)"


def test_write_refusals_and_inline_password() -> None:
    extra = '[registers."1.8.1"]\nvalue = 10.0\nunit = "kWh"\nrate_per_hour = 1.0\nwrite = "p1"\n'
    m = model(describe(extra=extra + '[security]\np1 = "00000000"'))
    w, _ = program(m)
    assert error(ask(w, w5("1.8.1", "5"))) == "ER18"
    assert error(ask(w, w5("1.8.0", "5"))) == "ER05"  # never writable
    assert error(ask(w, w5("7.7.7", "5"))) == "ER02"
    # VDEW W5 with the password as a second group
    assert isinstance(ask(w, w5("1.8.1", "000020.000)(00000000")), CommandAccepted)
    assert error(ask(w, w5("1.8.1", "12a)(00000000"))) == "ER03"
    assert data(ask(w, r5("1.8.1"))) == "1.8.1(000020.000*kWh)"
    # a written counter keeps counting from the written value
    assert m.register_text("1.8.1", w.now + 3600.0) == "000021.000*kWh"


def test_setting_the_clock() -> None:
    m = emh()
    w, _ = program(m, password="00000000")
    assert isinstance(ask(w, w5("0.9.1", "120000")), CommandAccepted)
    assert data(ask(w, r5("0.9.1"))) == "0.9.1(120000)"
    assert data(ask(w, r5("0.9.2"))) == "0.9.2(240301)"
    assert error(ask(w, w5("0.9.1", "25:00"))) == "ER03"


def test_unsupported_commands_get_nak() -> None:
    w, _ = program(emh(), retries=1)
    client_of(w).send_command(CommandMessage.read("0000", command_type="2"), w.now)
    with pytest.raises(RemoteProtocolError, match="NAK"):
        w.run()
    assert w.meter_sent()[-2:] == [b"\x15", b"\x15"]


def test_partial_block_write() -> None:
    m = emh()
    w, _ = program(m, password="00000000")
    client = client_of(w)
    for block in (CommandMessage("W", "1", "C.90.1(AB", partial=True), CommandMessage("W", "1", "CD)")):
        client.send_command(block, w.now)
        w.run()
    assert len(w.client_events(CommandAccepted)) == 2  # one per block
    assert data(ask(w, r5("C.90.1"))) == "C.90.1(ABCD)"


# ==================================================================================================
# VDEW load profile
# ==================================================================================================
SHAPE_IMPORT = [0.4, 0.3, 0.3, 0.3, 0.3, 0.5, 1.2, 1.6, 1.2, 0.9, 0.8, 0.9,
                1.1, 0.9, 0.8, 0.8, 1.0, 1.4, 1.9, 2.0, 1.7, 1.3, 0.9, 0.6]  # fmt: skip
SHAPE_EXPORT = [0, 0, 0, 0, 0, 0, 0, 0.1, 0.4, 0.8, 1.2, 1.5,
                1.6, 1.5, 1.2, 0.8, 0.4, 0.1, 0, 0, 0, 0, 0, 0]  # fmt: skip


def expected_row(end: dt.datetime) -> tuple[Decimal, Decimal]:
    """kW averages of the quarter hour ending at ``end`` (the example's rates times the shapes)."""
    hour = (end - dt.timedelta(minutes=15)).hour
    return (
        Decimal(f"{0.45 * SHAPE_IMPORT[hour]:.5f}"),
        Decimal(f"{0.5 * SHAPE_EXPORT[hour]:.5f}"),
    )


def test_p01_rows_in_range() -> None:
    w, _ = program(emh(), password="00000000")
    text = data(ask(w, r5("P.01", "0240301060000;0240301080000")))
    profile = parse_load_profile(text)
    assert [c.code for c in profile.channels] == ["1.5", "2.5"]
    assert [c.unit for c in profile.channels] == ["kW", "kW"]
    assert profile.capture_period == 900
    ends = [dt.datetime(2024, 3, 1, 6, 0) + k * dt.timedelta(minutes=15) for k in range(9)]
    assert [row.timestamp.datetime for row in profile] == ends
    assert all(row.timestamp.season is Season.NORMAL for row in profile)
    assert [row.values for row in profile] == [expected_row(end) for end in ends]
    assert text.startswith("P.01(0240301060000)(00000000)(15)(2)(1.5)(kW)(2.5)(kW)\r\n(0.22500)(0.00000)")


def test_p01_partial_blocks_give_the_same_rows() -> None:
    m = emh()
    w, _ = program(m, password="00000000")
    whole = data(ask(w, r5("P.01", "0240229000000;0240301000000")))
    event = ask(w, CommandMessage.read("P.01", "0240229000000;0240301000000", command_type="6"))
    assert isinstance(event, DataReceived)
    assert event.data == whole
    assert event.blocks == -(-len(whole) // 256)  # block_size = 256 in the example
    blocks = w.meter_sent()[-event.blocks :]
    assert all(b[0] == 0x02 and b[-2] == 0x04 for b in blocks[:-1])  # STX ... EOT BCC
    assert blocks[-1][-2] == 0x03
    assert len(parse_load_profile(event.data)) == 97


def test_p01_status_change_re_emits_the_header() -> None:
    w, _ = program(emh(), password="00000000")
    text = data(ask(w, r5("P.01", "0240228024500;0240228033000")))
    assert text.count("P.01(") == 3
    profile = parse_load_profile(text)
    assert [row.status for row in profile] == [0, 0x80, 0, 0]
    assert [row.timestamp.datetime.strftime("%H%M") for row in profile] == ["0245", "0300", "0315", "0330"]


def test_p01_bounds() -> None:
    w, _ = program(emh(), password="00000000")
    assert error(ask(w, r5("P.01", "0250101000000;"))) == "ERROR"  # the future
    oldest = parse_load_profile(data(ask(w, r5("P.01", ";0240131090000"))))
    # 2880 quarter hours back from 08:00 on 1 March: the oldest row ends at 08:15 on 31 January
    assert oldest.rows[0].timestamp.datetime == dt.datetime(2024, 1, 31, 8, 15)
    assert len(oldest) == 4


# ==================================================================================================
# LIS-200
# ==================================================================================================
def r1(address: str, value: str = "1") -> CommandMessage:
    return CommandMessage.read(address, value)


def w1(address: str, value: str) -> CommandMessage:
    return CommandMessage.write(address, value)


def test_lis200_locks() -> None:
    w, events = program(ek280())
    assert ProgrammingModeEntered("12345678") in events
    assert w.client_sent()[1] == b"\x06061\r\n"
    assert data(ask(w, r1("2:300.0"))).startswith("2:300.0(00012345.6")
    assert error(ask(w, r1("6:210_1.0"))) == "#0018"
    assert error(ask(w, w1("4:171.0", "99999999"))) == "#0017"
    assert data(ask(w, r1("4:171.0"))) == "4:171.0(0)"
    assert isinstance(ask(w, w1("4:171.0", "22222222")), CommandAccepted)
    assert data(ask(w, r1("4:171.0"))) == "4:171.0(1)"
    assert data(ask(w, r1("6:210_1.0"))) == "6:210_1.0(01.0325*bar)"
    assert error(ask(w, w1("1:400.0", "2024-03-01,12:00:00"))) == "#0019"  # needs the supplier lock
    assert isinstance(ask(w, w1("7:3_1.0", "ZONE-B")), CommandAccepted)
    assert isinstance(ask(w, w1("3:171.0", "11111111")), CommandAccepted)
    assert isinstance(ask(w, w1("1:400.0", "2024-03-01,12:00:00")), CommandAccepted)
    assert data(ask(w, r1("1:400.0"))).startswith("1:400.0(2024-03-01,12:00:0")
    assert data(ask(w, r1("3:170.0"))) == "3:170.0(1)"  # the status address shows the same lock
    assert error(ask(w, w1("3:170.0", "11111111"))) == "#0006"  # a key belongs at 3:171.0
    assert isinstance(ask(w, w1("3:171.0", "0")), CommandAccepted)
    assert data(ask(w, r1("3:171.0"))) == "3:171.0(0)"
    assert data(ask(w, r1("3:170.0"))) == "3:170.0(0)"
    assert isinstance(ask(w, w1("3:171.0", "11111111")), CommandAccepted)
    assert isinstance(ask(w, w1("3:170.0", "0")), CommandAccepted)  # closing at the status address
    assert data(ask(w, r1("3:171.0"))) == "3:171.0(0)"
    assert error(ask(w, w1("1:400.0", "2024-03-01,12:00:00"))) == "#0019"
    assert error(ask(w, r1("9:999.0"))) == "#0001"
    assert error(ask(w, r1("2:300.5"))) == "#0004"
    assert error(ask(w, w1("2:300.0", "1"))) == "#0009"
    assert error(ask(w, r5("2:300.0"))) == "#0200"  # no R5 in LIS-200


def archive_rows(text: str) -> list[list[str]]:
    return [[v.value for v in ds.values] for ds in parse_data_block(text)]


def test_lis200_archive_in_partial_blocks() -> None:
    m = ek280()
    w, _ = program(m)
    query = "3;2024-03-01,02:00:00;2024-03-01,07:00:00;2"
    assert error(ask(w, CommandMessage.read("3:V.0", query, command_type="3"))) == "#0018"
    assert isinstance(ask(w, w1("4:171.0", "22222222")), CommandAccepted)
    event = ask(w, CommandMessage.read("3:V.0", query, command_type="3"))
    assert isinstance(event, DataReceived)
    assert event.blocks == 3  # 6 rows, 2 per block
    rows = archive_rows(event.data)
    assert len(rows) == 6
    first = dt.datetime(2024, 3, 1, 2, 0)
    lnum = (first - dt.datetime(2000, 1, 1)) // dt.timedelta(hours=1) + 1
    assert rows[0] == [
        f"{lnum + 100000:06d}",
        f"{lnum:06d}",
        "2024-03-01,02:00:00",
        "00012326.4789",  # 12345.6789 m3 at 08:00 less 6 h x 3.2 m3/h
        "00011782.0000",
        "0",
        "CRC0",
    ]
    assert [r[2] for r in rows] == [f"2024-03-01,0{h}:00:00" for h in range(2, 8)]
    blocks = w.meter_sent()[-3:]
    assert [b[-2] for b in blocks] == [0x04, 0x04, 0x03]
    # the same rows selected by ordinal number, in one block with R1
    by_number = ask(w, r1("3:V.0", f"2;{lnum};{lnum + 5};"))
    assert isinstance(by_number, DataReceived)
    assert by_number.blocks == 1
    assert archive_rows(by_number.data) == rows


def test_lis200_archive_attributes_and_errors() -> None:
    w, _ = program(ek280())
    ask(w, w1("4:171.0", "22222222"))
    assert data(ask(w, r1("3:V.A", "3;2024-03-01,02:00:00;2024-03-01,07:00:00;"))) == "(6)"
    assert data(ask(w, r1("3:V.3", ";;;"))) == "()()()(m3)(m3)()()"
    assert data(ask(w, r1("3:V.4", ";;;"))).startswith("(1:100.0)(1:101.0)(1:400.0)(2:300.0)")
    assert error(ask(w, r1("5:V.0", "3;;;"))) == "#0100"
    assert error(ask(w, r1("3:V.7", "3;;;"))) == "#0004"
    assert error(ask(w, r1("3:V.0", "3;2030-01-01,00:00:00;;"))) == "#0104"
    assert error(ask(w, r1("3:V.0", "3;;2000-01-01,00:00:00;"))) == "#0105"
    assert error(ask(w, r1("3:V.0", "9;;;"))) == "#0101"
    assert error(ask(w, r1("3:V.0", "4;1;2;"))) == "#0101"  # a register column cannot bound
    assert error(ask(w, r1("3:V.0", "3;yesterday;;"))) == "#0200"


def test_lis200_mode_e_switched_off() -> None:
    w = ek280().wire(ClientSettings(retries=0))
    client_of(w).binary(0.0)
    with pytest.raises(ResponseTimeout):
        w.run()
    assert w.meter_events(ReadoutRequested) == [ReadoutRequested(300, OptionSelect.binary("6"))]
