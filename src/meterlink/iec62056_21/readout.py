"""The IEC 62056-21 readout parser: raw meter bytes in, ordered data sets out.

A readout is ``[echo/noise] [/ident CR LF] [STX] data-block [ETX BCC]`` and the data block is
``address(value*unit)(...)...`` lines ending in ``!``. Real meters bend every part of that
(section 1.11 of the research notes); this module absorbs the deviations instead of rejecting
the reading:

* echo of ``/?!`` and of the ACK option select, NULs, 0x7F runs and other noise before the
  identification are skipped; the identification itself is optional;
* the block may be framed (``STX ... ETX|EOT BCC``) or bare (mode D push, meters stopping at
  ``! CR LF``); bit 7 (parity) is cleared first;
* ``!`` may share the last data line, lines may end in CR LF, LF, CR or be doubled;
* an address may carry several bracket groups, and a line made only of groups continues the
  data set above it (DSMR 2.2/3 gas) -- except below a load profile or logbook header
  (``P.01``, ``P.98`` ...) or another bare line, where it is a *row*: a data set with the empty
  address ``""`` (VDEW profile rows, LIS-200 archive rows, ``(ER12)`` error texts);
* nothing is silently dropped: text that is not a data set (a missing bracket, stray noise)
  becomes a *malformed* data set whose ``address`` holds that text verbatim, with no values and
  no OBIS code (``DataSet.malformed`` is True); only blank text and the ``!`` end mark (with an
  optional DSMR CRC after it) are discarded.

Performance is a design goal (a 200-line mode C readout with a profile block parses about
eight times faster than with the PyPI ``iec62056-21`` package): C-level ``str`` methods cut the
block into lines and each line at its first ``(``, and a few ``str.count`` checks prove that
this fast path saw clean input (profile rows below a ``P.nn`` header included); only odd input
(continuation lines, stray brackets, blank lines ...) takes the general tokenizer. Data sets
keep their text and split it into :class:`Value` objects, OBIS codes and typed values only when
asked (lazily, cached), so a caller reading five registers out of two hundred pays for five.
That is also why :class:`DataSet` and :class:`Value` are hand-written slotted classes with
read-only properties rather than frozen dataclasses: a frozen dataclass ``__init__`` costs about
three times as much per object.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from itertools import compress, islice, repeat, starmap
from operator import attrgetter, itemgetter, not_
from typing import Any, Final

from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError
from meterlink.obis import Obis

from .bcc import BccKind, bcc
from .messages import DataMessage, Identification
from .values import MeterDate, MeterDateTime, parse_date, parse_datetime, parse_decimal, parse_int, parse_time

__all__ = ["DataSet", "Readout", "Value", "parse_data_block", "parse_readout", "readout_from_message"]

_PARITY_MASK: Final = bytes(b & 0x7F for b in range(256))
# Noise that may precede a bare (unframed) block: C0 controls and DEL, never part of an address.
_LEADING_NOISE: Final = bytes(range(0x20)) + b"\x7f"
_PAD: Final = " \t\x00"

# General tokenizer: a data set | a line break | the rest of a line that is not a data set.
# The last group of a line may lack its ')' (Pafal drops it after NUL values): the line end
# closes it.
_TOKEN_RE: Final = re.compile(r"([^()\n]*)((?:\([^()\n]*\))*\([^()\n]*(?:\)|(?=\n)|\Z))|(\n)|([^\n]+)")
# What may follow the final '!': nothing but blanks, or a DSMR CRC-16 as 4 hex digits.
_END_TAIL_RE: Final = re.compile(r"(?:[0-9A-Fa-f]{4})?\s*")
_END_MARK_RE: Final = re.compile(r"[ \t\x00]*![ \t\x00]*(?:[0-9A-Fa-f]{4})?[ \t\x00]*")
# Addresses under which bare lines are rows, not continuations: VDEW P.01, P.02, P.98, P.200 ...
_PROFILE_HEADER_RE: Final = re.compile(r"(?:[0-9]{1,3}-[0-9]{1,3}:)?P\.[0-9]{1,3}(?:\*[0-9]{1,3})?")
# "0000000 kWh": a number, blanks, a unit word, optionally more text (an AUX timestamp).
_EMBEDDED_UNIT_RE: Final = re.compile(
    r"[ \t\x00]*([+-]?[0-9]*(?:[.,][0-9]*)?) +([^ 0-9.,+-][^ ]*)(?: +(.*?))?[ \t\x00]*", re.ASCII
)


_ADDRESS: Final = attrgetter("_address")
_GROUPS: Final = attrgetter("_groups")
_FIRST: Final = itemgetter(0)


@lru_cache(maxsize=16)
def _splitter(separators: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(separators) + "]")


# -- values -----------------------------------------------------------------------------------


class Value:
    """One bracket group ``(value*unit)`` of a data set, kept as text, typed on demand.

    ``value`` is the text as sent without the unit (leading spaces, NULs, signs and all),
    ``unit`` the text after the first ``*``: ``None`` when there is no ``*``, ``""`` when the
    meter sent ``*`` with nothing after it (``013925.5*``, Itron ACE3000) -- the two differ on
    the wire, so they differ here. A group holding ``&``-joined sub-values
    (``088*C&082*C``) has no single unit: ``value`` is then the whole text, ``unit`` is
    ``None``, and :meth:`parts` splits it. ``raw`` is the group's text between the brackets.
    """

    __slots__ = ("_raw", "_unit", "_value")

    _raw: str
    _unit: str | None
    _value: str

    def __init__(self, value: str, unit: str | None = None) -> None:
        if not isinstance(value, str) or (unit is not None and not isinstance(unit, str)):
            raise LocalProtocolError("value and unit must be str (unit may be None)")
        if "*" in value or "(" in value or ")" in value or "&" in value:
            raise LocalProtocolError(f"value {value!r} contains '*', '&' or a bracket; use Value.from_raw")
        if unit is not None and ("(" in unit or ")" in unit or "&" in unit):
            raise LocalProtocolError(f"unit {unit!r} contains '&' or a bracket")
        self._value = value
        self._unit = unit
        self._raw = value if unit is None else f"{value}*{unit}"

    @classmethod
    def from_raw(cls, raw: str) -> Value:
        """The value of a group's text as sent between the brackets, e.g. ``'1234.5*kWh'``."""
        if not isinstance(raw, str) or "(" in raw or ")" in raw:
            raise LocalProtocolError(f"group text must be a str without brackets, got {raw!r}")
        return _ParsedValue(raw)

    # -- the text ------------------------------------------------------------------------------
    @property
    def value(self) -> str:
        return self._value

    @property
    def unit(self) -> str | None:
        return self._unit

    @property
    def raw(self) -> str:
        return self._raw

    @property
    def effective_unit(self) -> str | None:
        """The unit however the meter placed it: after ``*`` (first word), or embedded.

        ``1.8.0(0000000 kWh)`` (Iskra MT171) has no ``*`` but a unit after a space; ``1.6.0(1.124*kW
        1250625171500)`` (AUX) has a timestamp after the unit. Both give ``'kWh'``/``'kW'``.
        ``None`` when there is no unit or it is empty.
        """
        return self._unit_and_extra()[0]

    @property
    def extra(self) -> str | None:
        """Text after the unit word, e.g. the AUX timestamp in ``1.124*kW 1250625171500``."""
        return self._unit_and_extra()[1]

    def _unit_and_extra(self) -> tuple[str | None, str | None]:
        if self._unit is not None:
            word, _, rest = self._unit.strip(_PAD).partition(" ")
            return word or None, rest.strip(_PAD) or None
        match = _EMBEDDED_UNIT_RE.fullmatch(self._value)
        if match is None or not any(ch.isdigit() for ch in match[1]):
            return None, None
        return match[2], match[3] or None

    # -- typed views ---------------------------------------------------------------------------
    def decimal(self) -> Decimal:
        """The exact number (sign, padding and decimal comma accepted).

        A unit embedded after a space (``0000000 kWh``) is allowed and ignored; anything else
        that is not a number raises :class:`~meterlink.errors.MalformedDataError`.
        """
        try:
            return parse_decimal(self._value)
        except MalformedDataError:
            match = _EMBEDDED_UNIT_RE.fullmatch(self._value) if self._unit is None else None
            if match is None or match[3] is not None:
                raise
            return parse_decimal(match[1])

    def number(self) -> Decimal | None:
        """Like :meth:`decimal`, but ``None`` for empty, ``??``-style or other non-numbers."""
        try:
            return self.decimal()
        except MalformedDataError:
            return None

    def as_int(self, base: int = 10) -> int:
        """The value as an integer, e.g. ``as_int(16)`` for a hex status word like ``FDF5``."""
        return parse_int(self._value, base)

    def timestamp(self, *, century: int = 2000) -> MeterDateTime:
        """Date and time (any format of :func:`~.values.parse_datetime`), naive, with season."""
        return parse_datetime(self._value, century=century)

    def date(self, *, century: int = 2000) -> MeterDate:
        """The date (``YYMMDD``, ``sYYMMDD``, ``YY-MM-DD`` ...), with season if printed."""
        return parse_date(self._value, century=century)

    def time(self) -> dt.time:
        """The time of day (``hhmmss``, ``hh:mm:ss`` ...) as :class:`datetime.time`."""
        return parse_time(self._value)

    def parts(self, separators: str = "&#,") -> tuple[Value, ...]:
        """Sub-values split on ``&``, ``#`` and ``,`` (each with its own optional unit).

        ``088*C&082*C`` gives ``Value('088', 'C'), Value('082', 'C')``; ``V01.69#EEA3546C`` and
        ``19-05-10,10:01`` split likewise. Do not use it on decimal-comma numbers, or pass
        ``separators`` without ``,``.
        """
        if not separators:
            return (self,)
        return tuple(map(_ParsedValue, _splitter(separators).split(self._raw)))

    # -- dunder --------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Value):
            return self._raw == other._raw
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._raw)

    def __str__(self) -> str:
        return self._raw

    def __repr__(self) -> str:
        if self._unit is None:
            return f"Value({self._value!r})"
        return f"Value({self._value!r}, unit={self._unit!r})"

    def to_dict(self) -> dict[str, str | None]:
        return {"value": self._value, "unit": self._unit}


