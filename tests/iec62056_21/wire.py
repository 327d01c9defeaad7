"""The in-memory line of :mod:`meterlink.iec62056_21.loopback`, plus helpers for the tests."""

from __future__ import annotations

from meterlink.iec62056_21.loopback import Fault, MeterApp, Side, Wire, even_parity
from meterlink.iec62056_21.messages import DataMessage

__all__ = ["Fault", "MeterApp", "Side", "Wire", "data_message", "even_parity", "readout_block"]

def readout_block(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n!\r\n").encode("ascii")


def data_message(text: str) -> bytes:
    return DataMessage(text.encode("ascii")).to_bytes()
