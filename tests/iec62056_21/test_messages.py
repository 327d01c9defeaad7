"""Tests of the IEC 62056-21 message classes (reference sections 1.2-1.7)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import operator
from collections.abc import Callable

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from meterlink.errors import (
    ChecksumError,
    LocalProtocolError,
    MalformedDataError,
    MeterlinkError,
    RemoteProtocolError,
)
from meterlink.iec62056_21.bcc import BccKind
from meterlink.iec62056_21.messages import (
    BREAK,
    Ack,
    CommandMessage,
    DataMessage,
    ErrorMessage,
    Identification,
    Nak,
    OptionSelect,
    ProtocolMode,
    RequestMessage,
    baud_rate_for_mode_b,
    baud_rate_for_mode_c,
    mode_c_baud_char,
)

SOH = b"\x01"
STX = b"\x02"
ETX = b"\x03"
EOT = b"\x04"
ACK = b"\x06"
NAK = b"\x15"
CRLF = b"\r\n"

Parser = Callable[[bytes], object]


# -- independent helpers (do not use the code under test) -------------------------------------------
def lrc(data: bytes) -> int:
    return functools.reduce(operator.xor, data, 0) & 0x7F


def additive(data: bytes) -> int:
    return sum(data) % 128


def checksum(data: bytes, kind: BccKind) -> int:
    return lrc(data) if kind is BccKind.XOR else additive(data)


def command_frame(
    name: bytes, data: bytes | None = None, *, end: bytes = ETX, kind: BccKind = BccKind.XOR
) -> bytes:
    body = name + (end if data is None else STX + data + end)
    return SOH + body + bytes([checksum(body, kind)])


def data_frame(data: bytes, *, end: bytes = ETX, kind: BccKind = BccKind.XOR) -> bytes:
    body = data + end
    return STX + body + bytes([checksum(body, kind)])


# -- strategies ------------------------------------------------------------------------------------
def printable(exclude: str = "", *, min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=exclude),
        min_size=min_size,
        max_size=max_size,
    )


def printable_char(exclude: str = "") -> st.SearchStrategy[str]:
    return printable(exclude, min_size=1, max_size=1)


bcc_kinds = st.sampled_from(list(BccKind))

requests = st.builds(
    RequestMessage,
    address=printable("/!", max_size=32),
    command=printable_char("/!"),
)

full_identifications = st.builds(
    Identification,
    manufacturer=printable(min_size=3, max_size=3),
    baud_char=printable_char(),
    # An ident starting with "\" + printable reads back as an enhanced pair (see the bug test below).
    ident=printable(max_size=30).filter(lambda s: not s.startswith("\\")),
    enhanced=st.lists(printable_char(), max_size=4).map(tuple),
)
short_identifications = st.builds(Identification, manufacturer=printable(max_size=3), baud_char=st.just(""))
identifications = st.one_of(full_identifications, short_identifications)

option_selects = st.builds(OptionSelect, printable_char(), printable_char(), printable_char())

data_bytes = st.binary(max_size=200).map(lambda b: bytes(x for x in b if x not in (2, 3, 4)))


@st.composite
def data_messages(draw: st.DrawFn) -> DataMessage:
    framed = draw(st.booleans())
    partial = framed and draw(st.booleans())
    return DataMessage(draw(data_bytes), partial=partial, framed=framed, bcc_kind=draw(bcc_kinds))


error_messages = st.builds(ErrorMessage, text=printable("()*/!", max_size=32))


@st.composite
def command_messages(draw: st.DrawFn) -> CommandMessage:
    data = draw(st.none() | printable(max_size=60))
    partial = data is not None and draw(st.booleans())
    return CommandMessage(
        draw(printable_char()),
        draw(printable_char()),
        data,
        partial=partial,
        bcc_kind=draw(bcc_kinds),
    )


# Wire bytes built by hand, independently of the classes.
request_wire = st.builds(
    lambda c, a: f"/{c}{a}!\r\n".encode(), printable_char("/!"), printable("/!", max_size=32)
)
identification_wire = st.builds(lambda t: f"/{t}\r\n".encode(), printable(max_size=40))
option_select_wire = st.builds(
    lambda v, z, y: ACK + f"{v}{z}{y}".encode() + CRLF, printable_char(), printable_char(), printable_char()
)


@st.composite
def data_wire(draw: st.DrawFn) -> tuple[bytes, BccKind]:
    kind = draw(bcc_kinds)
    end = draw(st.sampled_from([ETX, EOT]))
    return data_frame(draw(data_bytes), end=end, kind=kind), kind


@st.composite
def error_wire(draw: st.DrawFn) -> bytes:
    text = draw(printable("()*/!", max_size=32))
    return data_frame(f"({text})".encode())


@st.composite
def command_wire(draw: st.DrawFn) -> tuple[bytes, BccKind]:
    kind = draw(bcc_kinds)
    name = (draw(printable_char()) + draw(printable_char())).encode()
    data = draw(st.none() | printable(max_size=60))
    if data is None:
        return command_frame(name, kind=kind), kind
    end = draw(st.sampled_from([ETX, EOT]))
    return command_frame(name, data.encode(), end=end, kind=kind), kind


# ==================================================================================================
# Round trips: object -> bytes -> object
# ==================================================================================================
@settings(max_examples=100)
@given(requests)
def test_request_roundtrip(msg: RequestMessage) -> None:
    assert RequestMessage.from_bytes(msg.to_bytes()) == msg


@settings(max_examples=100)
@given(identifications)
def test_identification_roundtrip(msg: Identification) -> None:
    assert Identification.from_bytes(msg.to_bytes()) == msg
    assert Identification.from_text(msg.text) == msg


@settings(max_examples=100)
@given(option_selects)
def test_option_select_roundtrip(msg: OptionSelect) -> None:
    assert OptionSelect.from_bytes(msg.to_bytes()) == msg


def test_ack_roundtrip() -> None:
    assert Ack().to_bytes() == ACK
    assert Ack.from_bytes(Ack().to_bytes()) == Ack()


def test_nak_roundtrip() -> None:
    assert Nak().to_bytes() == NAK
    assert Nak.from_bytes(Nak().to_bytes()) == Nak()


@settings(max_examples=100)
@given(data_messages())
def test_data_message_roundtrip(msg: DataMessage) -> None:
    wire = msg.to_bytes()
    if not msg.framed:
        assert wire == msg.data
        return
    back = DataMessage.from_bytes(wire, bcc_kind=msg.bcc_kind)
    assert back == msg
    assert back.bcc_ok is True
    assert back.bcc_kind is msg.bcc_kind


@settings(max_examples=100)
@given(error_messages)
def test_error_message_roundtrip(msg: ErrorMessage) -> None:
    back = ErrorMessage.from_bytes(msg.to_bytes())
    assert back == msg
    assert back.bcc_ok is True


@settings(max_examples=100)
@given(command_messages())
def test_command_message_roundtrip(msg: CommandMessage) -> None:
    back = CommandMessage.from_bytes(msg.to_bytes(), bcc_kind=msg.bcc_kind)
    assert back == msg
    assert back.bcc_ok is True
    assert back.bcc_kind is msg.bcc_kind


# ==================================================================================================
# Round trips: wire bytes -> object -> identical bytes
# ==================================================================================================
@settings(max_examples=100)
@given(request_wire)
def test_request_wire_roundtrip(wire: bytes) -> None:
    assert RequestMessage.from_bytes(wire).to_bytes() == wire


@settings(max_examples=100)
@given(identification_wire)
def test_identification_wire_roundtrip(wire: bytes) -> None:
    msg = Identification.from_bytes(wire)
    assert msg.to_bytes() == wire
    assert msg.text == wire[1:-2].decode()


@settings(max_examples=100)
@given(option_select_wire)
def test_option_select_wire_roundtrip(wire: bytes) -> None:
    assert OptionSelect.from_bytes(wire).to_bytes() == wire


@settings(max_examples=100)
@given(data_wire())
def test_data_message_wire_roundtrip(case: tuple[bytes, BccKind]) -> None:
    wire, kind = case
    msg = DataMessage.from_bytes(wire, bcc_kind=kind)
    assert msg.bcc_ok is True
    assert msg.to_bytes() == wire
    assert msg.data == wire[1:-2]
    assert msg.partial == (wire[-2:-1] == EOT)


@settings(max_examples=100)
@given(error_wire())
def test_error_message_wire_roundtrip(wire: bytes) -> None:
    msg = ErrorMessage.from_bytes(wire)
    assert msg.bcc_ok is True
    assert msg.to_bytes() == wire


@settings(max_examples=100)
@given(command_wire())
def test_command_message_wire_roundtrip(case: tuple[bytes, BccKind]) -> None:
    wire, kind = case
    msg = CommandMessage.from_bytes(wire, bcc_kind=kind)
    assert msg.bcc_ok is True
    assert msg.to_bytes() == wire


# ==================================================================================================
# The EMH EM4TII reference session (reference 1.7), byte for byte
# ==================================================================================================
def test_emh_session_request() -> None:
    assert RequestMessage().to_bytes() == b"/?!\r\n"
    assert RequestMessage.from_bytes(b"/?!\r\n") == RequestMessage()


def test_emh_session_identification() -> None:
    wire = b"/EMH5\\@D4EM4TIIW001--\r\n"
    ident = Identification.from_bytes(wire)
    assert ident == Identification("EMH", "5", "D4EM4TIIW001--", ("@",))
    assert ident.to_bytes() == wire
    assert ident.mode is ProtocolMode.C
    assert ident.baud_rate == 9600


def test_emh_session_option_select() -> None:
    assert OptionSelect.programming("5").to_bytes() == b"\x06051\r\n"
    assert OptionSelect.from_bytes(b"\x06051\r\n") == OptionSelect("0", "5", "1")


def test_emh_session_p0() -> None:
    wire = b"\x01P0\x02()\x03`"
    assert CommandMessage.operand("").to_bytes() == wire
    msg = CommandMessage.from_bytes(wire)
    assert msg == CommandMessage("P", "0", "()")
    assert msg.bcc_ok is True


def test_emh_session_password() -> None:
    assert CommandMessage.password("00000000").to_bytes() == b"\x01P1\x02(00000000)\x03a"
    assert CommandMessage.from_bytes(b"\x01P1\x02(00000000)\x03a") == CommandMessage.password("00000000")


def test_emh_session_ack() -> None:
    assert Ack.from_bytes(b"\x06") == Ack()


def test_emh_session_r5_0_9_2() -> None:
    wire = b"\x01R5\x020.9.2()\x03\\"
    assert CommandMessage.read("0.9.2", command_type="5").to_bytes() == wire
    assert CommandMessage.from_bytes(wire) == CommandMessage("R", "5", "0.9.2()")


def test_emh_session_data_0_9_2() -> None:
    wire = b"\x020.9.2(130103)\x039"
    assert DataMessage(b"0.9.2(130103)").to_bytes() == wire
    msg = DataMessage.from_bytes(wire)
    assert msg.data == b"0.9.2(130103)"
    assert msg.text == "0.9.2(130103)"
    assert not msg.partial
    assert msg.bcc_ok is True


def test_emh_session_r5_0_9_1() -> None:
    wire = b"\x01R5\x020.9.1()\x03_"
    assert CommandMessage.read("0.9.1", command_type="5").to_bytes() == wire
    assert CommandMessage.from_bytes(wire).data == "0.9.1()"


def test_emh_session_data_0_9_1() -> None:
    wire = b"\x020.9.1(101415)\x03:"
    assert DataMessage(b"0.9.1(101415)").to_bytes() == wire
    assert DataMessage.from_bytes(wire).data == b"0.9.1(101415)"


def test_emh_session_break() -> None:
    wire = bytes.fromhex("0142300371")
    assert BREAK.to_bytes() == wire
    assert CommandMessage.break_().to_bytes() == wire
    msg = CommandMessage.from_bytes(wire)
    assert msg == BREAK
    assert msg.data is None
    assert msg.is_break
    assert msg.name == "B0"


# ==================================================================================================
# Other concrete command messages (reference 1.5 vectors, 1.7 table)
# ==================================================================================================
@pytest.mark.parametrize(
    ("msg", "wire"),
    [
        (
            CommandMessage("W", "5", "1-0:0.9.129*255(1301031605000002)(00000000)"),
            b"\x01W5\x021-0:0.9.129*255(1301031605000002)(00000000)\x03^",
        ),
        (
            CommandMessage.write("C003", "910324092239", command_type="2"),
            b"\x01W2\x02C003(910324092239)\x03\x1b",
        ),
        (CommandMessage.read("1.8.0", "1"), b"\x01R1\x021.8.0(1)\x03k"),
        (CommandMessage.read("1.8.1", command_type="5"), b"\x01R5\x021.8.1()\x03_"),
        (CommandMessage.operand("1234567"), b"\x01P0\x02(1234567)\x03P"),
        (CommandMessage.password(""), b"\x01P1\x02()\x03a"),
    ],
    ids=["W5", "W2", "R1", "R5-1.8.1", "P0-operand", "P1-empty"],
)
def test_command_vectors(msg: CommandMessage, wire: bytes) -> None:
    assert msg.to_bytes() == wire
    assert CommandMessage.from_bytes(wire) == msg


def test_command_factories() -> None:
    assert CommandMessage.password("secret", level=2) == CommandMessage("P", "2", "(secret)")
    assert CommandMessage.write("3:171.0", "1234") == CommandMessage("W", "1", "3:171.0(1234)")
    assert CommandMessage.execute("0000", "0000") == CommandMessage("E", "2", "0000(0000)")
    assert CommandMessage.execute("0001").to_bytes() == command_frame(b"E2", b"0001()")
    assert CommandMessage.read("2:310.0", "1").name == "R1"


def test_b1_break() -> None:
    msg = CommandMessage.break_(command_type="1")
    wire = command_frame(b"B1")
    assert wire == b"\x01B1\x03p"
    assert msg.to_bytes() == wire
    assert CommandMessage.from_bytes(wire) == msg
    assert msg.is_break
    assert msg.name == "B1"
    assert msg != BREAK


@pytest.mark.parametrize("name", ["RD", "Rx", "WZ", "P9", "E0"])
def test_manufacturer_command_types(name: str) -> None:
    msg = CommandMessage(name[0], name[1], "0010(00)")
    wire = command_frame(name.encode(), b"0010(00)")
    assert msg.to_bytes() == wire
    back = CommandMessage.from_bytes(wire)
    assert back == msg
    assert back.name == name
    assert back.command == name[0]
    assert back.command_type == name[1]
    assert not back.is_break


def test_command_partial_block() -> None:
    msg = CommandMessage("W", "3", "C.1.0(0123456789)", partial=True)
    wire = command_frame(b"W3", b"C.1.0(0123456789)", end=EOT)
    assert msg.to_bytes() == wire
    assert wire[-2:-1] == EOT
    back = CommandMessage.from_bytes(wire)
    assert back == msg
    assert back.partial
    assert back.bcc_ok is True


def test_command_partial_and_final_blocks_differ() -> None:
    partial = CommandMessage("R", "6", "P.01(;)", partial=True)
    final = CommandMessage("R", "6", "P.01(;)")
    assert partial != final
    assert partial.to_bytes()[:-2] == final.to_bytes()[:-2]
    assert CommandMessage.from_bytes(final.to_bytes()).partial is False


def test_command_empty_data_keeps_stx() -> None:
    msg = CommandMessage("R", "5", "")
    assert msg.to_bytes() == command_frame(b"R5", b"")
    assert CommandMessage.from_bytes(msg.to_bytes()).data == ""


def test_command_sum_bcc() -> None:
    msg = CommandMessage("R", "1", "VOLTA()", bcc_kind=BccKind.SUM)
    wire = command_frame(b"R1", b"VOLTA()", kind=BccKind.SUM)
    assert msg.to_bytes() == wire
    assert CommandMessage.from_bytes(wire, bcc_kind=BccKind.SUM).bcc_ok is True
    assert lrc(wire[1:-1]) != wire[-1]
    with pytest.raises(ChecksumError):
        CommandMessage.from_bytes(wire)


# ==================================================================================================
# Data and error messages
# ==================================================================================================
def test_readout_data_message() -> None:
    data = b"3:14(314*kWh)4:15(415*kWh)\r\n!\r\n"
    wire = STX + data + ETX + b'"'
    assert DataMessage(data).to_bytes() == wire
    msg = DataMessage.from_bytes(wire)
    assert msg == DataMessage(data)
    assert msg.bcc_ok is True


def test_lis200_data_message() -> None:
    wire = b"\x023:171.0(0)\x03\x12"
    assert DataMessage(b"3:171.0(0)").to_bytes() == wire
    assert DataMessage.from_bytes(wire) == DataMessage(b"3:171.0(0)")


def test_partial_data_message() -> None:
    msg = DataMessage(b"P.01(1)(2)\r\n", partial=True)
    wire = data_frame(b"P.01(1)(2)\r\n", end=EOT)
    assert msg.to_bytes() == wire
    back = DataMessage.from_bytes(wire)
    assert back == msg
    assert back.partial


def test_unframed_data_message() -> None:
    data = b"1.8.0(001234.5*kWh)\r\n!\r\n"
    msg = DataMessage(data, framed=False)
    assert msg.to_bytes() == data
    assert msg != DataMessage(data)


def test_data_message_accepts_bytearray() -> None:
    msg = DataMessage(bytearray(b"1(2)"))  # type: ignore[arg-type]
    assert type(msg.data) is bytes
    assert msg == DataMessage(b"1(2)")


def test_bcc_ok_is_not_part_of_equality() -> None:
    assert DataMessage(b"x", bcc_ok=True) == DataMessage(b"x", bcc_ok=False) == DataMessage(b"x")
    assert ErrorMessage("ER1", bcc_ok=False) == ErrorMessage("ER1")
    assert CommandMessage("B", "0", bcc_ok=False) == BREAK
    assert DataMessage(b"x", bcc_kind=BccKind.SUM) == DataMessage(b"x")


def test_constructed_messages_have_no_bcc_verdict() -> None:
    assert DataMessage(b"x").bcc_ok is None
    assert ErrorMessage("ER1").bcc_ok is None
    assert CommandMessage("B", "0").bcc_ok is None


@pytest.mark.parametrize("text", ["ER12", "ERR12", "ERR5", "#0018", "ER 01", ""])
def test_error_message(text: str) -> None:
    wire = data_frame(f"({text})".encode())
    msg = ErrorMessage(text)
    assert msg.to_bytes() == wire
    back = ErrorMessage.from_bytes(wire)
    assert back == msg
    assert back.text == text
    assert back.bcc_ok is True


def test_error_message_er12_bytes() -> None:
    assert ErrorMessage("ER12").to_bytes() == b"\x02(ER12)\x03" + bytes([lrc(b"(ER12)\x03")])


def test_error_message_from_data_message() -> None:
    msg = ErrorMessage.from_data_message(DataMessage(b"(ER12)", bcc_ok=True))
    assert msg == ErrorMessage("ER12")
    assert msg.bcc_ok is True


@pytest.mark.parametrize(
    "data", [b"", b"(", b")", b"ER12", b"(ER12", b"ER12)", b"1.8.0(1)", b"(a(b)", b"(a*b)"]
)
def test_error_message_rejects_other_data(data: bytes) -> None:
    with pytest.raises(MalformedDataError):
        ErrorMessage.from_bytes(data_frame(data))
    with pytest.raises(MalformedDataError):
        ErrorMessage.from_data_message(DataMessage(data))


# ==================================================================================================
# Identification (reference 1.4)
# ==================================================================================================
REAL_IDENTS: list[tuple[str, str, str, tuple[str, ...], str, ProtocolMode, int, int]] = [
    # line, manufacturer, Z, enhanced, ident, mode, baud rate, reaction time
    ("EMH5\\@D4EM4TIIW001--", "EMH", "5", ("@",), "D4EM4TIIW001--", ProtocolMode.C, 9600, 200),
    ("ISk5MT174-0001", "ISk", "5", (), "MT174-0001", ProtocolMode.C, 9600, 20),
    ("LGZ5\\2ZMD3104407.B32", "LGZ", "5", ("2",), "ZMD3104407.B32", ProtocolMode.E, 9600, 200),
    ("KAM MC", "KAM", " ", (), "MC", ProtocolMode.A, 300, 200),
    ("ACE0\\3k260V01.19", "ACE", "0", ("3",), "k260V01.19", ProtocolMode.C, 300, 200),
    ("SIEC2WR5", "SIE", "C", (), "2WR5", ProtocolMode.B, 2400, 200),
    ("SIE32WR5", "SIE", "3", (), "2WR5", ProtocolMode.C, 2400, 200),
    ("LUN5<1>LUN70000130", "LUN", "5", (), "<1>LUN70000130", ProtocolMode.C, 9600, 200),
    ("ELS5<1>AS2018-5B-2P7", "ELS", "5", (), "<1>AS2018-5B-2P7", ProtocolMode.C, 9600, 200),
    ("ELS5\\@V9.30", "ELS", "5", ("@",), "V9.30", ProtocolMode.C, 9600, 200),
    ("g523.1028252", "g52", "3", (), ".1028252", ProtocolMode.C, 2400, 200),
    ("KMP5 KA6U001660297912", "KMP", "5", (), " KA6U001660297912", ProtocolMode.C, 9600, 200),
    ("Els6\\2EK280", "Els", "6", ("2",), "EK280", ProtocolMode.E, 19200, 20),
    ("ISK5\\2MT382", "ISK", "5", ("2",), "MT382", ProtocolMode.E, 9600, 200),
    ("SLB4\\@DC341TMPBF2ZAK", "SLB", "4", ("@",), "DC341TMPBF2ZAK", ProtocolMode.C, 4800, 200),
    ("POZ4LP1-VP02.04*", "POZ", "4", (), "LP1-VP02.04*", ProtocolMode.C, 4800, 200),
    ("ITR5EM214", "ITR", "5", (), "EM214", ProtocolMode.C, 9600, 200),
    ("HAg5eHZ", "HAg", "5", (), "eHZ", ProtocolMode.C, 9600, 20),
]


@pytest.mark.parametrize(
    ("line", "manufacturer", "baud_char", "enhanced", "ident", "mode", "rate", "reaction"),
    REAL_IDENTS,
    ids=[row[0] for row in REAL_IDENTS],
)
def test_real_identifications(
    line: str,
    manufacturer: str,
    baud_char: str,
    enhanced: tuple[str, ...],
    ident: str,
    mode: ProtocolMode,
    rate: int,
    reaction: int,
) -> None:
    wire = b"/" + line.encode() + CRLF
    msg = Identification.from_bytes(wire)
    assert msg.manufacturer == manufacturer
    assert msg.baud_char == baud_char
    assert msg.enhanced == enhanced
    assert msg.ident == ident
    assert msg.mode is mode
    assert msg.baud_rate == rate
    assert msg.reaction_time_ms == reaction
    assert msg.fast_reaction is (reaction == 20)
    assert msg.mode_e_capable is ("2" in enhanced)
    assert msg.text == line
    assert msg.to_bytes() == wire
    assert Identification.from_text(line) == msg
    assert Identification(manufacturer, baud_char, ident, enhanced) == msg


def test_iskra_ident_keeps_every_character() -> None:
    """The seed library drops the character after Z (``T174-0001``); we must not."""
    msg = Identification.from_bytes(b"/ISk5MT174-0001\r\n")
    assert msg.ident == "MT174-0001"
    assert msg.manufacturer == "ISk"
    assert msg.baud_char == "5"
    assert msg.reaction_time_ms == 20


def test_angle_bracket_one_is_not_an_escape() -> None:
    msg = Identification.from_bytes(b"/LUN5<1>LUN70000130\r\n")
    assert msg.enhanced == ()
    assert not msg.mode_e_capable
    assert msg.mode is ProtocolMode.C


def test_several_enhanced_pairs() -> None:
    msg = Identification.from_bytes(b"/XYZ5\\@\\2ABC\r\n")
    assert msg.enhanced == ("@", "2")
    assert msg.ident == "ABC"
    assert msg.mode is ProtocolMode.E
    assert msg.to_bytes() == b"/XYZ5\\@\\2ABC\r\n"


def test_backslash_later_in_ident_is_kept() -> None:
    msg = Identification.from_bytes(b"/ABC5X\\2Y\r\n")
    assert msg.enhanced == ()
    assert msg.ident == "X\\2Y"


def test_trailing_lone_backslash() -> None:
    msg = Identification.from_bytes(b"/ABC5\\\r\n")
    assert msg.enhanced == ()
    assert msg.ident == "\\"
    assert msg.to_bytes() == b"/ABC5\\\r\n"


@pytest.mark.parametrize(
    ("line", "manufacturer", "baud_char"),
    [("", "", ""), ("A", "A", ""), ("AB", "AB", ""), ("ABC", "ABC", ""), ("ABC5", "ABC", "5")],
)
def test_short_identifications(line: str, manufacturer: str, baud_char: str) -> None:
    wire = b"/" + line.encode() + CRLF
    msg = Identification.from_bytes(wire)
    assert (msg.manufacturer, msg.baud_char, msg.ident, msg.enhanced) == (manufacturer, baud_char, "", ())
    assert msg.to_bytes() == wire
    assert msg.mode is (ProtocolMode.C if baud_char == "5" else ProtocolMode.A)


# -- mode and baud rate ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("z", "rate"), [("A", 600), ("B", 1200), ("C", 2400), ("D", 4800), ("E", 9600), ("F", 19200)]
)
def test_mode_b_rates(z: str, rate: int) -> None:
    msg = Identification("ABC", z, "X")
    assert msg.mode is ProtocolMode.B
    assert msg.baud_rate == rate
    assert baud_rate_for_mode_b(z) == rate
    assert baud_rate_for_mode_c(z) is None
    # \2 does not turn a mode B meter into mode E
    assert Identification("ABC", z, "X", ("2",)).mode is ProtocolMode.B


@pytest.mark.parametrize("z", ["G", "H", "I"])
def test_mode_b_reserved(z: str) -> None:
    msg = Identification("ABC", z, "X")
    assert msg.mode is ProtocolMode.B
    assert msg.baud_rate == 300
    assert baud_rate_for_mode_b(z) is None


@pytest.mark.parametrize(
    ("z", "rate"),
    [("0", 300), ("1", 600), ("2", 1200), ("3", 2400), ("4", 4800), ("5", 9600), ("6", 19200)],
)
def test_mode_c_and_e_rates(z: str, rate: int) -> None:
    plain = Identification("ABC", z, "X")
    assert plain.mode is ProtocolMode.C
    assert plain.baud_rate == rate
    assert not plain.mode_e_capable
    capable = Identification("ABC", z, "X", ("2",))
    assert capable.mode is ProtocolMode.E
    assert capable.mode_e_capable
    assert capable.baud_rate == rate
    other = Identification("ABC", z, "X", ("@",))
    assert other.mode is ProtocolMode.C
    assert baud_rate_for_mode_c(z) == rate
    assert baud_rate_for_mode_b(z) is None
    assert mode_c_baud_char(rate) == z
    assert OptionSelect.readout(z).baud_rate == rate


@pytest.mark.parametrize("z", ["7", "8", "9"])
def test_mode_c_reserved(z: str) -> None:
    msg = Identification("ABC", z, "X")
    assert msg.mode is ProtocolMode.C
    assert msg.baud_rate == 300
    assert baud_rate_for_mode_c(z) is None


@settings(max_examples=100)
@given(printable_char("ABCDEFGHI0123456789"), st.lists(printable_char(), max_size=3).map(tuple))
def test_mode_a_for_any_other_character(z: str, enhanced: tuple[str, ...]) -> None:
    msg = Identification("ABC", z, "ident", enhanced)
    assert msg.mode is ProtocolMode.A
    assert msg.baud_rate == 300


def test_mode_c_baud_char_rejects_nonstandard_rates() -> None:
    for rate in (0, 110, 115200, 2401):
        with pytest.raises(LocalProtocolError):
            mode_c_baud_char(rate)


@pytest.mark.parametrize(
    ("manufacturer", "fast"), [("ISk", True), ("HAg", True), ("ISK", False), ("g52", False)]
)
def test_reaction_time(manufacturer: str, fast: bool) -> None:
    msg = Identification(manufacturer, "5")
    assert msg.fast_reaction is fast
    assert msg.reaction_time_ms == (20 if fast else 200)


# ==================================================================================================
# Option select (reference 1.3/1.6)
# ==================================================================================================
def test_option_select_ack_050() -> None:
    msg = OptionSelect.readout("5")
    assert msg == OptionSelect("0", "5", "0")
    assert msg.to_bytes() == b"\x06050\r\n"
    assert msg.baud_rate == 9600
    assert OptionSelect.from_bytes(b"\x06050\r\n") == msg


def test_option_select_ack_252() -> None:
    msg = OptionSelect.binary("5")
    assert msg == OptionSelect("2", "5", "2")
    assert msg.to_bytes() == b"\x06252\r\n"
    assert OptionSelect.from_bytes(b"\x06252\r\n") == msg


def test_option_select_defaults() -> None:
    assert OptionSelect().to_bytes() == b"\x06000\r\n"
    assert OptionSelect() == OptionSelect.readout()
    assert OptionSelect().baud_rate == 300
    assert OptionSelect.programming().to_bytes() == b"\x06001\r\n"
    assert OptionSelect("0", "5", "6").to_bytes() == b"\x06056\r\n"
    assert OptionSelect("0", "9", "0").baud_rate == 300


@pytest.mark.parametrize(
    "wire", [b"\x06050\r", b"\x06050\n\r", b"\x0605\r\n", b"\x060500\r\n", b"\x15050\r\n", b"050\r\n", b""]
)
def test_option_select_malformed(wire: bytes) -> None:
    with pytest.raises(MalformedDataError):
        OptionSelect.from_bytes(wire)


# ==================================================================================================
# Request message (reference 1.3/1.4/1.15)
# ==================================================================================================
@pytest.mark.parametrize(
    ("wire", "command", "address"),
    [
        (b"/?!\r\n", "?", ""),
        (b"/?12345678!\r\n", "?", "12345678"),
        (b"/?035 0000101!\r\n", "?", "035 0000101"),
        (b"/?MSY123!\r\n", "?", "MSY123"),
        (b"/2!\r\n", "2", ""),
        (b"/3!\r\n", "3", ""),
        (b"/#!\r\n", "#", ""),
        (b"/2Bla0!\r\n", "2", "Bla0"),
        (b"/?" + b"9" * 32 + b"!\r\n", "?", "9" * 32),
    ],
)
def test_request_messages(wire: bytes, command: str, address: str) -> None:
    msg = RequestMessage(address=address, command=command)
    assert msg.to_bytes() == wire
    back = RequestMessage.from_bytes(wire)
    assert back == msg
    assert back.command == command
    assert back.address == address


@pytest.mark.parametrize(
    ("request_address", "own", "expected"),
    [
        ("10203", "10203", True),
        ("10203", "010203", True),
        ("10203", "000010203", True),
        ("000010203", "10203", True),
        ("010203", "0010203", True),
        ("0", "000", True),
        ("000", "", True),
        ("", "12345678", True),
        ("", "", True),
        ("10203", "10204", False),
        ("10203", "102030", False),
        ("102030", "10203", False),
        ("abc", "ABC", False),
        ("035 0000101", "035 0000101", True),
        ("035 0000101", "0350000101", False),
        ("1", "", False),
    ],
)
def test_request_address_matching(request_address: str, own: str, expected: bool) -> None:
    assert RequestMessage(address=request_address).matches(own) is expected


@settings(max_examples=100)
@given(st.text("0123456789", min_size=1, max_size=20), st.integers(0, 10), st.integers(0, 10))
def test_leading_zeros_ignored(address: str, pad_request: int, pad_own: int) -> None:
    assert RequestMessage(address="0" * pad_request + address).matches("0" * pad_own + address)


@settings(max_examples=100)
@given(printable("/!", max_size=32))
def test_general_address_matches_everything(own: str) -> None:
    assert RequestMessage().matches(own)
    assert RequestMessage(command="2").matches(own)


@pytest.mark.parametrize(
    "wire",
    [b"", b"/", b"/?!", b"/?!\r", b"/?!\n", b"/!\r\n", b"?!\r\n", b"/?!\r\n\r\n", b"/!!\r\n", b"/?a!b!\r\n"],
)
def test_request_malformed(wire: bytes) -> None:
    with pytest.raises(MalformedDataError):
        RequestMessage.from_bytes(wire)


# ==================================================================================================
# Bad input
# ==================================================================================================
VALID_FRAMES: list[tuple[str, Parser, bytes]] = [
    ("request", RequestMessage.from_bytes, b"/?12345678!\r\n"),
    ("identification", Identification.from_bytes, b"/EMH5\\@D4EM4TIIW001--\r\n"),
    ("option-select", OptionSelect.from_bytes, b"\x06051\r\n"),
    ("ack", Ack.from_bytes, ACK),
    ("nak", Nak.from_bytes, NAK),
    ("data", DataMessage.from_bytes, b"\x020.9.2(130103)\x039"),
    ("readout", DataMessage.from_bytes, STX + b"3:14(314*kWh)4:15(415*kWh)\r\n!\r\n" + ETX + b'"'),
    ("error", ErrorMessage.from_bytes, data_frame(b"(ER12)")),
    ("command", CommandMessage.from_bytes, b"\x01P1\x02(00000000)\x03a"),
    ("break", CommandMessage.from_bytes, b"\x01B0\x03q"),
]


@pytest.mark.parametrize(("name", "parse", "wire"), VALID_FRAMES, ids=[f[0] for f in VALID_FRAMES])
def test_valid_frames_parse(name: str, parse: Parser, wire: bytes) -> None:
    msg = parse(wire)
    assert msg.to_bytes() == wire  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "parse", "wire"), VALID_FRAMES, ids=[f[0] for f in VALID_FRAMES])
def test_truncated_frames_are_malformed(name: str, parse: Parser, wire: bytes) -> None:
    for cut in range(len(wire)):
        with pytest.raises(MalformedDataError):
            parse(wire[:cut])
        if cut:
            with pytest.raises(MalformedDataError):
                parse(wire[cut:])


@pytest.mark.parametrize(("name", "parse", "wire"), VALID_FRAMES, ids=[f[0] for f in VALID_FRAMES])
def test_trailing_garbage_is_rejected(name: str, parse: Parser, wire: bytes) -> None:
    with pytest.raises((MalformedDataError, ChecksumError)):
        parse(wire + b"\x00")
    with pytest.raises((MalformedDataError, ChecksumError)):
        parse(b"\x00" + wire)


@pytest.mark.parametrize(
    ("parse", "wire"),
    [
        (DataMessage.from_bytes, b"\x020.9.2(130103)\x03"),  # BCC missing
        (DataMessage.from_bytes, b"0.9.2(130103)\x039"),  # STX missing
        (DataMessage.from_bytes, b"\x020.9.2(130103)9"),  # ETX missing
        (CommandMessage.from_bytes, b"\x01P1(00000000)\x03" + bytes([lrc(b"P1(00000000)\x03")])),  # no STX
        (CommandMessage.from_bytes, b"\x01P1\x02(00000000)"),
        (CommandMessage.from_bytes, b"\x01P\x03"),
        (CommandMessage.from_bytes, b"\x01B0\x04" + bytes([lrc(b"B0\x04")])),  # partial without data
        (CommandMessage.from_bytes, command_frame(b"P1", b"(0\x010)")),  # SOH inside the data set
        (CommandMessage.from_bytes, command_frame(b"P1", b"(0\r\n0)")),
        (CommandMessage.from_bytes, command_frame(b"P1", b"(\x80)")),
        (CommandMessage.from_bytes, command_frame(b"P\x7f", b"()")),
        (CommandMessage.from_bytes, command_frame(b"\x00\x00", b"()")),
        (Identification.from_bytes, b"/ABC5\xc9\r\n"),  # not ISO 646
        (Identification.from_bytes, b"/ABC5X\rY\r\n"),
        (Identification.from_bytes, b"/ABC\\\x01X\r\n"),
        (RequestMessage.from_bytes, b"/?\xb1!\r\n"),
        (OptionSelect.from_bytes, b"\x060\x005\r\n"),
        (OptionSelect.from_bytes, b"\x06\xb050\r\n"),
        (ErrorMessage.from_bytes, data_frame(b"(\xc5R)")),
        (ErrorMessage.from_bytes, data_frame(b"(ER\r\n12)")),
        (Ack.from_bytes, b"\x86"),
        (Ack.from_bytes, b"\x06\x06"),
        (Nak.from_bytes, b"\x95"),
        (Nak.from_bytes, b""),
    ],
)
def test_garbled_frames_are_malformed(parse: Parser, wire: bytes) -> None:
    with pytest.raises(MalformedDataError) as info:
        parse(wire)
    assert info.value.data in wire


@pytest.mark.parametrize(
    ("parse", "good", "bad"),
    [
        (CommandMessage.from_bytes, b"\x01P1\x02(00000000)\x03a", b"\x01P1\x02(00000000)\x03b"),
        (CommandMessage.from_bytes, b"\x01P1\x02(00000000)\x03a", b"\x01P1\x02(00000001)\x03a"),
        (CommandMessage.from_bytes, b"\x01B0\x03q", b"\x01B0\x03p"),
        (DataMessage.from_bytes, b"\x020.9.2(130103)\x039", b"\x020.9.2(130104)\x039"),
        (ErrorMessage.from_bytes, data_frame(b"(ER12)"), data_frame(b"(ER12)")[:-1] + b"\x00"),
    ],
)
def test_checksum_error(parse: Parser, good: bytes, bad: bytes) -> None:
    with pytest.raises(ChecksumError) as info:
        parse(bad)
    err = info.value
    assert isinstance(err, RemoteProtocolError)
    assert err.expected == lrc(bad[1:-1])
    assert err.received == bad[-1] & 0x7F
    assert err.expected != err.received
    assert err.data == bad
    assert err.offset == len(bad) - 1
    assert err.reply == NAK == Nak().to_bytes()
    assert str(err)  # renders with the excerpt
    # strict=False keeps the message and records the verdict
    lenient = parse.__self__.from_bytes(bad, strict=False)  # type: ignore[attr-defined]
    assert lenient.bcc_ok is False
    assert parse.__self__.from_bytes(good, strict=False).bcc_ok is True  # type: ignore[attr-defined]


def test_lenient_parse_keeps_content() -> None:
    msg = CommandMessage.from_bytes(b"\x01P1\x02(00000000)\x03b", strict=False)
    assert msg == CommandMessage.password("00000000")
    assert msg.bcc_ok is False
    data = DataMessage.from_bytes(b"\x020.9.2(130104)\x039", strict=False)
    assert data.data == b"0.9.2(130104)"
    assert data.bcc_ok is False
    # re-encoding produces the correct BCC
    assert data.to_bytes() == data_frame(b"0.9.2(130104)")
    err = ErrorMessage.from_bytes(data_frame(b"(ER12)")[:-1] + b"\x00", strict=False)
    assert err == ErrorMessage("ER12")
    assert err.bcc_ok is False


def test_lenient_parse_still_rejects_malformed() -> None:
    with pytest.raises(MalformedDataError):
        CommandMessage.from_bytes(b"\x01P1(00000000)\x03a", strict=False)
    with pytest.raises(MalformedDataError):
        DataMessage.from_bytes(b"\x020.9.2", strict=False)


@pytest.mark.parametrize(
    ("parse", "wire"),
    [
        (CommandMessage.from_bytes, b"\x01P1\x02(00000000)\x03a"),
        (CommandMessage.from_bytes, b"\x01B0\x03q"),
        (DataMessage.from_bytes, b"\x020.9.2(130103)\x039"),
        (ErrorMessage.from_bytes, data_frame(b"(ER12)")),
    ],
)
def test_parity_bit_on_bcc_is_ignored(parse: Parser, wire: bytes) -> None:
    with_parity = wire[:-1] + bytes([wire[-1] | 0x80])
    msg = parse(with_parity)
    assert msg.bcc_ok is True  # type: ignore[attr-defined]
    assert msg.to_bytes() == wire  # type: ignore[attr-defined]


@settings(max_examples=100)
@given(command_wire(), st.data())
def test_any_corrupted_command_byte_is_detected(case: tuple[bytes, BccKind], draw: st.DataObject) -> None:
    wire, kind = case
    assume(kind is BccKind.XOR)
    pos = draw.draw(st.integers(min_value=1, max_value=len(wire) - 3))
    new = draw.draw(st.integers(0x20, 0x7E).filter(lambda v: v != wire[pos]))
    bad = wire[:pos] + bytes([new]) + wire[pos + 1 :]
    with pytest.raises((ChecksumError, MalformedDataError)):
        CommandMessage.from_bytes(bad)


# -- fuzzing: random and near-valid bytes --------------------------------------------------------------
INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x0A, 0x0D, 0x15, 0x7F, 0x80, 0x83, 0xFF]
INTERESTING += [ord(c) for c in "/?!()*\\ A5B0P1R2"]


@st.composite
def frame_like(draw: st.DrawFn) -> bytes:
    """Bytes that look like frames: a start byte, an alphabet rich in control characters, an end."""
    start = draw(st.sampled_from([b"", SOH, STX, b"/", ACK, NAK]))
    middle = bytes(draw(st.lists(st.sampled_from(INTERESTING), max_size=12)))
    end = draw(st.sampled_from([b"", ETX, EOT, CRLF, b"!\r\n"]))
    body = middle + end
    tail = draw(
        st.sampled_from(
            [
                b"",
                bytes([lrc((start + body)[1:])]),
                bytes([lrc(body)]),
                bytes([additive((start + body)[1:])]),
                b"\x00",
            ]
        )
    )
    return start + body + tail


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A valid frame, then truncated, cut, extended or with one byte replaced."""
    wire = bytearray(draw(st.sampled_from([f[2] for f in VALID_FRAMES])))
    action = draw(st.sampled_from(["cut-end", "cut-start", "replace", "insert", "delete"]))
    pos = draw(st.integers(0, len(wire)))
    byte = draw(st.sampled_from(INTERESTING) | st.integers(0, 255))
    if action == "cut-end":
        del wire[pos:]
    elif action == "cut-start":
        del wire[:pos]
    elif action == "replace" and pos < len(wire):
        wire[pos] = byte
    elif action == "insert":
        wire.insert(pos, byte)
    elif pos < len(wire):
        del wire[pos]
    if draw(st.booleans()) and len(wire) >= 2:
        # fix the BCC up so that the grammar, not the checksum, is what is tested
        wire[-1] = lrc(bytes(wire[1:-1]))
    return bytes(wire)


