"""Selective access to a Profile generic buffer: by range (selector 1) and by entry (selector 2).

``to_selective_access()`` gives ``(selector, parameters)`` ready for a GET request's
Selective-Access-Descriptor; :func:`parse_selective_access` reads them back (the emulator's side).

Range boundaries given as ``datetime`` go out as octet-string(12) date-times the way meters and
both peer libraries expect: day of week "not specified", hundredths from the microseconds,
deviation from an aware datetime (UTC minus local, see :mod:`meterlink.dlms.cosem_time`) or
"not specified" for a naive one, clock status 0 (ok). A :class:`CosemDateTime` is sent exactly
as given, and any other decoded A-XDR value (e.g. ``DoubleLongUnsigned`` for a Unix-time
restricting object) is encoded by its own type.
"""

from __future__ import annotations

import datetime as _dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from meterlink.dlms import axdr
from meterlink.dlms._lengths import encode_length
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.obis import Obis

from .descriptors import CaptureObject, ClassId, CosemAttribute

__all__ = [
    "CLOCK_TIME",
    "ENTRY_SELECTOR",
    "RANGE_SELECTOR",
    "EntryDescriptor",
    "RangeDescriptor",
    "parse_selective_access",
]

RANGE_SELECTOR: Final = 1
ENTRY_SELECTOR: Final = 2

CLOCK_TIME: Final = CaptureObject(ClassId.CLOCK, Obis(0, 0, 1, 0, 0, 255), 2, 0)
"""The usual restricting object: attribute 2 (time) of the clock."""

RangeValue = _dt.datetime | CosemDateTime | object


def _boundary_bytes(value: object) -> bytes:
    if isinstance(value, _dt.datetime):
        cdt = CosemDateTime.from_datetime(value, clock_status=0)
        # Day of week left "not specified", as meters and the peer libraries expect.
        return b"\x09\x0c" + cdt.to_bytes()[:4] + b"\xff" + cdt.to_bytes()[5:]
    if isinstance(value, CosemDateTime):
        return b"\x09\x0c" + value.to_bytes()
    return axdr.encode(value)  # type: ignore[arg-type]  # axdr rejects what it cannot encode


def _as_capture(value: CosemAttribute | CaptureObject) -> CaptureObject:
    if isinstance(value, CaptureObject):
        return value
    if isinstance(value, CosemAttribute):
        return CaptureObject.of(value)
    raise LocalProtocolError(f"restricting object must be a CosemAttribute or CaptureObject, got {value!r}")


@dataclass(frozen=True, slots=True)
class RangeDescriptor:
    """range_descriptor: rows whose restricting value lies in ``[from_value, to_value]``.

    ``selected_values`` empty means all columns.
    """

    from_value: RangeValue
    to_value: RangeValue
    restricting_object: CaptureObject | CosemAttribute = CLOCK_TIME
    """A :class:`CosemAttribute` is turned into a :class:`CaptureObject` with data index 0."""
    selected_values: Sequence[CaptureObject] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "restricting_object", _as_capture(self.restricting_object))
        object.__setattr__(self, "selected_values", tuple(_as_capture(c) for c in self.selected_values))

    def to_selective_access(self) -> tuple[int, bytes]:
        selected = self.selected_values
        parts = [
            b"\x02\x04",
            self.restricting_object.to_bytes(),
            _boundary_bytes(self.from_value),
            _boundary_bytes(self.to_value),
            b"\x01" + encode_length(len(selected)),
            *(c.to_bytes() for c in selected),
        ]
        return RANGE_SELECTOR, b"".join(parts)


def _check_u(name: str, value: object, top: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise LocalProtocolError(f"{name} must be an int 0..{top}, got {value!r}")


@dataclass(frozen=True, slots=True)
class EntryDescriptor:
    """entry_descriptor: rows ``from_entry..to_entry`` (1-based, 0 = last) and a column range."""

    from_entry: int = 1
    to_entry: int = 0
    from_selected_value: int = 1
    to_selected_value: int = 0

    def __post_init__(self) -> None:
        _check_u("from_entry", self.from_entry, 0xFFFFFFFF)
        _check_u("to_entry", self.to_entry, 0xFFFFFFFF)
        _check_u("from_selected_value", self.from_selected_value, 0xFFFF)
        _check_u("to_selected_value", self.to_selected_value, 0xFFFF)

    def to_selective_access(self) -> tuple[int, bytes]:
        return ENTRY_SELECTOR, _ENTRY.pack(
            0x02, 0x04, 0x06, self.from_entry, 0x06, self.to_entry,
            0x12, self.from_selected_value, 0x12, self.to_selected_value,
        )  # fmt: skip


_ENTRY: Final = struct.Struct(">BBBIBIBHBH")  # 02 04 06 from 06 to 12 from_col 12 to_col


def _range_value(value: object) -> RangeValue:
    if isinstance(value, bytes) and len(value) == 12:
        return CosemDateTime.from_bytes(value)
    return value


def parse_selective_access(selector: int, parameters: bytes) -> RangeDescriptor | EntryDescriptor:
    """Read a Selective-Access-Descriptor back; date-time boundaries become :class:`CosemDateTime`.

    Only selectors 1 and 2 (Profile generic) are known: others raise :class:`MalformedDataError`.
    """
    data = bytes(parameters)
    if selector == ENTRY_SELECTOR:
        if len(data) == _ENTRY.size:
            fields = _ENTRY.unpack(data)
            if fields[0:3] == (0x02, 0x04, 0x06) and fields[4] == 0x06 and fields[6] == fields[8] == 0x12:
                return EntryDescriptor(fields[3], fields[5], fields[7], fields[9])
        raise MalformedDataError(
            "entry_descriptor must be structure{double-long-unsigned x2, long-unsigned x2}",
            data=data,
            offset=0,
        )
    if selector != RANGE_SELECTOR:
        raise MalformedDataError(f"access selector {selector} is not supported (1 range, 2 entry)", data=data)
    try:
        value = axdr.decode(data)
    except MalformedDataError:
        raise
    except MeterlinkError as exc:
        raise MalformedDataError(f"range_descriptor: {exc}", data=data, offset=0) from None
    if not (isinstance(value, tuple) and len(value) == 4 and isinstance(value[3], list)):
        raise MalformedDataError("range_descriptor must be structure of 4 elements", data=data, offset=0)
    restricting, from_value, to_value, selected = value
    assert isinstance(selected, list)
    return RangeDescriptor(
        _range_value(from_value),
        _range_value(to_value),
        CaptureObject.from_value(restricting, data=data, offset=2),
        tuple(CaptureObject.from_value(c, data=data, offset=None) for c in selected),
    )
