"""Units, ScalerUnit and Quantity: the Blue Book table and exact decimal scaling."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.cosem import Quantity, ScalerUnit, Unit
from meterlink.dlms.cosem.units import unit_symbol
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError


@pytest.mark.parametrize(
    ("code", "member", "symbol"),
    [
        (1, Unit.YEAR, "a"),
        (7, Unit.SECOND, "s"),
        (9, Unit.CELSIUS, "°C"),
        (13, Unit.CUBIC_METRE, "m³"),
        (27, Unit.WATT, "W"),
        (28, Unit.VOLT_AMPERE, "VA"),
        (29, Unit.VAR, "var"),
        (30, Unit.WATT_HOUR, "Wh"),
        (31, Unit.VOLT_AMPERE_HOUR, "VAh"),
        (32, Unit.VAR_HOUR, "varh"),
        (33, Unit.AMPERE, "A"),
        (35, Unit.VOLT, "V"),
        (44, Unit.HERTZ, "Hz"),
        (56, Unit.PERCENT, "%"),
        (255, Unit.COUNT, ""),
    ],
)
def test_unit_table(code: int, member: Unit, symbol: str) -> None:
    assert Unit(code) is member
    assert member.symbol == symbol
    assert unit_symbol(code) == symbol


def test_every_unit_has_a_symbol_and_unknown_codes_survive() -> None:
    assert all(isinstance(u.symbol, str) for u in Unit)
    assert unit_symbol(200) == "unit(200)"
    assert ScalerUnit(0, 200).unit == 200
    assert not isinstance(ScalerUnit(0, 200).unit, Unit)


def test_scaler_unit_from_structure_and_bytes() -> None:
    raw = bytes.fromhex("0202 0F FD 16 1E")
    su = ScalerUnit.from_bytes(raw)
    assert su == ScalerUnit(-3, Unit.WATT_HOUR)
    assert su.to_bytes() == raw
    assert ScalerUnit.from_value(axdr.decode(raw)) == su
    assert axdr.encode((axdr.Integer(-3), axdr.Enum(30))) == raw


@pytest.mark.parametrize(
    "bad", [(1,), (1, 2, 3), [1, 30], (True, 30), (1, 256), (-129, 30), (b"\x01", 30), None]
)
def test_scaler_unit_shape_errors(bad: object) -> None:
    with pytest.raises(MalformedDataError):
        ScalerUnit.from_value(bad)


def test_scaler_unit_from_bytes_errors_carry_data() -> None:
    with pytest.raises(MalformedDataError) as err:
        ScalerUnit.from_bytes(b"\x02\x02\x11\x00\x16\x1e")
    assert err.value.data == b"\x02\x02\x11\x00\x16\x1e"
    assert err.value.offset == 0
    with pytest.raises(LocalProtocolError):
        ScalerUnit(200, 30)


@pytest.mark.parametrize(
    ("raw", "scaler", "value", "text"),
    [
        (12345, -3, Decimal("12.345"), "12.345 Wh"),
        (12345, 0, Decimal("12345"), "12345 Wh"),
        (12345, 2, Decimal("1234500"), "1234500 Wh"),
        (-5, -1, Decimal("-0.5"), "-0.5 Wh"),
        (1, -10, Decimal("0.0000000001"), "0.0000000001 Wh"),
        (2**63 - 1, -4, Decimal("922337203685477.5807"), "922337203685477.5807 Wh"),
    ],
)
def test_quantity_is_exact(raw: int, scaler: int, value: Decimal, text: str) -> None:
    q = Quantity(raw, scaler, Unit.WATT_HOUR)
    assert q.value == value
    assert str(q) == text
    assert float(q) == float(value)


def test_quantity_unitless_and_float_raw() -> None:
    assert str(Quantity(7, 0, 255)) == "7"
    assert Quantity(7, 0, 255).unit is Unit.COUNT
    q = Quantity(0.1, -1, Unit.VOLT)
    assert q.value == Decimal("0.01")
    assert str(ScalerUnit(-1, Unit.AMPERE).apply(123)) == "12.3 A"


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**63), 2**64 - 1), st.integers(-128, 127))
def test_quantity_matches_integer_arithmetic(raw: int, scaler: int) -> None:
    q = Quantity(raw, scaler, Unit.WATT_HOUR)
    if scaler >= 0:
        assert q.value == raw * 10**scaler
    else:
        assert q.value * 10 ** (-scaler) == raw  # exact: no float ever involved


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=8))
def test_fuzz_scaler_unit_from_bytes(data: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        ScalerUnit.from_bytes(data)
