"""A register reading with its scaler and unit, exact to the last digit.

``Quantity(12345, -3, Unit.WATT_HOUR)`` is ``12.345 Wh``: the value is a :class:`~decimal.Decimal`
built from the digits, never through a float, so billing values survive unchanged. No prefix
conversion (``kWh``) is done here: a DLMS meter says Wh and that is what we print.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterlink.errors import LocalProtocolError

from .units import Unit, _as_unit, unit_symbol

__all__ = ["Quantity"]


def _scaled(raw: int | float, scaler: int) -> Decimal:
    if isinstance(raw, int):
        # Built from the digit string: the Decimal constructor never rounds.
        if scaler >= 0:
            return Decimal(raw * 10**scaler)
        return Decimal(f"{raw}E{scaler}")
    # A float register (float32/float64 type) is as exact as its shortest repr.
    return Decimal(repr(raw)).scaleb(scaler) if raw == raw and abs(raw) != float("inf") else Decimal(raw)


@dataclass(frozen=True, slots=True)
class Quantity:
    """``raw * 10**scaler`` in ``unit``; ``value`` is exact, ``float()`` is for plotting."""

    raw: int | float
    scaler: int
    unit: Unit | int

    def __post_init__(self) -> None:
        if isinstance(self.raw, bool) or not isinstance(self.raw, int | float):
            raise LocalProtocolError(f"a quantity needs a number, got {self.raw!r}")
        if isinstance(self.scaler, bool) or not isinstance(self.scaler, int):
            raise LocalProtocolError(f"scaler must be an int, got {self.scaler!r}")
        object.__setattr__(self, "unit", _as_unit(int(self.unit)))

    @property
    def value(self) -> Decimal:
        """The exact physical value."""
        return _scaled(self.raw, self.scaler)

    @property
    def symbol(self) -> str:
        return unit_symbol(self.unit)

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        value = self.value
        text = f"{value:f}" if value.is_finite() else str(value)
        symbol = self.symbol
        return f"{text} {symbol}" if symbol else text
