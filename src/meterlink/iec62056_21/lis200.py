"""Elster LIS-200 (EK220/260/270/280 volume converters, DL2x0 loggers) over a meterlink :class:`Client`.

LIS-200 is IEC 62056-21 mode C programming with its own conventions, all of which this module
speaks on top of an open :class:`~.client.Programming` session:

* **locks instead of passwords**: ``W1 3:171.0(key)`` opens the supplier lock, ``W1 4:171.0(key)``
  the customer lock; their state is read at ``3:170.0``/``4:170.0`` and writing ``0`` there closes
  them (addresses configurable with :class:`LockAddresses`);
* **registers** ``instance:register.attribute`` read as ``R1 2:310.0(1)``, typed here as
  :class:`~decimal.Decimal`, :class:`~datetime.datetime` or text, with the unit;
* **archives** read as ``R3 <n>:V.0(<position>;<from>;<to>;<rows per block>)`` in partial blocks
  (``R1`` without the rows count for one block): rows of global and archive ordinal number,
  timestamp and values; attribute 3 lists the column units, attribute 4 their source registers,
  attribute A counts rows;
* **timestamps** ``YYYY-MM-DD,hh:mm:ss``, naive local time of the device;
* **errors** ``#nnnn``, raised as :class:`~meterlink.errors.MeterReportedError` with ``code`` and
  a ``meaning`` from :data:`ERRORS` (an unknown code keeps its text, with no meaning);
* a session ends with ``B0`` sent twice (:meth:`Lis200.session` does it).

Example::

    with Client.tcp("10.0.0.7", 8000) as client:
        with Lis200.session(client, lock=Lock.CUSTOMER, key="22222222") as ek:
            flow = ek.read("2:310.0")                   # Register(value=Decimal('3.2'), unit='m3|h')
            archive = ek.read_archive(3, start=dt.datetime(2024, 3, 1), header=True)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Final, Self

from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError, MeterReportedError

from .client import Client, Programming, ReadResult
from .messages import BREAK

__all__ = [
    "DEFAULT_LOCKS",
    "ERRORS",
    "TIMESTAMP_FORMAT",
    "ArchiveColumn",
    "ArchiveLayout",
    "ArchiveReadout",
    "ArchiveRow",
    "Cell",
    "Lis200",
    "Lock",
    "LockAddresses",
    "Register",
    "format_timestamp",
    "meter_error",
    "parse_archive",
    "parse_timestamp",
]

TIMESTAMP_FORMAT: Final = "%Y-%m-%d,%H:%M:%S"
"""How LIS-200 devices print and expect date and time: ``2024-03-01,08:00:00``."""

ERRORS: Final[Mapping[int, str]] = MappingProxyType(
    {
        1: "unknown address",
        2: "object not available",
        3: "instance of the object not available",
        4: "unknown attribute",
        5: "attribute not available for this object",
        6: "value outside the allowed range",
        9: "a constant cannot be written",
        11: "no input allowed, so no value range",
        13: "wrong input",
        14: "unknown unit code",
        17: "wrong access code (lock key)",
        18: "no read authorisation",
        19: "no write authorisation",
        20: "function locked",
        100: "archive not available",
        101: "value position not available",
        103: "archive empty",
        104: "lower bound (from) not found",
        105: "upper bound (to) not found",
        108: "too many archives open at the same time",
        109: "archive entry overwritten while reading",
        110: "CRC error in an archive record",
        180: "source not allowed",
        200: "syntax error in the command",
        201: "wrong password",
        222: "EEPROM read error",
        223: "EEPROM write error",
        249: "encoder mode not possible, counter cannot be changed",
    }
)
"""The ``#nnnn`` codes of LIS-200 devices and what they mean."""

_ERROR_RE: Final = re.compile(r"#([0-9]{1,5})")
_GROUP_RE: Final = re.compile(r"\(([^()]*)\)")
_ROW_RE: Final = re.compile(r"(?:\([^()]*\))+")
_TIMESTAMP_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2},[0-9]{2}:[0-9]{2}:[0-9]{2}")
_NUMBER_RE: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")

Cell = Decimal | dt.datetime | str
"""A typed value: a number, a timestamp, or the text as sent."""


# ------------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------------
def parse_timestamp(text: str) -> dt.datetime:
    """``YYYY-MM-DD,hh:mm:ss`` as a naive :class:`~datetime.datetime` (the device's local time)."""
    try:
        return dt.datetime.strptime(text.strip(), TIMESTAMP_FORMAT)
    except ValueError:
        raise MalformedDataError(
            f"{text!r} is not a LIS-200 timestamp YYYY-MM-DD,hh:mm:ss", data=text.encode("latin-1", "replace")
        ) from None


