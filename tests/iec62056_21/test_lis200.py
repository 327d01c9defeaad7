"""Elster LIS-200 over the blocking client, against the emulator's EK280 example over TCP.

The EK280 example: customer lock key 22222222 (pressure 6:210_1.0 and archive 3 need it),
supplier lock key 11111111 (the clock 1:400.0 needs it to be written), archive 3 hourly with
columns gnum, lnum, time, Vn (2:300.0), Vb (4:300.0), status, CRC. Its clock starts at
2024-03-01 08:00:00. Every test body that talks to the emulator runs under a watchdog.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import cast

import pytest

from meterlink.errors import LocalProtocolError, MalformedDataError, MeterReportedError
from meterlink.iec62056_21 import Client
from meterlink.iec62056_21.client import Programming, ReadResult
from meterlink.iec62056_21.lis200 import (
    DEFAULT_LOCKS,
    ERRORS,
    ArchiveColumn,
    ArchiveLayout,
    Lis200,
    Lock,
    LockAddresses,
    Register,
    format_timestamp,
    meter_error,
    parse_archive,
    parse_timestamp,
)
from meterlink.iec62056_21.messages import CommandMessage

from ..interop.helpers import FAST, Recorder, ek280, quick, serving, within

CUSTOMER_KEY = "22222222"
SUPPLIER_KEY = "11111111"
B0 = b"\x01B0\x03q"


@contextmanager
def ek280_client(wire: Recorder | None = None) -> Iterator[Client]:
    with serving(quick(ek280())) as emulator:
        client = Client.from_url(emulator.url, restart_pause=0.1, settings=FAST, trace=wire)
        with client:
            yield client


def hours(*values: int) -> list[dt.datetime]:
    return [dt.datetime(2024, 3, 1, h) for h in values]


# ================================================================================================
# against the emulator
# ================================================================================================
def test_locks_open_check_and_close() -> None:
    def body() -> None:
        with ek280_client() as client, client.programming() as programming:
            ek = Lis200(programming)  # state at 3:170.0 / 4:170.0, as devices do
            with pytest.raises(MeterReportedError) as error:
                ek.read("6:210_1.0")
            assert (error.value.code, error.value.meaning) == (18, "no read authorisation")
            assert ek.lock_open(Lock.CUSTOMER) is False
            with pytest.raises(MeterReportedError) as error:
                ek.open_lock(Lock.CUSTOMER, "99999999")
            assert (error.value.text, error.value.code) == ("#0017", 17)
            assert error.value.meaning == "wrong access code (lock key)"
            assert ek.open_lock("customer", CUSTOMER_KEY) is True
            assert ek.lock_open(Lock.CUSTOMER) is True
            assert ek.open_lock(Lock.CUSTOMER, CUSTOMER_KEY) is False  # already open: key not rewritten
            assert ek.read("6:210_1.0") == Register("6:210_1.0", Decimal("1.0325"), "bar", "01.0325")
            with pytest.raises(MeterReportedError) as error:
                ek.write("1:400.0", dt.datetime(2024, 3, 1, 12))
            assert (error.value.code, error.value.meaning) == (19, "no write authorisation")
            assert ek.open_lock(Lock.SUPPLIER, SUPPLIER_KEY, check=False) is True
            ek.write("1:400.0", dt.datetime(2024, 3, 1, 12))
            clock = ek.read("1:400.0").value
            assert isinstance(clock, dt.datetime)
            assert dt.timedelta(0) <= clock - dt.datetime(2024, 3, 1, 12) < dt.timedelta(seconds=5)
            ek.close_lock(Lock.CUSTOMER)
            assert ek.lock_open(Lock.CUSTOMER) is False
            assert ek.read("6:210_1.0").unit == "bar"  # the supplier lock opens customer data too
            ek.close_lock(Lock.SUPPLIER)
            with pytest.raises(MeterReportedError, match="no read authorisation"):
                ek.read("6:210_1.0")

    within(20, body)


def test_registers_read_typed_with_units() -> None:
    def body() -> None:
        with ek280_client() as client, client.programming() as programming:
            ek = Lis200(programming)
            flow = ek.read("2:310.0")
            assert flow == Register("2:310.0", Decimal("3.2"), "m3|h", "0003.2000")
            assert ek.read("1:180.0") == Register("1:180.0", Decimal(12345678), None, "12345678")
            assert ek.read("7:3_1.0").value == "ZONE-A"
            clock = ek.read("1:400.0")
            assert isinstance(clock.value, dt.datetime) and clock.value >= dt.datetime(2024, 3, 1, 8)
            volume = ek.read("2:300.0")
            assert isinstance(volume.value, Decimal) and volume.unit == "m3"
            for address, code, meaning in [
                ("9:999.0", 1, "unknown address"),
                ("2:300.5", 4, "unknown attribute"),
            ]:
                with pytest.raises(MeterReportedError) as error:
                    ek.read(address)
                assert (error.value.code, error.value.meaning) == (code, meaning)
            with pytest.raises(MeterReportedError, match="a constant cannot be written"):
                ek.write("2:300.0", Decimal("1"))

    within(20, body)


def test_archive_across_partial_blocks_with_header() -> None:
    def body() -> None:
        wire = Recorder()
        start, end = dt.datetime(2024, 3, 1, 2), dt.datetime(2024, 3, 1, 7)
        with (
            ek280_client(wire) as client,
            Lis200.session(client, lock=Lock.CUSTOMER, key=CUSTOMER_KEY) as ek,
        ):
            archive = ek.read_archive(3, start, end, rows_per_block=2, header=True)
            assert ek.count_archive_rows(3, start, end) == 6
            first = archive.rows[0].lnum
            by_number = ek.read_archive(3, first, first + 5, position=2, rows_per_block=None)
            latest = ek.read_archive(3, dt.datetime(2024, 3, 1, 6), rows_per_block=1)
        assert b"\x01R3\x023:V.0(3;2024-03-01,02:00:00;2024-03-01,07:00:00;2)\x03\x1f" in wire.sent
        assert f"3:V.0(2;{first};{first + 5};)".encode() in b"".join(wire.sent)
        assert archive.blocks == 3 and len(archive) == 6
        assert [row.timestamp for row in archive] == hours(2, 3, 4, 5, 6, 7)
        row = archive.rows[0]
        assert row.gnum - row.lnum == 100000
        assert [r.lnum for r in archive] == list(range(first, first + 6))
        assert row.values[3:] == (Decimal("12326.4789"), Decimal("11782.0000"), Decimal(0), "CRC0")
        assert row.values[2] == row.timestamp
        assert row.cells[3] == "00012326.4789"
        assert archive.columns[:4] == (
            ArchiveColumn(1, "1:100.0", None),
            ArchiveColumn(2, "1:101.0", None),
            ArchiveColumn(3, "1:400.0", None),
            ArchiveColumn(4, "2:300.0", "m3"),
        )
        assert by_number.rows == archive.rows and by_number.blocks == 1
        assert [r.timestamp for r in latest][:3] == hours(6, 7, 8)
        assert latest.blocks == len(latest)
        # the session closed the lock it opened, then broke off twice
        assert wire.sent[-3:] == [b"\x01W1\x024:170.0(0)\x03p", B0, B0]

    within(20, body)


def test_archive_errors_carry_their_meaning() -> None:
    def body() -> None:
        with ek280_client() as client, client.programming() as programming:
            ek = Lis200(programming)  # state at 3:170.0 / 4:170.0, as devices do
            with pytest.raises(MeterReportedError, match="no read authorisation"):
                ek.read_archive(3)
            ek.open_lock(Lock.CUSTOMER, CUSTOMER_KEY)
            cases: list[tuple[Callable[[], object], int, str]] = [
                (lambda: ek.read_archive(5), 100, "archive not available"),
                (lambda: ek.read_archive(3, dt.datetime(2030, 1, 1)), 104, "lower bound (from) not found"),
                (
                    lambda: ek.read_archive(3, None, dt.datetime(2000, 1, 1)),
                    105,
                    "upper bound (to) not found",
                ),
                (lambda: ek.read_archive(3, 1, 2, position=4), 101, "value position not available"),
            ]
            for call, code, meaning in cases:
                with pytest.raises(MeterReportedError) as error:
                    call()
                assert (error.value.code, error.value.meaning) == (code, meaning)

    within(20, body)


def test_session_with_a_wrong_key_ends_cleanly() -> None:
    def body() -> None:
        wire = Recorder()
        with ek280_client(wire) as client:
            with (
                pytest.raises(MeterReportedError, match="wrong access code"),
                Lis200.session(client, lock=Lock.CUSTOMER, key="0"),
            ):
                raise AssertionError("the session must not open")  # pragma: no cover
            assert wire.sent[-1] == B0
            with Lis200.session(client) as ek:  # no lock: plain reads
                assert ek.read("2:310.0").unit == "m3|h"
            assert wire.sent[-2:] == [B0, B0]

    within(20, body)


# ================================================================================================
# without a meter
# ================================================================================================
class FakeProgramming:
    """Answers every read with ``text``: what some devices send that the emulator does not."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, address: str, value: str = "", *, command: str = "R1") -> ReadResult:
        return ReadResult(CommandMessage.read(address, value), self.text, 2)


