"""VDEW load profiles (P.01/P.02) and logbooks (P.98) built from readout data sets.

The EMH and Metcom telegrams are the public samples of Runamook/iec_62056-21 ``test_parser.py``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import decimal
import pickle
from collections.abc import Callable
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.iec62056_21.bcc import xor_bcc
from meterlink.iec62056_21.profile import (
    Channel,
    LoadProfile,
    Logbook,
    ProfileRow,
    _load_profile,
    _logbook,
    _TextRow,
    parse_load_profile,
    parse_logbook,
    status_bits,
)
from meterlink.iec62056_21.readout import (
    DataSet,
    Value,
    _block_text,
    _parse_block,
    parse_data_block,
    parse_readout,
)
from meterlink.iec62056_21.values import MeterDateTime, Season
from meterlink.obis import Obis

EMH_P01 = (
    "P.01(1220823161500)(00000000)(15)(6)(1.5)(kW)(2.5)(kW)(5.5)(kvar)(6.5)(kvar)(7.5)(kvar)(8.5)(kvar)\r\n"
    "(0.18374)(0.00078)(0.00000)(0.00006)(0.00087)(0.02431)\r\n"
    "(0.16832)(0.00000)(0.00000)(0.00000)(0.00000)(0.02686)"
)
METCOM_P01 = (
    "P.01(1220823150000)(08)(15)(6)(1-0:1.5.0)(kW)(1-0:2.5.0)(kW)(1-0:5.5.0)(kvar)(1-0:6.5.0)(kvar)"
    "(1-0:7.5.0)(kvar)(1-0:8.5.0)(kvar)\r\n"
    "(0.00000)(0.12683)(0.00000)(0.11411)(0.00000)(0.00000)\r\n"
    "(0.00028)(0.06188)(0.00059)(0.07409)(0.00000)(0.00000)\r\n"
    "(0.00000)(0.11250)(0.00000)(0.11677)(0.00000)(0.00000)\r\n"
    "(0.00006)(0.04656)(0.00082)(0.09270)(0.00000)(0.00000)\r\n"
)
EMH_P98 = (
    "/EMH5\\@\\201LZQJL0013F\r\n0.0.0(23456321)\r\n"
    "P.98(1041007095703)(00002000)()(0)\r\nP.98(1041007095703)(00004000)()(0)\r\n"
    "P.98(1041007095807)(00000100)()(0)\r\nP.98(1041007095914)(00000080)()(0)\r\n"
)
METCOM_P98 = (
    "P.98(1220906234904)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(4)(0)\r\n"
    "P.98(1220906234849)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(5)(0)\r\n"
    "P.98(1220906234850)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(4)(0)\r\n"
    "P.98(1220906234907)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(5)(0)\r\n"
    "P.98(1220919161837)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(17)(1)\r\n"
    "P.98(1220919162143)(00)()(2)(0-0:C.11.0)()(0-0:C.11.10)()(18)(1)\r\n"
)


def summer(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> MeterDateTime:
    return MeterDateTime(dt.datetime(year, month, day, hour, minute, second), Season.SUMMER)


def test_emh_load_profile() -> None:
    profile = parse_load_profile(EMH_P01)
    assert profile.profile == "P.01"
    assert profile.capture_period == 900
    assert [c.code for c in profile.channels] == ["1.5", "2.5", "5.5", "6.5", "7.5", "8.5"]
    assert [c.unit for c in profile.channels] == ["kW", "kW", "kvar", "kvar", "kvar", "kvar"]
    assert profile.channels[0].obis == Obis(None, None, 1, 5, None, None)
    assert len(profile) == 2
    first, second = profile.rows
    assert first == ProfileRow(
        summer(2022, 8, 23, 16, 15),
        0,
        tuple(Decimal(v) for v in ("0.18374", "0.00078", "0.00000", "0.00006", "0.00087", "0.02431")),
    )
    assert second.timestamp == summer(2022, 8, 23, 16, 30)
    assert second.values[5] == Decimal("0.02686")


def test_metcom_load_profile_with_full_obis_channels_and_short_status() -> None:
    profile = parse_load_profile(METCOM_P01)
    assert profile.channels[1] == Channel("1-0:2.5.0", "kW")
    assert profile.channels[1].obis == Obis(1, 0, 2, 5, 0, None)
    assert [row.status for row in profile] == [0x08] * 4
    assert [row.timestamp.datetime.time() for row in profile] == [
        dt.time(15, 0),
        dt.time(15, 15),
        dt.time(15, 30),
        dt.time(15, 45),
    ]
    assert profile.rows[3].values[3] == Decimal("0.09270")


def test_header_re_emitted_on_status_change_restarts_the_timestamps() -> None:
    block = (
        "P.01(0240101001500)(00000000)(15)(1)(1.29)(kWh)\r\n(1.0)\r\n(2.0)\r\n"
        "P.01(0240101020000)(00000080)(15)(1)(1.29)(kWh)\r\n(3.0)\r\n(4.0)\r\n"
    )
    profile = parse_load_profile(block)
    assert [(row.timestamp.datetime.strftime("%H:%M"), row.status, row.values) for row in profile] == [
        ("00:15", 0, (Decimal("1.0"),)),
        ("00:30", 0, (Decimal("2.0"),)),
        ("02:00", 0x80, (Decimal("3.0"),)),
        ("02:15", 0x80, (Decimal("4.0"),)),
    ]
    assert all(row.timestamp.season is Season.NORMAL for row in profile)


def test_season_switch_carried_from_the_new_header() -> None:
    block = (
        "P.01(0240331013000)(00000000)(30)(1)(1.5)(kW)\r\n(1)\r\n"
        "P.01(1240331030000)(00000008)(30)(1)(1.5)(kW)\r\n(2)\r\n"
    )
    rows = parse_load_profile(block).rows
    assert rows[0].timestamp == MeterDateTime(dt.datetime(2024, 3, 31, 1, 30), Season.NORMAL)
    assert rows[1].timestamp == MeterDateTime(dt.datetime(2024, 3, 31, 3, 0), Season.SUMMER)


def test_empty_and_placeholder_values_are_none() -> None:
    profile = parse_load_profile("P.01(0240101001500)(00)(15)(3)(1.5)(kW)(2.5)(kW)(3.5)()\r\n()(????)(7)\r\n")
    assert profile.rows[0].values == (None, None, Decimal(7))
    assert profile.channels[2].unit is None


def test_profile_from_a_framed_programming_answer() -> None:
    body = EMH_P01.encode() + b"\r\n\x03"
    profile = parse_load_profile(b"\x02" + body + bytes((xor_bcc(body),)))
    assert len(profile) == 2


def test_profile_from_a_readout_with_other_registers_around_it() -> None:
    readout = parse_readout(
        b"/EMH5\\@\\2LZQJ\r\n\r\n0.0.0(1234)\r\n" + METCOM_P01.encode() + b"F.F(00)\r\n!\r\n"
    )
    assert [d.address for d in readout][:3] == ["0.0.0", "P.01", ""]
    assert readout["F.F"].value.value == "00"
    profile = parse_load_profile(readout)
    assert len(profile) == 4


def test_rows_merged_into_the_header_data_set_are_accepted() -> None:
    # A producer that glues the rows to the header (one data set) still yields the same profile.
    header = parse_data_block(EMH_P01)
    merged = DataSet("P.01", [v for d in header for v in d.values])
    assert parse_load_profile([merged]) == parse_load_profile(header)


def test_rows_on_the_header_line() -> None:
    profile = parse_load_profile("P.01(0240101001500)(00)(15)(2)(1.5)(kW)(2.5)(kW)(1)(2)\r\n(3)(4)")
    assert [row.values for row in profile] == [(Decimal(1), Decimal(2)), (Decimal(3), Decimal(4))]


def test_second_profile_is_selected_by_address() -> None:
    block = (
        "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\nP.02(0240101010000)(00)(60)(1)(1.5)(kW)\r\n(9)\r\n"
    )
    assert [row.values for row in parse_load_profile(block)] == [(Decimal(1),)]
    second = parse_load_profile(block, profile="P.02")
    assert second.profile == "P.02"
    assert second.capture_period == 3600
    assert [row.values for row in second] == [(Decimal(9),)]


def test_load_profile_is_frozen_and_comparable() -> None:
    profile = parse_load_profile(EMH_P01)
    assert isinstance(profile, LoadProfile)
    assert profile == parse_load_profile(EMH_P01)
    with pytest.raises(AttributeError):
        profile.capture_period = 60  # type: ignore[misc]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("1.8.0(1)\r\n", "no load profile header"),
        ("P.01(0240101001500)(00)(15)\r\n", "needs"),
        ("P.01(0240101001500)(00)(15)(2)(1.5)(kW)\r\n", "lists fewer"),
        ("P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)(2)\r\n", "2 values for 1 channels"),
        ("P.01(9999999999999)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n", "not a date and time"),
        ("P.01(0240101001500)(XY)(15)(1)(1.5)(kW)\r\n(1)\r\n", "status word"),
        ("P.01(0240101001500)(00)(x)(1)(1.5)(kW)\r\n(1)\r\n", "capture period"),
        ("P.01(0240101001500)(00)()(1)(1.5)(kW)\r\n(1)\r\n", "no capture period"),
        (
            "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\nP.01(0240101003000)(00)(30)(1)(1.5)(kW)",
            "changes",
        ),
        ("P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\nbro)ken\r\n(2)", "unreadable"),
        ("P.01(0240101001500)(00)(15)(2)(1.5)(kW)(2.5)(kW)(1)\r\n", "do not fill rows"),
    ],
)
def test_damaged_profiles_raise_malformed_data(block: str, message: str) -> None:
    with pytest.raises(MalformedDataError, match=message):
        parse_load_profile(block)


def test_wrong_input_type_is_a_caller_error() -> None:
    with pytest.raises(LocalProtocolError):
        parse_load_profile(12)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        parse_load_profile(["P.01(1)"])  # type: ignore[list-item]


def test_rows_under_another_register_are_skipped() -> None:
    block = "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n0-1:24.3.0(1)(2)\r\n(5)\r\n"
    assert [row.values for row in parse_load_profile(block)] == [(Decimal(1),)]


# -- logbooks ---------------------------------------------------------------------------------


def test_emh_logbook_without_values() -> None:
    logbook = parse_logbook(parse_readout(EMH_P98.encode()))
    assert logbook.logbook == "P.98"
    assert len(logbook) == 4
    assert [entry.status for entry in logbook] == [0x2000, 0x4000, 0x100, 0x80]
    assert logbook.entries[0].timestamp == summer(2004, 10, 7, 9, 57, 3)
    assert logbook.entries[3].timestamp == summer(2004, 10, 7, 9, 59, 14)
    assert all(entry.values == () and entry.channels == () for entry in logbook)


def test_metcom_logbook_with_values_on_the_header_line() -> None:
    logbook = parse_logbook(METCOM_P98)
    assert len(logbook) == 6
    entry = logbook.entries[4]
    assert entry.timestamp == summer(2022, 9, 19, 16, 18, 37)
    assert entry.channels == (Channel("0-0:C.11.0", None), Channel("0-0:C.11.10", None))
    assert [v.as_int() for v in entry.values] == [17, 1]


def test_logbook_rows_below_a_header() -> None:
    logbook = parse_logbook("P.98(0240101120000)(00)()(1)(C.11.0)()\r\n(4)\r\n(5)\r\n")
    assert [[v.value for v in e.values] for e in logbook] == [[], ["4"], ["5"]]
    assert {e.timestamp.datetime for e in logbook} == {dt.datetime(2024, 1, 1, 12)}


def test_logbook_errors() -> None:
    with pytest.raises(MalformedDataError):
        parse_logbook("1.8.0(1)")
    with pytest.raises(MalformedDataError):
        parse_logbook("P.98(0240101120000)(00)()(1)(C.11.0)()\r\njunk\r\n")
    assert parse_logbook([DataSet("P.98", [Value("0240101120000"), Value("00"), Value(""), Value("0")])])


def test_status_bits() -> None:
    assert status_bits(0) == ()
    assert status_bits(0x80) == (7,)
    assert status_bits(0x2081) == (0, 7, 13)


@given(st.text(alphabet="P.01()\r\n0123456789*kW-:;", max_size=200))
def test_random_profile_text_raises_only_meterlink_errors(text: str) -> None:
    for parse in (parse_load_profile, parse_logbook):
        with contextlib.suppress(MeterlinkError):
            parse(text)


def test_values_of_rows_are_exact_decimals() -> None:
    rows = parse_load_profile(EMH_P01).rows
    assert all(isinstance(v, Decimal) for row in rows for v in row.values)
    assert sum(v for v in rows[0].values if v is not None) == Decimal("0.20976")


# -- the fast path: the same profiles and logbooks as the general path ------------------------------
#
# parse_load_profile / parse_logbook read bytes and text through a fast path (runs of rows in bulk,
# values typed on first access). _load_profile / _logbook over the readout parser's data sets, one
# by one, is the general path it must agree with -- results, and errors down to data and offset.


def _general_profile(text: str, profile: str | None = None) -> LoadProfile:
    return _load_profile(_parse_block(text), profile)


def _general_logbook(text: str, logbook: str | None = None) -> Logbook:
    return _logbook(_parse_block(text), logbook)


def _outcome(call: Callable[[], object]) -> tuple[object, ...]:
    try:
        result = call()
    except MalformedDataError as exc:
        return ("error", type(exc), str(exc), exc.data, exc.offset)
    except (LocalProtocolError, OverflowError) as exc:
        return ("error", type(exc), str(exc))
    if isinstance(result, LoadProfile):  # every row's values typed, and compared as plain tuples
        return ("profile", result, [(r.timestamp, r.status, r.values) for r in result.rows])
    return ("result", result)


_VALUES = st.sampled_from(
    [
        *("0.18374", "1", "", "007", "-3", "+4.", ".7", "12,5", "??", "1*kW", " 2", "1.2.3", ".", "1e3"),
        *("NaN", "5 kWh", "\x00"),
    ]
)
_ODD_ROWS = st.sampled_from(["(1)x(2)", "((1)", "(1))", "(1)(2", "(1)P.01(0240101001500)(00)(15)(1)(1)()"])


@st.composite
def _profile_blocks(draw: st.DrawFn) -> str:
    """Mostly clean P.01/P.02 answers: re-emitted headers, registers around them, odd rows now and then."""
    width = draw(st.integers(1, 4))
    codes = "".join(f"({channel}.5)(kW)" for channel in range(1, width + 1))
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["header", "header", "header", "register", "blank", "logbook"]))
        if kind == "header":
            address = draw(st.sampled_from(["P.01", "P.01", "P.02"]))
            stamp = f"{draw(st.sampled_from('012'))}2401{draw(st.integers(10, 28))}001500"
            status = draw(st.sampled_from(["00", "08", "80"]))
            lines.append(f"{address}({stamp})({status})(15)({width}){codes}")
        elif kind == "register":
            lines.append(draw(st.sampled_from(["1.8.0(1)", "0-1:24.3.0(1)(2)", "GARBAGE", "!", "F.F(00)"])))
        elif kind == "blank":
            lines.append("")
        else:
            lines.append("P.98(0240101120000)(00)()(1)(C.11.0)()")
        for _ in range(draw(st.integers(0, 8))):
            count = width if draw(st.integers(0, 20)) else draw(st.integers(1, 5))
            lines.append("".join(f"({draw(_VALUES)})" for _ in range(count)))
    if draw(st.integers(0, 10)) == 0:
        lines.append(draw(_ODD_ROWS))
    end = draw(st.sampled_from(["\r\n", "\r\n", "\n", "\r"]))
    return end.join(lines) + end + draw(st.sampled_from(["", "!\r\n"]))


@given(_profile_blocks(), st.sampled_from([None, "P.01", "P.02", "P.98"]))
@settings(max_examples=400)
def test_fast_path_gives_what_the_general_path_gives(text: str, which: str | None) -> None:
    expected = _outcome(lambda: _general_profile(text, which))
    assert _outcome(lambda: parse_load_profile(text, profile=which)) == expected
    assert _outcome(lambda: parse_load_profile(text.encode("ascii"), profile=which)) == expected
    readout = parse_data_block(text)  # rows of a parsed readout are batched too
    assert _outcome(lambda: parse_load_profile(readout, profile=which)) == expected
    expected_log = _outcome(lambda: _general_logbook(text, which))
    assert _outcome(lambda: parse_logbook(text, logbook=which)) == expected_log
    assert _outcome(lambda: parse_logbook(readout, logbook=which)) == expected_log


@given(st.text(alphabet="P.01()\r\n0123456789*kW-:;", max_size=200))
def test_fast_path_agrees_on_random_profile_text(text: str) -> None:
    assert _outcome(lambda: parse_load_profile(text)) == _outcome(lambda: _general_profile(text))
    assert _outcome(lambda: parse_logbook(text)) == _outcome(lambda: _general_logbook(text))


BIG_P01 = "P.01(1220823161500)(00)(15)(2)(1.5)(kW)(2.5)(kW)\r\n" + "".join(
    f"({k}.5)({k % 7},25)\r\n" for k in range(500)
)


def test_fast_path_rows_are_built_in_bulk_with_lazy_values() -> None:
    profile = parse_load_profile(BIG_P01)
    assert len(profile) == 500
    assert all(type(row) is _TextRow for row in profile)  # the fast path was taken
    assert profile == _general_profile(BIG_P01)
    row = profile.rows[499]
    assert row.timestamp == summer(2022, 8, 28, 21, 0)  # 16:15 + 499 x 15 min
    values = row.values
    assert values == (Decimal("499.5"), Decimal("2.25"))
    assert row.values is values  # typed once, then kept


@pytest.mark.parametrize(
    "block",
    [
        EMH_P01 + "\r\n(1)(2)(3)\r\n",  # a row of the wrong width: the general path raises
        "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n(1)x(2)\r\n",  # not exactly groups
        "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n((2)\r\n",
        "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n(2\r\n",  # closed by the line end
        "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n(€)\r\n",  # beyond latin-1
        "1.8.0(1)\r\n(1)P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(2)\r\n",  # a header after a row
        "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n0-1:24.3.0(1)\r\n(5)\r\n(x)y\r\n",
        "P.01(9991231234500)(00)(99999999)(1)(1.5)(kW)\r\n" + "(1)\r\n" * 60,  # past year 9999
    ],
)
def test_fast_path_leaves_what_it_cannot_prove_to_the_general_path(block: str) -> None:
    data = block.encode("utf-8")  # bytes: bit 7 cleared, then as text
    for given_data, text in ((block, block), (data, _block_text(data))):
        assert _outcome(partial(parse_load_profile, given_data)) == _outcome(partial(_general_profile, text))
        assert _outcome(partial(parse_logbook, given_data)) == _outcome(partial(_general_logbook, text))


def test_wrong_row_width_raises_the_general_error_with_data_and_offset() -> None:
    with pytest.raises(MalformedDataError, match="3 values for 2 channels") as info:
        parse_load_profile(BIG_P01 + "(1)(2)(3)\r\n")
    assert info.value.data == b"(1)(2)(3)"
    assert info.value.offset == 0


def test_rows_continuing_a_register_are_not_profile_rows() -> None:
    block = "P.01(0240101001500)(00)(15)(1)(1.5)(kW)\r\n(1)\r\n0-1:24.3.0(1)(2)\r\n(5)\r\n(6)\r\n"
    assert [row.values for row in parse_load_profile(block)] == [(Decimal(1),)]
    assert parse_load_profile(block) == _general_profile(block)


def test_framed_answer_takes_the_fast_path_after_its_bcc_check() -> None:
    body = BIG_P01.encode() + b"\x03"
    framed = b"\x02" + body + bytes((xor_bcc(body),))
    assert parse_load_profile(framed) == _general_profile(BIG_P01)
    with pytest.raises(ChecksumError):
        parse_load_profile(framed[:-1] + bytes((framed[-1] ^ 1,)))


def test_rows_built_by_a_caller_are_read_one_by_one() -> None:
    header = parse_data_block("P.01(0240101001500)(00)(15)(1)(1.5)(kW)")[0]
    rows = [DataSet("", [Value("1")]), DataSet("", [Value("2", "kW")])]
    profile = parse_load_profile([header, *rows])
    assert [row.values for row in profile] == [(Decimal(1),), (Decimal(2),)]
    assert all(type(row) is ProfileRow for row in profile)


def test_logbook_rows_from_the_fast_path() -> None:
    block = "P.98(0240101120000)(00)()(1)(C.11.0)()\r\n" + "(4)\r\n(5*s)(6)\r\n" * 3
    logbook = parse_logbook(block)
    assert logbook == _general_logbook(block)
    assert [[v.raw for v in entry.values] for entry in logbook][:3] == [[], ["4"], ["5*s", "6"]]


# -- a lazily typed row is a ProfileRow in every observable way -------------------------------------


LAZY_BLOCK = "P.01(0240101001500)(00)(15)(3)(1.5)(kW)(2.5)(kW)(3.5)()\r\n()(????)(7)\r\n(1,5)(-2)(+.5)\r\n"


def test_lazy_row_compares_hashes_and_prints_as_a_profile_row() -> None:
    lazy = parse_load_profile(LAZY_BLOCK).rows
    eager = _general_profile(LAZY_BLOCK).rows
    assert [type(row) for row in lazy] == [_TextRow, _TextRow]
    assert [type(row) for row in eager] == [ProfileRow, ProfileRow]
    for a, b in zip(lazy, eager, strict=True):
        assert a == b
        assert b == a
        assert not a != b  # noqa: SIM202 - the != operator itself is under test
        assert hash(a) == hash(b)
        assert repr(a) == repr(b)
        assert isinstance(a, ProfileRow)
        assert dataclasses.astuple(a) == dataclasses.astuple(b)
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert lazy[0].values == (None, None, Decimal(7))
    assert lazy[1].values == (Decimal("1.5"), Decimal(-2), Decimal("0.5"))
    assert lazy[0] != lazy[1]
    assert lazy[0].__eq__(lazy[0].timestamp) is NotImplemented


def test_lazy_row_copies_pickles_replaces_and_stays_frozen() -> None:
    row = parse_load_profile(LAZY_BLOCK).rows[1]
    eager = _general_profile(LAZY_BLOCK).rows[1]
    for twin in (copy.copy(row), copy.deepcopy(row), pickle.loads(pickle.dumps(row))):
        assert type(twin) is ProfileRow
        assert twin == eager
    changed = dataclasses.replace(row, status=5)
    assert changed == dataclasses.replace(eager, status=5)
    assert changed.values == eager.values
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.values = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.status = 1  # type: ignore[misc]
    match row:
        case ProfileRow(timestamp, status, values):
            assert (timestamp, status, values) == (eager.timestamp, eager.status, eager.values)
        case _:
            pytest.fail("a lazy row matches the ProfileRow pattern")


def test_lazy_values_ignore_the_callers_decimal_context() -> None:
    profile = parse_load_profile(LAZY_BLOCK + "(.)(1.2.3)(123456789012345678901234567890.5)\r\n")
    with decimal.localcontext() as context:
        context.traps[decimal.InvalidOperation] = False  # Decimal("") would give NaN here
        context.prec = 3
        values = [row.values for row in profile]
    assert values == [
        (None, None, Decimal(7)),
        (Decimal("1.5"), Decimal(-2), Decimal("0.5")),
        (None, None, Decimal("123456789012345678901234567890.5")),
    ]


def test_rows_past_the_year_9999_raise_malformed_data_not_overflow() -> None:
    from meterlink.errors import MalformedDataError

    # a capture period of 999999999 minutes (some 1,900 years): the sixth row is past 9999
    block = b"P.01(1991231234500)(00)(999999999)(1)(1.5)(kW)\r\n" + b"(1.0)\r\n" * 6
    with pytest.raises(MalformedDataError, match="9999"):
        parse_load_profile(block)
