"""Shared fixtures of the command line tests: emulated meters and a watchdog against hangs."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from meterlink.cli import main
from meterlink.emulator import (
    EmulatorThread,
    MeterDescription,
    MeterModel,
    builtin_description,
    parse_description,
)

ORIGIN = dt.datetime(2024, 3, 1, 8, 0, 0)
"""The emulated meters' clocks start here."""
WATCHDOG = 20.0
"""No single test may take longer: a hang fails the test instead of stalling the suite."""
HAS_PTY = Path("/dev/ptmx").exists() and sys.platform != "win32"
needs_pty = pytest.mark.skipif(not HAS_PTY, reason="no pseudo-terminals here")

MODE_A = """
[meter]
name = "heat meter, mode A"
identification = '/KAM MC601'

[registers]
"0.0.0" = "12345678"
[registers."6.8"]
value = "0012.345"
unit = "GJ"

[readout]
layout = ["0.0.0", "6.8"]
"""
MODE_E = """
[meter]
identification = '/LGZ5\\2ZMD3104400.B32'

[registers]
"0.0.0" = "12345678"

[readout]
layout = ["0.0.0"]
"""
PUSH = """
[meter]
identification = '/EBZ5DD3BZ06ETA_107'
modes = ["D"]

[registers]
"1-0:1.8.0*255" = {value = "000125.25688570", unit = "kWh"}

[readout]
layout = ["1-0:1.8.0*255"]

[push]
interval = 0.3
"""


def push() -> MeterDescription:
    return parse_description(PUSH)


def mode_a() -> MeterDescription:
    return parse_description(MODE_A)


def mode_e() -> MeterDescription:
    return parse_description(MODE_E)


def emh(*, fast: bool = False) -> MeterModel:
    """The built-in EMH LZQJ-XC (mode C, 9600 Bd, P1 00000000, P.01 profile), clock at ORIGIN.

    ``fast`` shortens its reaction time and switch delay: for TCP, where no rate changes.
    """
    description = builtin_description()
    if fast:
        description = dataclasses.replace(description, reaction_time=0.02, switch_delay=0.05)
    return MeterModel(description, origin=ORIGIN)


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """``meterlink ARGV`` in this process: exit status and what it printed."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Interrupt a test that runs longer than WATCHDOG seconds (POSIX only)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"watchdog: test still running after {WATCHDOG} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, WATCHDOG)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


STOP_PATIENCE = 3.0


@contextlib.contextmanager
def serving(
    meter: MeterModel | MeterDescription | None,
    listen: str = "tcp://127.0.0.1:0",
    *,
    check_line: bool = False,
) -> Iterator[str]:
    """An :class:`EmulatorThread` for one test: its URL; stopping it is bounded in time.

    ``EmulatorThread.stop()`` has been seen to hang after a pty session (the line task stays
    "cancelling"): here that becomes a warning, so the command line tests neither hang nor
    fail for it.
    """
    emulator = EmulatorThread(meter, listen=listen, check_line=check_line).start()
    try:
        yield emulator.url
    finally:
        stopper = threading.Thread(target=emulator.stop, name="stop emulator", daemon=True)
        stopper.start()
        stopper.join(STOP_PATIENCE)
        if stopper.is_alive():
            warnings.warn(f"emulator on {listen} did not stop within {STOP_PATIENCE} s", stacklevel=1)


@pytest.fixture(scope="module")
def emh_tcp() -> Iterator[str]:
    """The EMH meter on TCP, shared by a module's tests (each connection is its own session)."""
    with serving(emh(fast=True)) as url:
        yield url
