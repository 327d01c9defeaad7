"""Progress on stderr: a rewritten line on a terminal, sparse log lines elsewhere, never stdout."""

from __future__ import annotations

import datetime as dt
import functools
import io
import sys

import pytest

from meterlink.cli import _progress, read
from meterlink.cli._progress import ProfileEstimate, Progress

from .conftest import run_cli

HEADER = b"\x02P.01(0240229080000)(00000000)(15)(2)(1.5)(kW)(2.5)(kW)\r\n"
ROW = b"(0.72000)(0.05000)\r\n"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_terminal_line_is_rewritten_and_cleared() -> None:
    stream, clock = FakeTerminal(), Clock()
    progress = Progress(stream, clock=clock, show_after=1.0, refresh=0.25)
    progress.phase("readout")
    progress.update("rx", b"x" * 100, 300)
    assert stream.getvalue() == ""  # short sessions show nothing
    clock.now += 2
    progress.update("tx", b"\x06", 300)  # only received bytes count
    progress.update("rx", b"x" * 50, 300)
    assert stream.getvalue() == "\rreadout: 150 B received at 300 Bd, 0:02 elapsed"
    clock.now += 0.1
    progress.update("rx", b"x", 300)  # not yet due
    assert stream.getvalue().count("\r") == 1
    clock.now += 70
    progress.update("rx", b"x" * 12_000, 9600)
    assert stream.getvalue().endswith("\rreadout: 12.2 kB received at 9600 Bd, 1:12 elapsed")
    progress.finish()
    width = len("readout: 12.2 kB received at 9600 Bd, 1:12 elapsed")
    assert stream.getvalue().endswith("\r" + " " * width + "\r")
    assert "\n" not in stream.getvalue()


def test_log_lines_when_not_a_terminal() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, clock=clock, log_every=15.0)
    progress.phase("readout")
    for _ in range(40):  # 40 s at 300 Bd, 30 characters a second
        clock.now += 1
        progress.update("rx", b"x" * 30, 300)
    progress.finish()
    assert stream.getvalue().splitlines() == [
        "meterlink: readout: 450 B received at 300 Bd, 0:15 elapsed",
        "meterlink: readout: 900 B received at 300 Bd, 0:30 elapsed",
    ]


def test_disabled_progress_is_silent() -> None:
    stream, clock = FakeTerminal(), Clock()
    progress = Progress(stream, enabled=False, clock=clock)
    clock.now += 100
    progress.update("rx", b"x" * 1000, 300)
    progress.finish()
    assert stream.getvalue() == ""
    assert progress.received == 1000


def test_profile_estimate_gives_an_eta_from_the_line_rate() -> None:
    end = dt.datetime(2024, 2, 29, 10, 0)
    estimate = ProfileEstimate(end)
    assert estimate.feed(HEADER[:20]) is None  # no header yet
    assert estimate.feed(HEADER[20:] + ROW) is None  # one row is too few to measure
    expected = estimate.feed(ROW * 2)
    assert expected == len(HEADER) + 9 * len(ROW)  # 08:00 to 10:00 in quarter hours: 9 rows
    assert ProfileEstimate(None, now=lambda: dt.datetime(2024, 2, 29, 8, 30)).feed(HEADER + ROW * 3) == len(
        HEADER
    ) + 3 * len(ROW)

    stream, clock = FakeTerminal(), Clock()
    progress = Progress(stream, clock=clock, show_after=0.0)
    progress.phase("load profile P.01", estimate=ProfileEstimate(end))
    clock.now += 3
    progress.update("rx", HEADER + ROW * 3, 300)
    total = len(HEADER) + 9 * len(ROW)
    left = (total - len(HEADER) - 3 * len(ROW)) * 10 / 300
    assert progress.expected == total
    assert progress.eta() == pytest.approx(left)
    assert stream.getvalue().endswith(
        f"~{100 * (len(HEADER) + 3 * len(ROW)) // total}%, ETA 0:0{round(left)}"
    )


def test_progress_during_a_read_stays_off_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emh_tcp: str
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(read, "Progress", functools.partial(_progress.Progress, show_after=0.0, refresh=0.0))
    monkeypatch.setattr(sys, "stderr", terminal)
    result = run_cli(capsys, "read", emh_tcp, "--password", "00000000", "--register", "1.8.0")
    assert result.code == 0
    shown = terminal.getvalue()
    assert "\rprogramming mode: " in shown
    assert "\rregister 1.8.0: " in shown
    assert shown.endswith("\r")  # cleared before the results were printed
    assert "\r" not in result.out and "received" not in result.out

    terminal.truncate(0)
    result = run_cli(capsys, "read", emh_tcp, "--quiet")
    assert result.code == 0
    assert terminal.getvalue() == ""