def fake(text: str) -> Lis200:
    return Lis200(cast(Programming, FakeProgramming(text)))


def test_an_error_inside_a_data_set_is_raised_too() -> None:
    with pytest.raises(MeterReportedError) as error:
        fake("2:310.0(#0018)").read("2:310.0")
    assert (error.value.code, error.value.meaning) == (18, "no read authorisation")
    with pytest.raises(MalformedDataError, match="lock state"):
        fake("3:170.0(7)").lock_open(Lock.SUPPLIER)
    with pytest.raises(MalformedDataError, match="row count"):
        fake("(x)").count_archive_rows(3)


def test_rows_that_ran_together_across_blocks_are_split() -> None:
    row = "({g})({n})(2024-03-01,0{h}:00:00)(00012326.4789)(0)"
    text = row.format(g=11, n=1, h=2) + row.format(g=12, n=2, h=3) + "\r\n\r\n" + row.format(g=13, n=3, h=4)
    archive = fake(text).read_archive(3, rows_per_block=1)
    assert [r.gnum for r in archive] == [11, 12, 13]
    assert archive.blocks == 2
    # a row with two timestamps and no rising numbers stays one row
    two = "(1)(1)(2024-03-01,02:00:00)(1)(1)(2024-03-01,01:59:00)"
    assert len(parse_archive(two, 3)) == 1
    assert parse_archive(two, 3).rows[0].values[5] == dt.datetime(2024, 3, 1, 1, 59)
    custom = parse_archive(
        "(2024-03-01,02:00:00)(5)(6)(7.5)", 9, layout=ArchiveLayout(gnum=2, lnum=3, time=1)
    )
    assert (custom.rows[0].gnum, custom.rows[0].lnum, custom.archive) == (5, 6, 9)
    for bad in ["(1)(x)(2024-03-01,02:00:00)", "(1)(2)(yesterday)", "(1)(2)", "garbage(1)"]:
        with pytest.raises(MalformedDataError):
            parse_archive(bad, 3)