def format_timestamp(stamp: dt.datetime) -> str:
    """A naive datetime as ``YYYY-MM-DD,hh:mm:ss``; aware ones are refused (the device has no zone)."""
    if stamp.tzinfo is not None and stamp.utcoffset() is not None:
        raise LocalProtocolError("LIS-200 devices keep naive local time: pass a naive datetime")
    return stamp.strftime(TIMESTAMP_FORMAT)


def _typed(text: str) -> Cell:
    stripped = text.strip()
    if _TIMESTAMP_RE.fullmatch(stripped):
        return parse_timestamp(stripped)
    if _NUMBER_RE.fullmatch(stripped):
        return Decimal(stripped)
    return text


def meter_error(text: str) -> MeterReportedError:
    """The error for a ``#nnnn`` answer, with ``code`` and the ``meaning`` from :data:`ERRORS`."""
    match = _ERROR_RE.fullmatch(text.strip())
    if match is None:
        return MeterReportedError(text)
    code = int(match.group(1))
    return MeterReportedError(text, code=code, meaning=ERRORS.get(code))


@contextmanager
def _decoded() -> Iterator[None]:
    """Re-raise a meter's ``#nnnn`` answer with its LIS-200 meaning."""
    try:
        yield
    except MeterReportedError as exc:
        if exc.meaning is None and _ERROR_RE.fullmatch(exc.text.strip()):
            raise meter_error(exc.text) from exc
        raise


def _check(result: ReadResult) -> ReadResult:
    """Some devices put the ``#nnnn`` inside a data set (``2:310.0(#0018)``): raise it too."""
    for data_set in result.data_sets:
        for value in data_set.values:
            if _ERROR_RE.fullmatch(value.raw.strip()):
                raise meter_error(value.raw)
    return result


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------
class Lock(StrEnum):
    """The two locks of a LIS-200 device."""

    SUPPLIER = "supplier"
    """Calibration-independent settings, the clock: ``3:171.0``."""
    CUSTOMER = "customer"
    """Customer settings and archives: ``4:171.0``."""


@dataclass(frozen=True, slots=True)
class LockAddresses:
    """Where a lock's key is written (``3:171.0``) and its state read and closed (``3:170.0``)."""

    key: str
    status: str


DEFAULT_LOCKS: Final[Mapping[Lock, LockAddresses]] = MappingProxyType(
    {
        Lock.SUPPLIER: LockAddresses(key="3:171.0", status="3:170.0"),
        Lock.CUSTOMER: LockAddresses(key="4:171.0", status="4:170.0"),
    }
)


@dataclass(frozen=True, slots=True)
class Register:
    """A register's answer: ``value`` typed, ``text`` and ``unit`` as sent."""

    address: str
    value: Cell
    unit: str | None
    text: str


@dataclass(frozen=True, slots=True)
class ArchiveLayout:
    """Which columns (1-based positions) hold the ordinal numbers and the timestamp."""

    gnum: int = 1
    """Global ordinal number (counts every archive entry of the device)."""
    lnum: int = 2
    """The archive's own ordinal number."""
    time: int = 3


