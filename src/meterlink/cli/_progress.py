"""Progress of a long transfer on stderr, fed from the client's trace hook.

A readout at 300 Bd moves 30 characters a second, so a large one takes minutes. On a terminal
a single line is rewritten in place (bytes received, line rate, elapsed time and, when the size
can be estimated, an ETA from the line rate); otherwise a plain log line is written now and
then, and nothing at all for short sessions. Standard output is never touched.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Final, TextIO

from meterlink.transport import Direction
from meterlink.transport.base import BITS_PER_CHARACTER

__all__ = ["ProfileEstimate", "Progress"]

_HEADER: Final = re.compile(rb"P\.\d+\((\d)(\d{10})\d*\)\([^)]*\)\((\d+)\)")
_MIN_ROWS: Final = 3
_HEAD: Final = 8192


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _size(count: int) -> str:
    if count < 10_000:
        return f"{count} B"
    if count < 10_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"


class ProfileEstimate:
    """The expected size of a load profile answer: rows in the range times the size of a row.

    The header (``P.01(sYYMMDDhhmmss)(status)(period)...``) gives the first timestamp and the
    capture period; the first rows give the bytes per row. ``end=None`` means up to now.
    """

    def __init__(self, end: dt.datetime | None, *, now: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.end = end
        self._now = now
        self._head = bytearray()
        self._header_end: int | None = None
        self._rows = 0
        self._row_bytes: float | None = None

    def feed(self, data: bytes) -> int | None:
        """Bytes expected in all, once the header and a few rows are in (else None)."""
        if self._row_bytes is None and len(self._head) < _HEAD:
            self._head += data
            self._measure()
        if self._header_end is None or self._row_bytes is None:
            return None
        return int(self._header_end + self._rows * self._row_bytes)

    def _measure(self) -> None:
        if self._header_end is None:
            match = _HEADER.search(self._head)
            if match is None:
                return
            line_end = self._head.find(b"\n", match.end())
            if line_end < 0:
                return
            self._header_end = line_end + 1
            stamp = dt.datetime.strptime(match.group(2).decode(), "%y%m%d%H%M")
            period = int(match.group(3))
            end = self.end or self._now()
            if period > 0 and end >= stamp:
                self._rows = int((end - stamp).total_seconds() // (period * 60)) + 1
        position = self._header_end
        for _ in range(_MIN_ROWS):
            position = self._head.find(b"\n", position) + 1
            if position == 0:
                return
        self._row_bytes = (position - self._header_end) / _MIN_ROWS


class Progress:
    """Shows how a transfer goes; ``update`` takes what the trace hook sees."""

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool = True,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh: float = 0.25,
        show_after: float = 1.0,
        log_every: float = 15.0,
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        if tty is None:
            isatty = getattr(stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.clock = clock
        self.refresh = refresh
        self.show_after = show_after
        self.log_every = log_every
        self.started = clock()
        self.label = "signing on"
        self.received = 0
        """Bytes received in the current phase."""
        self.expected: int | None = None
        self.estimate: ProfileEstimate | None = None
        self.baud_rate = 300
        self._phase_started = self.started
        self._shown = 0.0
        self._logged = self.started
        self._width = 0

    def phase(self, label: str, *, estimate: ProfileEstimate | None = None) -> None:
        """A new stage (readout, register, profile): the counters start again."""
        self.label = label
        self.received = 0
        self.expected = None
        self.estimate = estimate
        self._phase_started = self.clock()

    def update(self, direction: Direction, data: bytes, baud_rate: int) -> None:
        """Count received bytes at the line rate the session runs at now; redraw if due."""
        self.baud_rate = baud_rate
        if direction != "rx":
            return
        self.received += len(data)
        if self.estimate is not None:
            self.expected = self.estimate.feed(data)
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < self.show_after:
            return
        if self.tty:
            if now - self._shown >= self.refresh:
                self._draw(self.text(now))
                self._shown = now
        elif now - self._logged >= self.log_every:
            self.stream.write(f"meterlink: {self.text(now)}\n")
            self.stream.flush()
            self._logged = now

    def eta(self) -> float | None:
        """Seconds still to go at the line rate, when the size is known."""
        if self.expected is None:
            return None
        remaining = max(0, self.expected - self.received)
        return remaining * BITS_PER_CHARACTER / max(1, self.baud_rate)

    def text(self, now: float) -> str:
        parts = [f"{self.label}: {_size(self.received)} received at {self.baud_rate} Bd"]
        parts.append(f"{_duration(now - self._phase_started)} elapsed")
        eta = self.eta()
        if eta is not None and self.expected:
            share = min(100, 100 * self.received // self.expected)
            parts.append(f"~{share}%, ETA {_duration(eta)}")
        return ", ".join(parts)

    def _draw(self, text: str) -> None:
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def finish(self) -> None:
        """Take the progress line away (on a terminal) before results or errors are printed."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
