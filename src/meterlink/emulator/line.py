"""A serial line's character format, and what a receiver makes of characters sent in another one.

A UART at 9600 Bd 8N1 reading what was sent at 300 Bd sees framing errors, not text; one set to
8N1 reading 7E1 sees the parity bit in bit 7; one set to 7E1 with parity checking reading 8N1
flags the characters whose eighth bit is not the even parity. :func:`transfer` computes that,
so the pseudo-terminal server can make a misconfigured client fail the way a real line would.
"""

from __future__ import annotations

import random
import termios
from dataclasses import dataclass
from typing import Final

__all__ = ["LineFormat", "format_of_termios", "transfer"]

_STANDARD_RATES: Final = (
    50,
    75,
    110,
    134,
    150,
    200,
    300,
    600,
    1200,
    1800,
    2400,
    4800,
    9600,
    19200,
    38400,
    57600,
    115200,
    230400,
)
_SPEED_OF: Final[dict[int, int]] = {
    getattr(termios, f"B{rate}"): rate for rate in _STANDARD_RATES if hasattr(termios, f"B{rate}")
}
_NOISE: Final = bytes((0x00, 0x7F, 0x80, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC, 0xFE, 0xFF))
PARITY_ERROR: Final = 0x00
"""What a receiver delivers for a character with a parity error (the termios INPCK default)."""


@dataclass(frozen=True, slots=True)
class LineFormat:
    """Rate and character format of one end: ``parity`` is ``"N"``, ``"E"`` or ``"O"``."""

    baud_rate: int
    data_bits: int = 7
    parity: str = "E"

    @classmethod
    def meter(cls, baud_rate: int, data_bits: int) -> LineFormat:
        """What IEC 62056-21 uses: 7E1, and 8N1 after the switch to mode E."""
        return cls(baud_rate, data_bits, "E" if data_bits == 7 else "N")

    @property
    def frame_bits(self) -> int:
        return self.data_bits + (self.parity != "N")

    def __str__(self) -> str:
        return f"{self.baud_rate} Bd {self.data_bits}{self.parity}1"


def format_of_termios(attributes: list[object], *, receiving: bool) -> LineFormat:
    """The line format a ``termios.tcgetattr`` result describes (input or output speed)."""
    cflag = attributes[2]
    speed = attributes[4 if receiving else 5]
    assert isinstance(cflag, int) and isinstance(speed, int)
    size = cflag & termios.CSIZE
    bits = {termios.CS5: 5, termios.CS6: 6, termios.CS7: 7, termios.CS8: 8}.get(size, 8)
    parity = "N" if not cflag & termios.PARENB else ("O" if cflag & termios.PARODD else "E")
    return LineFormat(_SPEED_OF.get(speed, 0), bits, parity)


def _parity_bit(value: int, parity: str) -> int:
    odd_ones = value.bit_count() & 1
    return odd_ones if parity == "E" else odd_ones ^ 1


def transfer(data: bytes, sender: LineFormat, receiver: LineFormat, rng: random.Random) -> bytes:
    """The bytes ``receiver`` reads when ``sender`` transmits ``data``."""
    if not data or sender == receiver:
        return data
    if sender.baud_rate != receiver.baud_rate or sender.frame_bits != receiver.frame_bits:
        if sender.baud_rate and receiver.baud_rate:
            count = round(len(data) * receiver.baud_rate / sender.baud_rate)
        else:
            count = len(data)
        count = max(1, min(count, 4 * len(data)))
        return bytes(rng.choice(_NOISE) for _ in range(count))
    out = bytearray()
    send_mask = (1 << sender.data_bits) - 1
    recv_mask = (1 << receiver.data_bits) - 1
    for byte in data:
        word = byte & send_mask
        if sender.parity != "N":
            word |= _parity_bit(word, sender.parity) << sender.data_bits
        value = word & recv_mask
        if receiver.parity != "N":
            seen = (word >> receiver.data_bits) & 1
            if seen != _parity_bit(value, receiver.parity):
                out.append(PARITY_ERROR)
                continue
        out.append(value)
    return bytes(out)
