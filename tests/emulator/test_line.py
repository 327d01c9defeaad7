"""What a receiver reads of characters sent at another rate or in another format."""

from __future__ import annotations

import random
import termios

from meterlink.emulator.line import PARITY_ERROR, LineFormat, format_of_termios, transfer
from meterlink.iec62056_21.loopback import even_parity

TEXT = b"/EMH5\\@D4LZQJ-XC\r\n"


def test_same_format_passes_unchanged() -> None:
    line = LineFormat.meter(9600, 7)
    assert transfer(TEXT, line, line, random.Random(0)) == TEXT


def test_7e1_read_as_8n1_shows_the_parity_bit() -> None:
    got = transfer(TEXT, LineFormat(300, 7, "E"), LineFormat(300, 8, "N"), random.Random(0))
    assert got == even_parity(TEXT)
    assert got[0] == 0xAF  # '/' has five ones: its parity bit is set


def test_8n1_read_as_7e1_flags_parity_errors() -> None:
    got = transfer(b"/?!\r\n", LineFormat(300, 8, "N"), LineFormat(300, 7, "E"), random.Random(0))
    # '/' (5 ones) and '!' (2 ones, fine), '?' (6 ones, fine), CR (3 ones), LF (2 ones)
    assert got == bytes([PARITY_ERROR, ord("?"), ord("!"), PARITY_ERROR, ord("\n")])


def test_odd_parity_against_even_fails_everything() -> None:
    got = transfer(TEXT, LineFormat(300, 7, "O"), LineFormat(300, 7, "E"), random.Random(0))
    assert got == bytes(len(TEXT))


def test_wrong_rate_is_noise() -> None:
    rng = random.Random(3)
    slow = transfer(b"x" * 320, LineFormat(9600), LineFormat(300), rng)
    assert len(slow) == 10  # a 300 Bd receiver sees about one character per 32 sent at 9600
    fast = transfer(b"/?!\r\n", LineFormat(300), LineFormat(9600), rng)
    assert len(fast) == 20  # and a fast one several per slow character (bounded)
    assert b"/" not in slow + fast
    assert transfer(b"/?!\r\n", LineFormat(300), LineFormat(0), rng) != b"/?!\r\n"


def test_format_of_termios() -> None:
    attributes: list[object] = [
        0,
        0,
        termios.CS7 | termios.PARENB | termios.CREAD,
        0,
        termios.B9600,
        termios.B300,
        [],
    ]
    assert format_of_termios(attributes, receiving=True) == LineFormat(9600, 7, "E")
    assert format_of_termios(attributes, receiving=False) == LineFormat(300, 7, "E")
    attributes[2] = termios.CS8 | termios.PARENB | termios.PARODD
    assert format_of_termios(attributes, receiving=True) == LineFormat(9600, 8, "O")
    assert str(LineFormat(300, 8, "N")) == "300 Bd 8N1"
