"""The incremental framer (reference sections 1.2-1.5, 1.13): bytes in any chunks, messages out."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import (
    ChecksumError,
    FrameTooLongError,
    LocalProtocolError,
    MalformedDataError,
    RemoteProtocolError,
)
from meterlink.iec62056_21.bcc import BccKind
from meterlink.iec62056_21.framer import DEFAULT_ERROR_PATTERN, NEED_DATA, Framer, NeedData, Role
from meterlink.iec62056_21.messages import (
    BREAK,
    Ack,
    CommandMessage,
    DataMessage,
    ErrorMessage,
    Identification,
    Message,
    Nak,
    OptionSelect,
    RequestMessage,
)

from .wire import even_parity

READOUT = b"0.0.0(12345678)\r\n1.8.0(001234.5*kWh)\r\n!\r\n"
IDENT = b"/EMH5\\@D4EM4TII\r\n"

CLIENT_STREAM = [
    IDENT,
    DataMessage(READOUT).to_bytes(),
    CommandMessage.operand("1234").to_bytes(),
    b"\x06",
    DataMessage(b"P.01(1)(2)", partial=True).to_bytes(),
    DataMessage(b"(3)(4)").to_bytes(),
    ErrorMessage("ER12").to_bytes(),
    b"\x15",
    DataMessage(b"0.9.1(101415)").to_bytes(),
    BREAK.to_bytes(),
]
METER_STREAM = [
    b"/?12345678!\r\n",
    CommandMessage.password("00000000").to_bytes(),
    CommandMessage.read("0.9.1", command_type="5").to_bytes(),
    b"\x06",
    b"\x15",
    CommandMessage("W", "3", "C.90.1(0123", partial=True).to_bytes(),
    CommandMessage.execute("0000", "0000").to_bytes(),
    CommandMessage.break_(command_type="1").to_bytes(),
    b"/2!\r\n",
]

Outcome = Message | str


def drain(framer: Framer) -> list[Outcome]:
    """Every message the framer has now; damaged frames as the name of their error."""
    found: list[Outcome] = []
    while True:
        try:
            message = framer.next_message()
        except RemoteProtocolError as exc:
            found.append(type(exc).__name__)
            continue
        if isinstance(message, NeedData):
            return found
        found.append(message)


def framed(role: Role, chunks: list[bytes], **options: object) -> list[Outcome]:
    framer = Framer(role, **options)  # type: ignore[arg-type]
    found: list[Outcome] = []
    for chunk in chunks:
        framer.feed(chunk)
        found += drain(framer)
    return found


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


# -- whole streams, any chunking ----------------------------------------------------------------------
def test_client_stream_in_one_piece() -> None:
    found = framed(Role.CLIENT, [b"".join(CLIENT_STREAM)])
    assert found == [
        Identification.from_text("EMH5\\@D4EM4TII"),
        DataMessage(READOUT),
        CommandMessage.operand("1234"),
        Ack(),
        DataMessage(b"P.01(1)(2)", partial=True),
        DataMessage(b"(3)(4)"),
        ErrorMessage("ER12"),
        Nak(),
        DataMessage(b"0.9.1(101415)"),
        BREAK,
    ]


def test_meter_stream_in_one_piece() -> None:
    found = framed(Role.METER, [b"".join(METER_STREAM)])
    assert found == [
        RequestMessage("12345678"),
        CommandMessage.password("00000000"),
        CommandMessage.read("0.9.1", command_type="5"),
        Ack(),
        Nak(),
        CommandMessage("W", "3", "C.90.1(0123", partial=True),
        CommandMessage.execute("0000", "0000"),
        CommandMessage.break_(command_type="1"),
        RequestMessage("", "2"),
    ]


@pytest.mark.parametrize(("role", "stream"), [(Role.CLIENT, CLIENT_STREAM), (Role.METER, METER_STREAM)])
def test_every_single_split_gives_the_same_messages(role: Role, stream: list[bytes]) -> None:
    data = b"".join(stream)
    whole = framed(role, [data])
    for cut in range(len(data) + 1):
        assert framed(role, [data[:cut], data[cut:]]) == whole, cut


@pytest.mark.parametrize(("role", "stream"), [(Role.CLIENT, CLIENT_STREAM), (Role.METER, METER_STREAM)])
def test_byte_by_byte_gives_the_same_messages(role: Role, stream: list[bytes]) -> None:
    data = b"".join(stream)
    assert framed(role, [data[i : i + 1] for i in range(len(data))]) == framed(role, [data])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10_000), max_size=12), st.sampled_from([Role.CLIENT, Role.METER]))
def test_any_chunking_gives_the_same_messages(cuts: list[int], role: Role) -> None:
    stream = b"".join(CLIENT_STREAM if role is Role.CLIENT else METER_STREAM)
    noisy = b"\x00\x7f\x7f" + stream.replace(b"\x15", b"\x15\x00\x7f")
    assert framed(role, split_at(noisy, cuts)) == framed(role, [noisy])


def test_push_stream_any_split() -> None:
    telegram = b"/EBZ5DD3\r\n\r\n1-0:1.8.0*255(000123.4567*kWh)\r\n!\r\n"
    data = telegram * 2 + b"/ZPA5GH305\r\n\r\n" + DataMessage(READOUT).to_bytes()
    framer = Framer(Role.CLIENT)
    framer.push = True
    framer.feed(data)
    whole = drain(framer)
    assert len(whole) == 6
    for cut in range(len(data) + 1):
        framer = Framer(Role.CLIENT)
        framer.push = True
        found: list[Outcome] = []
        for chunk in (data[:cut], data[cut:]):
            framer.feed(chunk)
            found += drain(framer)
        assert found == whole, cut


# -- echo ---------------------------------------------------------------------------------------------
def test_echo_of_what_was_sent_is_dropped() -> None:
    framer = Framer(Role.CLIENT)
    framer.expect_echo(b"/?!\r\n")
    framer.feed(b"/?!\r\n" + IDENT)
    assert drain(framer) == [Identification.from_text("EMH5\\@D4EM4TII")]
    assert framer.discarded == 5


def test_echo_in_pieces_is_dropped() -> None:
    framer = Framer(Role.METER)
    framer.expect_echo(IDENT)
    for i in range(len(IDENT)):
        framer.feed(IDENT[i : i + 1])
        assert drain(framer) == []
    framer.feed(b"\x06051\r\n")
    framer.expect_option_select = True
    assert drain(framer) == [OptionSelect.programming("5")]


def test_echo_with_parity_is_dropped() -> None:
    framer = Framer(Role.CLIENT)
    framer.expect_echo(b"\x01R5\x020.9.1()\x03_")
    framer.feed(even_parity(b"\x01R5\x020.9.1()\x03_") + DataMessage(b"0.9.1(1)").to_bytes())
    assert drain(framer) == [DataMessage(b"0.9.1(1)")]


def test_an_answer_that_begins_like_the_echo_is_not_eaten() -> None:
    # a fast meter's identification arriving byte by byte while our request's echo is expected:
    # its '/' must not be dropped as the first byte of that echo
    framer = Framer(Role.CLIENT)
    framer.expect_echo(b"/?!\r\n")
    framer.feed(b"/")
    assert drain(framer) == []
    for byte in IDENT[1:]:
        framer.feed(bytes([byte]))
    assert drain(framer) == [Identification.from_text("EMH5\\@D4EM4TII")]


def test_echoes_of_two_transmissions_are_matched_one_by_one() -> None:
    framer = Framer(Role.CLIENT)
    framer.expect_echo(b"\x06")
    framer.expect_echo(b"\x15")
    framer.feed(b"\x06\x15" + DataMessage(b"(3)(4)").to_bytes())
    assert drain(framer) == [DataMessage(b"(3)(4)")]
    assert framer.discarded == 2


def test_no_echo_means_the_answer_is_read() -> None:
    framer = Framer(Role.CLIENT)
    framer.expect_echo(b"\x06")  # we ACKed a block; the line does not echo
    framer.feed(DataMessage(b"(3)(4)").to_bytes())
    assert drain(framer) == [DataMessage(b"(3)(4)")]


def test_echo_suppression_off() -> None:
    framer = Framer(Role.CLIENT, suppress_echo=False)
    framer.expect_echo(b"\x15")
    framer.feed(b"\x15")
    assert drain(framer) == [Nak()]


def test_cancel_echo() -> None:
    framer = Framer(Role.CLIENT)
    framer.expect_echo(b"\x06")
    framer.cancel_echo()
    framer.feed(b"\x06")
    assert drain(framer) == [Ack()]


def test_many_late_request_echoes_do_not_recurse() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"/?!\r\n" * 5000 + IDENT)
    assert drain(framer) == [Identification.from_text("EMH5\\@D4EM4TII")]


# -- garbage ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "garbage",
    [b"\x00" * 66, b"\x7f" * 40, b"\x00\x7f\x00\x7f", b"\r\n", b"abc", b"\xff\xfe", b"!!!", b"/\x7f\x7f"],
)
@pytest.mark.parametrize("role", [Role.CLIENT, Role.METER])
def test_garbage_before_a_message_is_skipped(garbage: bytes, role: Role) -> None:
    message = IDENT if role is Role.CLIENT else b"/?!\r\n"
    framer = Framer(role)
    framer.feed(garbage + message)
    found = drain(framer)
    assert len(found) == 1
    assert not isinstance(found[0], str)
    assert framer.buffered == 0
    assert framer.discarded >= len(garbage) - 3


def test_slash_inside_garbage_does_not_swallow_the_identification() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"\x00/\x7f\x7f\x00" + IDENT)
    assert drain(framer) == [Identification.from_text("EMH5\\@D4EM4TII")]


def test_meter_skips_stx_frames_and_noise() -> None:
    framer = Framer(Role.METER)
    framer.feed(DataMessage(READOUT).to_bytes() + b"\x7f\x7f\x00" + b"/?!\r\n")
    assert drain(framer) == [RequestMessage()]


def test_noise_between_messages() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"\x7f" * 10 + b"\x06" + b"\x00" * 5 + b"\x15" + b"\x7f")
    assert drain(framer) == [Ack(), Nak()]
    assert framer.buffered == 0


def test_frame_broken_off_by_a_new_one() -> None:
    # a block whose end was lost, then the repeated block: the stump goes, the block is read
    good = DataMessage(READOUT).to_bytes()
    framer = Framer(Role.CLIENT)
    framer.feed(good[:20] + good)
    assert drain(framer) == ["BrokenOffError", DataMessage(READOUT)]  # a MalformedDataError
    meter = Framer(Role.METER)
    command = CommandMessage.read("0.9.1", command_type="5").to_bytes()
    meter.feed(command[:6] + command)
    assert drain(meter) == ["BrokenOffError", CommandMessage.read("0.9.1", command_type="5")]


def test_bad_identification_line() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"/\x01\r\n" + IDENT)
    assert drain(framer)[-1] == Identification.from_text("EMH5\\@D4EM4TII")
    meter = Framer(Role.METER)
    meter.feed(b"/?abc\r\n/?!\r\n")
    assert drain(meter) == ["MalformedDataError", RequestMessage()]


def test_late_request_echo_is_not_an_identification() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"/?12345678!\r\n" + IDENT)
    assert drain(framer) == [Identification.from_text("EMH5\\@D4EM4TII")]


# -- parity -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "stream"), [(Role.CLIENT, CLIENT_STREAM), (Role.METER, METER_STREAM)])
def test_parity_bit_is_masked(role: Role, stream: list[bytes]) -> None:
    data = b"".join(stream)
    with_parity = framed(role, [even_parity(data)])
    assert with_parity == framed(role, [data])
    assert all(not isinstance(m, str) for m in with_parity)
    all_set = bytes(b | 0x80 for b in data)
    assert framed(role, [all_set]) == framed(role, [data])


def test_bcc_is_checked_on_seven_bits() -> None:
    frame = bytearray(DataMessage(b"0.9.1(101415)").to_bytes())
    frame[-1] |= 0x80
    found = framed(Role.CLIENT, [bytes(frame)])
    assert found == [DataMessage(b"0.9.1(101415)")]
    assert isinstance(found[0], DataMessage)
    assert found[0].bcc_ok is True


# -- BCC ---------------------------------------------------------------------------------------------
def test_bad_bcc_raises_then_the_next_frame_is_read() -> None:
    bad = DataMessage(READOUT).to_bytes()[:-1] + b"\x00"
    assert framed(Role.CLIENT, [bad + b"\x06"]) == ["ChecksumError", Ack()]


def test_bad_bcc_error_suggests_a_nak() -> None:
    framer = Framer(Role.METER)
    framer.feed(b"\x01R5\x020.9.1()\x03\x00")
    with pytest.raises(ChecksumError) as info:
        framer.next_message()
    assert info.value.reply == b"\x15"
    assert framer.buffered == 0


def test_lenient_bcc_marks_the_message() -> None:
    bad = DataMessage(READOUT).to_bytes()[:-1] + b"\x00"
    (found,) = framed(Role.CLIENT, [bad], strict_bcc=False)
    assert isinstance(found, DataMessage)
    assert found.bcc_ok is False


def test_additive_bcc() -> None:
    frame = DataMessage(b"VOLTA(228.93)", bcc_kind=BccKind.SUM).to_bytes()
    assert framed(Role.CLIENT, [frame], bcc_kind=BccKind.SUM) == [DataMessage(b"VOLTA(228.93)")]
    assert framed(Role.CLIENT, [frame]) in (["ChecksumError"], [DataMessage(b"VOLTA(228.93)")])


# -- bounded buffer -------------------------------------------------------------------------------------
def test_too_long_data_message_then_recovery() -> None:
    framer = Framer(Role.CLIENT, max_message_size=64)
    framer.feed(b"\x02" + b"1.8.0(1)\r\n" * 3)
    assert drain(framer) == []
    framer.feed(b"1.8.0(1)\r\n" * 5)
    with pytest.raises(FrameTooLongError):
        framer.next_message()
    assert framer.buffered == 0
    framer.feed(b"1.8.0(1)\r\n!\r\n\x03" + b"\x7f")  # the tail of the long block is noise now
    framer.feed(DataMessage(b"0.9.1(1)").to_bytes())
    assert drain(framer) == [DataMessage(b"0.9.1(1)")]


def test_too_long_command_then_recovery() -> None:
    framer = Framer(Role.METER, max_message_size=32)
    framer.feed(b"\x01W1\x02" + b"A" * 40)
    assert drain(framer) == ["FrameTooLongError"]
    framer.feed(b"A)\x03x" + b"/?!\r\n")
    assert drain(framer) == [RequestMessage()]


@pytest.mark.parametrize("role", [Role.CLIENT, Role.METER])
def test_too_long_line_then_recovery(role: Role) -> None:
    framer = Framer(role, max_message_size=32)
    framer.feed(b"/" + b"A" * 40)
    assert drain(framer) == ["MalformedDataError"]
    assert framer.buffered <= 32
    framer.feed(b"\r\n" + (IDENT if role is Role.CLIENT else b"/?!\r\n"))
    found = drain(framer)
    assert len(found) == 1
    assert not isinstance(found[0], str)


def test_line_bound_is_256_by_default() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"/" + b"A" * 300)
    assert drain(framer) == ["MalformedDataError"]
    assert framer.buffered < 300


def test_too_long_push_telegram_then_recovery() -> None:
    framer = Framer(Role.CLIENT, max_message_size=64)
    framer.push = True
    framer.feed(b"/EBZ5DD3\r\n\r\n" + b"1.8.0(1)\r\n" * 10)
    assert drain(framer) == [Identification.from_text("EBZ5DD3"), "FrameTooLongError"]
    framer.feed(b"/EBZ5DD3\r\n\r\n1.8.0(2)\r\n!\r\n")
    assert drain(framer) == [
        Identification.from_text("EBZ5DD3"),
        DataMessage(b"\r\n1.8.0(2)\r\n!\r\n", framed=False),
    ]


def test_minimum_bound() -> None:
    with pytest.raises(LocalProtocolError):
        Framer(Role.CLIENT, max_message_size=15)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 40), st.sampled_from([Role.CLIENT, Role.METER]))
def test_buffer_stays_bounded(data: bytes, chunk: int, role: Role) -> None:
    framer = Framer(role, max_message_size=64)
    framer.push = bool(chunk % 2)
    for i in range(0, len(data), chunk):
        framer.feed(data[i : i + chunk])
        drain(framer)
        assert framer.buffered <= 64 + chunk


# -- error messages vs data --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["(ER12)", "(ERR12)", "(ERROR)", "(ERROR 5 no access)", "(#0018)", "(ER12)\r\n"]
)
def test_error_messages(text: str) -> None:
    (found,) = framed(Role.CLIENT, [DataMessage(text.encode()).to_bytes()])
    assert isinstance(found, ErrorMessage)
    assert found.text == text.strip()[1:-1]
    assert found.bcc_ok is True


@pytest.mark.parametrize(
    "text", ["0.9.1(101415)", "(101415)", "(0.0)", "(ER12)(ER13)", "F.F(ER12)", "(er12)", "(#12345678)"]
)
def test_data_that_is_not_an_error_message(text: str) -> None:
    (found,) = framed(Role.CLIENT, [DataMessage(text.encode()).to_bytes()])
    assert isinstance(found, DataMessage)


def test_partial_block_is_never_an_error_message() -> None:
    (found,) = framed(Role.CLIENT, [DataMessage(b"(ER12)", partial=True).to_bytes()])
    assert found == DataMessage(b"(ER12)", partial=True)


def test_error_pattern_is_configurable() -> None:
    frame = DataMessage(b"(ER12)").to_bytes()
    assert framed(Role.CLIENT, [frame], error_pattern=None) == [DataMessage(b"(ER12)")]
    lis200 = re.compile(r"\(#\d{4}\)")
    assert framed(Role.CLIENT, [DataMessage(b"(#0201)").to_bytes()], error_pattern=lis200) == [
        ErrorMessage("#0201")
    ]
    assert framed(Role.CLIENT, [frame], error_pattern=lis200) == [DataMessage(b"(ER12)")]
    assert DEFAULT_ERROR_PATTERN.fullmatch("(ER12)")


# -- option select -------------------------------------------------------------------------------------
def test_option_select_only_when_expected() -> None:
    framer = Framer(Role.METER)
    framer.feed(b"\x06051\r\n")
    assert drain(framer) == [Ack()]  # the rest is noise
    framer.expect_option_select = True
    framer.feed(b"\x06051\r\n")
    assert drain(framer) == [OptionSelect.programming("5")]
    assert framer.expect_option_select is False  # one option select per sign-on


def test_option_select_split_waits() -> None:
    framer = Framer(Role.METER)
    framer.expect_option_select = True
    for piece in (b"\x06", b"0", b"5", b"0", b"\r"):
        framer.feed(piece)
        assert framer.next_message() is NEED_DATA
    framer.feed(b"\n")
    assert framer.next_message() == OptionSelect.readout("5")


def test_lone_ack_while_expecting_an_option_select() -> None:
    framer = Framer(Role.METER)
    framer.expect_option_select = True
    framer.feed(b"\x06\x06")
    assert framer.next_message() == Ack()
    framer = Framer(Role.METER)
    framer.expect_option_select = True
    framer.feed(b"\x060500\r\n")
    assert framer.next_message() == Ack()


def test_option_select_with_bad_characters() -> None:
    framer = Framer(Role.METER)
    framer.expect_option_select = True
    framer.feed(b"\x060\x7f0\r\n/?!\r\n")
    assert drain(framer) == ["MalformedDataError", RequestMessage()]


def test_mode_e_confirmation_with_parity() -> None:
    framer = Framer(Role.CLIENT)
    framer.expect_option_select = True
    framer.feed(bytes.fromhex("06b235b28d0a"))
    assert framer.next_message() == OptionSelect.binary("5")


# -- mode D push bodies --------------------------------------------------------------------------------
def test_push_body_without_stx() -> None:
    framer = Framer(Role.CLIENT)
    framer.push = True
    framer.feed(b"/EBZ5DD3\r\n\r\n1-0:1.8.0*255(000123.4567*kWh)\r\n")
    assert drain(framer) == [Identification.from_text("EBZ5DD3")]
    framer.feed(b"!\r\n")
    assert drain(framer) == [DataMessage(b"\r\n1-0:1.8.0*255(000123.4567*kWh)\r\n!\r\n", framed=False)]


def test_push_body_dsmr_crc_line() -> None:
    framer = Framer(Role.CLIENT)
    framer.push = True
    framer.feed(b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n!5F0A\r\n")
    found = drain(framer)
    assert found[1] == DataMessage(b"\r\n1-3:0.2.8(50)\r\n!5F0A\r\n", framed=False)


def test_push_body_with_stx() -> None:
    framer = Framer(Role.CLIENT)
    framer.push = True
    framer.feed(b"/ZPA5GH305\r\n\r\n" + DataMessage(READOUT).to_bytes())
    assert drain(framer) == [Identification.from_text("ZPA5GH305"), DataMessage(READOUT)]


def test_without_push_an_ident_is_not_followed_by_a_body() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"/EBZ5DD3\r\n\r\n1.8.0(1)\r\n!\r\n")
    assert drain(framer) == [Identification.from_text("EBZ5DD3")]
    assert framer.buffered == 0


# -- take_unterminated -------------------------------------------------------------------------------
def test_take_unterminated() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"\x02" + READOUT)
    assert drain(framer) == []
    message = framer.take_unterminated()
    assert message == DataMessage(READOUT, framed=False)
    assert message is not None
    assert message.bcc_ok is None
    assert framer.buffered == 0


def test_take_unterminated_with_trailing_nuls_and_parity() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(even_parity(b"\r\n\x02" + READOUT) + b"\x00\x00")
    drain(framer)
    assert framer.take_unterminated() == DataMessage(READOUT, framed=False)


@pytest.mark.parametrize(
    "buffered",
    [
        b"",
        b"\x02" + READOUT[:-3],  # not at '!' yet
        b"\x02" + READOUT + b"1.8",  # more after the '!'
        b"\x02" + READOUT + b"\x03",  # the BCC is still to come
        b"\x06",
    ],
)
def test_take_unterminated_refuses(buffered: bytes) -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(buffered)
    drain(framer)
    before = framer.buffered
    assert framer.take_unterminated() is None
    assert framer.buffered == before


def test_take_unterminated_never_builds_a_bad_message() -> None:
    framer = Framer(Role.CLIENT)
    framer._raw += b"\x02ab\x02cd!\r\n"  # held back by a caller that skipped next_message()
    framer._masked += b"\x02ab\x02cd!\r\n"
    assert framer.take_unterminated() is None


# -- detach and clear -------------------------------------------------------------------------------
def test_detach_returns_raw_bytes() -> None:
    framer = Framer(Role.CLIENT)
    framer.expect_option_select = True
    frame = bytes.fromhex("7ea00703219310017e")
    framer.feed(bytes.fromhex("06b235b28d0a") + frame)
    assert framer.next_message() == OptionSelect.binary("5")
    assert framer.detach() == frame
    assert framer.buffered == 0
    assert framer.detach() == b""


def test_clear_forgets_everything() -> None:
    framer = Framer(Role.CLIENT)
    framer.push = True
    framer.expect_echo(b"/?!\r\n")
    framer.feed(b"/EBZ5DD3\r\n\r\n1.8")
    drain(framer)
    framer.clear()
    assert framer.buffered == 0
    framer.feed(b"\x06")
    assert drain(framer) == [Ack()]


def test_iteration() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"\x06\x15\x06")
    assert list(framer) == [Ack(), Nak(), Ack()]
    assert repr(NEED_DATA) == "NEED_DATA"
    assert NeedData() is NEED_DATA


def test_errors_are_remote_protocol_errors() -> None:
    framer = Framer(Role.CLIENT)
    framer.feed(b"\x02abc\x03\x00")
    with pytest.raises(RemoteProtocolError) as info:
        framer.next_message()
    assert isinstance(info.value, ChecksumError | MalformedDataError)