class _ParsedValue(Value):
    """A :class:`Value` cut from received text: skips the argument checks of the public init."""

    __slots__ = ()

    def __init__(self, raw: str) -> None:
        self._raw = raw
        value, star, unit = raw.partition("*")
        if not star or "&" in raw:  # "088*C&082*C" has no single unit, see parts()
            self._value = raw
            self._unit = None
        else:
            self._value = value
            self._unit = unit


# -- data sets --------------------------------------------------------------------------------


class DataSet:
    """``address(value*unit)(...)``: one data set of a readout, in the order it was sent.

    ``address`` is exactly as printed (``1-0:1.8.0*255``, ``1.8.0``, ``C.1``, ``3:171.0``,
    ``VOLTA``) and ``""`` for a bare line of groups (a profile row). ``obis`` is the address
    parsed as an OBIS code, ``None`` when it is not one. ``values`` holds every bracket group
    in order, including groups continued on following lines.

    A *malformed* data set stands for text that was not a data set at all; its ``address`` is
    that text, it has no values and no OBIS code. Parsed data sets split their groups into
    values on first access and keep them; the OBIS code comes from the process-wide cache of
    :meth:`Obis.try_parse`.
    """

    __slots__ = ("_address", "_groups", "_values")

    _address: str
    _groups: str | None
    _values: tuple[Value, ...] | None

    def __init__(self, address: str, values: Iterable[Value] = ()) -> None:
        if not isinstance(address, str) or "(" in address or ")" in address:
            raise LocalProtocolError(f"address must be a str without brackets, got {address!r}")
        items = tuple(values)
        if not all(isinstance(item, Value) for item in items):
            raise LocalProtocolError("values must be Value objects")
        self._address = address
        self._values = items
        self._groups = "".join([f"({item.raw})" for item in items])

    @classmethod
    def malformed_text(cls, text: str) -> DataSet:
        """A data set standing for ``text`` that did not follow the grammar."""
        return _ParsedDataSet(text, None)

    # -- the parts ------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return self._address

    @property
    def obis(self) -> Obis | None:
        # Not stored: Obis.try_parse is cached process-wide, a readout repeats few codes.
        return None if self._groups is None else Obis.try_parse(self._address)

    @property
    def values(self) -> tuple[Value, ...]:
        values = self._values
        return self._split() if values is None else values

    def _split(self) -> tuple[Value, ...]:
        groups = self._groups
        if not groups:
            values: tuple[Value, ...] = ()
        elif ")(" not in groups:
            values = (_ParsedValue(groups[1:-1]),)
        else:
            values = tuple(map(_ParsedValue, groups[1:-1].split(")(")))
        self._values = values
        return values

    @property
    def value(self) -> Value:
        """The first value: what ``address(value)`` means in the common one-group case."""
        values = self._values
        if values is None:
            values = self._split()
        if not values:
            raise MalformedDataError(
                f"data set {self._address!r} has no value", data=self.raw.encode("latin-1", "replace")
            )
        return values[0]

    @property
    def malformed(self) -> bool:
        """True for text that was kept because it was not a data set (see the class doc)."""
        return self._groups is None

    @property
    def raw(self) -> str:
        """The data set's text as received (without line breaks)."""
        return self._address if self._groups is None else self._address + self._groups

    def to_dict(self) -> dict[str, Any]:
        """``{"address", "obis" (canonical text or None), "values": [{"value", "unit"}]}``."""
        obis = self.obis
        return {
            "address": self._address,
            "obis": None if obis is None else obis.canonical,
            "values": [value.to_dict() for value in self.values],
        }

    # -- dunder --------------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, DataSet):
            return self._address == other._address and self._groups == other._groups
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._address, self._groups))

    def __repr__(self) -> str:
        if self._groups is None:
            return f"DataSet.malformed_text({self._address!r})"
        return f"DataSet({self._address!r}, {list(self.values)!r})"