def test_error_codes_map_to_meanings() -> None:
    reference = {1, 2, 3, 4, 5, 6, 9, 11, 13, 14, 17, 18, 19, 20, 100, 101, 103, 104, 105, 108, 109, 110}
    assert reference | {180, 200, 201, 222, 223, 249} == set(ERRORS)
    known = meter_error("#0201")
    assert (known.text, known.code, known.meaning) == ("#0201", 201, "wrong password")
    assert str(known) == "meter reported error '#0201' (wrong password)"
    unknown = meter_error("#0777")
    assert (unknown.text, unknown.code, unknown.meaning) == ("#0777", 777, None)
    other = meter_error("ERR12")
    assert (other.text, other.code, other.meaning) == ("ERR12", None, None)


def test_timestamps() -> None:
    stamp = dt.datetime(2024, 3, 1, 6, 5, 4)
    assert format_timestamp(stamp) == "2024-03-01,06:05:04"
    assert parse_timestamp("2024-03-01,06:05:04") == stamp
    with pytest.raises(LocalProtocolError, match="naive"):
        format_timestamp(stamp.replace(tzinfo=dt.UTC))
    with pytest.raises(MalformedDataError):
        parse_timestamp("24-03-01 06:05")


def test_usage_errors() -> None:
    ek = fake("")
    with pytest.raises(LocalProtocolError, match="supplier or customer"):
        ek.lock_open("installer")
    with pytest.raises(LocalProtocolError, match="both"):
        ek.read_archive(3, dt.datetime(2024, 1, 1), 5)
    with pytest.raises(LocalProtocolError, match="1 to 99"):
        ek.read_archive(3, position=100)
    with pytest.raises(LocalProtocolError, match="rows_per_block"):
        ek.read_archive(3, rows_per_block=0)
    with (
        pytest.raises(LocalProtocolError, match="needs its key"),
        Lis200.session(Client.from_url("tcp://127.0.0.1:1"), lock=Lock.SUPPLIER),
    ):
        raise AssertionError("unreachable")  # pragma: no cover
    assert DEFAULT_LOCKS[Lock.SUPPLIER] == LockAddresses("3:171.0", "3:170.0")
    assert DEFAULT_LOCKS[Lock.CUSTOMER] == LockAddresses("4:171.0", "4:170.0")
