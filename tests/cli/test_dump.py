"""The transcript annotator: messages recognised however the bytes are chunked."""

from __future__ import annotations

import io
import re

from hypothesis import given
from hypothesis import strategies as st

from meterlink.cli._dump import Annotator, Dump, printable
from meterlink.iec62056_21.messages import CommandMessage, DataMessage
from meterlink.transport import Direction
from meterlink.transport.base import add_even_parity

READOUT = DataMessage(b"0.0.0(12345678)\r\n1.8.0(001234.567*kWh)\r\n!\r\n").to_bytes()
SESSION: list[tuple[Direction, bytes]] = [
    ("tx", b"/?12345678!\r\n"),
    ("rx", b"/ISk5\\2MT174-0001\r\n"),
    ("tx", b"\x06051\r\n"),
    ("rx", CommandMessage("P", "0", "(4711)").to_bytes()),
    ("tx", CommandMessage.password("secret").to_bytes()),
    ("rx", b"\x06"),
    ("tx", CommandMessage("R", "5", "1.8.0()").to_bytes()),
    ("rx", DataMessage(b"1.8.0(001234.567*kWh)").to_bytes()),
    ("tx", CommandMessage("R", "5", "9.9.9()").to_bytes()),
    ("rx", DataMessage(b"(ER02)").to_bytes()),
    ("tx", CommandMessage("B", "0").to_bytes()),
]
NOTES = [
    "request /?12345678!: sign-on, address 12345678",
    "identification /ISk5\\2MT174-0001, mode E, proposes 9600 Bd, answers after 20 ms, "
    "offers mode E (DLMS/HDLC)",
    "option select 0 5 1: programming mode at 9600 Bd",
    "switch to 9600 Bd 7E1",
    "password prompt P0, operand '4711'",
    "password P1 (6 characters)",
    "ACK: password accepted",
    "read R5 1.8.0()",
    "answer to R5: 1.8.0(001234.567*kWh), BCC ok",
    "read R5 9.9.9()",
    "error message (ER02), BCC ok",
    "break B0: end of session",
    "switch to 300 Bd 7E1",
]


def _annotate(chunks: list[tuple[Direction, bytes]]) -> list[str]:
    annotator = Annotator()
    notes: list[str] = []
    for direction, data in chunks:
        notes += annotator.feed(direction, data, 0.0)
    return notes + annotator.flush()


def test_printable_names_control_characters() -> None:
    assert printable(b"\x02F.F(0)\r\n!\r\n\x03\x05") == "<STX>F.F(0)<CR><LF>!<CR><LF><ETX><ENQ>"
    assert printable(b"\x00\x15\x7f") == "<NUL><NAK><DEL>"
    assert printable(add_even_parity(b"/?!\r\n")) == "/?!<CR><LF>"  # parity bits masked at 7E1
    assert printable(b"\xb1\x7e", seven_bit=False) == ".~"


def test_a_programming_session_is_annotated() -> None:
    assert _annotate(SESSION) == NOTES


@given(st.data())
def test_chunking_does_not_change_the_notes(data: st.DataObject) -> None:
    chunks: list[tuple[Direction, bytes]] = []
    for direction, message in SESSION:
        cuts = sorted(
            data.draw(st.sets(st.integers(1, len(message) - 1), max_size=4)) if len(message) > 1 else []
        )
        pieces = [message[a:b] for a, b in zip([0, *cuts], [*cuts, len(message)], strict=True)]
        chunks += [(direction, piece) for piece in pieces]
    assert _annotate(chunks) == NOTES


def test_readout_wake_up_echo_and_wrong_bcc() -> None:
    bad = READOUT[:-1] + bytes([READOUT[-1] ^ 1])
    notes = _annotate(
        [
            ("tx", b"\x00" * 40 + b"/?!\r\n"),
            ("rx", b"/?!\r\n"),  # a half-duplex head hears itself
            ("rx", b"/KAM MC601\r\n"),
            ("rx", bad),
        ]
    )
    assert notes[0] == "wake-up: 40 NUL characters"
    assert notes[2] == "echo of our own bytes: /?!<CR><LF>"
    assert notes[3] == "identification /KAM MC601, mode A"
    assert re.fullmatch(
        r"data readout: 43 bytes, 3 lines at 300 Bd, BCC WRONG \(computed 0x.., got 0x..\)", notes[4]
    )


def test_software_parity_mode_b_and_mode_e() -> None:
    annotator = Annotator()
    assert annotator.feed("tx", add_even_parity(b"/?!\r\n"), 0.0)[0].startswith("request /?!")
    assert annotator.feed("rx", add_even_parity(b"/SIEC2WR5\r\n"), 0.1) == [
        "identification /SIEC2WR5, mode B, proposes 2400 Bd",
        "switch to 2400 Bd 7E1",
    ]
    assert annotator.answered_after == 0.1
    assert annotator.feed("rx", add_even_parity(READOUT), 0.2)[0].endswith("at 2400 Bd, BCC ok")
    assert annotator.data_baud_rate == 2400

    annotator.feed("tx", b"/?!\r\n", 1.0)
    assert annotator.baud_rate == 300
    annotator.feed("rx", b"/LGZ5\\2ZMD\r\n", 1.2)
    assert annotator.feed("tx", b"\x06252\r\n", 1.5) == [
        "option select 2 5 2: binary mode E (HDLC) at 9600 Bd",
        "switch to 9600 Bd 8N1",
        "the link now belongs to HDLC: not annotated further",
    ]
    assert annotator.feed("rx", b"\x7e\xa0\x07\x03\x21\x93\x0f\x01\x7e", 1.7) == []
    assert (annotator.binary, annotator.data_bits) == (True, 8)


def test_unframed_push_telegram_and_leftovers() -> None:
    notes = _annotate(
        [("rx", b"/EBZ5DD3BZ06ETA_107\r\n\r\n1-0:1.8.0*255(000125.25*kWh)\r\n!\r\n"), ("rx", b"\x02half")]
    )
    assert notes[0] == "identification /EBZ5DD3BZ06ETA_107 without a request: a mode D telegram follows"
    assert notes[1] == "unframed data block (mode D telegram): 35 bytes, 3 lines"
    assert notes[2] == "rx: 5 bytes without a complete message"


def test_dump_rows() -> None:
    clock = iter([100.0])
    stream = io.StringIO()
    dump = Dump(stream, title="meterlink read tcp://x:1", clock=lambda: next(clock))
    dump.chunk("rx", bytes(range(0x2F, 0x2F + 18)), 100.25, ["a note"], seven_bit=True)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "# meterlink read tcp://x:1"
    assert lines[3] == "     250.0 ms  rx  2f 30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e  /0123456789:;<=>"
    assert lines[4] == "     250.0 ms  rx  3f 40                                            ?@"
    assert lines[5] == "# a note"