class _ParsedDataSet(DataSet):
    """A :class:`DataSet` cut from received text: keeps the groups' text, splits it lazily."""

    __slots__ = ()

    def __init__(self, address: str, groups: str | None) -> None:
        self._address = address
        self._groups = groups
        self._values = None


class _PartitionedDataSet(_ParsedDataSet):
    """The fast path's data set: built straight from ``line.partition("(")``."""

    __slots__ = ()

    def __init__(self, address: str, bracket: str, rest: str) -> None:
        self._address = address
        self._groups = bracket + rest
        self._values = None


# -- the readout ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Readout:
    """A parsed readout: the identification (if any), every data set in order, the BCC verdict.

    ``bcc_valid`` is ``True``/``False`` for a framed message with a BCC and ``None`` when the
    message had none (mode D, meters stopping at ``! CR LF``). Lookups use the address exactly
    as printed: ``get("1.8.0")`` does not find ``1.8.0*1`` nor ``1-0:1.8.0*255``; use
    :meth:`by_obis` to match by OBIS value groups.
    """

    identification: Identification | None
    data_sets: tuple[DataSet, ...]
    bcc_valid: bool | None = None
    _index: dict[str, DataSet] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.data_sets) is not tuple:  # a list from a caller: keep the readout hashable
            object.__setattr__(self, "data_sets", tuple(self.data_sets))

    def _lookup(self) -> dict[str, DataSet]:
        """Address -> first data set with it; built once, with C-level iteration only."""
        index = self._index
        if index is None:
            sets = self.data_sets
            if None in map(_GROUPS, sets):  # malformed text is not an address
                sets = tuple(data_set for data_set in sets if not data_set.malformed)
            backwards = sets[::-1]  # later duplicates are overwritten by earlier ones
            index = dict(zip(map(_ADDRESS, backwards), backwards, strict=True))
            object.__setattr__(self, "_index", index)
        return index

    def get(self, address: str) -> DataSet | None:
        """The first data set printed with exactly this address, or ``None``."""
        return self._lookup().get(address)

    def __getitem__(self, address: str) -> DataSet:
        return self._lookup()[address]

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and address in self._lookup()

    def get_all(self, address: str) -> list[DataSet]:
        """Every data set with this address, in order (Energomera prints ``VOLTA`` per phase)."""
        return [d for d in self.data_sets if d._address == address and d._groups is not None]

    def by_obis(self, obis: Obis | str, *, wildcard: bool = False) -> list[DataSet]:
        """Data sets whose address is this OBIS code (equal value groups).

        ``1.8.0`` does not match ``1-0:1.8.0*255`` or ``1.8.0*1`` unless ``wildcard=True``, which
        lets an absent group on either side match anything. A ``str`` query is parsed with
        :meth:`Obis.parse` and raises :class:`~meterlink.errors.ObisError` if it is not OBIS.
        """
        target = obis if isinstance(obis, Obis) else Obis.parse(obis)
        found: list[DataSet] = []
        for data_set in self.data_sets:
            code = data_set.obis
            if code is not None and (code == target or (wildcard and code.matches(target, wildcard=True))):
                found.append(data_set)
        return found

    @property
    def malformed(self) -> list[DataSet]:
        """The pieces of text that were not data sets (normally empty)."""
        return [data_set for data_set in self.data_sets if data_set.malformed]

    def __iter__(self) -> Iterator[DataSet]:
        return iter(self.data_sets)

    def __len__(self) -> int:
        return len(self.data_sets)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (only str, int, bool, None, lists and dicts)."""
        ident = self.identification
        return {
            "identification": None if ident is None else _identification_dict(ident),
            "data_sets": [data_set.to_dict() for data_set in self.data_sets],
            "bcc_valid": self.bcc_valid,
        }


def _identification_dict(ident: Identification) -> dict[str, Any]:
    return {
        "manufacturer": ident.manufacturer,
        "baud_char": ident.baud_char,
        "enhanced": list(ident.enhanced),
        "ident": ident.ident,
        "text": ident.text,
        "mode": ident.mode.value,
        "baud_rate": ident.baud_rate,
    }


# -- parsing ----------------------------------------------------------------------------------


def parse_readout(
    data: bytes | bytearray | memoryview, *, strict: bool = True, bcc_kind: BccKind = BccKind.XOR
) -> Readout:
    """Parse a readout exactly as received from the meter.

    ``strict=True`` raises :class:`~meterlink.errors.ChecksumError` on a wrong BCC and
    :class:`~meterlink.errors.MalformedDataError` for an identification line that cannot be
    represented or an ETX without its BCC byte. ``strict=False`` records a wrong BCC as
    ``bcc_valid=False``, drops an unusable identification (``identification=None``) and
    treats a missing BCC byte as no BCC. Bytes after the BCC are ignored. The data block itself
    never raises: see the module doc for how odd text is kept.
    """
    ident, text, bcc_valid = _unframe(data, strict, bcc_kind)
    return Readout(ident, _parse_block(text), bcc_valid)


def _unframe(
    data: bytes | bytearray | memoryview, strict: bool = True, bcc_kind: BccKind = BccKind.XOR
) -> tuple[Identification | None, str, bool | None]:
    """The identification, the data block's text and the BCC verdict of a readout's bytes.

    Everything :func:`parse_readout` checks and raises happens here; it only adds the data sets.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise LocalProtocolError(f"parse_readout needs bytes, got {type(data).__name__}")
    original = bytes(data)
    raw = original if original.isascii() else original.translate(_PARITY_MASK)
    ident, pos = _find_identification(raw, original, strict)
    stx = raw.find(b"\x02", pos)
    bcc_valid: bool | None = None
    if stx >= 0:
        end = _block_end(raw, stx + 1)
        if end < 0:
            body = raw[stx + 1 :]
        else:
            body = raw[stx + 1 : end]
            if end + 1 < len(raw):
                expected = bcc(raw[stx + 1 : end + 1], bcc_kind)
                received = raw[end + 1]
                bcc_valid = expected == received
                if strict and not bcc_valid:
                    raise ChecksumError(
                        f"readout BCC mismatch: computed 0x{expected:02X}, received 0x{received:02X}",
                        expected=expected,
                        received=received,
                        data=original,
                        offset=end + 1,
                        reply=b"\x15",
                    )
            elif strict:
                raise MalformedDataError(
                    "readout ends after ETX without its BCC", data=original, offset=end + 1
                )
    else:
        body = raw[pos:].lstrip(_LEADING_NOISE)
    return ident, body.decode("latin-1"), bcc_valid


