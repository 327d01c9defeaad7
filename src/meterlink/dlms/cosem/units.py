"""DLMS units (Blue Book enumeration) and the ``scaler_unit`` structure of registers.

A meter sends a register value as an integer plus, in a separate attribute, ``{scaler, unit}``:
the physical value is ``value * 10**scaler`` in ``unit``. Unknown unit codes stay plain ints so
a new Blue Book edition never makes a reading fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Final

from meterlink.errors import LocalProtocolError, MalformedDataError

if TYPE_CHECKING:
    from .quantity import Quantity

__all__ = ["ScalerUnit", "Unit", "unit_symbol"]


class Unit(IntEnum):
    """Unit codes of the COSEM ``scal_unit_type`` (IEC 62056-6-2)."""

    YEAR = 1
    MONTH = 2
    WEEK = 3
    DAY = 4
    HOUR = 5
    MINUTE = 6
    SECOND = 7
    DEGREE = 8  # phase angle
    CELSIUS = 9
    CURRENCY = 10
    METRE = 11
    METRE_PER_SECOND = 12
    CUBIC_METRE = 13
    CUBIC_METRE_CORRECTED = 14
    CUBIC_METRE_PER_HOUR = 15
    CUBIC_METRE_PER_HOUR_CORRECTED = 16
    CUBIC_METRE_PER_DAY = 17
    CUBIC_METRE_PER_DAY_CORRECTED = 18
    LITRE = 19
    KILOGRAM = 20
    NEWTON = 21
    NEWTON_METRE = 22
    PASCAL = 23
    BAR = 24
    JOULE = 25
    JOULE_PER_HOUR = 26
    WATT = 27
    VOLT_AMPERE = 28
    VAR = 29
    WATT_HOUR = 30
    VOLT_AMPERE_HOUR = 31
    VAR_HOUR = 32
    AMPERE = 33
    COULOMB = 34
    VOLT = 35
    VOLT_PER_METRE = 36
    FARAD = 37
    OHM = 38
    OHM_SQUARE_METRE_PER_METRE = 39
    WEBER = 40
    TESLA = 41
    AMPERE_PER_METRE = 42
    HENRY = 43
    HERTZ = 44
    PER_WATT_HOUR = 45  # active energy meter constant
    PER_VAR_HOUR = 46
    PER_VOLT_AMPERE_HOUR = 47
    VOLT_SQUARED_HOUR = 48
    AMPERE_SQUARED_HOUR = 49
    KILOGRAM_PER_SECOND = 50
    SIEMENS = 51
    KELVIN = 52
    PER_VOLT_SQUARED_HOUR = 53
    PER_AMPERE_SQUARED_HOUR = 54
    PER_CUBIC_METRE = 55
    PERCENT = 56
    AMPERE_HOUR = 57
    WATT_HOUR_PER_CUBIC_METRE = 60
    JOULE_PER_CUBIC_METRE = 61
    MOLE_PERCENT = 62
    GRAM_PER_CUBIC_METRE = 63
    PASCAL_SECOND = 64
    JOULE_PER_KILOGRAM = 65
    GRAM_PER_SQUARE_CENTIMETRE = 66
    ATMOSPHERE = 67
    DBM = 70
    DB_MICROVOLT = 71
    DB = 72
    OTHER = 254
    COUNT = 255  # "no unit, unitless, count"

    @property
    def symbol(self) -> str:
        """The printed symbol (``"kWh"`` is never produced: scaling is the Quantity's job)."""
        return _SYMBOLS[self]


_SYMBOLS: Final[dict[Unit, str]] = {
    Unit.YEAR: "a",
    Unit.MONTH: "mo",
    Unit.WEEK: "wk",
    Unit.DAY: "d",
    Unit.HOUR: "h",
    Unit.MINUTE: "min",
    Unit.SECOND: "s",
    Unit.DEGREE: "°",
    Unit.CELSIUS: "°C",
    Unit.CURRENCY: "currency",
    Unit.METRE: "m",
    Unit.METRE_PER_SECOND: "m/s",
    Unit.CUBIC_METRE: "m³",
    Unit.CUBIC_METRE_CORRECTED: "m³",
    Unit.CUBIC_METRE_PER_HOUR: "m³/h",
    Unit.CUBIC_METRE_PER_HOUR_CORRECTED: "m³/h",
    Unit.CUBIC_METRE_PER_DAY: "m³/d",
    Unit.CUBIC_METRE_PER_DAY_CORRECTED: "m³/d",
    Unit.LITRE: "l",
    Unit.KILOGRAM: "kg",
    Unit.NEWTON: "N",
    Unit.NEWTON_METRE: "Nm",
    Unit.PASCAL: "Pa",
    Unit.BAR: "bar",
    Unit.JOULE: "J",
    Unit.JOULE_PER_HOUR: "J/h",
    Unit.WATT: "W",
    Unit.VOLT_AMPERE: "VA",
    Unit.VAR: "var",
    Unit.WATT_HOUR: "Wh",
    Unit.VOLT_AMPERE_HOUR: "VAh",
    Unit.VAR_HOUR: "varh",
    Unit.AMPERE: "A",
    Unit.COULOMB: "C",
    Unit.VOLT: "V",
    Unit.VOLT_PER_METRE: "V/m",
    Unit.FARAD: "F",
    Unit.OHM: "Ω",
    Unit.OHM_SQUARE_METRE_PER_METRE: "Ωm²/m",
    Unit.WEBER: "Wb",
    Unit.TESLA: "T",
    Unit.AMPERE_PER_METRE: "A/m",
    Unit.HENRY: "H",
    Unit.HERTZ: "Hz",
    Unit.PER_WATT_HOUR: "1/(Wh)",
    Unit.PER_VAR_HOUR: "1/(varh)",
    Unit.PER_VOLT_AMPERE_HOUR: "1/(VAh)",
    Unit.VOLT_SQUARED_HOUR: "V²h",
    Unit.AMPERE_SQUARED_HOUR: "A²h",
    Unit.KILOGRAM_PER_SECOND: "kg/s",
    Unit.SIEMENS: "S",
    Unit.KELVIN: "K",
    Unit.PER_VOLT_SQUARED_HOUR: "1/(V²h)",
    Unit.PER_AMPERE_SQUARED_HOUR: "1/(A²h)",
    Unit.PER_CUBIC_METRE: "1/m³",
    Unit.PERCENT: "%",
    Unit.AMPERE_HOUR: "Ah",
    Unit.WATT_HOUR_PER_CUBIC_METRE: "Wh/m³",
    Unit.JOULE_PER_CUBIC_METRE: "J/m³",
    Unit.MOLE_PERCENT: "mol%",
    Unit.GRAM_PER_CUBIC_METRE: "g/m³",
    Unit.PASCAL_SECOND: "Pa s",
    Unit.JOULE_PER_KILOGRAM: "J/kg",
    Unit.GRAM_PER_SQUARE_CENTIMETRE: "g/cm²",
    Unit.ATMOSPHERE: "atm",
    Unit.DBM: "dBm",
    Unit.DB_MICROVOLT: "dBµV",
    Unit.DB: "dB",
    Unit.OTHER: "",
    Unit.COUNT: "",
}

_BY_CODE: Final[dict[int, Unit]] = {int(u): u for u in Unit}


def unit_symbol(unit: Unit | int) -> str:
    """Symbol of a unit code; unknown codes print as ``unit(N)`` so nothing is silently lost."""
    known = _BY_CODE.get(int(unit))
    return known.symbol if known is not None else f"unit({int(unit)})"


def _as_unit(code: int) -> Unit | int:
    return _BY_CODE.get(code, code)


@dataclass(frozen=True, slots=True)
class ScalerUnit:
    """``scal_unit_type``: the physical value is ``raw * 10**scaler`` in ``unit``."""

    scaler: int
    unit: Unit | int

    def __post_init__(self) -> None:
        if (
            isinstance(self.scaler, bool)
            or not isinstance(self.scaler, int)
            or not -128 <= self.scaler <= 127
        ):
            raise LocalProtocolError(f"scaler must be an int8, got {self.scaler!r}")
        if isinstance(self.unit, bool) or not isinstance(self.unit, int) or not 0 <= self.unit <= 255:
            raise LocalProtocolError(f"unit must be an enum code 0..255, got {self.unit!r}")
        object.__setattr__(self, "unit", _as_unit(int(self.unit)))

    @classmethod
    def from_value(cls, value: object) -> ScalerUnit:
        """Read the decoded structure ``(integer scaler, enum unit)`` a meter sent."""
        if (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[0], int)
            and isinstance(value[1], int)
            and not isinstance(value[0], bool)
            and not isinstance(value[1], bool)
            and -128 <= value[0] <= 127
            and 0 <= value[1] <= 255
        ):
            return cls(int(value[0]), int(value[1]))
        raise MalformedDataError(f"scaler_unit must be structure{{integer, enum}}, got {value!r}")

    @classmethod
    def from_bytes(cls, data: bytes) -> ScalerUnit:
        """Parse the A-XDR bytes ``02 02 0F <scaler> 16 <unit>``."""
        if len(data) != 6 or data[0] != 0x02 or data[1] != 0x02 or data[2] != 0x0F or data[4] != 0x16:
            raise MalformedDataError("not a scaler_unit structure (02 02 0F ss 16 uu)", data=data, offset=0)
        scaler = data[3] - 256 if data[3] > 127 else data[3]
        return cls(scaler, data[5])

    def to_bytes(self) -> bytes:
        """A-XDR ``02 02 0F <scaler> 16 <unit>``."""
        return bytes((0x02, 0x02, 0x0F, self.scaler & 0xFF, 0x16, int(self.unit)))

    @property
    def symbol(self) -> str:
        return unit_symbol(self.unit)

    def apply(self, raw: int | float) -> Quantity:
        """The :class:`Quantity` for a raw register value."""
        from .quantity import Quantity

        return Quantity(raw, self.scaler, self.unit)