@dataclass(frozen=True, slots=True)
class ArchiveColumn:
    """One archive column: its 1-based ``position``, ``source`` register (attribute 4), ``unit`` (3)."""

    position: int
    source: str | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class ArchiveRow:
    """One archive entry. ``values`` holds every column typed; ``cells`` the texts as sent."""

    gnum: int
    lnum: int
    timestamp: dt.datetime
    values: tuple[Cell, ...]
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArchiveReadout:
    """The rows of one archive read; ``columns`` only when the header was asked for."""

    archive: int
    rows: tuple[ArchiveRow, ...]
    columns: tuple[ArchiveColumn, ...] = ()
    blocks: int = 1
    """How many (partial) blocks the rows came in."""

    def __iter__(self) -> Iterator[ArchiveRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _groups(text: str, what: str) -> list[str]:
    """The bracket groups of a one-line answer such as ``(m3)(m3)()``."""
    line = text.strip()
    if line and not _ROW_RE.fullmatch(line):
        raise MalformedDataError(
            f"{what} is not a row of bracket groups", data=text.encode("latin-1", "replace")
        )
    return _GROUP_RE.findall(line)


def _row(cells: tuple[str, ...], layout: ArchiveLayout, line: str) -> ArchiveRow:
    try:
        gnum = int(cells[layout.gnum - 1])
        lnum = int(cells[layout.lnum - 1])
        stamp = parse_timestamp(cells[layout.time - 1])
    except (IndexError, ValueError, MalformedDataError):
        raise MalformedDataError(
            "archive row without ordinal numbers and timestamp", data=line.encode("latin-1", "replace")
        ) from None
    return ArchiveRow(gnum, lnum, stamp, tuple(_typed(cell) for cell in cells), cells)


def _split(cells: tuple[str, ...], layout: ArchiveLayout) -> list[tuple[str, ...]]:
    """Rows that ran together on one line (a block that ended without CR LF), cut at their timestamps.

    Only cut when every part is a row: equal widths, and rising global and archive numbers.
    """
    stamps = [i for i, cell in enumerate(cells) if _TIMESTAMP_RE.fullmatch(cell.strip())]
    if len(stamps) < 2 or stamps[0] != layout.time - 1:
        return [cells]
    width = stamps[1] - stamps[0]
    if len(cells) != width * len(stamps) or any(b - a != width for a, b in pairwise(stamps)):
        return [cells]
    parts = [cells[i : i + width] for i in range(0, len(cells), width)]
    try:
        numbers = [(int(part[layout.gnum - 1]), int(part[layout.lnum - 1])) for part in parts]
    except (IndexError, ValueError):
        return [cells]
    rising = all(b[0] > a[0] and b[1] > a[1] for a, b in pairwise(numbers))
    return parts if rising else [cells]


def parse_archive(
    text: str, archive: int, *, layout: ArchiveLayout | None = None, blocks: int = 1
) -> ArchiveReadout:
    """The rows of an archive answer (all blocks joined): ``(gnum)(lnum)(time)(v)...`` per line.

    Blank lines are skipped; rows that ran together on one line (a device that ends a partial
    block without CR LF) are cut apart at their timestamps.
    """
    chosen = layout or ArchiveLayout()
    rows: list[ArchiveRow] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = tuple(_groups(line, "archive row"))
        rows.extend(_row(part, chosen, line) for part in _split(cells, chosen))
    return ArchiveReadout(archive, tuple(rows), blocks=blocks)


# ------------------------------------------------------------------------------------------------
# the device
# ------------------------------------------------------------------------------------------------
class Lis200:
    """A LIS-200 device in an open programming session (see :meth:`session` to open one)."""

    def __init__(
        self, programming: Programming, *, locks: Mapping[Lock, LockAddresses] = DEFAULT_LOCKS
    ) -> None:
        self.programming = programming
        self.locks = locks

    @classmethod
    @contextmanager
    def session(
        cls,
        client: Client,
        *,
        lock: Lock | None = None,
        key: str | None = None,
        locks: Mapping[Lock, LockAddresses] = DEFAULT_LOCKS,
        close_lock: bool = True,
    ) -> Iterator[Self]:
        """Programming mode (no password: LIS-200 has locks), ``lock`` opened with ``key``.

        On the way out the lock is closed again if this session opened it, then ``B0`` goes out
        twice, as LIS-200 devices expect.
        """
        if lock is not None and key is None:
            raise LocalProtocolError(f"opening the {lock} lock needs its key")
        with client.programming() as programming:
            device = cls(programming, locks=locks)
            opened = device.open_lock(lock, key) if lock is not None and key is not None else False
            try:
                yield device
            except BaseException:
                if opened and close_lock and lock is not None:
                    with suppress(MeterlinkError):
                        device.close_lock(lock)
                raise
            if opened and close_lock and lock is not None:
                device.close_lock(lock)
        client.link.write(BREAK.to_bytes())

    # -- locks ----------------------------------------------------------------------------------
    def _lock(self, lock: Lock | str) -> LockAddresses:
        try:
            return self.locks[Lock(lock)]
        except (ValueError, KeyError):
            raise LocalProtocolError(f"unknown lock {lock!r}: supplier or customer") from None

    def lock_open(self, lock: Lock | str) -> bool:
        """Read the lock's state: True when open."""
        address = self._lock(lock).status
        state = self.read(address).text.strip()
        if state not in ("0", "1"):
            raise MalformedDataError(
                f"lock state {address} is {state!r}, expected 0 or 1", data=state.encode()
            )
        return state == "1"

    def open_lock(self, lock: Lock | str, key: str, *, check: bool = True) -> bool:
        """Write ``key`` to the lock; with ``check`` only if it is closed. True if it was written.

        Writing the key to a lock that is already open changes the key on real devices, which
        is why ``check`` reads the state first. A wrong key raises code 17 (or the device breaks off).
        """
        if check and self.lock_open(lock):
            return False
        with _decoded():
            self.programming.write(self._lock(lock).key, key)
        return True

    def close_lock(self, lock: Lock | str) -> None:
        """Close the lock (``W1 3:170.0(0)``)."""
        with _decoded():
            self.programming.write(self._lock(lock).status, "0")

    # -- registers ------------------------------------------------------------------------------
    def read(self, address: str) -> Register:
        """``R1 address(1)``: the register's value typed, with its unit."""
        with _decoded():
            result = _check(self.programming.read(address, "1"))
        value = result.value
        return Register(result.data_set.address or address, _typed(value.value), value.unit, value.value)

    def write(self, address: str, value: Cell | int | float) -> None:
        """``W1 address(value)``; a datetime goes out as ``YYYY-MM-DD,hh:mm:ss``."""
        text = format_timestamp(value) if isinstance(value, dt.datetime) else str(value)
        with _decoded():
            self.programming.write(address, text)

    # -- archives -------------------------------------------------------------------------------
    def read_archive(
        self,
        archive: int,
        start: dt.datetime | int | None = None,
        end: dt.datetime | int | None = None,
        *,
        position: int | None = None,
        rows_per_block: int | None = 10,
        header: bool = False,
        layout: ArchiveLayout | None = None,
    ) -> ArchiveReadout:
        """Rows of ``archive`` from ``start`` to ``end`` (both included, None: open end).

        Bounds are timestamps (the timestamp column bounds) or ordinal numbers (the global
        ordinal column, unless ``position`` says another). ``rows_per_block`` asks for partial
        blocks (``R3``); None reads in one block (``R1``). ``header`` adds the columns' units and
        sources (attributes 3 and 4).
        """
        chosen = layout or ArchiveLayout()
        query = self._query(start, end, position, chosen)
        if rows_per_block is not None and rows_per_block < 1:
            raise LocalProtocolError("rows_per_block must be at least 1 (or None for one block)")
        rows = "" if rows_per_block is None else str(rows_per_block)
        command = "R1" if rows_per_block is None else "R3"
        with _decoded():
            result = _check(self.programming.read(f"{archive}:V.0", f"{query};{rows}", command=command))
        readout = parse_archive(result.text, archive, layout=chosen, blocks=result.blocks)
        if not header:
            return readout
        units = self._attribute(archive, "3", query)
        sources = self._attribute(archive, "4", query)
        count = max(len(units), len(sources), *(len(row.cells) for row in readout.rows))
        columns = tuple(ArchiveColumn(i + 1, _item(sources, i), _item(units, i)) for i in range(count))
        return ArchiveReadout(archive, readout.rows, columns, readout.blocks)

    def count_archive_rows(
        self,
        archive: int,
        start: dt.datetime | int | None = None,
        end: dt.datetime | int | None = None,
        *,
        position: int | None = None,
        layout: ArchiveLayout | None = None,
    ) -> int:
        """How many rows :meth:`read_archive` would return (attribute A)."""
        query = self._query(start, end, position, layout or ArchiveLayout())
        groups = self._attribute(archive, "A", query)
        if len(groups) != 1 or not groups[0].strip().isdigit():
            raise MalformedDataError(
                f"row count of archive {archive} is {groups!r}", data=repr(groups).encode()
            )
        return int(groups[0])

    def _attribute(self, archive: int, attribute: str, query: str) -> list[str]:
        with _decoded():
            result = _check(self.programming.read(f"{archive}:V.{attribute}", f"{query};"))
        return _groups(result.text, f"attribute {attribute} of archive {archive}")

    @staticmethod
    def _query(
        start: dt.datetime | int | None,
        end: dt.datetime | int | None,
        position: int | None,
        layout: ArchiveLayout,
    ) -> str:
        by_number = isinstance(start, int) or isinstance(end, int)
        if by_number and (isinstance(start, dt.datetime) or isinstance(end, dt.datetime)):
            raise LocalProtocolError("archive bounds must both be timestamps or both ordinal numbers")
        chosen = position if position is not None else (layout.gnum if by_number else layout.time)
        if not 1 <= chosen <= 99:
            raise LocalProtocolError(f"archive position must be 1 to 99, got {chosen}")
        return f"{chosen};{_bound(start)};{_bound(end)}"


def _bound(value: dt.datetime | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    return str(value)


def _item(items: list[str], index: int) -> str | None:
    return (items[index] or None) if index < len(items) else None
