"""Workload 5: our client against the line itself.

The emulated meter paces every byte at the line rate (``simulate_baud``), answers after the
minimum reaction time the standard allows (tr = 200 ms) and switches its rate after the same
minimum, so any time beyond the *line floor* is the client's: late replies, waits it did not need,
a slow switch. The floor is computed from the bytes that really crossed the line, in both
directions, at the rate each was sent at, plus one minimum reaction time per turn of the line:

    floor = sum(bytes x 10 bits / baud)  +  turns x tr_min

and the ratio measured / floor is reported (target: at most 1.05).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from meterlink.emulator import EmulatorThread
from meterlink.emulator.description import parse_description
from meterlink.iec62056_21 import Client
from meterlink.transport.base import line_time

TR_MIN = 0.2
"""The shortest reaction time IEC 62056-21 allows a station with an upper-case ident (tr)."""

_REGISTERS = 120
"""About 2 kB of readout: 120 lines of ``1.8.n(000123.456*kWh)``."""


def _description() -> str:
    lines = [
        "[meter]",
        "identification = '/ABC5BENCH'",
        'address = "12345678"',
        "reaction_time = 0.2",
        "switch_delay = 0.2",
        "[security]",
        'p1 = "00000000"',
        "[registers]",
    ]
    layout = []
    for n in range(_REGISTERS):
        code = f"1.8.{n}"
        lines.append(f'"{code}" = "{123 + n:06d}.456"')
        layout.append(f'"{code}"')
    lines += ["[readout]", f"layout = [{', '.join(layout)}]"]
    return "\n".join(lines) + "\n"


@dataclass
class _Line:
    """The bytes on the line as the client's link saw them: direction, size, rate."""

    chunks: list[tuple[str, int, int]] = field(default_factory=list)
    rate: int = 300

    def floor(self) -> tuple[float, int, int]:
        seconds = 0.0
        turns = 0
        last = ""
        total = 0
        for direction, size, rate in self.chunks:
            seconds += line_time(size, rate)
            total += size
            if direction != last:
                turns += 1 if last else 0
                last = direction
        return seconds + turns * TR_MIN, turns, total


def _run(session: str) -> tuple[float, float, int, int]:
    description = parse_description(_description())
    with EmulatorThread(description, simulate_baud=True) as emulator:
        line = _Line()
        with Client.from_url(emulator.url, address="12345678", restart_pause=0.0) as meter:

            def trace(direction: str, data: bytes, stamp: float) -> None:
                line.chunks.append((direction, len(data), meter.link.baud_rate))

            meter.link.trace = trace
            started = time.monotonic()
            if session == "readout":
                readout = meter.read_out()
                assert len(readout) == _REGISTERS
            else:
                with meter.programming(password="00000000") as prog:
                    for n in range(5):
                        assert prog.read(f"1.8.{n}").value.value == f"{123 + n:06d}.456"
            elapsed = time.monotonic() - started
    floor, turns, size = line.floor()
    return elapsed, floor, turns, size


def wire_floor(quick: bool) -> list[tuple[str, float, float, str]]:
    """(session, measured seconds, floor seconds, note) for the readout and the programming session."""
    out = []
    for session in ("readout", "programming"):
        runs = [_run(session) for _ in range(1 if quick else 3)]
        elapsed, floor, turns, size = min(runs)
        note = f"{size} bytes on the line, {turns} turns; best of {len(runs)}"
        out.append((session, elapsed, floor, note))
    return out


if __name__ == "__main__":
    for session, elapsed, floor, note in wire_floor(quick=True):
        ratio = elapsed / floor
        print(f"{session}: {elapsed:.3f} s measured, floor {floor:.3f} s, ratio {ratio:.3f} ({note})")
