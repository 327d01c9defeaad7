"""Deterministic inputs for the benchmarks: the same bytes on every run and every machine."""

from __future__ import annotations

import random

from meterlink.iec62056_21.messages import DataMessage

SEED = 62056


def readout_lines(n_lines: int = 200, *, profile_rows: int = 24) -> list[str]:
    """A mode C readout: short and full OBIS codes, two-group lines and a P.01 block."""
    rng = random.Random(SEED)
    lines = ["F.F(00000000)", "0.0.0(12345678)", "C.1.0(12345678)"]
    tariffs = [(c, t) for c in (1, 2, 3, 4, 5, 6, 7, 8, 15, 16) for t in range(5)]
    i = 0
    while len(lines) < n_lines - profile_rows - 2:
        c, t = tariffs[i % len(tariffs)]
        storage = i // len(tariffs)
        value = f"{rng.randrange(10**9) / 1000:010.3f}"
        if i % 3 == 0:
            lines.append(f"1-0:{c}.8.{t}*{255 - storage}({value}*kWh)")
        elif i % 7 == 0:
            lines.append(f"{c}.6.{t}({value[-6:]}*kW)(26{rng.randrange(10**8):08d})")
        else:
            suffix = f"*{storage:02d}" if storage else ""
            lines.append(f"{c}.8.{t}{suffix}({value}*kWh)")
        i += 1
    lines.append("P.01(1261125000000)(00)(15)(2)(1.5)(kW)(2.5)(kW)")
    lines.extend(
        f"({rng.randrange(100000) / 1000:06.3f})({rng.randrange(100000) / 1000:06.3f})"
        for _ in range(profile_rows)
    )
    lines.append("0.9.1(1101415)")
    return lines


def readout_frame(n_lines: int = 200) -> bytes:
    """``STX block ! CR LF ETX BCC`` as a meter sends it after its identification."""
    block = ("\r\n".join(readout_lines(n_lines)) + "\r\n!\r\n").encode("ascii")
    return DataMessage(block).to_bytes()


def load_profile_block(rows: int = 35_000, channels: int = 4) -> bytes:
    """An R5 P.01 answer: one header, then a row per 15-minute interval."""
    rng = random.Random(SEED + 1)
    codes = "".join(f"({c}.5)(kW)" for c in (1, 2, 5, 8)[:channels])
    head = f"P.01(1250101000000)(00)(15)({channels}){codes}"
    body = [head]
    body.extend(
        "".join(f"({rng.randrange(100000) / 1000:06.3f})" for _ in range(channels)) for _ in range(rows)
    )
    return ("\r\n".join(body) + "\r\n").encode("ascii")
