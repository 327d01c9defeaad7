"""The emulated meter's COSEM objects and the :class:`ServerApplication` each association talks to.

:class:`DlmsMeter` is the meter's state, shared by every connection: the clock (running from an
origin, shifted by SET and clock methods), register values growing with time, written values,
disconnect state, invocation counters per association (so the frame counter object means
something across connections), changed secrets and keys, and push requests. Objects are
instances of small classes, one per COSEM interface class, dispatched by attribute and method
number (``get_2``, ``set_2``, ``act_1``): the interface class table lives in the class
attributes, not in ``if`` chains.

Nothing here reads a clock: every call carries ``now`` (the caller's monotonic seconds), set on
the :class:`AssociationApplication` before each APDU is handed to its association.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from meterlink.dlms import axdr
from meterlink.dlms._lengths import encode_length
from meterlink.dlms.apdu import (
    AARE,
    ActionOutcome,
    ActionResult,
    ApplicationContextName,
    AssociationResult,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    SelectiveAccess,
)
from meterlink.dlms.apdu import AcseServiceUserDiagnostic as Diagnostic
from meterlink.dlms.association import ServerAssociation
from meterlink.dlms.cosem import (
    AccessMode,
    CaptureObject,
    ClassId,
    EntryDescriptor,
    MethodAccessMode,
    ObjectListEntry,
    RangeDescriptor,
    encode_capture_objects,
    encode_object_list,
    parse_selective_access,
)
from meterlink.dlms.cosem_time import ClockStatus, CosemDateTime
from meterlink.dlms.security import InvocationCounters, KeyId, SecurityPolicy, parse_global_key_transfer
from meterlink.errors import LocalProtocolError, MeterlinkError
from meterlink.obis import Obis

from .description import (
    ASSOCIATION_OBIS,
    EPOCH,
    LDN_OBIS,
    SAP_OBIS,
    SESSION,
    AssociationSpec,
    DlmsDescription,
    LogicalDeviceSpec,
    ObjectSpec,
    default_dlms_description,
    grants,
    typed_number,
)

__all__ = [
    "OBJECT_CLASSES",
    "AssociationApplication",
    "Context",
    "CosemObject",
    "DlmsMeter",
    "LogicalDevice",
]

DEFAULT_ORIGIN: Final = dt.datetime(2024, 1, 1)
Result = bytes | DataAccessResult


def _octets(value: bytes) -> bytes:
    return b"\x09" + encode_length(len(value)) + value


_NO_SCALER: Final = axdr.encode((axdr.Integer(0), axdr.Enum(255)))
_POLICY_V0: Final = {
    SecurityPolicy.NONE: 0,
    SecurityPolicy.AUTHENTICATED: 1,
    SecurityPolicy.ENCRYPTED: 2,
    SecurityPolicy.AUTHENTICATED_ENCRYPTED: 3,
}
_KEY_FIELDS: Final = {
    KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY: "key",
    KeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY: "broadcast_key",
    KeyId.AUTHENTICATION_KEY: "auth_key",
    KeyId.MASTER_KEY: "master_key",
}


@dataclass(slots=True)
class Context:
    """One request: when, from which association."""

    now: float
    meter: DlmsMeter
    device: LogicalDevice
    association: AssociationSpec
    session: ServerAssociation | None = None


# ------------------------------------------------------------------------------------------------
# the interface classes
# ------------------------------------------------------------------------------------------------
class CosemObject:
    """Base of the emulated interface classes; subclasses declare their table in class attributes."""

    CLASS_ID: ClassVar[int] = 0
    VERSION: ClassVar[int] = 0
    ATTRIBUTES: ClassVar[int] = 1
    WRITABLE: ClassVar[frozenset[int]] = frozenset()
    HIDDEN: ClassVar[frozenset[int]] = frozenset()
    """Attributes nobody may read (secrets)."""
    METHODS: ClassVar[int] = 0
    SELECTORS: ClassVar[Mapping[int, tuple[int, ...]]] = {}

    def __init__(self, spec: ObjectSpec, device: LogicalDevice) -> None:
        self.spec = spec
        self.obis = spec.obis
        self.device = device
        self.params = spec.params

    def get(self, ctx: Context, attribute: int, access: SelectiveAccess | None) -> Result:
        if attribute == 1:
            return _octets(self.obis.to_bytes())
        getter: Callable[[Context, SelectiveAccess | None], Result] | None = getattr(
            self, f"get_{attribute}", None
        )
        if getter is None or attribute > self.ATTRIBUTES:
            return DataAccessResult.OBJECT_UNDEFINED
        if access is not None and attribute not in self.SELECTORS:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        return getter(ctx, access)

    def set(self, ctx: Context, attribute: int, value: axdr.DataValue) -> DataAccessResult:
        setter: Callable[[Context, axdr.DataValue], DataAccessResult] | None = getattr(
            self, f"set_{attribute}", None
        )
        if setter is None:
            return DataAccessResult.READ_WRITE_DENIED
        return setter(ctx, value)

    def action(self, ctx: Context, method: int, parameters: axdr.DataValue) -> ActionOutcome:
        handler: Callable[[Context, axdr.DataValue], ActionOutcome] | None = getattr(
            self, f"act_{method}", None
        )
        if handler is None or method > self.METHODS:
            return ActionOutcome(ActionResult.OBJECT_UNDEFINED)
        return handler(ctx, parameters)

    def value_at(self, ctx: Context, attribute: int, at: dt.datetime) -> bytes | None:
        """The attribute as captured at meter time ``at`` (profiles); None: same at every time."""
        return None


_OK: Final = DataAccessResult.SUCCESS
_TYPE: Final = DataAccessResult.TYPE_UNMATCHED
_DONE: Final = ActionOutcome(ActionResult.SUCCESS)


class DataObject(CosemObject):
    CLASS_ID = ClassId.DATA
    ATTRIBUTES = 2
    WRITABLE = frozenset({2})

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        value: bytes = ctx.meter.written.get((self.device.address, self.obis), self.params["value"])
        return value

    def set_2(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        ctx.meter.written[(self.device.address, self.obis)] = axdr.encode(value)
        return _OK


class LogicalDeviceName(DataObject):
    """0.0.42.0.0.255: fixed by the description."""

    WRITABLE = frozenset()


class FrameCounter(CosemObject):
    """IDIS 0.0.43.1.0.255: the invocation counter a client must go above (read it, then use +1)."""

    CLASS_ID = ClassId.DATA
    ATTRIBUTES = 2

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        counter = ctx.meter.frame_counter(self.device.address, int(self.params["association"]))
        return axdr.encode(axdr.DoubleLongUnsigned(counter))


class Register(CosemObject):
    CLASS_ID = ClassId.REGISTER
    ATTRIBUTES = 3
    WRITABLE = frozenset({2})
    METHODS = 1

    def raw(self, ctx: Context, at: dt.datetime) -> float:
        """The value at meter time ``at``: the last written (or configured) value plus growth."""
        p = self.params
        base, since = ctx.meter.register_base.get((self.device.address, self.obis), (p["value"], None))
        rate: float = p["rate_per_hour"]
        if not rate:
            return float(base)
        start = since or ctx.meter.origin
        grown = base + rate * (
            _weighted_hours(at, p["daily_shape"]) - _weighted_hours(start, p["daily_shape"])
        )
        return max(grown, 0.0)

    def encoded(self, ctx: Context, at: dt.datetime) -> bytes:
        return axdr.encode(typed_number(self.params["type"], self.raw(ctx, at)))

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return self.encoded(ctx, ctx.meter.wall_time(ctx.now))

    def get_3(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode((axdr.Integer(self.params["scaler"]), axdr.Enum(self.params["unit"])))

    def set_2(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _TYPE
        ctx.meter.register_base[(self.device.address, self.obis)] = (
            float(value),
            ctx.meter.wall_time(ctx.now),
        )
        return _OK

    def act_1(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """reset: the value restarts at zero now."""
        ctx.meter.register_base[(self.device.address, self.obis)] = (0.0, ctx.meter.wall_time(ctx.now))
        return _DONE

    def value_at(self, ctx: Context, attribute: int, at: dt.datetime) -> bytes | None:
        return self.encoded(ctx, at) if attribute == 2 else None


class ExtendedRegister(Register):
    CLASS_ID = ClassId.EXTENDED_REGISTER
    ATTRIBUTES = 5

    def get_4(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        status = int(self.params["status"])
        return axdr.encode(axdr.Unsigned(status) if status <= 0xFF else axdr.DoubleLongUnsigned(status))

    def get_5(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return _octets(ctx.meter.date_time(ctx.meter.wall_time(ctx.now)))


class Clock(CosemObject):
    """Class 8: time runs from the origin; SET time and the adjust/shift methods move it."""

    CLASS_ID = ClassId.CLOCK
    ATTRIBUTES = 9
    WRITABLE = frozenset({2, 3, 5, 6, 7, 8})
    METHODS = 6

    def __init__(self, spec: ObjectSpec, device: LogicalDevice) -> None:
        super().__init__(spec, device)
        unspecified = CosemDateTime().to_bytes()
        self.values: dict[int, bytes] = {
            5: _octets(unspecified),
            6: _octets(unspecified),
            7: axdr.encode(axdr.Integer(60)),
            8: axdr.encode(False),
        }
        self.preset: tuple[dt.datetime, dt.datetime | None, dt.datetime | None] | None = None

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return _octets(ctx.meter.date_time(ctx.meter.wall_time(ctx.now)))

    def get_3(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Long(ctx.meter.time_zone))

    def get_4(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Unsigned(ctx.meter.description.clock.status))

    def get_5(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return self.values[5]

    def get_6(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return self.values[6]

    def get_7(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return self.values[7]

    def get_8(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return self.values[8]

    def get_9(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Enum(1))  # internal crystal

    def set_2(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        when = _naive(value, ctx.meter)
        if when is None:
            return _TYPE
        ctx.meter.set_clock(when, ctx.now)
        return _OK

    def set_3(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        if not isinstance(value, axdr.Long) or not -720 <= value <= 720:
            return _TYPE
        ctx.meter.time_zone = int(value)
        return _OK

    def _store(self, attribute: int, value: axdr.DataValue, ok: bool) -> DataAccessResult:
        if not ok:
            return _TYPE
        self.values[attribute] = axdr.encode(value)
        return _OK

    def set_5(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        return self._store(5, value, isinstance(value, bytes) and len(value) == 12)

    def set_6(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        return self._store(6, value, isinstance(value, bytes) and len(value) == 12)

    def set_7(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        return self._store(7, value, isinstance(value, axdr.Integer))

    def set_8(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        return self._store(8, value, isinstance(value, bool))

    def _round(self, ctx: Context, seconds: int) -> ActionOutcome:
        now = ctx.meter.wall_time(ctx.now)
        offset = (now - EPOCH).total_seconds()
        rounded = EPOCH + dt.timedelta(seconds=round(offset / seconds) * seconds)
        ctx.meter.set_clock(rounded, ctx.now)
        return _DONE

    def act_1(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """adjust_to_quarter."""
        return self._round(ctx, 900)

    def act_2(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """adjust_to_measuring_period (15 minutes here)."""
        return self._round(ctx, 900)

    def act_3(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """adjust_to_minute."""
        return self._round(ctx, 60)

    def act_4(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """adjust_to_preset_time: jump to the preset time if now is inside its validity interval."""
        if self.preset is None:
            return ActionOutcome(ActionResult.TEMPORARY_FAILURE)
        target, start, end = self.preset
        now = ctx.meter.wall_time(ctx.now)
        if (start is not None and now < start) or (end is not None and now > end):
            return ActionOutcome(ActionResult.TEMPORARY_FAILURE)
        ctx.meter.set_clock(target, ctx.now)
        self.preset = None
        return _DONE

    def act_5(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """preset_adjusting_time(structure{preset_time, validity_interval_start, _end})."""
        if not (isinstance(parameters, tuple) and len(parameters) == 3):
            return ActionOutcome(ActionResult.TYPE_UNMATCHED)
        target = _naive(parameters[0], ctx.meter)
        if target is None:
            return ActionOutcome(ActionResult.TYPE_UNMATCHED)
        self.preset = (target, _naive(parameters[1], ctx.meter), _naive(parameters[2], ctx.meter))
        return _DONE

    def act_6(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """shift_time(long seconds, -900..900)."""
        if not isinstance(parameters, axdr.Long) or not -900 <= parameters <= 900:
            return ActionOutcome(ActionResult.TYPE_UNMATCHED)
        ctx.meter.clock_offset += dt.timedelta(seconds=int(parameters))
        return _DONE

    def value_at(self, ctx: Context, attribute: int, at: dt.datetime) -> bytes | None:
        return _octets(ctx.meter.date_time(at)) if attribute == 2 else None


class ProfileGeneric(CosemObject):
    """Class 7: rows on a fixed grid of ``capture_period`` seconds, computed (never stored).

    Row k is the capture at ``EPOCH + k x period`` of meter time, so a profile read twice gives
    the same rows, and the last ``depth`` grid points up to now are the buffer (FIFO, oldest
    first). ``reset`` empties it: only rows after the reset count from then on. ``capture``
    (method 2) takes a row now, stored with the values of that moment, and sorted in among the
    grid rows by its time (the buffer still holds ``depth`` rows at most).
    """

    CLASS_ID = ClassId.PROFILE_GENERIC
    VERSION = 1
    ATTRIBUTES = 8
    WRITABLE = frozenset({4})
    METHODS = 2
    SELECTORS: ClassVar[Mapping[int, tuple[int, ...]]] = {2: (1, 2)}

    def __init__(self, spec: ObjectSpec, device: LogicalDevice) -> None:
        super().__init__(spec, device)
        self.capture: tuple[CaptureObject, ...] = spec.params["capture"]
        self.period = int(spec.params["capture_period"])
        self.depth = int(spec.params["depth"])
        self.reset_at: dt.datetime | None = None
        self.captured: list[tuple[dt.datetime, tuple[bytes, ...]]] = []
        """Rows taken by the capture method: (meter time, one cell per capture object)."""

    def _window(self, ctx: Context) -> tuple[int, int]:
        """Grid indices of the first and last row in the buffer now (first > last: empty)."""
        now = ctx.meter.wall_time(ctx.now)
        last = math.floor((now - EPOCH).total_seconds() / self.period)
        first = last - self.depth + 1
        if self.reset_at is not None:
            first = max(first, math.floor((self.reset_at - EPOCH).total_seconds() / self.period) + 1)
        return first, last

    def _rows(self, ctx: Context) -> list[tuple[dt.datetime, tuple[bytes, ...] | None]]:
        """The buffer with captured rows: (time, cells) oldest first; ``None`` cells = a grid row."""
        first, last = self._window(ctx)
        now = ctx.meter.wall_time(ctx.now)
        step = dt.timedelta(seconds=self.period)
        grid: list[tuple[dt.datetime, tuple[bytes, ...] | None]] = [
            (EPOCH + step * k, None) for k in range(first, last + 1)
        ]
        grid.extend(row for row in self.captured if row[0] <= now)
        merged = sorted(grid, key=lambda row: (row[0], row[1] is not None))
        return merged[-self.depth :]

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        first, last = self._window(ctx)
        columns = list(range(len(self.capture)))
        selection: EntryDescriptor | RangeDescriptor | None = None
        if access is not None:
            try:
                selection = parse_selective_access(access.selector, access.parameters)
            except MeterlinkError:
                return DataAccessResult.TYPE_UNMATCHED
        if self.captured:
            return self._get_rows(ctx, selection)
        if isinstance(selection, EntryDescriptor):
            count = max(0, last - first + 1)
            start = selection.from_entry or 1
            stop = count if selection.to_entry == 0 else min(selection.to_entry, count)
            first, last = first + start - 1, first + stop - 1
            columns = self._entry_columns(selection)
        elif isinstance(selection, RangeDescriptor):
            chosen = self._range(ctx, selection)
            if isinstance(chosen, DataAccessResult):
                return chosen
            low, high, columns = chosen
            if low is not None:
                first = max(first, math.ceil((low - EPOCH).total_seconds() / self.period))
            if high is not None:
                last = min(last, math.floor((high - EPOCH).total_seconds() / self.period))
        step = dt.timedelta(seconds=self.period)
        times = [EPOCH + step * k for k in range(first, last + 1)] if last >= first else []
        return self._encode(ctx, [(at, None) for at in times], columns)

    def _get_rows(self, ctx: Context, selection: EntryDescriptor | RangeDescriptor | None) -> Result:
        rows = self._rows(ctx)
        columns = list(range(len(self.capture)))
        if isinstance(selection, EntryDescriptor):
            start = selection.from_entry or 1
            stop = len(rows) if selection.to_entry == 0 else min(selection.to_entry, len(rows))
            rows = rows[start - 1 : stop]
            columns = self._entry_columns(selection)
        elif isinstance(selection, RangeDescriptor):
            chosen = self._range(ctx, selection)
            if isinstance(chosen, DataAccessResult):
                return chosen
            low, high, columns = chosen
            rows = [r for r in rows if (low is None or r[0] >= low) and (high is None or r[0] <= high)]
        return self._encode(ctx, rows, columns)

    def _entry_columns(self, selection: EntryDescriptor) -> list[int]:
        columns = list(range(len(self.capture)))
        col_to = len(columns) if selection.to_selected_value == 0 else selection.to_selected_value
        return columns[max(selection.from_selected_value, 1) - 1 : col_to]

    def _range(
        self, ctx: Context, selection: RangeDescriptor
    ) -> tuple[dt.datetime | None, dt.datetime | None, list[int]] | DataAccessResult:
        restricting = selection.restricting_object
        assert isinstance(restricting, CaptureObject)
        if restricting.class_id != ClassId.CLOCK or restricting.attribute != 2:
            return DataAccessResult.OBJECT_UNAVAILABLE
        low = _naive(selection.from_value, ctx.meter, bytes_ok=False)
        high = _naive(selection.to_value, ctx.meter, bytes_ok=False)
        columns = list(range(len(self.capture)))
        if selection.selected_values:
            columns = []
            for wanted in selection.selected_values:
                assert isinstance(wanted, CaptureObject)
                if wanted not in self.capture:
                    return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
                columns.append(self.capture.index(wanted))
        return low, high, columns

    def _cells_now(self, ctx: Context) -> tuple[bytes, ...]:
        """Every capture object's value now, as a captured row keeps it."""
        cells = []
        for cap in self.capture:
            obj = self.device.objects.get(cap.logical_name)
            value = obj.get(ctx, cap.attribute, None) if obj is not None else b"\x00"
            cells.append(_element(value, cap.data_index) if isinstance(value, bytes) else b"\x00")
        return tuple(cells)

    def _encode(
        self, ctx: Context, rows: list[tuple[dt.datetime, tuple[bytes, ...] | None]], columns: list[int]
    ) -> bytes:
        # columns that do not change with time are read once
        fixed: dict[int, bytes] = {}
        movers: list[tuple[int, CosemObject, int]] = []
        for col in columns:
            cap = self.capture[col]
            obj = self.device.objects.get(cap.logical_name)
            probe = None if obj is None else obj.value_at(ctx, cap.attribute, EPOCH)
            if obj is None:
                fixed[col] = b"\x00"
            elif probe is None or cap.data_index:
                value = obj.get(ctx, cap.attribute, None)
                fixed[col] = _element(value, cap.data_index) if isinstance(value, bytes) else b"\x00"
            else:
                movers.append((col, obj, cap.attribute))
        head = b"\x02" + encode_length(len(columns))
        out = bytearray(b"\x01" + encode_length(len(rows)))
        for at, stored in rows:
            out += head
            if stored is not None:
                out += b"".join(stored[col] for col in columns)
                continue
            cells = dict(fixed)
            for col, obj, attribute in movers:
                cells[col] = obj.value_at(ctx, attribute, at) or b"\x00"
            for col in columns:
                out += cells[col]
        return bytes(out)

    def get_3(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return encode_capture_objects(self.capture)

    def get_4(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.DoubleLongUnsigned(self.period))

    def get_5(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Enum(1))  # FIFO

    def get_6(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode((axdr.LongUnsigned(0), bytes(6), axdr.Integer(0), axdr.LongUnsigned(0)))

    def get_7(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        if self.captured:
            return axdr.encode(axdr.DoubleLongUnsigned(len(self._rows(ctx))))
        first, last = self._window(ctx)
        return axdr.encode(axdr.DoubleLongUnsigned(max(0, last - first + 1)))

    def get_8(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.DoubleLongUnsigned(self.depth))

    def set_4(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        if not isinstance(value, axdr.DoubleLongUnsigned) or value == 0:
            return _TYPE
        self.period = int(value)
        self.reset_at = ctx.meter.wall_time(ctx.now)  # a new period empties the buffer
        self.captured.clear()
        return _OK

    def act_1(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """reset: the buffer empties; rows come again from the next grid point."""
        self.reset_at = ctx.meter.wall_time(ctx.now)
        self.captured.clear()
        return _DONE

    def act_2(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """capture: a row with the values of now goes into the buffer (the oldest beyond depth drop)."""
        self.captured.append((ctx.meter.wall_time(ctx.now), self._cells_now(ctx)))
        if len(self.captured) > self.depth:
            del self.captured[: len(self.captured) - self.depth]
        return _DONE


class AssociationLn(CosemObject):
    """Class 15 v1, the current association (0.0.40.0.0.255): what *this* client sees and may do."""

    CLASS_ID = ClassId.ASSOCIATION_LN
    VERSION = 1
    ATTRIBUTES = 9
    WRITABLE = frozenset({7})
    HIDDEN = frozenset({7})
    METHODS = 2

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return encode_object_list(self.device.object_list(ctx.association))

    def get_3(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode((axdr.Integer(ctx.association.client), axdr.LongUnsigned(self.device.address)))

    def get_4(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        context = ApplicationContextName.LN_CIPHERED if ctx.association.policy else ApplicationContextName.LN
        return _octets(bytes.fromhex("60857405080101")[:-1] + bytes((int(context),)))

    def get_5(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        session = ctx.session
        conformance = int(session.conformance) if session is not None else 0
        peer = session.peer_max_pdu_size if session is not None else 0xFFFF
        bits = axdr.BitString(24, conformance.to_bytes(3, "big"))
        return axdr.encode(
            (
                bits,
                axdr.LongUnsigned(ctx.association.max_pdu_size),
                axdr.LongUnsigned(peer),
                axdr.Unsigned(6),
                axdr.Integer(0),
                b"",
            )
        )

    def get_6(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return _octets(bytes.fromhex("608574050802") + bytes((int(ctx.association.mechanism),)))

    def get_7(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return DataAccessResult.READ_WRITE_DENIED

    def get_8(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Enum(2))  # associated

    def get_9(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        for obj in self.device.objects.values():
            if isinstance(obj, SecuritySetup) and obj.params["association"] == ctx.association.client:
                return _octets(obj.obis.to_bytes())
        return _octets(bytes(6))

    def set_7(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        if not isinstance(value, bytes) or not value:
            return _TYPE
        ctx.meter.secrets[(self.device.address, ctx.association.client)] = value
        return _OK

    def act_1(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """reply_to_HLS_authentication outside the HLS handshake: nothing to reply to."""
        return ActionOutcome(ActionResult.READ_WRITE_DENIED)

    def act_2(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """change_HLS_secret: used from the next association on."""
        if not isinstance(parameters, bytes) or not parameters:
            return ActionOutcome(ActionResult.TYPE_UNMATCHED)
        ctx.meter.secrets[(self.device.address, ctx.association.client)] = parameters
        return _DONE


class SapAssignment(CosemObject):
    CLASS_ID = ClassId.SAP_ASSIGNMENT
    ATTRIBUTES = 2
    METHODS = 1

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(
            [(axdr.LongUnsigned(d.address), d.name) for d in ctx.meter.description.logical_devices]
        )


class SecuritySetup(CosemObject):
    """Class 64 v0: the policy and titles of one association; method 2 takes new keys (RFC 3394)."""

    CLASS_ID = ClassId.SECURITY_SETUP
    ATTRIBUTES = 5
    METHODS = 2

    def _spec(self) -> AssociationSpec:
        spec = self.device.spec.association(int(self.params["association"]))
        assert spec is not None  # checked by the description
        return spec

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Enum(_POLICY_V0[self._spec().policy]))

    def get_3(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Enum(0))

    def get_4(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        title = ctx.meter.client_titles.get((self.device.address, self._spec().client), b"")
        return _octets(title)

    def get_5(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return _octets(self.device.spec.system_title)

    def act_1(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """security_activate: the emulated policy is fixed; asking for it again is fine."""
        if isinstance(parameters, axdr.Enum) and parameters == _POLICY_V0[self._spec().policy]:
            return _DONE
        return ActionOutcome(ActionResult.OTHER_REASON)

    def act_2(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """global_key_transfer: keys wrapped under the master key, used from the next association."""
        spec = self._spec()
        where = (self.device.address, spec.client)
        kek = ctx.meter.keys.get(where, {}).get("master_key", spec.master_key)
        if kek is None:
            return ActionOutcome(ActionResult.OTHER_REASON)
        try:
            keys = parse_global_key_transfer(axdr.encode(parameters), kek)
        except MeterlinkError:
            return ActionOutcome(ActionResult.OTHER_REASON)
        changed = ctx.meter.keys.setdefault(where, {})
        for key_id, key in keys:
            changed[_KEY_FIELDS[key_id]] = key
        return _DONE


class DisconnectControl(CosemObject):
    """Class 70: remote_disconnect / remote_reconnect move the output and the control state."""

    CLASS_ID = ClassId.DISCONNECT_CONTROL
    ATTRIBUTES = 4
    WRITABLE = frozenset({4})
    METHODS = 2

    def __init__(self, spec: ObjectSpec, device: LogicalDevice) -> None:
        super().__init__(spec, device)
        self.mode = int(spec.params["control_mode"])
        self.state = 1 if spec.params["connected"] else 0
        """0 disconnected, 1 connected, 2 ready for reconnection."""

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(self.state == 1)

    def get_3(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Enum(self.state))

    def get_4(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Enum(self.mode))

    def set_4(self, ctx: Context, value: axdr.DataValue) -> DataAccessResult:
        if not isinstance(value, axdr.Enum) or value > 6:
            return _TYPE
        self.mode = int(value)
        return _OK

    def act_1(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """remote_disconnect."""
        if self.mode == 0:
            return ActionOutcome(ActionResult.TEMPORARY_FAILURE)  # mode 0: always connected
        self.state = 0
        return _DONE

    def act_2(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """remote_reconnect: straight back on, or ready for a local reconnection (modes 2 and 4)."""
        if self.mode == 0:
            return ActionOutcome(ActionResult.TEMPORARY_FAILURE)
        self.state = 2 if self.mode in (2, 4) and self.state == 0 else 1
        return _DONE


class PushSetup(CosemObject):
    """Class 40 v0: what goes into a push and where; method 1 asks the server to push now."""

    CLASS_ID = ClassId.PUSH_SETUP
    ATTRIBUTES = 7
    METHODS = 2

    @property
    def push_objects(self) -> tuple[CaptureObject, ...]:
        own = (CaptureObject(ClassId.PUSH_SETUP, self.obis, 2, 0),) if self.params["include_self"] else ()
        objects: tuple[CaptureObject, ...] = self.params["objects"]
        return own + objects

    def get_2(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return encode_capture_objects(self.push_objects)

    def get_3(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        destination: str | None = self.params["destination"]
        if destination == SESSION:  # the client's own line: HDLC (5) to its SAP, or the wrapper (TCP)
            transport = 5 if self.params["transport"] == "hdlc" else 0
            address = b""
        else:
            transport = 1 if destination is None or destination.startswith("udp://") else 0
            address = (destination or "").partition("://")[2].encode("ascii", "replace")
        return axdr.encode((axdr.Enum(transport), address, axdr.Enum(0)))

    def get_4(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode([])

    def get_5(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.LongUnsigned(0))

    def get_6(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.Unsigned(0))

    def get_7(self, ctx: Context, access: SelectiveAccess | None) -> Result:
        return axdr.encode(axdr.LongUnsigned(0))

    def act_1(self, ctx: Context, parameters: axdr.DataValue) -> ActionOutcome:
        """push: the server sends it as soon as it looks at the queue."""
        ctx.meter.push_requests.append((self.device.address, self.obis))
        return _DONE

    def body(self, ctx: Context) -> bytes:
        """IDIS style: structure of the values of the push object list, in order."""
        cells = []
        for cap in self.push_objects:
            obj = self.device.objects.get(cap.logical_name)
            value = (
                obj.get(ctx, cap.attribute, None) if obj is not None else DataAccessResult.OBJECT_UNDEFINED
            )
            cells.append(_element(value, cap.data_index) if isinstance(value, bytes) else b"\x00")
        return b"\x02" + encode_length(len(cells)) + b"".join(cells)


OBJECT_CLASSES: Final[dict[str, type[CosemObject]]] = {
    "data": DataObject,
    "logical-device-name": LogicalDeviceName,
    "register": Register,
    "extended-register": ExtendedRegister,
    "clock": Clock,
    "profile-generic": ProfileGeneric,
    "frame-counter": FrameCounter,
    "security-setup": SecuritySetup,
    "disconnect-control": DisconnectControl,
    "push-setup": PushSetup,
    "association-ln": AssociationLn,
    "sap-assignment": SapAssignment,
}
"""Description kind -> emulated class."""


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _weighted_hours(at: dt.datetime, shape: tuple[float, ...]) -> float:
    """Hours since :data:`EPOCH`, each weighted by its ``daily_shape`` factor (as the IEC emulator)."""
    seconds = (at - EPOCH).total_seconds()
    if not shape:
        return seconds / 3600
    days, rest = divmod(seconds, 86400.0)
    hour = min(int(rest // 3600), 23)
    partial = (rest - hour * 3600) / 3600
    return days * math.fsum(shape) + math.fsum(shape[:hour]) + shape[hour] * partial


def _naive(value: object, meter: DlmsMeter, *, bytes_ok: bool = True) -> dt.datetime | None:
    """A date-time (12 octets or :class:`CosemDateTime`) as naive meter time; None if unusable."""
    if isinstance(value, bytes) and bytes_ok and len(value) == 12:
        value = CosemDateTime.from_bytes(value)
    if not isinstance(value, CosemDateTime):
        return None
    try:
        stripped = CosemDateTime(
            value.year, value.month, value.day, None, value.hour, value.minute, value.second,
            value.hundredths,
        )  # fmt: skip
        when = stripped.to_datetime()
    except MeterlinkError:
        return None
    own = meter.description.clock.deviation
    if value.deviation is not None and own is not None and value.deviation != own:
        when += dt.timedelta(minutes=value.deviation - own)  # both UTC minus local
    return when


def _element(value: bytes, index: int) -> bytes:
    """Element ``index`` (1-based) of an array/structure value; the whole value for 0."""
    if not index:
        return value
    try:
        decoded = axdr.decode(value)
        if isinstance(decoded, list | tuple) and 0 < index <= len(decoded):
            return axdr.encode(decoded[index - 1])
    except MeterlinkError:
        pass
    return b"\x00"


# ------------------------------------------------------------------------------------------------
# logical devices and the meter
# ------------------------------------------------------------------------------------------------
class LogicalDevice:
    """The objects of one logical device, built from its spec plus the automatic ones."""

    def __init__(self, spec: LogicalDeviceSpec) -> None:
        self.spec = spec
        self.address = spec.address
        self.objects: dict[Obis, CosemObject] = {}
        automatic = (
            ObjectSpec("association-ln", ASSOCIATION_OBIS, int(ClassId.ASSOCIATION_LN)),
            ObjectSpec("sap-assignment", SAP_OBIS, int(ClassId.SAP_ASSIGNMENT)),
            ObjectSpec("logical-device-name", LDN_OBIS, int(ClassId.DATA), {"value": _octets(spec.name)}),
        )
        for obj_spec in (*automatic, *spec.objects):
            self.objects[obj_spec.obis] = OBJECT_CLASSES[obj_spec.kind](obj_spec, self)

    def visible(self, association: AssociationSpec, obis: Obis) -> bool:
        return obis == ASSOCIATION_OBIS or grants(association.visible, obis)

    def attribute_access(self, association: AssociationSpec, obj: CosemObject, attribute: int) -> AccessMode:
        if not 1 <= attribute <= obj.ATTRIBUTES:
            return AccessMode.NO_ACCESS
        rights = association.rights.get(obj.obis)
        if attribute in obj.HIDDEN:
            readable = False
        elif attribute == 1:
            readable = True
        elif rights is not None and rights.read is not None:
            readable = attribute in rights.read
        else:
            readable = grants(association.read, obj.obis)
        if rights is not None and rights.write is not None:
            writable = attribute in rights.write and (attribute in obj.WRITABLE or attribute in obj.HIDDEN)
        else:
            writable = attribute in obj.WRITABLE and grants(association.write, obj.obis)
        return AccessMode(int(readable) | (2 if writable else 0))

    def method_access(self, association: AssociationSpec, obj: CosemObject, method: int) -> bool:
        if not 1 <= method <= obj.METHODS:
            return False
        if obj.CLASS_ID == ClassId.ASSOCIATION_LN and method == 1:
            return association.mechanism >= 2  # reply_to_HLS, for the association that uses HLS
        rights = association.rights.get(obj.obis)
        if rights is not None and rights.execute is not None:
            return method in rights.execute
        return grants(association.execute, obj.obis)

    def object_list(self, association: AssociationSpec) -> list[ObjectListEntry]:
        entries = []
        for obis, obj in self.objects.items():
            if not self.visible(association, obis):
                continue
            attributes = {a: self.attribute_access(association, obj, a) for a in range(1, obj.ATTRIBUTES + 1)}
            methods = {
                m: MethodAccessMode.ACCESS
                if self.method_access(association, obj, m)
                else MethodAccessMode.NO_ACCESS
                for m in range(1, obj.METHODS + 1)
            }
            selectors: dict[int, tuple[int, ...] | None] = {a: obj.SELECTORS.get(a) for a in attributes}
            entries.append(ObjectListEntry(obj.CLASS_ID, obj.VERSION, obis, attributes, methods, selectors))
        return entries


class DlmsMeter:
    """The emulated meter's state, shared by all its connections (see the module docstring).

    ``start`` is the caller's ``now`` at which the clock shows ``origin``; left None, the first
    ``now`` seen sets it. ``origin`` defaults to the description's ``[clock] origin``, else
    2024-01-01 00:00 (the servers pass the host's local time).
    """

    def __init__(
        self,
        description: DlmsDescription | None = None,
        *,
        start: float | None = None,
        origin: dt.datetime | None = None,
    ) -> None:
        self.description = description or default_dlms_description()
        d = self.description
        self.start = start
        chosen = origin or d.clock.origin or DEFAULT_ORIGIN
        if chosen.tzinfo is not None:
            raise LocalProtocolError("the meter clock origin must be a naive wall-clock time")
        self.origin = chosen
        self.clock_offset = dt.timedelta()
        self.time_zone = d.clock.deviation or 0
        self.devices: dict[int, LogicalDevice] = {ld.address: LogicalDevice(ld) for ld in d.logical_devices}
        self.register_base: dict[tuple[int, Obis], tuple[float, dt.datetime]] = {}
        self.written: dict[tuple[int, Obis], bytes] = {}
        self.secrets: dict[tuple[int, int], bytes] = {}
        """Secrets changed by SET/ACTION, per (logical device, client SAP)."""
        self.keys: dict[tuple[int, int], dict[str, bytes]] = {}
        """Keys changed by global_key_transfer, per (logical device, client SAP)."""
        self.client_titles: dict[tuple[int, int], bytes] = {}
        self.push_requests: deque[tuple[int, Obis]] = deque()
        """(logical device, push setup) asked for by method 1, for the server to send."""
        self._counters: dict[tuple[int, int], InvocationCounters] = {}

    # -- time -------------------------------------------------------------------------------------
    def wall_time(self, now: float) -> dt.datetime:
        """The meter clock at the caller's time ``now``."""
        if self.start is None:
            self.start = now
        elapsed = (now - self.start) * self.description.clock.speed
        return self.origin + dt.timedelta(seconds=elapsed) + self.clock_offset

    def set_clock(self, when: dt.datetime, now: float) -> None:
        self.clock_offset += when - self.wall_time(now)

    def date_time(self, at: dt.datetime) -> bytes:
        """The 12 octets of a COSEM date-time for meter time ``at`` (deviation and status as configured)."""
        c = self.description.clock
        return CosemDateTime(
            at.year, at.month, at.day, at.isoweekday(), at.hour, at.minute, at.second,
            at.microsecond // 10000, c.deviation, ClockStatus(c.status),
        ).to_bytes()  # fmt: skip

    # -- security ---------------------------------------------------------------------------------
    def counters(self, logical: int, client: int) -> InvocationCounters:
        """One counter table per association, kept across connections (replays stay refused)."""
        return self._counters.setdefault((logical, client), InvocationCounters())

    def frame_counter(self, logical: int, client: int) -> int:
        """The highest invocation counter used so far with the association's unicast key."""
        table = self.counters(logical, client).to_dict()
        seen = [v for k, v in table["received"].items() if k == "guek" or k.startswith("guek:")]
        return max([table["send"].get("guek", 0), *seen])

    # -- associations -----------------------------------------------------------------------------
    def open_association(self, logical: int, client: int) -> ServerAssociation | None:
        """A fresh server association for ``client`` on ``logical`` (None: no such client/device)."""
        device = self.devices.get(logical)
        spec = device.spec.association(client) if device is not None else None
        if device is None or spec is None:
            return None
        where = (logical, client)
        settings = spec.settings(
            device.spec.system_title, secret=self.secrets.get(where), keys=self.keys.get(where, {})
        )
        application = AssociationApplication(self, device, spec)
        session = ServerAssociation(application, settings)
        session.counters = self.counters(logical, client)
        application.session = session
        return session

    @staticmethod
    def refusal(apdu: bytes) -> bytes | None:
        """The answer to an APDU for a client SAP or logical device that does not exist."""
        if apdu[:1] == b"\x60":
            return AARE(
                result=AssociationResult.REJECTED_PERMANENT,
                diagnostic=Diagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED,
                application_context_name=ApplicationContextName.LN,
            ).to_bytes()
        return None

    # -- pushes -----------------------------------------------------------------------------------
    def push_setups(self) -> list[tuple[LogicalDevice, PushSetup]]:
        return [
            (device, obj)
            for device in self.devices.values()
            for obj in device.objects.values()
            if isinstance(obj, PushSetup)
        ]

    def push_body(self, logical: int, obis: Obis, now: float) -> bytes:
        device = self.devices[logical]
        obj = device.objects[obis]
        assert isinstance(obj, PushSetup)
        spec = device.spec.associations[0]
        return obj.body(Context(now, self, device, spec))

    def push_session(self, logical: int, obis: Obis) -> ServerAssociation:
        """A server association that only pushes, with the keys of the push's association."""
        device = self.devices[logical]
        obj = device.objects[obis]
        assert isinstance(obj, PushSetup)
        client = int(obj.params["association"])
        spec = device.spec.association(client) if client else None
        opened = self.open_association(logical, client) if spec is not None else None
        session = opened or ServerAssociation(
            AssociationApplication(self, device, device.spec.associations[0])
        )
        block = int(obj.params["gbt_block_size"])
        if block:
            session.settings = _with_gbt(session.settings)
            session.peer_max_pdu_size = block
        return session


def _with_gbt(settings: Any) -> Any:
    import dataclasses

    return dataclasses.replace(settings, use_gbt=True)


# ------------------------------------------------------------------------------------------------
# the ServerApplication of one association
# ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class AssociationApplication:
    """What one association's :class:`ServerAssociation` asks for values: access rights enforced.

    Set :attr:`now` before handing the association an APDU.
    """

    meter: DlmsMeter
    device: LogicalDevice
    spec: AssociationSpec
    now: float = 0.0
    session: ServerAssociation | None = field(default=None, repr=False)

    def _context(self) -> Context:
        session = self.session
        if session is not None and session.peer_system_title:
            self.meter.client_titles[(self.device.address, self.spec.client)] = session.peer_system_title
        return Context(self.now, self.meter, self.device, self.spec, session)

    def _find(self, class_id: int, instance: Obis) -> CosemObject | DataAccessResult:
        obj = self.device.objects.get(instance)
        if obj is None or not self.device.visible(self.spec, instance):
            return DataAccessResult.OBJECT_UNDEFINED
        if class_id != obj.CLASS_ID:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        return obj

    def get(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None
    ) -> bytes | DataAccessResult:
        obj = self._find(attribute.class_id, attribute.instance)
        if isinstance(obj, DataAccessResult):
            return obj
        mode = self.device.attribute_access(self.spec, obj, attribute.attribute_id)
        if not 1 <= attribute.attribute_id <= obj.ATTRIBUTES:
            return DataAccessResult.OBJECT_UNDEFINED
        if not mode & AccessMode.READ:
            return DataAccessResult.READ_WRITE_DENIED
        try:
            return obj.get(self._context(), attribute.attribute_id, access)
        except MeterlinkError:
            return DataAccessResult.OTHER_REASON

    def set(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None, data: bytes
    ) -> DataAccessResult:
        obj = self._find(attribute.class_id, attribute.instance)
        if isinstance(obj, DataAccessResult):
            return obj
        if not 1 <= attribute.attribute_id <= obj.ATTRIBUTES:
            return DataAccessResult.OBJECT_UNDEFINED
        if not self.device.attribute_access(self.spec, obj, attribute.attribute_id) & AccessMode.WRITE:
            return DataAccessResult.READ_WRITE_DENIED
        if access is not None:
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        try:
            value = axdr.decode(data)
            return obj.set(self._context(), attribute.attribute_id, value)
        except MeterlinkError:
            return DataAccessResult.TYPE_UNMATCHED

    def action(self, method: CosemMethodDescriptor, parameters: bytes | None) -> ActionOutcome:
        obj = self._find(method.class_id, method.instance)
        if isinstance(obj, DataAccessResult):
            return ActionOutcome(ActionResult(int(obj)))
        if not 1 <= method.method_id <= obj.METHODS:
            return ActionOutcome(ActionResult.OBJECT_UNDEFINED)
        if not self.device.method_access(self.spec, obj, method.method_id):
            return ActionOutcome(ActionResult.READ_WRITE_DENIED)
        try:
            value = axdr.decode(parameters) if parameters else None
            return obj.action(self._context(), method.method_id, value)
        except MeterlinkError:
            return ActionOutcome(ActionResult.TYPE_UNMATCHED)
