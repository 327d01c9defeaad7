"""Meter descriptions: what an emulated meter is, read from TOML into frozen dataclasses.

The emulator is configuration, not code: a description names the identification and address,
the timing, the registers (fixed or growing with time), the readout layout, VDEW load profiles
or LIS-200 archives, passwords or locks and what they unlock, the error texts and the fault
knobs. Everything is checked when the file is read, and a bad file raises
:class:`~meterlink.errors.LocalProtocolError` naming the key (``registers."1.8.0".unit``), so a
typo never turns into a meter that silently behaves differently.

The schema is documented on :func:`parse_description`; ``examples/meters/`` holds annotated
examples, and :func:`builtin_description` is the EMH LZQJ-XC used when no file is given.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final

from meterlink.errors import LocalProtocolError
from meterlink.iec62056_21.bcc import BccKind
from meterlink.iec62056_21.messages import ErrorMessage, Identification, ProtocolMode, RequestMessage

from ._toml import Table, kind_of
from .faults import Faults
from .passwords import PASSWORD_ALGORITHMS

__all__ = [
    "Access",
    "Archive",
    "ArchiveColumn",
    "ChannelSpec",
    "ClockSpec",
    "LayoutItem",
    "Locks",
    "MeterDescription",
    "ProfileSpec",
    "Protocol",
    "RegisterSpec",
    "Security",
    "StatusChange",
    "builtin_description",
    "load_description",
    "parse_description",
]


class Protocol(StrEnum):
    """Which dialect the meter speaks in programming mode."""

    IEC = "iec62056-21"
    """Plain IEC 62056-21 with the VDEW conventions (R5/W5 by OBIS, P.01 profiles)."""
    LIS200 = "lis200"
    """Elster LIS-200: locks instead of passwords, ``#nnnn`` errors, archives."""


class Access(IntEnum):
    """What a session must have unlocked to read or write something (ordered)."""

    NONE = 0
    """Open to everyone."""
    LEVEL1 = 1
    """After P1 (IEC) or with the customer lock open (LIS-200)."""
    LEVEL2 = 2
    """After P2 (IEC) or with the supplier lock open (LIS-200)."""
    NEVER = 3
    """Not at all (only meaningful for writes)."""


_ACCESS_NAMES: Final[dict[Protocol, dict[str, Access]]] = {
    Protocol.IEC: {"none": Access.NONE, "p1": Access.LEVEL1, "p2": Access.LEVEL2, "never": Access.NEVER},
    Protocol.LIS200: {
        "none": Access.NONE,
        "customer": Access.LEVEL1,
        "supplier": Access.LEVEL2,
        "never": Access.NEVER,
    },
}

ERROR_KINDS: Final = (
    "unknown_address",
    "unknown_attribute",
    "unsupported",
    "syntax",
    "bad_value",
    "not_writable",
    "read_not_authorised",
    "write_not_authorised",
    "wrong_password",
    "no_data",
    "archive_unknown",
    "position_unknown",
    "lower_bound",
    "upper_bound",
)
"""Situations the meter answers with an error; ``[errors]`` maps each to a text."""

NAK_REPLY: Final = "<NAK>"
"""An error text that means: answer NAK instead of an error message."""
BREAK_REPLY: Final = "<B0>"
"""An error text that means: answer with a break and drop the session."""

_DEFAULT_ERRORS: Final[dict[Protocol, dict[str, str]]] = {
    Protocol.IEC: {
        "unknown_address": "ER02",
        "unknown_attribute": "ER02",
        "unsupported": NAK_REPLY,
        "syntax": NAK_REPLY,
        "bad_value": "ER03",
        "not_writable": "ER05",
        "read_not_authorised": "ER18",
        "write_not_authorised": "ER18",
        "wrong_password": BREAK_REPLY,
        "no_data": "ERROR",
        "archive_unknown": "ER02",
        "position_unknown": "ER03",
        "lower_bound": "ERROR",
        "upper_bound": "ERROR",
    },
    Protocol.LIS200: {
        "unknown_address": "#0001",
        "unknown_attribute": "#0004",
        "unsupported": "#0200",
        "syntax": "#0200",
        "bad_value": "#0006",
        "not_writable": "#0009",
        "read_not_authorised": "#0018",
        "write_not_authorised": "#0019",
        "wrong_password": "#0017",
        "no_data": "#0103",
        "archive_unknown": "#0100",
        "position_unknown": "#0101",
        "lower_bound": "#0104",
        "upper_bound": "#0105",
    },
}

