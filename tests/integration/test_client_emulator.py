"""The client against the emulator over real links: a pseudo-terminal (pyserial) and TCP.

Every mode (A, B, C at the switched rate, D pushes, E hand-over), programming (P1, P2 with the
emulator's ``xor`` algorithm, R1/R5 reads, W1/W5 writes read back, E2), a P.01 load profile in
partial blocks, a LIS-200 device with locks, archives and ``#nnnn`` errors, the asyncio client,
and every fault knob of the emulator. The rule for faults: the client either recovers (retry,
NAK, new sign-on) or raises a :mod:`meterlink.errors` exception, and always within a bound -
every call runs under :func:`~.conftest.within`, so a hang fails the test instead of the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from meterlink.emulator import EmulatorThread, MeterModel, parse_description, xor_password
from meterlink.errors import (
    ChecksumError,
    LinkError,
    MeterlinkError,
    MeterReportedError,
    ResponseTimeout,
)
from meterlink.iec62056_21 import Client
from meterlink.iec62056_21.messages import CommandMessage, ProtocolMode
from meterlink.iec62056_21.profile import LoadProfile
from meterlink.iec62056_21.readout import Readout

from .conftest import (
    HAS_PTY,
    MODE_C,
    Link,
    connect,
    connect_async,
    connect_url,
    describe,
    emulated,
    timing_lines,
    url_of,
    within,
)

Outcome = type[Exception] | tuple[type[Exception], ...] | None

BOUND = 10.0
"""No single client call may take longer than this (they take well under a second)."""


def read_once(client: Client, address: str) -> str:
    """One P1 session reading one register."""
    with client.programming(password="00000000") as prog:
        return prog.read(address).value.value


def check_readout(readout: Readout, ident: str = MODE_C) -> None:
    assert readout.identification is not None
    assert "/" + readout.identification.text == ident
    assert readout.bcc_valid is True
    assert [(ds.address, ds.value.value) for ds in readout] == [
        ("0.0.0", "12345678"),
        ("1.8.0", "001234.567"),
        ("C.1.0", "07123456"),
    ]
    assert readout["1.8.0"].value.unit == "kWh"


# ================================================================================================
# readout in modes A, B, C
# ================================================================================================
@pytest.mark.parametrize(
    ("ident", "mode"),
    [("/ABcKMETER", ProtocolMode.A), ("/ABcEMETER", ProtocolMode.B), (MODE_C, ProtocolMode.C)],
)
def test_readout(link: Link, ident: str, mode: ProtocolMode) -> None:
    # on the pty the emulator checks the client's rate: a readout at 9600 Bd (B, C) read at
    # 300 Bd would be noise, so a good readout proves the switch
    # Without simulate_baud the emulator hands over its identification at once, but a mode B
    # meter starts its readout after the identification's line time at 300 Bd (0.4 s) and its
    # switch pause: the client's response timeout has to cover both, as on a real line.
    with emulated(describe(ident), link) as emulator, connect(emulator, response_timeout=1.0) as client:
        readout = within(BOUND, client.read_out)
        check_readout(readout, ident)
        assert client.identification is not None and client.identification.mode is mode
        assert client.link.baud_rate == 300  # back at the sign-on rate


# ================================================================================================
# mode D: a push meter
# ================================================================================================
PUSH = '[push]\ninterval = 0.15\nlayout = ["0.0.0", "1.8.0"]'


@pytest.mark.parametrize("modes", ['["D"]', '["C", "D"]'], ids=["push-only", "push-and-request"])
def test_mode_d_listen(link: Link, modes: str) -> None:
    # Z = 5: the telegrams come at 9600 Bd, where the client listens
    description = describe("/EBZ5DD3", meter=f"modes = {modes}", extra=PUSH)
    with (
        emulated(description, link) as emulator,
        connect(emulator, mode="D", baud_rate=9600) as client,
    ):
        telegrams = within(BOUND, lambda: list(itertools.islice(client.listen(timeout=2.0), 3)))
        single = within(BOUND, client.read_out)
        assert link == "tcp" or client.link.baud_rate == 9600
    for readout in (*telegrams, single):
        assert readout.identification is not None and readout.identification.text == "EBZ5DD3"
        assert [(ds.address, ds.value.value) for ds in readout] == [
            ("0.0.0", "12345678"),
            ("1.8.0", "001234.567"),
        ]


@pytest.mark.skipif(not HAS_PTY, reason="no pseudo-terminals here")
def test_mode_d_at_the_wrong_rate_times_out() -> None:
    # the telegrams come at 9600 Bd; read at 2400 Bd they are a steady stream of noise, which
    # must not keep the client waiting for ever
    description = describe("/EBZ5DD3", meter='modes = ["D"]', extra=PUSH)
    with (
        emulated(description, "pty") as emulator,
        connect(emulator, mode="D", baud_rate=2400) as client,
        pytest.raises(ResponseTimeout),
    ):
        within(BOUND, lambda: next(client.listen(timeout=0.5)))


# ================================================================================================
# mode E: the hand-over to HDLC
# ================================================================================================
HDLC = b"\x7e\xa0\x08\x02\x21\x03\x93\xd6\x8f\x7e"
GREETING = b"~ \x07\x03!s\x10\x01~"
"""What the emulated meter sends right after the switch. 7-bit clean on purpose: software 7E1
clears bit 7 of bytes that arrive in the same chunk as the confirmation (see transport.tcp)."""


def test_mode_e_hands_over_an_8n1_link(link: Link) -> None:
    model = MeterModel(describe("/ABc5\\2METER", inactivity_timeout=0.5))
    model.binary_greeting = GREETING
    # software 7E1 on both links: a pty cannot change the character format alone (see below)
    with (
        emulated(model, link) as emulator,
        connect_url(url_of(emulator, software_parity=True)) as client,
    ):
        handover = within(BOUND, client.binary)
        assert handover.baud_rate == 9600
        assert handover.link is client.link and handover.link.data_bits == 8
        received = handover.leftover
        deadline = time.monotonic() + 2.0
        while len(received) < len(GREETING) and time.monotonic() < deadline:
            received += handover.link.read(0.1)
        assert received == GREETING
        handover.link.write(HDLC)  # goes to the meter untouched (it ignores HDLC)
        within(BOUND, client.end)
        assert client.link.data_bits == 7
        time.sleep(0.8)  # quiet for the meter's inactivity timeout: it leaves mode E
        check_readout(within(BOUND, client.read_out), "/ABc5\\2METER")


@pytest.mark.skipif(not HAS_PTY, reason="no pseudo-terminals here")
def test_mode_e_on_a_hardware_7e1_pty_is_a_link_error() -> None:
    with (
        emulated(describe("/ABc5\\2METER", inactivity_timeout=0.5), "pty") as emulator,
        connect(emulator) as client,
        pytest.raises(LinkError, match="parity=sw7e1"),
    ):
        within(BOUND, client.binary)


# ================================================================================================
# programming mode
# ================================================================================================
def test_programming_p1_reads_writes_execute(link: Link) -> None:
    # right after a mode C readout: the meter listens for a NAK at 9600 Bd a while, and the
    # client's sign-on waits for it to return to 300 Bd (no retries here to hide a lost request)
    with emulated(describe(), link) as emulator, connect(emulator, retries=0) as client:

        def session() -> None:
            check_readout(client.read_out())
            with client.programming(password="00000000") as prog:
                assert prog.operand == "SEED1234"
                assert prog.readout is None
                assert prog.read("0.0.0").data_set.raw == "0.0.0(12345678)"
                assert prog.read("1.8.0", command="R5").value.value == "001234.567"
                prog.write("C.90.1", "NEW-TEXT")
                assert prog.read("C.90.1").value.value == "NEW-TEXT"
                prog.write("C.90.2", "42", command="W5")
                assert prog.read("C.90.2", command="R5").value.value == "42"
                prog.execute("0001", "0")
                with pytest.raises(MeterReportedError) as unknown:
                    prog.read("9.9.9")
                assert (unknown.value.text, unknown.value.code) == ("ER02", 2)
                with pytest.raises(MeterReportedError) as locked:
                    prog.read("1.6.0")  # needs P2
                assert (locked.value.text, locked.value.code) == ("ER18", 18)
                with pytest.raises(MeterReportedError) as readonly:
                    prog.write("0.0.0", "1")
                assert readonly.value.code == 5
                # the session survives the refusals
                assert prog.read("C.1.0").value.value == "07123456"

        within(BOUND, session)
        assert within(BOUND, lambda: read_once(client, "C.90.1")) == "NEW-TEXT"  # writes outlive it


def test_programming_p2_with_the_xor_algorithm(link: Link) -> None:
    def password(operand: str) -> str:
        return xor_password("SECRET", operand)

    with emulated(describe(), link) as emulator, connect(emulator) as client:

        def session() -> str:
            with client.programming(password_level=2, password_function=password) as prog:
                assert prog.operand == "SEED1234"
                value = prog.read("1.6.0").value
                assert value.unit == "kW"
                return value.value

        assert within(BOUND, session) == "02.468"


def test_programming_in_mode_a_follows_the_readout(link: Link) -> None:
    with emulated(describe("/ABcKMETER"), link) as emulator, connect(emulator) as client:

        def session() -> str:
            with client.programming(password="00000000") as prog:
                assert prog.readout is not None
                check_readout(prog.readout, "/ABcKMETER")
                prog.write("C.90.1", "MODE-A")
                return prog.read("C.90.1").value.value

        assert within(BOUND, session) == "MODE-A"


def test_wrong_password_is_a_typed_error(link: Link) -> None:
    wrong_password(link, "<B0>", "B0")  # the emulator's default: the meter breaks off


@pytest.mark.parametrize(("reply", "text"), [("ER10", "ER10"), ("<NAK>", "NAK")], ids=["error", "nak"])
def test_wrong_password_other_refusals(reply: str, text: str) -> None:
    wrong_password("tcp", reply, text)  # the line does not matter here: TCP only, for time


def wrong_password(link: Link, reply: str, text: str) -> None:
    description = describe(extra=f'[errors]\nwrong_password = "{reply}"')
    with emulated(description, link) as emulator, connect(emulator) as client:

        def session() -> None:
            with client.programming(password="11111111"):
                raise AssertionError("the session must not open")  # pragma: no cover

        with pytest.raises(MeterReportedError, match="password rejected") as error:
            within(BOUND, session)
        assert error.value.text == text
        check_readout(within(BOUND, client.read_out))  # the client is usable again


# ================================================================================================
# load profile in partial blocks
# ================================================================================================
def test_load_profile_in_partial_blocks(link: Link) -> None:
    start, end = dt.datetime(2024, 3, 1, 6, 0), dt.datetime(2024, 3, 1, 7, 0)
    with emulated(describe(), link) as emulator, connect(emulator) as client:

        def session() -> tuple[int, LoadProfile]:
            with client.programming(password="00000000") as prog:
                raw = prog.read("P.01", "02403010600;02403010700", command="R6")
                return raw.blocks, prog.load_profile(start, end, command="R6")

        blocks, profile = within(BOUND, session)
    assert blocks > 3  # 48-character blocks
    rows = [(row.timestamp.datetime.strftime("%H:%M"), row.status, row.values) for row in profile]
    two, half = Decimal("2.000"), Decimal("0.500")
    assert rows == [
        ("06:00", 0, (two, half)),
        ("06:15", 0, (two, half)),
        ("06:30", 0x80, (two, half)),
        ("06:45", 0, (two, half)),
        ("07:00", 0, (two, half)),
    ]
    assert [(c.code, c.unit) for c in profile.channels] == [("1.5", "kW"), ("2.5", "kvar")]


# ================================================================================================
# LIS-200
# ================================================================================================
LIS200 = """
[meter]
protocol = "lis200"
identification = '/Els5EK280'
{timing}
operand = "12345678"
digits = 8
decimals = 4
block_size = 64

