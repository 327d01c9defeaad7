"""OBIS codes (IEC 62056-6-1): the one object identifier every protocol of meterlink shares.

An OBIS code has six value groups ``A-B:C.D.E*F`` (medium, channel, quantity, processing,
tariff, storage). DLMS/COSEM always carries all six as 6 bytes; IEC 62056-21 readouts print
*reduced* codes (``1.8.0``, ``F.F``, ``P.01``) and leave groups out. :class:`Obis` keeps
that difference instead of guessing:

* An absent group is ``None`` - never silently 255 or 0 - so ``1.8.0*1 != 1.8.0``
  (a billing-period value is not the current one). Filling in is an explicit
  :meth:`Obis.complete`, and prefix-free matching an explicit ``matches(..., wildcard=True)``.
* The text exactly as the meter printed it stays in :attr:`Obis.text` (``str()`` gives it
  back, so a readout can be echoed byte for byte); equality and hashing use the numbers only.

Accepted text (``N`` = 0..255 as 1-3 ASCII digits, ``V`` = ``N`` or one of the EDIS letters
``C`` = 96, ``F`` = 97, ``L`` = 98, ``P`` = 99 of IEC 62056-61)::

    N-N:V.V[.V[*N|.N]]      full or partial form      1-0:1.8.0*255  1-0:1.8.0.255  0-1:24.2.1
    V.V[.V[*N]]             short readout form        1.8.0*24  C.1  F.F  P.01  96.1.255
    N.N.N.N.N.N             six-group DLMS form       1.0.1.8.0.255

Deliberately rejected (``parse`` raises :class:`ObisError`, ``try_parse`` gives ``None``):

* **four or five bare dotted groups** (``1.8.0.255``): the dot means both "next group" and, in
  ``A-B:C.D.E.F``, "storage", so ``a.b.c.d`` could be ``C.D.E.F``, ``A.B.C.D`` or a
  truncated DLMS code, and a wrong guess yields a different but valid-looking object. No meter
  in our notes prints it; write ``C.D.E*F`` or ``A-B:C.D.E.F`` instead.
* ``B:`` without ``A-``: it is exactly the shape of Elster LIS-200 addresses (``3:171.0``),
  which are instance/register pairs, not OBIS.
* whitespace, brackets, ``&``, lower-case letters and other characters: the readout parser
  cuts the address out, this type does not guess where it ends.
* ``*F`` without an E group (``1.8*1``): not seen in the field, and it keeps the set of shapes
  small enough that every valid :class:`Obis` has exactly one canonical text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from meterlink.errors import ObisError

__all__ = ["Obis"]

# Longest valid text is 23 characters ("255-255:255.255.255*255"); anything much longer is a
# readout line, not an address, and must not fill the cache.
_MAX_LEN = 32
_LETTERS = {"C": 96, "F": 97, "L": 98, "P": 99}
_GROUP_NAMES = "ABCDEF"

_N = r"[0-9]{1,3}"
_V = r"[0-9]{1,3}|[CFLP]"
_FULL_RE = re.compile(rf"({_N})-({_N}):({_V})\.({_V})(?:\.({_V})(?:[*.]({_N}))?)?")
_SHORT_RE = re.compile(rf"({_V})\.({_V})(?:\.({_V})(?:\*({_N}))?)?")
_DOTTED_RE = re.compile(rf"({_N})\.({_N})\.({_N})\.({_N})\.({_N})\.({_N})")

# The same grammar seen as separator sequences, used only to explain a rejection.
_SHAPES: dict[str, str] = {
    ".": "CD",
    "..": "CDE",
    "..*": "CDEF",
    "-:.": "ABCD",
    "-:..": "ABCDE",
    "-:..*": "ABCDEF",
    "-:...": "ABCDEF",
    ".....": "ABCDEF",
}
_ALLOWED_CHARS = frozenset("0123456789CFLP-:.*")
_SPLIT_RE = re.compile(r"([-:.*])")
_FALLBACK_REASON = "does not have the shape A-B:C.D.E*F"


def _group_value(token: str | None) -> int | None:
    if token is None:
        return None
    letter = _LETTERS.get(token)
    return letter if letter is not None else int(token)


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Obis | None:
    """Parse without raising; cached because a readout repeats the same few dozen codes."""
    match = _SHORT_RE.fullmatch(text) or _FULL_RE.fullmatch(text) or _DOTTED_RE.fullmatch(text)
    if match is None:
        return None
    raw = match.groups()
    if len(raw) == 4:  # short form: no A, B
        raw = (None, None, *raw)
    groups = [_group_value(token) for token in raw]
    if any(value is not None and value > 255 for value in groups):
        return None
    a, b, c, d, e, f = groups
    return Obis(a, b, c, d, e, f, text)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _diagnose(text: str) -> tuple[str, int]:
    """Why ``text`` is not OBIS and where (0-based index); only called after the regexes failed."""
    if not text:
        return "empty text", 0
    if len(text) > _MAX_LEN:
        return f"longer than {_MAX_LEN} characters", _MAX_LEN
    for index, char in enumerate(text):
        if char not in _ALLOWED_CHARS:
            return f"unexpected character {char!r}", index
    parts = _SPLIT_RE.split(text)
    tokens, seps = parts[0::2], "".join(parts[1::2])
    starts = [0]
    for token in tokens[:-1]:
        starts.append(starts[-1] + len(token) + 1)
    for token, start in zip(tokens, starts, strict=True):
        if not token:
            return "empty value group", start
        if token.isdigit():
            if len(token) > 3:
                return f"value group {token!r} has more than three digits", start
        elif token not in _LETTERS:
            return f"{token!r} is neither a number nor one of the letters C, F, L, P", start
    roles = _SHAPES.get(seps)
    if roles is None:
        if seps in ("...", "...."):
            return (
                f"{len(tokens)} bare dotted groups are ambiguous (C.D.E.F or A.B.C.D?); "
                "write C.D.E*F, A-B:C.D.E.F or all six groups",
                0,
            )
        for k, sep in enumerate(seps):
            expected = sorted({s[k] for s in _SHAPES if s.startswith(seps[:k]) and len(s) > k})
            if sep not in expected:
                wanted = " or ".join(repr(x) for x in expected) or "the end"
                return f"unexpected {sep!r} where {wanted} was expected", starts[k + 1] - 1
        return "ends too early (at least C.D is needed)", len(text)
    for token, role, start in zip(tokens, roles, starts, strict=True):
        if token in _LETTERS:
            if seps == ".....":
                return f"letter {token!r} in the six-group DLMS form, which is numeric", start
            if role not in "CDE":
                return f"letter {token!r} cannot stand in value group {role}", start
        elif int(token) > 255:
            return f"value group {role} = {token} is out of range 0..255", start
    return _FALLBACK_REASON, 0


def _check_group(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise ObisError(f"value group {name} must be an int in 0..255 or None, got {value!r}")


@dataclass(frozen=True, slots=True, repr=False)
class Obis:
    """One OBIS code; absent value groups are ``None``.

    Instances are validated on construction, so any ``Obis`` has a canonical text: A and B are
    both present or both absent, C and D are always present, and F needs E.
    """

    a: int | None
    b: int | None
    c: int | None
    d: int | None
    e: int | None
    f: int | None
    text: str = field(default="", compare=False)
    """The code as printed by the meter; the canonical text when built from numbers."""

    def __post_init__(self) -> None:
        groups = (self.a, self.b, self.c, self.d, self.e, self.f)
        for name, value in zip(_GROUP_NAMES, groups, strict=True):
            _check_group(name, value)
        if (self.a is None) != (self.b is None):
            raise ObisError(f"value groups A and B must both be given or both be absent: {groups}")
        if self.c is None or self.d is None:
            raise ObisError(f"value groups C and D are required: {groups}")
        if self.f is not None and self.e is None:
            raise ObisError(f"value group F needs value group E: {groups}")
        if not isinstance(self.text, str):
            raise ObisError(f"text must be a str, got {self.text!r}")
        if not self.text:
            object.__setattr__(self, "text", self.canonical)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Obis:
        """Parse any accepted text form; :class:`ObisError` names the text and the position."""
        obis = cls.try_parse(text)
        if obis is not None:
            return obis
        if not isinstance(text, str):
            raise ObisError(f"OBIS text must be a str, got {type(text).__name__}")
        reason, position = _diagnose(text)
        raise ObisError(f"{_shown(text)} is not an OBIS code: {reason} (position {position})")

    @classmethod
    def try_parse(cls, text: str) -> Obis | None:
        """Like :meth:`parse` but ``None`` instead of an error, for probing every readout line."""
        if not isinstance(text, str) or len(text) > _MAX_LEN:
            return None
        return _parse_cached(text)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Obis:
        """The 6-byte form of DLMS/COSEM; ``text`` becomes the canonical form."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ObisError(f"OBIS bytes must be bytes-like, got {type(data).__name__}")
        try:
            raw = bytes(data)
        except (TypeError, ValueError) as exc:  # e.g. a released memoryview
            raise ObisError(f"cannot read OBIS bytes: {exc}") from None
        if len(raw) != 6:
            raise ObisError(f"an OBIS code is exactly 6 bytes, got {len(raw)}: {raw[:16].hex(' ')!r}")
        return cls(raw[0], raw[1], raw[2], raw[3], raw[4], raw[5])

    @classmethod
    def from_groups(
        cls,
        a: int | None,
        b: int | None,
        c: int | None,
        d: int | None,
        e: int | None,
        f: int | None,
    ) -> Obis:
        """Build from numbers (``None`` = absent); ``text`` becomes the canonical form."""
        return cls(a, b, c, d, e, f)

    # -- views ------------------------------------------------------------------------------

    @property
    def groups(self) -> tuple[int | None, int | None, int | None, int | None, int | None, int | None]:
        """``(a, b, c, d, e, f)``."""
        return (self.a, self.b, self.c, self.d, self.e, self.f)

    @property
    def is_complete(self) -> bool:
        """True when all six groups are present, i.e. the code can go on a DLMS wire."""
        return None not in self.groups

    @property
    def canonical(self) -> str:
        """``A-B:C.D.E*F`` in decimal, dropping ``A-B:``, ``.E`` and ``*F`` when absent.

        Letters become numbers and leading zeros go, so equal codes have equal canonical text
        and :meth:`parse` of it gives an equal code back.
        """
        head = f"{self.a}-{self.b}:" if self.a is not None else ""
        tail = f".{self.e}" if self.e is not None else ""
        if self.f is not None:
            tail += f"*{self.f}"
        return f"{head}{self.c}.{self.d}{tail}"

    @property
    def dotted(self) -> str:
        """The six-group form ``1.0.1.8.0.255`` DLMS tools print; needs a complete code."""
        return ".".join(str(value) for value in self._complete_groups("dotted form"))

    def to_bytes(self) -> bytes:
        """The 6-byte DLMS form; raises :class:`ObisError` rather than invent absent groups."""
        return bytes(self._complete_groups("6-byte form"))

    def _complete_groups(self, purpose: str) -> tuple[int, int, int, int, int, int]:
        a, b, c, d, e, f = self.groups
        if a is None or b is None or c is None or d is None or e is None or f is None:
            missing = ", ".join(n for n, v in zip(_GROUP_NAMES, self.groups, strict=True) if v is None)
            raise ObisError(f"{self.text!r} lacks value group(s) {missing} for the {purpose}; use complete()")
        return (a, b, c, d, e, f)

    # -- completion and matching ------------------------------------------------------------

    def complete(self, *, a: int = 1, b: int = 0, e: int = 0, f: int = 255) -> Obis:
        """Fill absent groups (C and D are never absent); present groups are kept.

        The defaults suit electricity registers (``1.8.0`` -> ``1-0:1.8.0*255``). Abstract
        objects such as ``C.1.0`` or ``F.F`` need ``a=0``: which medium a short code means is
        the caller's knowledge, not something this type can infer. The result keeps no
        printed text of its own, so its ``text`` is the canonical form.
        """
        return Obis(
            self.a if self.a is not None else a,
            self.b if self.b is not None else b,
            self.c,
            self.d,
            self.e if self.e is not None else e,
            self.f if self.f is not None else f,
        )

    def matches(self, other: Obis | str, *, wildcard: bool = False) -> bool:
        """Equality, or with ``wildcard`` an absent group on either side matches any value.

        Wildcards are opt-in because ``1.8.0*1`` (a billing period) is not ``1.8.0``.
        """
        if isinstance(other, str):
            other = Obis.parse(other)
        elif not isinstance(other, Obis):
            raise ObisError(f"cannot match an OBIS code against {type(other).__name__}")
        if not wildcard:
            return self == other
        return all(x is None or y is None or x == y for x, y in zip(self.groups, other.groups, strict=True))

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Obis({self.text!r})"