garbage = st.one_of(st.binary(max_size=64), frame_like(), mutated_frames())

PARSERS: list[tuple[str, Parser]] = [
    ("RequestMessage", RequestMessage.from_bytes),
    ("Identification", Identification.from_bytes),
    ("OptionSelect", OptionSelect.from_bytes),
    ("Ack", Ack.from_bytes),
    ("Nak", Nak.from_bytes),
    ("DataMessage", DataMessage.from_bytes),
    ("DataMessage-lenient", lambda b: DataMessage.from_bytes(b, strict=False)),
    ("DataMessage-sum", lambda b: DataMessage.from_bytes(b, bcc_kind=BccKind.SUM)),
    ("ErrorMessage", ErrorMessage.from_bytes),
    ("ErrorMessage-lenient", lambda b: ErrorMessage.from_bytes(b, strict=False)),
    ("CommandMessage", CommandMessage.from_bytes),
    ("CommandMessage-lenient", lambda b: CommandMessage.from_bytes(b, strict=False)),
    ("CommandMessage-sum", lambda b: CommandMessage.from_bytes(b, bcc_kind=BccKind.SUM)),
]


@pytest.mark.parametrize(("name", "parse"), PARSERS, ids=[p[0] for p in PARSERS])
@settings(max_examples=75)
@given(data=garbage)
@example(data=b"\x02\x02\x03\x01")
@example(data=b"\x02\x02\x03\x00")
def test_only_meterlink_errors_escape(name: str, parse: Parser, data: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        parse(data)


@pytest.mark.parametrize(("name", "parse"), PARSERS, ids=[p[0] for p in PARSERS])
@settings(max_examples=75)
@given(data=garbage)
@example(data=b"\x02\x02\x03\x01")  # STX in the data, correct BCC
@example(data=b"\x02\x02\x03\x00")  # STX in the data, wrong BCC
@example(data=b"\x02\x02\x03\x05")  # STX in the data, correct additive BCC
def test_bad_input_raises_only_malformed_or_checksum(name: str, parse: Parser, data: bytes) -> None:
    """Bad bytes from the peer are a RemoteProtocolError, never a LocalProtocolError."""
    try:
        parse(data)
    except (MalformedDataError, ChecksumError) as exc:
        assert exc.data in data, "a remote error must carry the offending bytes"
    except MeterlinkError as exc:
        pytest.fail(f"{name}.from_bytes({data!r}) raised {type(exc).__name__}: {exc}")


STRICT_PARSERS: list[tuple[str, Parser]] = [
    (name, parse) for name, parse in PARSERS if not name.endswith(("-lenient", "-sum"))
]


@pytest.mark.parametrize(("name", "parse"), STRICT_PARSERS, ids=[p[0] for p in STRICT_PARSERS])
@settings(max_examples=75)
@given(data=garbage)
@example(data=b"\x02(ER12)\x04\x11")  # an EOT frame, correct BCC
def test_accepted_bytes_are_canonical(name: str, parse: Parser, data: bytes) -> None:
    """Whatever a strict parser accepts (7-bit BCC) re-encodes to the very same bytes."""
    assume(not data or data[-1] < 0x80)
    try:
        msg = parse(data)
    except MeterlinkError:
        return
    assert msg.to_bytes() == data  # type: ignore[attr-defined]


# ==================================================================================================
# Constructor validation
# ==================================================================================================
@pytest.mark.parametrize(
    "make",
    [
        lambda: RequestMessage(address="12/34"),
        lambda: RequestMessage(address="12!34"),
        lambda: RequestMessage(address="12\r\n"),
        lambda: RequestMessage(address="1\x002"),
        lambda: RequestMessage(address="1\x7f"),
        lambda: RequestMessage(address="Zähler"),
        lambda: RequestMessage(command="/"),
        lambda: RequestMessage(command="!"),
        lambda: RequestMessage(command=""),
        lambda: RequestMessage(command="??"),
        lambda: RequestMessage(command="\r"),
        lambda: Identification("ABCD", "5"),
        lambda: Identification("AB", "5"),
        lambda: Identification("ABC", "55"),
        lambda: Identification("ABC", "\x06"),
        lambda: Identification("ABC", "5", "X\r\nY"),
        lambda: Identification("ABC", "5", "X\x00"),
        lambda: Identification("ABC", "5", "ü"),
        lambda: Identification("ABC", "5", "X", ("",)),
        lambda: Identification("ABC", "5", "X", ("22",)),
        lambda: Identification("ABC", "5", "X", ("\n",)),
        lambda: Identification("ABC", "", "X"),
        lambda: Identification("ABC", "", "", ("2",)),
        lambda: Identification("A\rC", "5"),
        lambda: OptionSelect("", "5", "0"),
        lambda: OptionSelect("0", "55", "0"),
        lambda: OptionSelect("0", "5", "\x06"),
        lambda: OptionSelect("\x7f", "5", "0"),
        lambda: OptionSelect.binary(""),
        lambda: DataMessage(b"1(2)\x03"),
        lambda: DataMessage(b"\x021(2)"),
        lambda: DataMessage(b"1(2)\x04"),
        lambda: DataMessage(b"1(2)", partial=True, framed=False),
        lambda: ErrorMessage("ER(12"),
        lambda: ErrorMessage("ER)12"),
        lambda: ErrorMessage("ER*12"),
        lambda: ErrorMessage("ER/12"),
        lambda: ErrorMessage("ER!12"),
        lambda: ErrorMessage("ER\r\n"),
        lambda: ErrorMessage("ER\x03"),
        lambda: ErrorMessage("FEHLER ä"),
        lambda: CommandMessage("", "1"),
        lambda: CommandMessage("RR", "1"),
        lambda: CommandMessage("R", ""),
        lambda: CommandMessage("R", "\x02"),
        lambda: CommandMessage("\x01", "1"),
        lambda: CommandMessage("R", "1", "1.8.0(\x01)"),
        lambda: CommandMessage("R", "1", "1.8.0(\x02)"),
        lambda: CommandMessage("R", "1", "1.8.0(\x03)"),
        lambda: CommandMessage("R", "1", "1.8.0(\x04)"),
        lambda: CommandMessage("R", "1", "1.8.0(\r\n)"),
        lambda: CommandMessage("R", "1", "1.8.0(µ)"),
        lambda: CommandMessage("B", "0", None, partial=True),
        lambda: CommandMessage.password("0\x030"),
        lambda: CommandMessage.read("1.8.0\x04"),
    ],
)
def test_constructor_rejects_forbidden_characters(make: Callable[[], object]) -> None:
    with pytest.raises(LocalProtocolError):
        make()


@settings(max_examples=100)
@given(printable("/!", max_size=20), st.sampled_from("/!\r\n\x00\x1f\x7f"), st.integers(0, 20))
def test_request_address_with_any_forbidden_character(base: str, bad: str, pos: int) -> None:
    address = base[:pos] + bad + base[pos:]
    with pytest.raises(LocalProtocolError):
        RequestMessage(address=address)


@settings(max_examples=100)
@given(printable("()*/!", max_size=20), st.sampled_from("()*/!\r\n\x00\x7f"), st.integers(0, 20))
def test_error_text_with_any_forbidden_character(base: str, bad: str, pos: int) -> None:
    text = base[:pos] + bad + base[pos:]
    with pytest.raises(LocalProtocolError):
        ErrorMessage(text)


def test_local_protocol_error_is_a_meterlink_error() -> None:
    with pytest.raises(MeterlinkError):
        RequestMessage(command="!")


@pytest.mark.parametrize(
    ("msg", "field_name"),
    [
        (RequestMessage(), "address"),
        (Identification("ABC", "5"), "ident"),
        (OptionSelect(), "mode"),
        (DataMessage(b"x"), "data"),
        (ErrorMessage("ER1"), "text"),
        (CommandMessage("B", "0"), "command"),
        (Ack(), "anything"),
        (Nak(), "anything"),
    ],
)
def test_messages_are_frozen(msg: object, field_name: str) -> None:
    # Ack/Nak have no fields; CPython's frozen+slots __setattr__ then fails with TypeError.
    expected = (AttributeError, TypeError) if field_name == "anything" else dataclasses.FrozenInstanceError
    with pytest.raises(expected):
        setattr(msg, field_name, "x")
    assert hash(msg) == hash(msg)


# ==================================================================================================
# Bugs found while writing these tests (they fail until messages.py is fixed)
# ==================================================================================================
@pytest.mark.parametrize(
    ("wire", "strict"),
    [
        (b"\x02\x02\x03\x01", True),  # STX inside the data, BCC correct
        (b"\x02\x03\x03\x00", True),  # ETX inside the data, BCC correct
        (data_frame(b"1(2)\x041(3)"), True),  # EOT inside the data, BCC correct
        (b"\x02\x02\x03\x00", False),  # lenient: BCC wrong, same grammar error
    ],
)
def test_data_message_with_control_character_in_data_is_malformed(wire: bytes, strict: bool) -> None:
    """Peer bytes with STX/ETX/EOT inside the data block must give MalformedDataError.

    messages.py lets the constructor's LocalProtocolError escape from ``DataMessage.from_bytes``
    (and ``ErrorMessage.from_bytes``), which tells the caller *they* made a mistake.
    """
    with pytest.raises(MalformedDataError):
        DataMessage.from_bytes(wire, strict=strict)
    with pytest.raises(MalformedDataError):
        ErrorMessage.from_bytes(wire, strict=strict)


def test_error_message_rejects_partial_block() -> None:
    """An error message always ends with ETX; an EOT frame read as one would re-encode differently."""
    wire = data_frame(b"(ER12)", end=EOT)
    with pytest.raises(MalformedDataError):
        ErrorMessage.from_bytes(wire)


def test_error_message_keeps_sum_bcc() -> None:
    """An error message read with the additive BCC must encode back to the same bytes."""
    wire = data_frame(b"(ERR12)", kind=BccKind.SUM)
    assert lrc(wire[1:-1]) != wire[-1]
    msg = ErrorMessage.from_bytes(wire, bcc_kind=BccKind.SUM)
    assert msg.bcc_ok is True
    assert msg.to_bytes() == wire


@pytest.mark.parametrize("ident", ["\\@x", "\\2ZMD", "\\\\"])
def test_identification_ident_starting_with_escape(ident: str) -> None:
    """An ident that starts with ``\\`` + printable reads back as an enhanced pair.

    The constructor must either reject it or the instance must survive the round trip.
    """
    try:
        msg = Identification("ABC", "5", ident)
    except LocalProtocolError:
        return
    assert Identification.from_bytes(msg.to_bytes()) == msg