[clock]
origin = 2024-03-01T08:00:00

[locks]
supplier = "11111111"
customer = "22222222"

[registers]
"1:180.0" = "12345678"

[registers."2:300.0"]
value = 12345.6789
unit = "m3"

[registers."4:300.0"]
value = 11800.0
unit = "m3"
rate_per_hour = 3.0

[registers."6:210_1.0"]
value = 1.0325
unit = "bar"
digits = 2
read = "supplier"

[readout]
layout = ["1:180.0", "2:300.0"]

[[archives]]
number = 3
period = 60
depth = 100
counter_digits = 6
gnum_offset = 100000
read = "customer"
columns = [
  {kind = "gnum", address = "1:100.0"},
  {kind = "time", address = "1:400.0"},
  {kind = "register", register = "4:300.0", address = "4:300.0", unit = "m3"},
]
"""


def test_lis200_locks_registers_archive(link: Link) -> None:
    with (
        emulated(parse_description(LIS200.replace("{timing}", timing_lines())), link) as emulator,
        connect(emulator) as client,
    ):

        def session() -> None:
            with client.programming() as prog:
                assert prog.operand == "12345678"
                assert prog.read("2:300.0", "1").value.value == "00012345.6789"
                with pytest.raises(MeterReportedError) as locked:
                    prog.read("6:210_1.0", "1")
                assert (locked.value.text, locked.value.code) == ("#0018", 18)
                with pytest.raises(MeterReportedError) as wrong_key:
                    prog.write("3:171.0", "99999999")
                assert (wrong_key.value.text, wrong_key.value.code) == ("#0017", 17)
                prog.write("3:171.0", "11111111")  # opens the supplier lock
                assert prog.read("3:171.0").value.value == "1"
                pressure = prog.read("6:210_1.0", "1").value
                assert (pressure.value, pressure.unit) == ("01.0325", "bar")
                with pytest.raises(MeterReportedError) as unknown:
                    prog.read("9:999.0", "1")
                assert unknown.value.code == 1
                archive = prog.read("3:V.0", "2;2024-03-01,05:00:00;2024-03-01,07:00:00;2", command="R3")
                assert archive.blocks == 2  # two rows per block
                rows = [[v.value for v in ds.values] for ds in archive.data_sets]
                assert [row[1:] for row in rows] == [
                    ["2024-03-01,05:00:00", "00011791.0000"],
                    ["2024-03-01,06:00:00", "00011794.0000"],
                    ["2024-03-01,07:00:00", "00011797.0000"],
                ]
                numbers = [int(row[0]) for row in rows]
                assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
                with pytest.raises(MeterReportedError) as empty:
                    prog.read("3:V.0", "2;2025-01-01,00:00:00;;", command="R3")
                assert empty.value.code == 104  # lower bound not found
                prog.write("3:171.0", "0")  # closes it again
                with pytest.raises(MeterReportedError):
                    prog.read("6:210_1.0", "1")

        within(BOUND, session)


# ================================================================================================
# asyncio client
# ================================================================================================
def test_async_readout_and_programming(link: Link) -> None:
    async def main(emulator: EmulatorThread) -> None:
        async with connect_async(emulator) as client:
            check_readout(await client.read_out())
            async with client.programming(password="00000000") as prog:
                assert prog.operand == "SEED1234"
                assert (await prog.read("0.0.0")).value.value == "12345678"
                await prog.write("C.90.1", "ASYNC")
                assert (await prog.read("C.90.1", command="R5")).value.value == "ASYNC"
                await prog.execute("0001", "0")
                with pytest.raises(MeterReportedError):
                    await prog.read("9.9.9")
                profile = await prog.load_profile(
                    dt.datetime(2024, 3, 1, 6, 0), dt.datetime(2024, 3, 1, 7, 0), command="R6"
                )
                assert len(profile) == 5
            with pytest.raises(MeterReportedError, match="password rejected"):
                async with client.programming(password="wrong"):
                    raise AssertionError("the session must not open")  # pragma: no cover

    with emulated(describe(), link) as emulator:
        within(3 * BOUND, lambda: asyncio.run(main(emulator)))


# ================================================================================================
# a paced line
# ================================================================================================
@pytest.mark.skipif(not HAS_PTY, reason="no pseudo-terminals here")
def test_simulated_9600_baud_line_completes_a_session() -> None:
    # every character takes its line time at 300 Bd (sign-on) and 9600 Bd (data), on a pty
    # that checks the client's rate
    with (
        emulated(describe(), "pty", simulate_baud=True) as emulator,
        connect(emulator, response_timeout=1.0) as client,
    ):
        check_readout(within(BOUND, client.read_out))

        def session() -> LoadProfile:
            with client.programming(password="00000000") as prog:
                return prog.load_profile(dt.datetime(2024, 3, 1, 6), dt.datetime(2024, 3, 1, 7), command="R6")

        assert len(within(BOUND, session)) == 5


# ================================================================================================
# fault knobs
# ================================================================================================
def reading_out(client: Client) -> None:
    check_readout(client.read_out())


def commands(client: Client) -> None:
    with client.programming(password="00000000") as prog:
        assert prog.read("0.0.0").value.value == "12345678"
        prog.write("C.90.1", "FAULTY")
        assert prog.read("C.90.1").value.value == "FAULTY"


def blocks(client: Client) -> None:
    with client.programming(password="00000000") as prog:
        profile = prog.load_profile(dt.datetime(2024, 3, 1, 6), dt.datetime(2024, 3, 1, 7), command="R6")
        assert [row.timestamp.datetime.strftime("%H:%M") for row in profile] == [
            "06:00",
            "06:15",
            "06:30",
            "06:45",
            "07:00",
        ]
        assert {row.values for row in profile} == {(Decimal("2.000"), Decimal("0.500"))}
        assert prog.read("0.0.0").value.value == "12345678"


def reads(client: Client) -> None:
    """Two reads in a row: the second must not get a late duplicate answer to the first."""
    with client.programming(password="00000000") as prog:
        assert prog.read("0.0.0").value.value == "12345678"
        assert prog.read("C.1.0").value.value == "07123456"


MUST_RECOVER = None
"""The client must recover, and get everything right."""
MAY_FAIL = MeterlinkError
"""The client may recover (with the right data: the scenarios check it) or give up with a
meterlink error."""

FAULTS: list[tuple[str, str, Callable[[Client], None], dict[str, Any], Outcome]] = [
    # name, [faults] lines, what the client does, client options, what must come of it
    ("echo", "echo = true", blocks, {}, MUST_RECOVER),
    ("slow-replies", "delay = 0.1", reading_out, {}, MUST_RECOVER),
    # the answer to the first request comes in the pause before the second: flushed, not taken
    ("too-slow-replies", "delay = 0.5", reading_out, {"retries": 1}, ResponseTimeout),
    ("late-replies", "late = 0.5\nlate_every = 2", reads, {}, MUST_RECOVER),
    # one NAK per damaged transmission, however many bad frames a flipped bit makes of it
    ("dropped-bytes", "drop_every = 97", blocks, {}, MUST_RECOVER),
    ("corrupted-bytes", "corrupt_every = 89", blocks, {}, MUST_RECOVER),
    ("wrong-bcc", "wrong_bcc_every = 2", blocks, {}, MUST_RECOVER),
    ("wrong-bcc-always", "wrong_bcc_every = 1", reading_out, {"retries": 1}, ChecksumError),
    ("nak-storm", "nak_storm = 2", commands, {}, MUST_RECOVER),
    ("endless-nak-storm", "nak_storm = 100", commands, {"retries": 1}, MeterReportedError),
    ("silence", "silent = true", reading_out, {"retries": 1}, ResponseTimeout),
    ("answer-after", "answer_after = 1", reading_out, {}, MUST_RECOVER),
]


@pytest.mark.parametrize(
    ("faults", "scenario", "options", "outcome"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS]
)
def test_fault(
    link: Link, faults: str, scenario: Callable[[Client], None], options: dict[str, Any], outcome: Outcome
) -> None:
    with emulated(describe(faults=faults), link) as emulator, connect(emulator, **options) as client:
        if outcome is MUST_RECOVER:
            within(BOUND, lambda: scenario(client))
        elif outcome is MAY_FAIL:
            with contextlib.suppress(MeterlinkError):
                within(BOUND, lambda: scenario(client))
        else:
            with pytest.raises(outcome):
                within(BOUND, lambda: scenario(client))


def test_fault_inactivity_timeout(link: Link) -> None:
    # the meter drops the session after 0.3 s of silence: the next command goes unanswered
    description = describe(faults="inactivity_timeout = 0.3")
    with emulated(description, link) as emulator, connect(emulator, retries=1) as client:

        def session() -> None:
            with client.programming(password="00000000") as prog:
                assert prog.read("0.0.0").value.value == "12345678"
                time.sleep(0.4)
                prog.read("0.0.0")

        with pytest.raises(ResponseTimeout):
            within(BOUND, session)
        reading_out(client)  # a new session works


# ================================================================================================
# fast wake-up (Annex B.2): a battery meter that sleeps between sessions
# ================================================================================================
def test_fast_wake_up_reads_a_sleeping_meter(link: Link) -> None:
    sleeper = describe(meter="fast_wake_up = true")
    seen: list[tuple[str, bytes]] = []

    def trace(direction: str, data: bytes, _: float) -> None:
        seen.append((direction, bytes(b & 0x7F for b in data)))

    with (
        emulated(sleeper, link) as emulator,
        connect(emulator, fast_wake_up=True, trace=trace) as client,
    ):

        def session() -> None:
            check_readout(client.read_out())
            with client.programming(password="00000000") as prog:
                assert prog.read("C.1.0").value.value == "07123456"
            # programming ended with B1, which the meter acknowledged before sleeping

        within(BOUND, session)
        assert client.link.baud_rate == 300
        sent = b"".join(data for direction, data in seen if direction == "tx")
        received = b"".join(data for direction, data in seen if direction == "rx")
        assert sent.startswith(bytes(17) + b"/?!\r\n")  # burst, then the request at 300 Bd
        assert sent.endswith(CommandMessage.break_(command_type="1").to_bytes())
        assert received.startswith(b"\x06/ABc5METER\r\n")  # the wake-up ACK, then the ident
        assert received.endswith(b"\x06")  # the B1 acknowledged
        # asleep again: a plain sign-on on the same line is not heard
        plain = Client(client.link, replace(client.settings, fast_wake_up=False, retries=0))
        with pytest.raises(ResponseTimeout):
            within(BOUND, plain.read_out)