def readout_from_message(identification: Identification | None, message: DataMessage) -> Readout:
    """The readout a state machine already framed (its BCC verdict included), without re-reading bytes."""
    return Readout(identification, _parse_block(message.data.decode("latin-1")), message.bcc_ok)


def _block_end(raw: bytes, start: int) -> int:
    """Offset of the ETX (or EOT, partial block) ending the block; -1 if there is none."""
    etx = raw.find(b"\x03", start)
    eot = raw.find(b"\x04", start, None if etx < 0 else etx)
    return eot if eot >= 0 else etx


def _find_identification(raw: bytes, original: bytes, strict: bool) -> tuple[Identification | None, int]:
    """The identification line and the offset after it; echoes of ``/?...!`` are skipped.

    It must come before the first STX or, in a bare block, before the line holding the first
    ``(``: TD-3511 prints ``/`` inside addresses, so a ``/`` in the data is no identification.
    """
    limit = raw.find(b"\x02")
    if limit < 0:
        paren = raw.find(b"(")
        limit = len(raw) if paren < 0 else max(raw.rfind(b"\n", 0, paren), raw.rfind(b"\r", 0, paren)) + 1
    pos = 0
    while True:
        slash = raw.find(b"/", pos, limit)
        if slash < 0:
            return None, pos
        eol = raw.find(b"\n", slash, limit)
        after = limit if eol < 0 else eol + 1
        line = raw[slash + 1 : after].rstrip(b"\r\n")
        if line.endswith(b"!"):  # our own request, echoed by the optical head or bus
            pos = after
            continue
        try:
            return Identification.from_text(line.decode("latin-1")), after
        except LocalProtocolError as exc:
            if strict:
                raise MalformedDataError(
                    f"unusable identification line: {exc}", data=original, offset=slash
                ) from None
            return None, after