EPOCH: Final = dt.datetime(2000, 1, 1)
"""Where interval grids start: profile and archive rows fall on multiples of the period since."""


# ------------------------------------------------------------------------------------------------
# the parts of a description
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """One register: fixed text, a number that may grow with time, or the meter's clock.

    A growing register reads ``value`` at the clock origin and gains ``rate_per_hour`` per hour,
    scaled by ``daily_shape[hour]`` when a 24-entry shape is given, so an energy register counts
    up like a household's. Numbers print with ``digits`` integer and ``decimals`` fraction digits.
    """

    address: str
    text: str | None = None
    """Fixed text value (not a number), printed as is."""
    value: float | None = None
    """Numeric value at the clock origin."""
    unit: str | None = None
    rate_per_hour: float = 0.0
    daily_shape: tuple[float, ...] = ()
    digits: int = 6
    decimals: int = 3
    clock: str | None = None
    """A ``strftime`` pattern: the register shows the meter's clock (``%H%M%S``, ``%y%m%d``)."""
    read: Access = Access.NONE
    write: Access = Access.NEVER

    @property
    def numeric(self) -> bool:
        return self.value is not None

    def weighted_hours(self, at: dt.datetime) -> float:
        """Hours from :data:`EPOCH` to ``at``, each weighted by its ``daily_shape`` factor."""
        seconds = (at - EPOCH).total_seconds()
        if not self.daily_shape:
            return seconds / 3600
        days, rest = divmod(seconds, 86400.0)
        hour = min(int(rest // 3600), 23)
        partial = (rest - hour * 3600) / 3600
        shape = self.daily_shape
        return days * math.fsum(shape) + math.fsum(shape[:hour]) + shape[hour] * partial

    def format_number(self, number: float) -> str:
        """The number as this register prints it (zero padded, fixed decimals)."""
        return format_number(number, self.digits, self.decimals)


def format_number(number: float, digits: int, decimals: int) -> str:
    """``1234.5`` with 6 digits and 3 decimals gives ``001234.500``."""
    if decimals > 0:
        width = digits + decimals + 1 + (1 if number < 0 else 0)
        return f"{number:0{width}.{decimals}f}"
    width = digits + (1 if number < 0 else 0)
    return f"{round(number):0{width}d}"


@dataclass(frozen=True, slots=True)
class LayoutItem:
    """One line of a readout: a register's data set, or a line of text copied verbatim."""

    register: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One column of a VDEW load profile and where its numbers come from.

    ``kind`` is ``"average"`` (the register's increase over the interval divided by its length
    in hours: kWh become kW), ``"delta"`` (the increase itself) or ``"reading"`` (the register
    value at the end of the interval). Without a register the column prints ``constant``.
    """

    code: str
    unit: str | None
    register: str | None = None
    kind: str = "average"
    constant: float = 0.0
    digits: int = 1
    decimals: int = 5


@dataclass(frozen=True, slots=True)
class StatusChange:
    """From ``at`` on, profile rows carry status word ``status`` (the header is sent again)."""

    at: dt.datetime
    status: int


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """A VDEW load profile (``P.01``) read with ``R5``/``R6 P.01(from;to)``."""

    address: str = "P.01"
    period: int = 15
    """Minutes between rows."""
    depth: int = 2880
    """Rows kept: older intervals are gone."""
    channels: tuple[ChannelSpec, ...] = ()
    status_changes: tuple[StatusChange, ...] = ()
    status_digits: int = 8
    block_size: int | None = None
    """Characters per partial block for ``R6`` (default: the meter's ``block_size``)."""
    read: Access = Access.NONE


@dataclass(frozen=True, slots=True)
class ArchiveColumn:
    """One column of a LIS-200 archive.

    ``kind``: ``gnum`` (global ordinal number), ``lnum`` (the archive's own ordinal number),
    ``time`` (``YYYY-MM-DD,hh:mm:ss``), ``register`` (a register's value at the row's time) or
    ``text`` (fixed ``text``). ``address`` and ``unit`` are what attributes 4 and 3 list.
    """

    kind: str
    address: str = ""
    unit: str = ""
    register: str | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class Archive:
    """A LIS-200 archive read with ``R1``/``R3 <n>:V.<attr>(<pos>;<from>;<to>;<rows>)``."""

    number: int
    period: int = 60
    """Minutes between rows."""
    depth: int = 1000
    columns: tuple[ArchiveColumn, ...] = ()
    counter_digits: int = 6
    """Ordinal numbers are zero padded so every row has the same length (row-aligned blocks)."""
    gnum_offset: int = 0
    read: Access = Access.NONE


@dataclass(frozen=True, slots=True)
class Security:
    """IEC passwords: P1 compared as is, P2 checked with a named algorithm and the P0 operand.

    ``None`` means the meter accepts any password at that level.
    """

    p1: str | None = None
    p2: str | None = None
    p2_algorithm: str = "plain"
    execute: Access = Access.LEVEL1
    """What an ``E2`` command needs."""


@dataclass(frozen=True, slots=True)
class Locks:
    """LIS-200 locks: opened by writing their key (``W1 3:171.0(key)``); their state is read at
    ``3:170.0`` (and, as the seed library does, at the key address), and writing 0 to either closes."""

    supplier: str | None = None
    customer: str | None = None
    supplier_address: str = "3:171.0"
    customer_address: str = "4:171.0"
    supplier_status_address: str = "3:170.0"
    customer_status_address: str = "4:170.0"

    def key_address(self, address: str) -> str | None:
        """The key address of the lock that ``address`` (key or status) belongs to, if any."""
        if address in (self.supplier_address, self.supplier_status_address):
            return self.supplier_address
        if address in (self.customer_address, self.customer_status_address):
            return self.customer_address
        return None


@dataclass(frozen=True, slots=True)
class ClockSpec:
    """The meter's wall clock: ``origin`` at the emulator's start, running ``speed`` times as fast."""

    origin: dt.datetime | None = None
    """``None``: the host's local time when the emulator starts."""
    speed: float = 1.0
    season: int = 0
    """VDEW season digit printed in front of profile timestamps (0 normal, 1 summer)."""


@dataclass(frozen=True, slots=True)
class MeterDescription:
    """Everything an emulated meter is. Build one with :func:`parse_description`."""

    identification: Identification
    protocol: Protocol = Protocol.IEC
    name: str = ""
    address: str = ""
    modes: frozenset[ProtocolMode] = frozenset()
    """Modes the meter offers: the one its ``Z`` implies, ``E`` if ``\\2`` (and allowed), ``D``
    with a push interval. Mode C meters also fall back to a mode A readout, as the standard says."""
    accept_lower_baud: bool = True
    reaction_time: float = 0.2
    switch_delay: float = 0.5
    option_timeout: float = 2.0
    after_readout_timeout: float = 1.5
    """How long the meter stays at the readout's rate for a NAK (repeat request) after it."""
    inactivity_timeout: float = 120.0
    fast_wake_up: bool = False
    """A battery meter that sleeps until a fast wake-up NUL burst (Annex B.2) and ACKs it."""
    wake_window: float = 1.5
    """After its wake-up ACK, how long the meter waits for the sign-on before sleeping again."""
    operand: str = ""
    bcc: BccKind = BccKind.XOR
    block_size: int | None = 64
    registers: Mapping[str, RegisterSpec] = field(default_factory=dict)
    layout: tuple[LayoutItem, ...] = ()
    lists: Mapping[str, tuple[LayoutItem, ...]] = field(default_factory=dict)
    """Readout lists selected by the request (``/2!`` picks list ``"2"``)."""
    push_interval: float | None = None
    push_layout: tuple[LayoutItem, ...] = ()
    profiles: tuple[ProfileSpec, ...] = ()
    archives: tuple[Archive, ...] = ()
    security: Security = field(default_factory=Security)
    locks: Locks = field(default_factory=Locks)
    errors: Mapping[str, str] = field(default_factory=dict)
    clock: ClockSpec = field(default_factory=ClockSpec)
    faults: Faults = field(default_factory=Faults)

    def error_text(self, kind: str) -> str:
        """The text (or ``<NAK>``/``<B0>``) the meter answers in situation ``kind``."""
        return self.errors.get(kind) or _DEFAULT_ERRORS[self.protocol][kind]

    def access_name(self, access: Access) -> str:
        names = {v: k for k, v in _ACCESS_NAMES[self.protocol].items()}
        return names[access]


# ------------------------------------------------------------------------------------------------
# reading TOML
# ------------------------------------------------------------------------------------------------
def _check_wire_text(table: Table, key: str, value: str, forbidden: str) -> str:
    bad = [ch for ch in value if ch in forbidden or not (0x20 <= ord(ch) < 0x7F)]
    if bad:
        raise table.error(key, f"{value!r} contains {bad[0]!r}, which cannot appear there on the wire")
    return value


def _access(table: Table, key: str, protocol: Protocol, default: Access) -> Access:
    name = table.text(key)
    if name is None:
        return default
    names = _ACCESS_NAMES[protocol]
    if name not in names:
        raise table.error(key, f"unknown access {name!r}; for {protocol.value} use one of {sorted(names)}")
    return names[name]


def _identification(table: Table) -> Identification:
    text = table.text("identification")
    if text is None:
        raise table.error("identification", "missing (e.g. '/EMH5\\@D4LZQJ-XC')")
    line = text.removesuffix("\r\n").removeprefix("/")
    try:
        ident = Identification.from_text(line)
    except LocalProtocolError as exc:
        raise table.error("identification", str(exc)) from None
    if not ident.baud_char:
        raise table.error("identification", f"{text!r} has no baud character after the manufacturer id")
    return ident


def _register(table: Table, address: str, raw: object, meter: Table, protocol: Protocol) -> RegisterSpec:
    where = table.where(address)
    digits = meter.integer("digits", 6)
    decimals = meter.integer("decimals", 3)
    if isinstance(raw, str):
        _check_wire_text(table, address, raw, "()*/!")
        return _text_register(address, raw, digits, decimals)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return RegisterSpec(address, value=float(raw), digits=digits, decimals=decimals)
    if not isinstance(raw, dict):
        raise LocalProtocolError(f"{where}: expected a value or a table, got {kind_of(raw)}")
    sub = Table(raw, where)
    unit = sub.text("unit")
    if unit is not None:
        _check_wire_text(sub, "unit", unit, "()/!")
    clock = sub.text("clock")
    value = sub.raw("value")
    digits = sub.integer("digits", digits)
    decimals = sub.integer("decimals", decimals)
    spec: RegisterSpec
    if clock is not None:
        if value is not None:
            raise sub.error("value", "a clock register shows the clock; give either value or clock")
        try:
            sample = EPOCH.strftime(clock)
        except ValueError as exc:
            raise sub.error("clock", f"bad strftime pattern: {exc}") from None
        _check_wire_text(sub, "clock", sample, "()*/!")
        spec = RegisterSpec(address, clock=clock)
    elif isinstance(value, str):
        _check_wire_text(sub, "value", value, "()*/!")
        spec = _text_register(
            address, value, digits, decimals, explicit=(sub.has("digits"), sub.has("decimals"))
        )
    elif isinstance(value, int | float) and not isinstance(value, bool):
        spec = RegisterSpec(address, value=float(value), digits=digits, decimals=decimals)
    elif value is None:
        raise sub.error("value", "missing (a number, a text, or give clock instead)")
    else:
        raise sub.error("value", f"expected a number or a string, got {kind_of(value)}")
    rate = sub.number("rate_per_hour", 0.0) or 0.0
    shape_raw = sub.raw("daily_shape")
    shape: tuple[float, ...] = ()
    if shape_raw is not None:
        if (
            not isinstance(shape_raw, list)
            or len(shape_raw) != 24
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in shape_raw)
        ):
            raise sub.error("daily_shape", "expected 24 non-negative numbers, one factor per hour of the day")
        shape = tuple(float(v) for v in shape_raw)
    if (rate or shape) and not spec.numeric:
        raise sub.error("rate_per_hour", "only a numeric register can grow with time")
    read = _access(sub, "read", protocol, Access.NONE)
    write = _access(sub, "write", protocol, Access.NEVER)
    sub.finish()
    return RegisterSpec(
        address,
        text=spec.text,
        value=spec.value,
        unit=unit,
        rate_per_hour=rate,
        daily_shape=shape,
        digits=spec.digits,
        decimals=spec.decimals,
        clock=spec.clock,
        read=read,
        write=write,
    )


_NUMBER_RE: Final = re.compile(r"[+-]?([0-9]+)(?:\.([0-9]+))?")


def _text_register(
    address: str, text: str, digits: int, decimals: int, explicit: tuple[bool, bool] = (False, False)
) -> RegisterSpec:
    """A string with a decimal point is a number that keeps its printed width (``001234.567``:
    6 + 3 digits); anything else (``12345678`` serials, ``0170318`` dates) is fixed text."""
    match = _NUMBER_RE.fullmatch(text)
    if match is None or match.group(2) is None:
        return RegisterSpec(address, text=text)
    shown_digits = digits if explicit[0] else len(match.group(1))
    shown_decimals = decimals if explicit[1] else len(match.group(2))
    return RegisterSpec(address, value=float(text), digits=shown_digits, decimals=shown_decimals)


def _layout(table: Table, key: str, registers: Mapping[str, RegisterSpec]) -> tuple[LayoutItem, ...] | None:
    raw = table.raw(key)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise table.error(
            key, f"expected an array of register addresses and {{text = ...}}, got {kind_of(raw)}"
        )
    items: list[LayoutItem] = []
    for i, entry in enumerate(raw):
        where = f"{table.where(key)}[{i}]"
        if isinstance(entry, str):
            if entry not in registers:
                raise LocalProtocolError(f"{where}: register {entry!r} is not defined in [registers]")
            items.append(LayoutItem(register=entry))
        elif isinstance(entry, dict) and set(entry) == {"text"} and isinstance(entry["text"], str):
            text = entry["text"]
            bad = [ch for ch in text if not (0x20 <= ord(ch) < 0x7F) or ch == "!"]
            if bad:
                raise LocalProtocolError(f"{where}.text: {bad[0]!r} cannot appear in a readout line")
            items.append(LayoutItem(text=text))
        else:
            raise LocalProtocolError(f'{where}: expected a register address or {{text = "..."}}')
    return tuple(items)


def _channels(table: Table, registers: Mapping[str, RegisterSpec]) -> tuple[ChannelSpec, ...]:
    channels: list[ChannelSpec] = []
    for sub in table.tables("channels"):
        code = sub.text("code")
        if not code:
            raise sub.error("code", "missing (the code printed in the header, e.g. 1.5 or 1-0:1.5.0)")
        _check_wire_text(sub, "code", code, "()/!")
        unit = sub.text("unit")
        if unit is not None:
            _check_wire_text(sub, "unit", unit, "()/!")
        register = sub.text("register")
        if register is not None:
            spec = registers.get(register)
            if spec is None:
                raise sub.error("register", f"register {register!r} is not defined in [registers]")
            if not spec.numeric:
                raise sub.error("register", f"register {register!r} is not numeric")
        kind = sub.text("kind", "average") or "average"
        if kind not in ("average", "delta", "reading"):
            raise sub.error("kind", f"expected average, delta or reading, got {kind!r}")
        channels.append(
            ChannelSpec(
                code,
                unit or None,
                register,
                kind,
                sub.number("constant", 0.0) or 0.0,
                sub.integer("digits", 1),
                sub.integer("decimals", 5),
            )
        )
        sub.finish()
    if not channels:
        raise table.error("channels", "a load profile needs at least one channel")
    return tuple(channels)


def _period(table: Table, default: int) -> int:
    period = table.integer("period", default, minimum=1)
    if 1440 % period:
        raise table.error("period", f"{period} min does not divide a day")
    return period


def _profiles(
    root: Table, registers: Mapping[str, RegisterSpec], protocol: Protocol, block: int | None
) -> tuple[ProfileSpec, ...]:
    profiles: list[ProfileSpec] = []
    for sub in root.tables("profiles"):
        address = sub.text("address", "P.01") or "P.01"
        if re.fullmatch(r"P\.[0-9]{1,3}", address) is None:
            raise sub.error("address", f"expected a VDEW profile address like P.01, got {address!r}")
        changes: list[StatusChange] = []
        for change in sub.tables("status"):
            at = change.datetime("at")
            if at is None:
                raise change.error("at", "missing (when the status word changes)")
            changes.append(StatusChange(at, change.integer("value", 0)))
            change.finish()
        changes.sort(key=lambda c: c.at)
        digits = sub.integer("status_digits", 8, minimum=1)
        for c in changes:
            if len(f"{c.status:X}") > digits:
                raise sub.error("status", f"status {c.status:#x} does not fit in {digits} hex digits")
        size = sub.integer("block_size", block or 0, minimum=0) or None
        profiles.append(
            ProfileSpec(
                address=address,
                period=_period(sub, 15),
                depth=sub.integer("depth", 2880, minimum=1),
                channels=_channels(sub, registers),
                status_changes=tuple(changes),
                status_digits=digits,
                block_size=size,
                read=_access(sub, "read", protocol, Access.NONE),
            )
        )
        sub.finish()
    return tuple(profiles)


def _archives(root: Table, registers: Mapping[str, RegisterSpec], protocol: Protocol) -> tuple[Archive, ...]:
    archives: list[Archive] = []
    for sub in root.tables("archives"):
        if protocol is not Protocol.LIS200:
            raise root.error("archives", 'archives belong to LIS-200 meters (protocol = "lis200")')
        number = sub.integer("number", 0, minimum=1)
        if not sub.has("number"):
            raise sub.error("number", "missing (the archive number, e.g. 3)")
        columns: list[ArchiveColumn] = []
        for col in sub.tables("columns"):
            kind = col.text("kind")
            if kind not in ("gnum", "lnum", "time", "register", "text"):
                raise col.error("kind", f"expected gnum, lnum, time, register or text, got {kind!r}")
            register = col.text("register")
            if kind == "register":
                spec = registers.get(register or "")
                if spec is None or not spec.numeric:
                    raise col.error(
                        "register", f"needs a numeric register from [registers], got {register!r}"
                    )
            text = col.text("text", "") or ""
            address = col.text("address", "") or ""
            unit = col.text("unit", "") or ""
            for key, value in (("text", text), ("address", address), ("unit", unit)):
                _check_wire_text(col, key, value, "()*/!")
            columns.append(ArchiveColumn(kind, address, unit, register, text))
            col.finish()
        if not columns:
            raise sub.error("columns", "an archive needs at least one column")
        archives.append(
            Archive(
                number=number,
                period=_period(sub, 60),
                depth=sub.integer("depth", 1000, minimum=1),
                columns=tuple(columns),
                counter_digits=sub.integer("counter_digits", 6, minimum=1),
                gnum_offset=sub.integer("gnum_offset", 0),
                read=_access(sub, "read", protocol, Access.NONE),
            )
        )
        sub.finish()
    numbers = [a.number for a in archives]
    if len(set(numbers)) != len(numbers):
        raise root.error("archives", "two archives share a number")
    return tuple(archives)


def _modes(meter: Table, ident: Identification, push: bool) -> frozenset[ProtocolMode]:
    own = ident.mode if ident.mode is not ProtocolMode.E else ProtocolMode.C
    derived: set[ProtocolMode] = {own}
    if ident.mode_e_capable:
        derived.add(ProtocolMode.E)
    if push:
        derived.add(ProtocolMode.D)
    raw = meter.raw("modes")
    if raw is None:
        return frozenset(derived)
    if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
        raise meter.error("modes", 'expected an array like ["C", "E"]')
    wanted: set[ProtocolMode] = set()
    for m in raw:
        try:
            wanted.add(ProtocolMode(m.upper()))
        except ValueError:
            raise meter.error("modes", f"unknown mode {m!r}") from None
    if own is ProtocolMode.C:
        wanted.discard(ProtocolMode.A)  # the standard's fallback of every mode C meter
    extra = wanted - derived
    if extra:
        names = ", ".join(sorted(m.value for m in extra))
        offered = ", ".join(sorted(m.value for m in derived))
        raise meter.error(
            "modes", f"{names} not offered: identification /{ident.text} and [push] give {offered}"
        )
    if own not in wanted and wanted != {ProtocolMode.D}:
        raise meter.error(
            "modes", f"mode {own.value} follows from Z={ident.baud_char!r}; it cannot be left out"
        )
    return frozenset(wanted)


def parse_description(text: str, *, source: str = "<string>") -> MeterDescription:
    """Read a meter description from TOML text.

    Top-level tables: ``[meter]`` (identification, address, protocol, modes, timing, digits,
    block_size, operand, bcc), ``[clock]`` (origin, speed, season), ``[registers]`` (address =
    text | number | {value, unit, rate_per_hour, daily_shape, digits, decimals, clock, read,
    write}), ``[readout]`` (layout, lists), ``[push]`` (interval, layout), ``[[profiles]]``
    (address, period, depth, block_size, status_digits, read, channels, status), ``[security]``
    (p1, p2, p2_algorithm, execute), ``[locks]`` (LIS-200: supplier, customer and their
    addresses), ``[[archives]]`` (LIS-200: number, period, depth, counter_digits, gnum_offset,
    read, columns), ``[errors]`` (one text per situation, ``<NAK>`` or ``<B0>`` for those
    replies) and ``[faults]`` (see :class:`~meterlink.emulator.faults.Faults`).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocalProtocolError(f"{source}: not valid TOML: {exc}") from None
    root = Table(data, "")
    try:
        return _description(root)
    except LocalProtocolError as exc:
        raise LocalProtocolError(f"{source}: {exc}") from None


def _description(root: Table) -> MeterDescription:
    meter = root.table("meter")
    if not root.has("meter"):
        raise root.error("meter", "missing [meter] table")
    protocol_name = meter.text("protocol", Protocol.IEC.value) or Protocol.IEC.value
    try:
        protocol = Protocol(protocol_name)
    except ValueError:
        raise meter.error("protocol", f"expected iec62056-21 or lis200, got {protocol_name!r}") from None
    ident = _identification(meter)
    address = meter.text("address", "") or ""
    try:
        RequestMessage(address)
    except LocalProtocolError as exc:
        raise meter.error("address", str(exc)) from None
    bcc_name = meter.text("bcc", "xor") or "xor"
    if bcc_name not in ("xor", "sum"):
        raise meter.error("bcc", f"expected xor or sum, got {bcc_name!r}")
    default_tr = ident.reaction_time_ms / 1000
    reaction = meter.number("reaction_time", default_tr, minimum=0.0)
    switch = meter.number("switch_delay", 0.5, minimum=0.0)
    option = meter.number("option_timeout", 2.0, minimum=0.0)
    after_readout = meter.number("after_readout_timeout", 1.5, minimum=0.0)
    inactivity = meter.number("inactivity_timeout", 120.0, minimum=0.001)
    block = meter.integer("block_size", 64, minimum=0) or None
    operand = meter.text("operand", "") or ""
    try:
        ErrorMessage(operand)  # the same character rules as any bracketed value
    except LocalProtocolError as exc:
        raise meter.error("operand", str(exc)) from None
    name = meter.text("name", "") or ""
    accept_lower = meter.flag("accept_lower_baud", True)
    fast_wake_up = meter.flag("fast_wake_up", False)
    wake_window = meter.number("wake_window", 1.5, minimum=0.0)
    meter.integer("digits", 6)
    meter.integer("decimals", 3)

    reg_table = root.table("registers")
    registers: dict[str, RegisterSpec] = {}
    for key, raw in reg_table.data.items():
        reg_table.used.add(key)
        _check_wire_text(reg_table, key, key, "()/!")
        registers[key] = _register(reg_table, key, raw, meter, protocol)

    readout = root.table("readout")
    layout = _layout(readout, "layout", registers)
    if layout is None:
        layout = tuple(LayoutItem(register=a) for a, r in registers.items() if r.read is Access.NONE)
    lists_table = readout.table("lists")
    lists: dict[str, tuple[LayoutItem, ...]] = {}
    for key in list(lists_table.data):
        if len(key) != 1 or key in "/!" or not (0x20 < ord(key) < 0x7F):
            raise lists_table.error(key, "a readout list is selected by one character after '/' (e.g. \"2\")")
        items = _layout(lists_table, key, registers)
        assert items is not None
        lists[key] = items
    lists_table.finish()
    readout.finish()

    push = root.table("push")
    interval = push.number("interval", None, minimum=0.01)
    push_layout = _layout(push, "layout", registers) or layout
    if root.has("push") and interval is None:
        raise push.error("interval", "missing (seconds between telegrams)")
    if fast_wake_up and root.has("push"):
        raise meter.error("fast_wake_up", "a sleeping battery meter does not push telegrams ([push])")
    push.finish()

    modes = _modes(meter, ident, interval is not None)
    meter.finish()

    sec = root.table("security")
    security = Security(
        p1=sec.text("p1"),
        p2=sec.text("p2"),
        p2_algorithm=sec.text("p2_algorithm", "plain") or "plain",
        execute=_access(sec, "execute", Protocol.IEC, Access.LEVEL1),
    )
    if security.p2_algorithm not in PASSWORD_ALGORITHMS:
        raise sec.error("p2_algorithm", f"unknown algorithm; known: {sorted(PASSWORD_ALGORITHMS)}")
    for key in ("p1", "p2"):
        value = getattr(security, key)
        if value is not None:
            _check_wire_text(sec, key, value, "()*/!")
    sec.finish()
    if root.has("security") and protocol is Protocol.LIS200:
        raise root.error("security", "LIS-200 meters use [locks], not passwords")

    lock_table = root.table("locks")
    if root.has("locks") and protocol is not Protocol.LIS200:
        raise root.error("locks", 'locks belong to LIS-200 meters (protocol = "lis200")')
    locks = Locks(
        supplier=lock_table.text("supplier"),
        customer=lock_table.text("customer"),
        supplier_address=lock_table.text("supplier_address", "3:171.0") or "3:171.0",
        customer_address=lock_table.text("customer_address", "4:171.0") or "4:171.0",
        supplier_status_address=lock_table.text("supplier_status_address", "3:170.0") or "3:170.0",
        customer_status_address=lock_table.text("customer_status_address", "4:170.0") or "4:170.0",
    )
    lock_table.finish()

    err_table = root.table("errors")
    errors: dict[str, str] = {}
    for key in list(err_table.data):
        if key not in ERROR_KINDS:
            raise err_table.error(key, f"unknown situation; known: {', '.join(ERROR_KINDS)}")
        value = err_table.text(key) or ""
        if value not in (NAK_REPLY, BREAK_REPLY):
            try:
                ErrorMessage(value)
            except LocalProtocolError as exc:
                raise err_table.error(key, str(exc)) from None
        errors[key] = value

    clock_table = root.table("clock")
    season = clock_table.integer("season", 0)
    if season > 2:
        raise clock_table.error("season", "VDEW season digit is 0 (normal), 1 (summer) or 2 (UTC)")
    clock = ClockSpec(
        origin=clock_table.datetime("origin"),
        speed=clock_table.number("speed", 1.0, minimum=1e-6) or 1.0,
        season=season,
    )
    clock_table.finish()

    profiles = _profiles(root, registers, protocol, block)
    archives = _archives(root, registers, protocol)
    faults = Faults.from_table(root.table("faults"))
    root.finish()

    return MeterDescription(
        identification=ident,
        protocol=protocol,
        name=name,
        address=address,
        modes=modes,
        accept_lower_baud=accept_lower,
        reaction_time=reaction if reaction is not None else default_tr,
        switch_delay=switch if switch is not None else 0.5,
        option_timeout=option if option is not None else 2.0,
        after_readout_timeout=after_readout if after_readout is not None else 1.5,
        inactivity_timeout=inactivity if inactivity is not None else 120.0,
        fast_wake_up=fast_wake_up,
        wake_window=wake_window if wake_window is not None else 1.5,
        operand=operand,
        bcc=BccKind(bcc_name),
        block_size=block,
        registers=MappingProxyType(registers),
        layout=layout,
        lists=MappingProxyType(lists),
        push_interval=interval,
        push_layout=push_layout,
        profiles=profiles,
        archives=archives,
        security=security,
        locks=locks,
        errors=MappingProxyType(errors),
        clock=clock,
        faults=faults,
    )


def load_description(path: str | Path) -> MeterDescription:
    """Read a meter description from a TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LocalProtocolError(f"cannot read meter description {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LocalProtocolError(f"meter description {path} is not UTF-8 text") from None
    return parse_description(text, source=str(path))


BUILTIN_NAME: Final = "emh-lzqj.toml"


def builtin_text() -> str:
    """The TOML of the built-in meter (an EMH LZQJ-XC electricity meter, VDEW P.01 profile)."""
    return resources.files(__package__).joinpath(BUILTIN_NAME).read_text(encoding="utf-8")


def builtin_description() -> MeterDescription:
    """The meter the emulator runs when no description is given."""
    return parse_description(builtin_text(), source=f"<built-in {BUILTIN_NAME}>")
