"""Deterministic inputs for the benchmarks: the same bytes on every run and every machine."""

from __future__ import annotations

import datetime as _dt
import random
import struct

from meterlink.dlms._lengths import encode_length
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


# -- workload 2: A-XDR profile buffer ------------------------------------------------------------
PROFILE_START = (2025, 1, 1, 0, 0)
"""Local time of the first entry (deviation -60: CET, UTC+1, in the Blue Book's UTC-minus-local sense)."""
PROFILE_DEVIATION = -60
PROFILE_PERIOD = 900
"""capture_period in seconds (Blue Book); 15 minutes."""
PROFILE_COLUMNS: tuple[tuple[int, str, int], ...] = (
    (8, "0.0.1.0.0.255", 2),  # clock time
    (1, "0.0.96.10.1.255", 2),  # status register (uint8)
    (3, "1.0.1.8.0.255", 2),  # A+ active energy import
    (3, "1.0.2.8.0.255", 2),  # A- active energy export
    (3, "1.0.3.8.0.255", 2),  # R+ reactive energy import
    (3, "1.0.4.8.0.255", 2),  # R- reactive energy export
)
"""(class id, logical name, attribute) of each captured column."""

_DATE_TIME = struct.Struct(">BBHBBBBBBBhB")
"""``09 0C`` year month day dow hour minute second hundredths deviation status."""


def profile_buffer(rows: int = 1000) -> bytes:
    """Attribute 2 of a load profile: ``array of structure{octet-string(12), unsigned, 4 x dlu}``.

    Clock cells are octet-strings (as meters send them, not the date-time tag), status is mostly 0
    with the odd 0x08 (power down) or 0x80 (clock adjusted), registers only ever grow.
    """
    rng = random.Random(SEED + 2)
    start = _dt.datetime(*PROFILE_START)
    step = _dt.timedelta(seconds=PROFILE_PERIOD)
    registers = [rng.randrange(10**7) for _ in range(4)]
    parts = [b"\x01" + encode_length(rows)]
    for i in range(rows):
        t = start + i * step
        stamp = _DATE_TIME.pack(
            0x09, 12, t.year, t.month, t.day, t.isoweekday(), t.hour, t.minute, 0, 0, PROFILE_DEVIATION, 0
        )
        status = rng.choice((0, 0, 0, 0, 0, 0, 0, 0x08, 0x80))
        registers = [r + rng.randrange(400) for r in registers]
        parts.append(b"\x02\x06" + stamp + bytes((0x11, status)))
        parts.append(b"".join(b"\x06" + r.to_bytes(4, "big") for r in registers))
    return b"".join(parts)


# -- workload 3: HDLC I-frames -------------------------------------------------------------------
HDLC_CLIENT_SAP = 16
"""The public client (one-byte address 0x21)."""
HDLC_SERVER = (1, 6678)
"""Logical device 1 (management), physical address from serial 12345678 by the common
``SN % 10000 + 1000`` rule, which needs the four-byte server address form."""
HDLC_INFO_LENGTH = 128


def hdlc_information(frames: int = 10_000) -> list[tuple[int, int, bytes]]:
    """(N(S), N(R), information) of each meter -> client I-frame, in stop-and-wait order.

    Every information field is 128 bytes: the LLC response header ``E6 E7 00`` and 125 APDU bytes
    (random, so 0x7E shows up inside frames as it does on the wire). N(S) and N(R) both advance by
    one per frame, as when each client request is answered by one frame.
    """
    rng = random.Random(SEED + 3)
    body = HDLC_INFO_LENGTH - 3
    return [(k % 8, (k + 1) % 8, b"\xe6\xe7\x00" + rng.randbytes(body)) for k in range(frames)]


# -- workload 4: a ciphered push -----------------------------------------------------------------
PUSH_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
"""GUEK of the Green Book examples."""
PUSH_AUTH_KEY = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
PUSH_SYSTEM_TITLE = bytes.fromhex("4D4D4D0000BC614E")
PUSH_INVOCATION_COUNTER = 0x01234567
PUSH_DATE_TIME = _DATE_TIME.pack(0x09, 12, 2025, 3, 14, 5, 10, 15, 0, 0, -60, 0)[2:]


def push_body() -> bytes:
    """A HAN-port style list (Kamstrup/Aidon shape): a list id, then OBIS code and value pairs.

    ``structure{visible-string, (octet-string(6), value) x 13}``: 204 bytes of A-XDR.
    """
    rng = random.Random(SEED + 4)

    def obis(code: str) -> bytes:
        return b"\x09\x06" + bytes(int(x) for x in code.split("."))

    def dlu(value: int) -> bytes:
        return b"\x06" + value.to_bytes(4, "big")

    def lu(value: int) -> bytes:
        return b"\x12" + value.to_bytes(2, "big")

    items = [
        obis("1.1.0.2.129.255") + b"\x0a\x0b" + b"Kamstrup_V0",
        obis("0.0.96.1.0.255") + b"\x0a\x10" + b"5706567274389702",
        obis("0.0.1.0.0.255") + b"\x09\x0c" + PUSH_DATE_TIME,
        *(obis(f"1.1.{c}.7.0.255") + dlu(rng.randrange(20000)) for c in (1, 2, 3, 4)),
        *(obis(f"1.1.{c}.7.0.255") + lu(2250 + rng.randrange(100)) for c in (32, 52, 72)),
        *(obis(f"1.1.{c}.8.0.255") + dlu(rng.randrange(10**8)) for c in (1, 2, 3)),
    ]
    return b"\x02" + encode_length(len(items) * 2 + 1) + b"\x0a\x07KFM_001" + b"".join(items)


def plain_push() -> bytes:
    """``0F long-invoke-id date-time(12) body``: the DataNotification before ciphering."""
    return b"\x0f" + (1).to_bytes(4, "big") + b"\x0c" + PUSH_DATE_TIME + push_body()


def ciphered_push() -> bytes:
    """The push as general-glo-ciphering (``DB``), authenticated and encrypted (SC 0x30), suite 0."""
    from meterlink.dlms.security import CipheredKind, protect

    return protect(
        plain_push(),
        kind=CipheredKind.GENERAL_GLO,
        security_control=0x30,
        system_title=PUSH_SYSTEM_TITLE,
        invocation_counter=PUSH_INVOCATION_COUNTER,
        key=PUSH_KEY,
        auth_key=PUSH_AUTH_KEY,
    )