def parse_data_block(data: bytes | bytearray | memoryview | str) -> list[DataSet]:
    """Parse a data block already cut out of its message (no STX/ETX/BCC).

    Used for readouts and for programming-mode answers alike (``0.9.1(101415)``, ``P.01``
    profiles, LIS-200 archive rows). Bytes get bit 7 cleared; a ``str`` is taken as is.
    """
    return list(_parse_block(_block_text(data)))


def _block_text(data: bytes | bytearray | memoryview | str) -> str:
    """A data block's text: a ``str`` as is, bytes with bit 7 cleared, as latin-1."""
    if isinstance(data, str):
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        return (raw if raw.isascii() else raw.translate(_PARITY_MASK)).decode("latin-1")
    raise LocalProtocolError(f"parse_data_block needs bytes or str, got {type(data).__name__}")


def _block_body(text: str) -> str:
    """The block with LF line ends, without its ``!`` end mark and without outer line breaks."""
    return _lf(_trim(text))


def _trim(text: str) -> str:
    """The block without its ``!`` end mark and outer line breaks, line ends still as sent.

    ``_lf(_trim(text))`` is what trimming the LF-converted text gives: converting line ends
    moves no ``!``, turns blanks after it into blanks and line breaks at the ends into line breaks.
    """
    end = text.rfind("!")
    if end >= 0 and _END_TAIL_RE.fullmatch(text, end + 1):
        text = text[:end]
    return text.strip("\r\n")


