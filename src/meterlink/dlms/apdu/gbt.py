"""general-block-transfer (0xE0): any APDU (usually already ciphered) split into numbered blocks.

Used by push meters (L+G E450 sends a DataNotification as blocks 1..3, controls 40 40 C0) and
by clients and servers that negotiated the general-block-transfer conformance bit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Final

from ._common import check_bytes, check_range, octet_string, start

__all__ = ["GeneralBlockTransfer"]

_HEAD: Final = struct.Struct(">BBHH")


@dataclass(frozen=True, slots=True)
class GeneralBlockTransfer:
    """``E0 block-control block-number(u16) block-number-ack(u16) block-data(octet string)``.

    block-control: bit 7 last block, bit 6 streaming, bits 0-5 window size.
    """

    TAG: ClassVar[int] = 0xE0

    block_number: int
    block_data: bytes
    last_block: bool = True
    streaming: bool = False
    window: int = 1
    ack_number: int = 0

    def __post_init__(self) -> None:
        check_range("block number", self.block_number, 0, 0xFFFF)
        check_range("block number ack", self.ack_number, 0, 0xFFFF)
        check_range("window", self.window, 0, 0x3F)
        check_bytes("block data", self.block_data)

    @property
    def block_control(self) -> int:
        return (0x80 if self.last_block else 0) | (0x40 if self.streaming else 0) | self.window

    def to_bytes(self) -> bytes:
        return _HEAD.pack(0xE0, self.block_control, self.block_number, self.ack_number) + octet_string(
            self.block_data
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> GeneralBlockTransfer:
        reader = start(data, 0xE0, None, "general-block-transfer")
        control = reader.u8("block-control")
        number = reader.u16("block-number")
        ack = reader.u16("block-number-ack")
        block = reader.octet_string("block-data")
        reader.end("general-block-transfer")
        return cls(number, block, bool(control & 0x80), bool(control & 0x40), control & 0x3F, ack)
