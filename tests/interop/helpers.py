"""Shared bits of the interoperability tests: emulated meters on TCP and a watchdog."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from meterlink.emulator import (
    EmulatorThread,
    MeterDescription,
    MeterModel,
    builtin_description,
    load_description,
)
from meterlink.iec62056_21.connection import ClientSettings
from meterlink.transport.base import Direction

T = TypeVar("T")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "meters"
ORIGIN = dt.datetime(2024, 3, 1, 8, 0, 0)
"""The emulated meters' clocks show this when they start."""


def ek280() -> MeterDescription:
    """The Elster EK280 example (LIS-200: locks, archives, ``#nnnn`` errors)."""
    return load_description(EXAMPLES / "elster-ek280.toml")


def emh() -> MeterDescription:
    """The built-in EMH LZQJ-XC (device address 12345678, P1 password 00000000)."""
    return builtin_description()


def quick(description: MeterDescription) -> MeterDescription:
    """The meter answering within 20 ms and switching rate at once (so the tests run fast)."""
    return replace(description, reaction_time=0.02, switch_delay=0.05)


FAST = ClientSettings(reaction_time=0.02, baud_switch_guard=0.05, response_timeout=1.0, retries=1)
"""meterlink client timings for a :func:`quick` meter."""


@contextmanager
def serving(description: MeterDescription, listen: str = "tcp://127.0.0.1:0") -> Iterator[EmulatorThread]:
    """The meter in a background thread; its clock starts at :data:`ORIGIN`."""
    with EmulatorThread(MeterModel(description, origin=ORIGIN), listen) as emulator:
        yield emulator


def host_port(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("tcp://").rpartition(":")
    return host, int(port)


class Recorder:
    """A link trace hook that keeps what was written."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, direction: Direction, data: bytes, _: float) -> None:
        if direction == "tx":
            self.sent.append(data)


def within(seconds: float, call: Callable[[], T]) -> T:
    """Watchdog: run ``call`` in a thread and fail if it has not returned or raised in time."""
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s: hung"
    ok, value = outcome[0]
    if not ok:
        raise value
    result: T = value
    return result