def _lf(text: str) -> str:
    """CR LF and lone CR line ends as LF."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = text.replace("\r", "\n")
    return text


def _parse_block(text: str) -> tuple[DataSet, ...]:
    """Cut a data block into data sets: a C-level fast path, the general tokenizer otherwise."""
    body = _trim(text)
    if not body:
        return ()
    return _parse_lines(body) or _parse_block_general(_lf(body))


def _parse_body(body: str) -> tuple[DataSet, ...]:
    """:func:`_parse_block` for a block already through :func:`_block_body`."""
    if not body:
        return ()
    return _parse_lines(body) or _parse_block_general(body)


def _parse_lines(body: str) -> tuple[DataSet, ...] | None:
    """The fast path: every line is ``address(..)(..)...(..)``; ``None`` when one is not.

    ``body`` has all CR LF or all LF line ends (anything else is declined) and is cut into
    lines and each line at its first ``(`` with C-level ``str`` methods. The checks below prove
    the cut is what the general tokenizer would make of the LF-converted block. Every line ends
    in ``)`` directly before the one line-end sequence (so ``splitlines`` split nowhere else)
    and no address holds a ``)``, so each line's groups part starts with ``(``, ends with ``)``
    and has no bracket before it; then, per line, ``(`` count >= glued ``)(`` pairs + 1 <= ``)``
    count with equality only for exactly ``(..)(..)...(..)``, and the block totals force
    equality on every line. A bare line (a profile row) is accepted where the tokenizer makes it
    a row: at the start or below a ``P.nn`` header or another row -- not where it would continue
    the data set above it.
    """
    lines = body.splitlines()
    n = len(lines)
    if body[-1] != ")" or body.count(")\r\n" if "\r" in body else ")\n") != n - 1:
        return None  # a line not ending in ')', a blank line, mixed or other line ends
    parts = list(map(str.partition, lines, repeat("(")))
    addresses = list(map(_FIRST, parts))
    if ")" in "".join(addresses):
        return None
    count = n + body.count(")(")
    if body.count("(") != count or body.count(")") != count:
        return None
    bare = addresses.count("")
    if bare:
        # The addresses right above a bare line: each must be a profile header (or a row).
        first = addresses.index("")
        if addresses[first : first + bare].count("") == bare:  # one run of rows
            above = {addresses[first - 1]} if first else set()
        else:
            above = set(compress(addresses, map(not_, islice(addresses, 1, None))))
            above.discard("")
        if any(_PROFILE_HEADER_RE.fullmatch(address) is None for address in above):
            return None
    return tuple(starmap(_PartitionedDataSet, parts))


def _continues(data_set: DataSet) -> bool:
    """Whether a bare line of groups below ``data_set`` continues it (rather than being a row)."""
    address = data_set._address
    return bool(address) and data_set._groups is not None and _PROFILE_HEADER_RE.fullmatch(address) is None


def _parse_block_general(text: str) -> tuple[DataSet, ...]:
    """The tokenizer for everything the fast path declines: continuations, rows, odd text."""
    result: list[DataSet] = []
    line_start = True
    for address, groups, newline, rest in _TOKEN_RE.findall(text):
        if groups:
            if groups[-1] != ")":
                groups += ")"
            if not address and line_start and result and _continues(result[-1]):
                last = result[-1]
                result[-1] = _ParsedDataSet(last._address, f"{last._groups}{groups}")
            else:
                result.append(_ParsedDataSet(address, groups))
            line_start = False
        elif newline:
            line_start = True
        elif rest.strip(_PAD) and _END_MARK_RE.fullmatch(rest) is None:
            result.append(_ParsedDataSet(rest, None))
            line_start = False
    return tuple(result)
