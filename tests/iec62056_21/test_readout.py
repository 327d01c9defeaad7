"""The readout parser: framing, the data-block grammar and every deviation of section 1.11."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError, MeterlinkError, ObisError
from meterlink.iec62056_21.bcc import BccKind, sum_bcc, xor_bcc
from meterlink.iec62056_21.messages import Identification
from meterlink.iec62056_21.readout import (
    DataSet,
    Readout,
    Value,
    _block_body,
    _parse_block,
    _parse_block_general,
    _parse_lines,
    _PartitionedDataSet,
    _trim,
    parse_data_block,
    parse_readout,
)
from meterlink.iec62056_21.values import MeterDate, MeterDateTime, Season
from meterlink.obis import Obis


def frame(block: bytes, kind: BccKind = BccKind.XOR) -> bytes:
    """``STX block ETX BCC`` with a correct block check."""
    body = block + b"\x03"
    check = xor_bcc(body) if kind is BccKind.XOR else sum_bcc(body)
    return b"\x02" + body + bytes((check,))


def with_parity(data: bytes) -> bytes:
    """Set bit 7 as even parity would, the way a raw 8-bit link delivers 7E1 characters."""
    return bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in data)


def values_of(data_set: DataSet) -> list[tuple[str, str | None]]:
    return [(v.value, v.unit) for v in data_set.values]


ISKRA_BLOCK = (
    b"0.0.0(12345678)\r\n"
    b"1-0:1.8.0*255(001234.567*kWh)\r\n"
    b"1-0:1.8.1*255(000800.000*kWh)\r\n"
    b"1-0:1.8.0*01(001000.000*kWh)\r\n"
    b"1.8.0(001234.567*kWh)\r\n"
    b"0.9.1(101415)\r\n"
    b"0.9.2(0170318)\r\n"
    b"F.F(00000000)\r\n"
    b"!\r\n"
)


# -- framing ----------------------------------------------------------------------------------


def test_mode_c_readout_with_identification_and_bcc() -> None:
    readout = parse_readout(b"/ISK5\\2MT382-1000\r\n" + frame(ISKRA_BLOCK))
    assert readout.identification == Identification("ISK", "5", "MT382-1000", ("2",))
    assert readout.bcc_valid is True
    assert [d.address for d in readout] == [
        "0.0.0",
        "1-0:1.8.0*255",
        "1-0:1.8.1*255",
        "1-0:1.8.0*01",
        "1.8.0",
        "0.9.1",
        "0.9.2",
        "F.F",
    ]
    assert len(readout) == 8
    assert readout["1-0:1.8.0*255"].value.decimal() == Decimal("1234.567")
    assert readout["1-0:1.8.0*255"].value.unit == "kWh"


@pytest.mark.parametrize(
    ("message", "expected_bcc"),
    [
        (b"\x020.9.1(101415)\x03:", 0x3A),
        (b"\x020.9.2(130103)\x039", 0x39),
        (b"\x023:171.0(0)\x03\x12", 0x12),
        (b"\x023:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03\x22", 0x22),
    ],
)
def test_verified_bcc_vectors(message: bytes, expected_bcc: int) -> None:
    readout = parse_readout(message)
    assert readout.bcc_valid is True
    assert readout.identification is None
    assert message[-1] == expected_bcc


def test_lis200_vector_two_data_sets_on_one_line() -> None:
    readout = parse_readout(b"\x023:14(314*kWh)4:15(415*kWh)\r\n!\r\n\x03\x22")
    assert [(d.address, values_of(d)) for d in readout] == [
        ("3:14", [("314", "kWh")]),
        ("4:15", [("415", "kWh")]),
    ]
    assert readout["3:14"].obis is None  # instance:register is not OBIS


def test_bare_data_block_without_identification() -> None:
    readout = parse_readout(b"1.8.0(0001234.5*kWh)\r\n2.8.0(0000012.0*kWh)\r\n!\r\n")
    assert readout.identification is None
    assert readout.bcc_valid is None
    assert [d.address for d in readout] == ["1.8.0", "2.8.0"]


def test_programming_answer_without_end_mark() -> None:
    readout = parse_readout(b"\x020.9.1(101415)\x03:")
    assert readout["0.9.1"].value.time() == dt.time(10, 14, 15)


def test_mode_d_push_without_stx_etx_bcc() -> None:
    data = (
        b"/ESY5Q3DA1004 V3.04\r\n\r\n"
        b"1-0:0.0.0*255(1ESY1011000000)\r\n"
        b"1-0:1.8.0*255(00002815.5136*kWh)\r\n"
        b"1-0:21.7.255*255(000081.23*W)\r\n"
        b"!\r\n"
    )
    readout = parse_readout(data)
    assert readout.identification is not None
    assert readout.identification.manufacturer == "ESY"
    assert readout.bcc_valid is None
    assert readout["1-0:21.7.255*255"].value.decimal() == Decimal("81.23")


def test_meter_stopping_at_end_mark_without_etx() -> None:
    readout = parse_readout(b"/ITR5EM214\r\n\x021.8.0(0001234.5*kWh)\r\n!\r\n")
    assert readout.bcc_valid is None
    assert readout["1.8.0"].value.value == "0001234.5"


def test_parity_bit_is_cleared() -> None:
    plain = b"/ISK5\\2MT382-1000\r\n" + frame(ISKRA_BLOCK)
    assert parse_readout(with_parity(plain)) == parse_readout(plain)
    # the example of research note 1.13: STX F.F(00000000) ETX with parity
    readout = parse_readout(
        b"\x82\xc6.\xc6(00000000\xa9\x03\xa9"[:-1] + bytes((xor_bcc(b"F.F(00000000)\x03"),))
    )
    assert readout["F.F"].value.value == "00000000"


def test_partial_block_ending_in_eot() -> None:
    body = b"P.01(1220823161500)(08)(15)(1)(1.5)(kW)\r\n(0.1)\r\n\x04"
    readout = parse_readout(b"\x02" + body + bytes((xor_bcc(body),)))
    assert readout.bcc_valid is True
    assert [d.address for d in readout] == ["P.01", ""]


def test_additive_bcc_option() -> None:
    message = frame(b"VOLTA(228.93)\r\n", BccKind.SUM)
    if xor_bcc(message[1:-1]) == message[-1]:  # pragma: no cover - the two checks differ here
        pytest.skip("sum and xor coincide")
    with pytest.raises(ChecksumError):
        parse_readout(message)
    assert parse_readout(message, bcc_kind=BccKind.SUM).bcc_valid is True


def test_missing_bcc_after_etx() -> None:
    data = b"\x021.8.0(1)\r\n!\r\n\x03"
    with pytest.raises(MalformedDataError) as info:
        parse_readout(data)
    assert info.value.offset == len(data)
    readout = parse_readout(data, strict=False)
    assert readout.bcc_valid is None
    assert readout["1.8.0"].value.value == "1"


def test_bytes_after_the_bcc_are_ignored() -> None:
    assert parse_readout(frame(b"1.8.0(1)\r\n!\r\n") + b"\x00\x00junk")["1.8.0"].value.value == "1"


def test_bytearray_and_memoryview_input() -> None:
    data = frame(b"1.8.0(1)\r\n!\r\n")
    assert parse_readout(bytearray(data)) == parse_readout(memoryview(data)) == parse_readout(data)


def test_non_bytes_input_is_a_caller_error() -> None:
    with pytest.raises(LocalProtocolError):
        parse_readout("1.8.0(1)")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        parse_data_block(12)  # type: ignore[arg-type]


def test_unusable_identification_strict_and_lenient() -> None:
    data = b"/IS\x7fK5MT\r\n" + frame(b"1.8.0(1)\r\n!\r\n")
    with pytest.raises(MalformedDataError) as info:
        parse_readout(data)
    assert info.value.offset == 0
    readout = parse_readout(data, strict=False)
    assert readout.identification is None
    assert readout["1.8.0"].value.value == "1"


def test_slash_inside_the_data_block_is_not_an_identification() -> None:
    # Siemens TD-3511 prints '/' inside addresses (vzlogger source comment).
    readout = parse_readout(b"1.8.0/1(00012.5*kWh)\r\n!\r\n")
    assert readout.identification is None
    assert readout["1.8.0/1"].value.value == "00012.5"
    odd_ident = parse_readout(b"/XYZ5(1)\r\n" + frame(b"1.8.0(1)\r\n!\r\n")).identification
    assert odd_ident is not None and odd_ident.ident == "(1)"
    framed = parse_readout(b"/LGZ4ZMD\r\n" + frame(b"0.2/0(V1)\r\n!\r\n"))
    assert framed.identification is not None and framed.identification.manufacturer == "LGZ"
    assert framed["0.2/0"].value.value == "V1"


# -- section 1.11: the deviations ---------------------------------------------------------------


def test_deviation_1_echo_of_request_before_identification() -> None:
    readout = parse_readout(b"/?!\r\n/ITR5EM214\r\n" + frame(b"1.8.0(1)\r\n!\r\n"))
    assert readout.identification is not None
    assert readout.identification.text == "ITR5EM214"


def test_deviation_1_echo_of_addressed_request() -> None:
    readout = parse_readout(b"/?12345678!\r\n/LUN5<1>LUN70000130\r\n" + frame(b"0.0.0(12345678)\r\n!\r\n"))
    assert readout.identification is not None
    assert readout.identification.ident == "<1>LUN70000130"


def test_deviation_1_echo_of_ack_option_select() -> None:
    readout = parse_readout(b"/?!\r\n/ISK5MT174-0001\r\n\x06050\r\n" + frame(b"1.8.0(1)\r\n!\r\n"))
    assert readout.identification is not None
    assert readout.identification.manufacturer == "ISK"
    assert readout.bcc_valid is True


def test_deviation_1_ack_echo_without_identification() -> None:
    readout = parse_readout(b"\x06000\r\n" + frame(b"F.F(00)\r\n!\r\n"))
    assert readout.identification is None
    assert readout["F.F"].value.value == "00"


def test_deviation_1_0x7f_garbage_before_identification() -> None:
    readout = parse_readout(b"\x7f\x7f\x7f\x7f/ACE0\\3k260V01.19\r\n" + frame(b"1.8.0(013925.5*)\r\n!\r\n"))
    assert readout.identification == Identification("ACE", "0", "k260V01.19", ("3",))


def test_deviation_1_nul_bytes_before_mode_d_telegram() -> None:
    readout = parse_readout(b"\x00\x00\x00/EBZ5DD3BZ06ETA_107\r\n\r\n1-0:1.8.0*255(000123.45*kWh)\r\n!\r\n")
    assert readout.identification is not None
    assert readout.identification.manufacturer == "EBZ"
    assert readout["1-0:1.8.0*255"].value.value == "000123.45"


def test_deviation_1_nul_bytes_before_bare_block_without_identification() -> None:
    readout = parse_readout(b"\x00\x00\x7f1.8.0(1)\r\n!\r\n")
    assert [d.address for d in readout] == ["1.8.0"]


def test_deviation_1_random_bytes_before_identification() -> None:
    readout = parse_readout(b"\x12x\x80\xff\x0b/HAg5eHZ010C\r\n\r\n1-0:1.8.0*255(1)\r\n!\r\n")
    assert readout.identification is not None
    assert readout.identification.manufacturer == "HAg"


def test_deviation_2_end_mark_on_the_last_data_line() -> None:
    readout = parse_readout(frame(b"6.8(0020.96*MWh)\r\n6.31(0109868*h)!\r\n"))
    assert values_of(readout["6.31"]) == [("0109868", "h")]
    readout = parse_readout(frame(b"0.2.1(123)\r\n0.2.2(:::::G11)!\r\n"))
    assert readout["0.2.2"].value.value == ":::::G11"
    assert len(readout) == 2


def test_deviation_2_whole_readout_in_two_lines() -> None:
    # Siemens 2WR5 heat meter: dense lines, several data sets and '&' values per line.
    block = (
        b"6.8(0020.962*MWh)6.26(00394.01*m3)9.21(66153083)\r\n"
        b"6.26*01(00368.41*m3)6.8*01(0018.901*MWh)F(0)9.20(66153083)6.35(60*m)6.6(0019.9*kW)!\r\n"
    )
    readout = parse_readout(b"/SIEC2WR5\r\n" + frame(block))
    assert [d.address for d in readout] == [
        "6.8",
        "6.26",
        "9.21",
        "6.26*01",
        "6.8*01",
        "F",
        "9.20",
        "6.35",
        "6.6",
    ]
    assert readout["6.8*01"].value.decimal() == Decimal("18.901")


def test_deviation_2_lf_only_line_ends() -> None:
    readout = parse_readout(frame(b"1.8.0(1)\n2.8.0(2)\n!\n"))
    assert [values_of(d) for d in readout] == [[("1", None)], [("2", None)]]


def test_deviation_2_doubled_line_ends() -> None:
    readout = parse_readout(frame(b"1.8.0(1)\n\n2.8.0(2)\r\r\n\r\n!\r\n"))
    assert [d.address for d in readout] == ["1.8.0", "2.8.0"]


def test_deviation_2_cr_only_line_ends() -> None:
    readout = parse_readout(frame(b"1.8.0(1)\r2.8.0(2)\r!\r"))
    assert [d.address for d in readout] == ["1.8.0", "2.8.0"]


def test_deviation_2_blank_line_after_identification() -> None:
    readout = parse_readout(b"/ISK5\\2MT382-1000\r\n\r\n1-0:1.8.0(1)\r\n!\r\n")
    assert readout.identification is not None
    assert [d.address for d in readout] == ["1-0:1.8.0"]


def test_deviation_2_dsmr_crc_after_end_mark_is_not_data() -> None:
    readout = parse_readout(b"/KFM5KAIFA-METER\r\n\r\n1-0:1.8.1(000123.456*kWh)\r\n!1A2B\r\n")
    assert [d.address for d in readout] == ["1-0:1.8.1"]


def test_deviation_3_value_and_timestamp_groups() -> None:
    readout = parse_readout(frame(b"1-0:1.6.0*255(02.468*kW)(1703100930)\r\n!\r\n"))
    data_set = readout["1-0:1.6.0*255"]
    assert values_of(data_set) == [("02.468", "kW"), ("1703100930", None)]
    assert data_set.values[1].timestamp() == MeterDateTime(dt.datetime(2017, 3, 10, 9, 30))


def test_deviation_3_dsmr_power_failure_log() -> None:
    line = b"1-0:99.97.0(2)(0-0:96.7.19)(101208152415W)(0000000240*s)(101208151004W)(0000000301*s)"
    readout = parse_readout(b"/ISk5\\2MT382-1000\r\n\r\n" + line + b"\r\n!\r\n")
    data_set = readout["1-0:99.97.0"]
    assert len(data_set.values) == 6
    assert data_set.values[1].value == "0-0:96.7.19"
    assert data_set.values[2].timestamp() == MeterDateTime(
        dt.datetime(2010, 12, 8, 15, 24, 15), Season.NORMAL
    )
    assert values_of(data_set)[3] == ("0000000240", "s")


def test_deviation_3_groups_continue_on_the_next_line() -> None:
    # DSMR 2.2/3 gas: the reading sits on its own line below the header groups.
    block = b"0-1:24.3.0(121106140000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00054.386)\r\n0-1:24.4.0(1)\r\n!\r\n"
    readout = parse_readout(b"/ISk5\\2MT382-1000\r\n\r\n" + block)
    assert [d.address for d in readout] == ["0-1:24.3.0", "0-1:24.4.0"]
    gas = readout["0-1:24.3.0"]
    assert len(gas.values) == 7
    assert gas.values[-1].decimal() == Decimal("54.386")
    assert gas.values[5].value == "m3"


def test_deviation_3_profile_rows_are_data_sets_with_empty_address() -> None:
    block = (
        b"P.01(1220823161500)(00000000)(15)(2)(1.5)(kW)(2.5)(kW)\r\n"
        b"(0.18374)(0.00078)\r\n"
        b"(0.16832)(0.00000)\r\n"
    )
    data_sets = parse_data_block(block)
    assert [d.address for d in data_sets] == ["P.01", "", ""]
    assert len(data_sets[0].values) == 8
    assert values_of(data_sets[2]) == [("0.16832", None), ("0.00000", None)]
    assert data_sets[1].obis is None


def test_deviation_3_lis200_archive_rows_stay_separate() -> None:
    rows = parse_data_block(
        b"(1)(12)(2021-03-01,06:00:00)(1234.5)\r\n(2)(13)(2021-03-01,07:00:00)(1240.0)\r\n"
    )
    assert [d.address for d in rows] == ["", ""]
    assert rows[1].values[2].timestamp().datetime == dt.datetime(2021, 3, 1, 7)


def test_deviation_3_error_message_is_a_bare_data_set() -> None:
    (data_set,) = parse_data_block("(ERR12)")
    assert data_set.address == ""
    assert data_set.value.value == "ERR12"


def test_deviation_4_ampersand_sub_values() -> None:
    readout = parse_readout(frame(b"9.4(088*C&082*C)\r\n9.6(000&00010213&0)\r\n!\r\n"))
    temperatures = readout["9.4"].value
    assert temperatures.value == "088*C&082*C"
    assert temperatures.unit is None
    assert [(p.value, p.unit) for p in temperatures.parts()] == [("088", "C"), ("082", "C")]
    assert [p.as_int() for p in readout["9.6"].value.parts()] == [0, 10213, 0]
    mixed = parse_data_block("9.4(088&082*C)")[0].value
    assert (mixed.value, mixed.unit) == ("088&082*C", None)
    assert [(p.value, p.unit) for p in mixed.parts()] == [("088", None), ("082", "C")]


def test_deviation_4_ampersand_date_and_time() -> None:
    value = parse_data_block("0.9.1(2017-01-18&01:36:47)")[0].value
    assert value.timestamp().datetime == dt.datetime(2017, 1, 18, 1, 36, 47)
    date, time = value.parts()
    assert date.date() == MeterDate(dt.date(2017, 1, 18))
    assert time.time() == dt.time(1, 36, 47)


def test_deviation_4_hash_sub_values() -> None:
    value = parse_data_block("0.2.0(V01.69#EEA3546C)")[0].value
    assert [p.value for p in value.parts()] == ["V01.69", "EEA3546C"]
    assert value.parts()[1].as_int(16) == 0xEEA3546C


def test_deviation_4_comma_sub_values() -> None:
    outage = parse_data_block("96.77.2*1(19-05-10,10:01,19-05-10,10:11)")[0].value
    assert [p.value for p in outage.parts()] == ["19-05-10", "10:01", "19-05-10", "10:11"]
    version = parse_data_block("0.2.0(ver.20,D68A93C7,20200409)")[0].value
    assert version.parts()[2].date() == MeterDate(dt.date(2020, 4, 9))
    assert version.parts(separators="#") == (version,)  # no '#' in it


def test_deviation_5_absent_unit() -> None:
    value = parse_data_block("1-0:1.8.1*255(032942.0231)")[0].value
    assert value.unit is None
    assert value.effective_unit is None
    assert value.decimal() == Decimal("32942.0231")


def test_deviation_5_empty_unit_after_star() -> None:
    value = parse_readout(b"/ACE0\\3k260V01.19\r\n" + frame(b"1.8.0(013925.5*)\r\n!\r\n"))["1.8.0"].value
    assert value.value == "013925.5"
    assert value.unit == ""  # '*' was sent; None would claim it was not
    assert value.effective_unit is None
    assert value.raw == "013925.5*"
    assert value.decimal() == Decimal("13925.5")


def test_deviation_5_unit_embedded_after_a_space() -> None:
    value = parse_data_block("1.8.0(0000000 kWh)")[0].value
    assert value.value == "0000000 kWh"
    assert value.unit is None
    assert value.effective_unit == "kWh"
    assert value.decimal() == Decimal(0)
    assert value.number() == Decimal(0)


def test_deviation_5_value_unit_and_timestamp() -> None:
    # AUX SX330: "value*unit timestamp" in one group.
    value = parse_data_block("1.6.0(1.124*kW 1250625171500)")[0].value
    assert value.value == "1.124"
    assert value.unit == "kW 1250625171500"
    assert value.effective_unit == "kW"
    assert value.extra == "1250625171500"
    assert value.decimal() == Decimal("1.124")


@pytest.mark.parametrize(
    "unit",
    [
        *("kWh", "MWh", "GJ", "kvarh", "kVArh", "kVarh", "kW", "W", "V", "A", "Hz", "deg"),
        *("m3", "m3ph", "C", "h", "min", "secs", "Imp/kWh"),
    ],
)
def test_deviation_5_unit_spellings_are_kept_verbatim(unit: str) -> None:
    value = parse_data_block(f"1.2.3(0012.5*{unit})")[0].value
    assert value.unit == unit
    assert value.effective_unit == unit


def test_deviation_6_empty_value() -> None:
    value = parse_data_block("0.0.1()")[0].value
    assert value.value == ""
    assert value.number() is None
    with pytest.raises(MalformedDataError):
        value.decimal()


def test_deviation_6_value_of_48_spaces() -> None:
    spaces = " " * 48
    data_set = parse_data_block(f"C.2.1(1107113C2E06)({spaces})")[0]
    assert data_set.values[1].value == spaces
    assert data_set.values[1].number() is None


def test_deviation_6_nul_bytes_and_a_lost_bracket() -> None:
    # Pafal: eight NULs and no ')' before the line end (RIOT PR 22033 hex dump).
    readout = parse_readout(
        b"\x06000\r\n\x020.0.0(\x00\x00\x00\x00\x00\x00\x00\x00\r\n0.0.1(001APAEA)\r\n\x03", strict=False
    )
    assert readout["0.0.0"].value.value == "\x00" * 8
    assert readout["0.0.1"].value.value == "001APAEA"


def test_deviation_6_signs_and_leading_spaces() -> None:
    data_sets = parse_data_block("0.0.0( 20000)\r\n1.7.0(-0001.25*kW)\r\n2.7.0(+0002.50*kW)")
    assert [d.value.decimal() for d in data_sets] == [Decimal(20000), Decimal("-1.25"), Decimal("2.50")]
    assert data_sets[0].value.value == " 20000"


def test_deviation_6_hex_values() -> None:
    value = parse_data_block("C.5.0(FDF5)")[0].value
    assert value.as_int(16) == 0xFDF5
    assert value.number() is None
    with pytest.raises(MalformedDataError):
        value.as_int()


def test_deviation_6_placeholders() -> None:
    value = parse_data_block("1.8.1(??)")[0].value
    assert value.value == "??"
    assert value.number() is None
    with pytest.raises(MalformedDataError) as info:
        value.decimal()
    assert info.value.data == b"??"


def test_deviation_6_decimal_comma() -> None:
    assert parse_data_block("1.8.0(001234,567*kWh)")[0].value.decimal() == Decimal("1234.567")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("0.9.2(130103)", ("date", MeterDate(dt.date(2013, 1, 3)))),
        ("0.9.2(0170318)", ("date", MeterDate(dt.date(2017, 3, 18), Season.NORMAL))),
        ("0.9.2(1250901)", ("date", MeterDate(dt.date(2025, 9, 1), Season.SUMMER))),
        ("0.9.2(19-05-10)", ("date", MeterDate(dt.date(2019, 5, 10)))),
        ("0.9.1(101415)", ("time", dt.time(10, 14, 15))),
        ("0.9.1(10:14:15)", ("time", dt.time(10, 14, 15))),
        ("1.6.0(1703100930)", ("timestamp", MeterDateTime(dt.datetime(2017, 3, 10, 9, 30)))),
        ("1.6.0(19-05-10,10:01)", ("timestamp", MeterDateTime(dt.datetime(2019, 5, 10, 10, 1)))),
        ("1.6.0(19-05-10 10:01)", ("timestamp", MeterDateTime(dt.datetime(2019, 5, 10, 10, 1)))),
        ("0.9.1(2021-03-01 06:00:00)", ("timestamp", MeterDateTime(dt.datetime(2021, 3, 1, 6)))),
        ("3:400(2021-03-01,06:00:00)", ("timestamp", MeterDateTime(dt.datetime(2021, 3, 1, 6)))),
        (
            "0.9.1(1220823161500)",
            ("timestamp", MeterDateTime(dt.datetime(2022, 8, 23, 16, 15), Season.SUMMER)),
        ),
        (
            "0-0:1.0.0(101209113020W)",
            ("timestamp", MeterDateTime(dt.datetime(2010, 12, 9, 11, 30, 20), Season.NORMAL)),
        ),
    ],
)
def test_deviation_7_date_and_time_formats(line: str, expected: tuple[str, object]) -> None:
    kind, wanted = expected
    value = parse_data_block(line)[0].value
    got: object
    if kind == "date":
        got = value.date()
    elif kind == "time":
        got = value.time()
    else:
        got = value.timestamp()
    assert got == wanted


@pytest.mark.parametrize(
    ("address", "obis"),
    [
        ("1-0:1.8.0*255", Obis(1, 0, 1, 8, 0, 255)),
        ("1.8.0", Obis(None, None, 1, 8, 0, None)),
        ("1.8", Obis(None, None, 1, 8, None, None)),
        ("C.1", Obis(None, None, 96, 1, None, None)),
        ("F.F", Obis(None, None, 97, 97, None, None)),
        ("0-0:C.1.0*255", Obis(0, 0, 96, 1, 0, 255)),
        ("P.01", Obis(None, None, 99, 1, None, None)),
        ("1.8.0*01", Obis(None, None, 1, 8, 0, 1)),
        ("1-0:1.8.0*96", Obis(1, 0, 1, 8, 0, 96)),
        ("1-0:1.8.0*101", Obis(1, 0, 1, 8, 0, 101)),
        ("3:171.0", None),  # LIS-200 instance:register
        ("2:310.0", None),
        ("VOLTA", None),  # Energomera
        ("ET0PE", None),
    ],
)
def test_deviation_8_address_forms(address: str, obis: Obis | None) -> None:
    data_set = parse_data_block(f"{address}(1)")[0]
    assert data_set.address == address
    assert data_set.obis == obis
    if obis is not None:
        assert str(data_set.obis) == address


def test_deviation_8_storage_number_is_not_a_wildcard() -> None:
    readout = parse_readout(frame(ISKRA_BLOCK))
    assert readout.get("1.8.0") is readout.get_all("1.8.0")[0]
    assert readout["1.8.0"].address == "1.8.0"
    assert readout.get("1.8.0*1") is None  # printed as *01
    assert readout.get("1-0:1.8.0") is None
    assert [d.address for d in readout.by_obis("1.8.0")] == ["1.8.0"]
    assert [d.address for d in readout.by_obis("1-0:1.8.0*1")] == ["1-0:1.8.0*01"]
    assert [d.address for d in readout.by_obis("1.8.0", wildcard=True)] == [
        "1-0:1.8.0*255",
        "1-0:1.8.0*01",
        "1.8.0",
    ]


def test_deviation_8_energomera_repeated_names() -> None:
    readout = parse_readout(frame(b"VOLTA(228.93)VOLTA(230.02)VOLTA(235.12)\r\nET0PE(02)\r\n!\r\n"))
    assert [d.value.decimal() for d in readout.get_all("VOLTA")] == [
        Decimal("228.93"),
        Decimal("230.02"),
        Decimal("235.12"),
    ]
    assert readout["VOLTA"].value.value == "228.93"
    assert readout.get_all("CURRE") == []


def test_deviation_9_wrong_bcc_raises_in_strict_mode() -> None:
    good = b"/ISK5\\2MT382-1000\r\n" + frame(ISKRA_BLOCK)
    bad = good[:-1] + bytes((good[-1] ^ 0x01,))
    with pytest.raises(ChecksumError) as info:
        parse_readout(bad)
    error = info.value
    assert error.data == bad
    assert error.offset == len(bad) - 1
    assert error.received == bad[-1]
    assert error.expected == good[-1]
    assert error.reply == b"\x15"


def test_deviation_9_wrong_bcc_recorded_in_lenient_mode() -> None:
    good = frame(ISKRA_BLOCK)
    bad = good[:-1] + bytes((good[-1] ^ 0x20,))
    readout = parse_readout(bad, strict=False)
    assert readout.bcc_valid is False
    assert readout.data_sets == parse_readout(good).data_sets


# -- nothing is lost ----------------------------------------------------------------------------


def test_text_that_is_not_a_data_set_is_kept_as_malformed() -> None:
    readout = parse_readout(frame(b"1.8.0(1)\r\nGARBAGE\r\n2.8.0(12(3)\r\n3.8.0(3)junk\r\n!\r\n"))
    assert [(d.address, d.malformed) for d in readout] == [
        ("1.8.0", False),
        ("GARBAGE", True),
        ("2.8.0(12(3)", True),
        ("3.8.0", False),
        ("junk", True),
    ]
    bad = readout.malformed
    assert [d.raw for d in bad] == ["GARBAGE", "2.8.0(12(3)", "junk"]
    assert all(d.values == () and d.obis is None for d in bad)
    assert readout.get("GARBAGE") is None
    with pytest.raises(MalformedDataError):
        _ = bad[0].value


def test_end_mark_in_the_middle_is_dropped_but_data_after_it_kept() -> None:
    data_sets = parse_data_block(b"1.8.0(1)\r\n!\r\n2.8.0(2)\r\n")
    assert [d.address for d in data_sets] == ["1.8.0", "2.8.0"]


def test_blank_and_empty_blocks() -> None:
    assert parse_data_block(b"") == []
    assert parse_data_block("\r\n!\r\n") == []
    assert parse_data_block("  \r\n \t \r\n") == []
    readout = parse_readout(b"/ISK5MT174\r\n")
    assert readout.identification is not None
    assert readout.data_sets == ()


def test_unclosed_group_at_line_end_is_closed_by_the_line_end() -> None:
    (data_set,) = parse_data_block("1.8.0(001.5*kWh\r\n")
    assert values_of(data_set) == [("001.5", "kWh")]


# -- the objects --------------------------------------------------------------------------------


def test_readout_lookup_methods() -> None:
    readout = parse_readout(frame(ISKRA_BLOCK))
    with pytest.raises(KeyError):
        _ = readout["9.9.9"]
    assert readout.get("9.9.9") is None
    assert "F.F" in readout and "9.9.9" not in readout
    assert list(readout) == list(readout.data_sets)
    assert readout.by_obis(Obis.parse("F.F"))[0].value.value == "00000000"
    with pytest.raises(ObisError):
        readout.by_obis("not obis")


def test_to_dict_is_json_ready() -> None:
    readout = parse_readout(
        b"/ISK5\\2MT382-1000\r\n" + frame(b"1.8.0(001.5*kWh)(2301011200)\r\nVOLTA(1)\r\nx\r\n!\r\n")
    )
    document = readout.to_dict()
    assert json.loads(json.dumps(document)) == document
    assert document == {
        "identification": {
            "manufacturer": "ISK",
            "baud_char": "5",
            "enhanced": ["2"],
            "ident": "MT382-1000",
            "text": "ISK5\\2MT382-1000",
            "mode": "E",
            "baud_rate": 9600,
        },
        "data_sets": [
            {
                "address": "1.8.0",
                "obis": "1.8.0",
                "values": [{"value": "001.5", "unit": "kWh"}, {"value": "2301011200", "unit": None}],
            },
            {"address": "VOLTA", "obis": None, "values": [{"value": "1", "unit": None}]},
            {"address": "x", "obis": None, "values": []},
        ],
        "bcc_valid": True,
    }
    assert parse_readout(frame(b"C.1(1)\r\n"), strict=False).to_dict()["data_sets"][0]["obis"] == "96.1"


def test_data_set_and_value_are_immutable_and_hashable() -> None:
    data_set = parse_data_block("1.8.0(1*kWh)")[0]
    with pytest.raises(AttributeError):
        data_set.address = "2.8.0"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        data_set.value.unit = "Wh"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        data_set.extra = 1  # type: ignore[attr-defined]
    assert hash(data_set) == hash(DataSet("1.8.0", [Value("1", "kWh")]))
    assert data_set == DataSet("1.8.0", [Value("1", "kWh")])
    assert data_set != DataSet("1.8.0", [Value("1")])
    assert {data_set.value, Value.from_raw("1*kWh")} == {Value("1", "kWh")}
    readout = Readout(None, (data_set,), None)
    assert hash(readout) == hash(Readout(None, (DataSet("1.8.0", [Value("1", "kWh")]),), None))


def test_public_constructors_check_their_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        Value("1*2")
    with pytest.raises(LocalProtocolError):
        Value("1", "k(W)")
    with pytest.raises(LocalProtocolError):
        Value.from_raw("(1)")
    with pytest.raises(LocalProtocolError):
        DataSet("1.8.0(", [])
    with pytest.raises(LocalProtocolError):
        DataSet("1.8.0", ["1"])  # type: ignore[list-item]


def test_repr_round_trips_visually() -> None:
    data_set = parse_data_block("1.8.0(1*kWh)(2)")[0]
    assert repr(data_set) == "DataSet('1.8.0', [Value('1', unit='kWh'), Value('2')])"
    assert repr(DataSet.malformed_text("xx")) == "DataSet.malformed_text('xx')"
    assert str(data_set.value) == "1*kWh"


def test_value_typed_accessors_raise_only_meterlink_errors() -> None:
    value = Value("abc")
    for call in (value.decimal, value.as_int, value.timestamp, value.date, value.time):
        with pytest.raises(MalformedDataError):
            call()
    assert value.number() is None
    assert value.parts() == (value,)
    assert value.parts("") == (value,)


# -- the fast path and the general tokenizer agree ---------------------------------------------

_LINE_PIECES = st.sampled_from(
    [
        "1.8.0",
        "1-0:1.8.0*255",
        "C.1",
        "",
        "VOLTA",
        "P.01",
        " ",
        "(",
        ")",
        "(1)",
        "(2*kWh)",
        "()",
        "!",
        "x",
        "*",
    ]
)


@given(st.lists(st.lists(_LINE_PIECES, max_size=6).map("".join), max_size=8).map("\n".join))
@settings(max_examples=300)
def test_fast_path_agrees_with_general_tokenizer(text: str) -> None:
    body = text.strip("\n")
    fast = _parse_block(text)
    general = _parse_block_general(body) if body else ()
    if "!" not in text:
        assert fast == general


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_random_bytes_raise_only_meterlink_errors(data: bytes) -> None:
    try:
        readout = parse_readout(data, strict=False)
    except MeterlinkError:
        return
    for data_set in readout:
        _ = data_set.obis
        for value in data_set.values:
            value.number()
    json.dumps(readout.to_dict())


@given(st.binary(max_size=200))
def test_random_framed_bytes_raise_only_meterlink_errors(data: bytes) -> None:
    for message in (
        b"/ABC5x\r\n\x02" + data + b"\x03\x00",
        b"\x02" + data,
        frame(data.replace(b"\x03", b"")),
    ):
        for strict in (True, False):
            with contextlib.suppress(MeterlinkError):
                parse_readout(message, strict=strict)


@given(st.text(max_size=200))
def test_random_text_blocks_never_raise(text: str) -> None:
    data_sets = parse_data_block(text)
    for data_set in data_sets:
        assert isinstance(data_set.raw, str)


# The line-level fast path (_parse_lines) against the general tokenizer, line ends of every kind
# included: CR LF, LF, CR, doubled, and the characters str.splitlines() also breaks at but the
# tokenizer does not (VT, FF, FS, NEL, LINE SEPARATOR).
_BREAKS = st.sampled_from(
    ["\r\n", "\r\n", "\r\n", "\n", "\r", "\r\n\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]
)
_ROW_PIECES = st.sampled_from(["(1)", "(0.5*kW)", "()", "(2)(3)", "(", ")", "x", "!"])
_LINES = st.one_of(
    st.lists(_LINE_PIECES, max_size=6).map("".join),
    st.sampled_from(["P.01(0240101001500)(00)(15)(1)(1.5)(kW)", "P.98(1)", "0-1:24.3.0(1)", "1.8.0(1)"]),
    st.lists(_ROW_PIECES, min_size=1, max_size=3).map("".join),
)


@st.composite
def _blocks(draw: st.DrawFn) -> str:
    lines = draw(st.lists(_LINES, max_size=10))
    end = draw(st.sampled_from(["", "!", "!\r\n", "!1A2B\r\n"]))
    return "".join(line + draw(_BREAKS) for line in lines) + end


@given(_blocks())
@settings(max_examples=1000)
def test_line_fast_path_agrees_with_general_tokenizer(text: str) -> None:
    expected = _parse_block_general(_block_body(text)) if _block_body(text) else ()
    parsed = _parse_block(text)
    assert parsed == expected
    seen = [(d.raw, d.malformed, d.values) for d in parsed]
    assert seen == [(d.raw, d.malformed, d.values) for d in expected]


def _fast(text: str) -> tuple[DataSet, ...] | None:
    """What the line fast path makes of a block (None: it leaves the block to the tokenizer)."""
    return _parse_lines(_trim(text))


def test_profile_rows_below_their_header_take_the_fast_path() -> None:
    block = (
        "0.0.0(1)\r\nP.01(0240101001500)(00)(15)(2)(1.5)(kW)(2.5)(kW)\r\n(1)(2)\r\n(3)(4)\r\nF.F(0)\r\n!\r\n"
    )
    fast = _fast(block)
    assert fast is not None
    assert all(type(d) is _PartitionedDataSet for d in fast)
    assert [d.address for d in fast] == ["0.0.0", "P.01", "", "", "F.F"]
    assert fast == _parse_block_general(_block_body(block))
    assert _fast("(1)(2)\n(3)") is not None  # rows with no header above them (LIS-200 archive)
    lf = block.replace("\r\n", "\n")
    assert _fast(lf) == fast


@pytest.mark.parametrize(
    "block",
    [
        "0-1:24.3.0(1)(2)\r\n(54.386)\r\n",  # a bare line below a register continues it
        "P.01(1)\r\n(1)\r\n1.8.0(5)\r\n(6)\r\n",  # ... also after an earlier run of rows
        "1.8.0(1)\r\n2.8.0(2)\n3.8.0(3)",  # mixed line ends
        "1.8.0(1)\r2.8.0(2)",  # CR only
        "1.8.0(1)\r\n\r\n2.8.0(2)",  # a blank line
        "1.8.0(1)\x0b2.8.0(2)",  # splitlines() breaks at VT, the tokenizer does not
        "1.8.0(1)\x1c2.8.0(2)",
        "1.8.0(1)\x852.8.0(2)",
        "1.8.0(1)\u20282.8.0(2)",
        "1.8.0(1)\r\n2.8.0(2)x",  # text after the last group
        "1.8)0(1)",  # a bracket in the address
        "1.8.0((1)",
        "1.8.0(1))",
        "1.8.0(1)x(2)",
        "1.8.0(1",  # the line end closes an unclosed group
        "GARBAGE",
    ],
)
def test_line_fast_path_declines_what_it_cannot_prove(block: str) -> None:
    assert _fast(block) is None
    assert _parse_block(block) == _parse_block_general(_block_body(block))


def test_continuation_after_a_fast_path_decline_is_kept() -> None:
    (gas,) = parse_data_block("0-1:24.3.0(121106140000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00054.386)\r\n")
    assert gas.address == "0-1:24.3.0"
    assert gas.values[-1].value == "00054.386"
