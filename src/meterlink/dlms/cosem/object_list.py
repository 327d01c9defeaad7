"""Association LN attribute 2 (object_list): what the meter has and what this client may do with it.

Each entry is ``structure{class_id, version, logical_name, access_rights}``; the access rights
changed with the Association LN version:

* v0-v2: attribute access is an enum 0-6 (:class:`AccessMode`), method access a boolean (v0) or an
  enum 0-2 (v1, v2, :class:`MethodAccessMode`);
* v3: both are bit fields with security requirements (:class:`AccessMode3`, :class:`MethodAccessMode3`).

The v0 boolean is recognised by its A-XDR type; whether attribute codes are v3 flags cannot be
told from one value, so pass ``association_version`` when known (default: v3 when any code is
above 6). Entries keep the exact types sent so :func:`encode_object_list` gives the bytes back
for the emulator.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

from meterlink.dlms import axdr
from meterlink.dlms._lengths import decode_length, encode_length
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.obis import Obis

from .descriptors import ClassId, class_id

__all__ = [
    "AccessMode",
    "AccessMode3",
    "MethodAccessMode",
    "MethodAccessMode3",
    "ObjectListEntry",
    "encode_object_list",
    "parse_object_list",
    "parse_object_list_value",
]


class AccessMode(enum.IntEnum):
    """Attribute access of Association LN v0-v2."""

    NO_ACCESS = 0
    READ = 1
    WRITE = 2
    READ_WRITE = 3
    AUTHENTICATED_READ = 4
    AUTHENTICATED_WRITE = 5
    AUTHENTICATED_READ_WRITE = 6


class AccessMode3(enum.IntFlag):
    """Attribute access of Association LN v3: read/write plus required protection."""

    NO_ACCESS = 0
    READ = 0x01
    WRITE = 0x02
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80


class MethodAccessMode(enum.IntEnum):
    """Method access of Association LN v1-v2 (v0 sends a boolean)."""

    NO_ACCESS = 0
    ACCESS = 1
    AUTHENTICATED_ACCESS = 2


class MethodAccessMode3(enum.IntFlag):
    """Method access of Association LN v3."""

    NO_ACCESS = 0
    ACCESS = 0x01
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80


AttributeAccess = AccessMode | AccessMode3 | int
MethodAccess = MethodAccessMode | MethodAccessMode3 | bool | int

_READABLE_V0 = frozenset({1, 3, 4, 6})
_WRITABLE_V0 = frozenset({2, 3, 5, 6})


@dataclass(frozen=True, slots=True)
class ObjectListEntry:
    """One object of the association's view.

    ``selectors`` maps attribute id -> access selectors the meter allows (``None`` when it sent
    null-data, ``()`` for an empty array); ``method_access`` values are ``bool`` for v0 lists.
    """

    class_id: ClassId | int
    version: int
    logical_name: Obis
    attribute_access: Mapping[int, AttributeAccess] = field(default_factory=dict, hash=False)
    method_access: Mapping[int, MethodAccess] = field(default_factory=dict, hash=False)
    selectors: Mapping[int, tuple[int, ...] | None] = field(default_factory=dict, hash=False)

    def readable(self, attribute: int) -> bool:
        mode = self.attribute_access.get(attribute, 0)
        if isinstance(mode, AccessMode3):
            return bool(mode & AccessMode3.READ)
        return int(mode) in _READABLE_V0

    def writable(self, attribute: int) -> bool:
        mode = self.attribute_access.get(attribute, 0)
        if isinstance(mode, AccessMode3):
            return bool(mode & AccessMode3.WRITE)
        return int(mode) in _WRITABLE_V0

    def callable(self, method: int) -> bool:
        mode = self.method_access.get(method, 0)
        return bool(int(mode) & 0x03) if not isinstance(mode, bool) else mode

    def to_value(self) -> tuple[axdr.DataValue, ...]:
        """The decoded-value form for :func:`axdr.encode`."""
        attrs: list[axdr.DataValue] = []
        for attr, mode in self.attribute_access.items():
            sels = self.selectors.get(attr)
            sel_value: axdr.DataValue = None if sels is None else [axdr.Integer(s) for s in sels]
            attrs.append((axdr.Integer(attr), axdr.Enum(int(mode)), sel_value))
        methods: list[axdr.DataValue] = [
            (axdr.Integer(m), mode if isinstance(mode, bool) else axdr.Enum(int(mode)))
            for m, mode in self.method_access.items()
        ]
        return (
            axdr.LongUnsigned(int(self.class_id)),
            axdr.Unsigned(self.version),
            self.logical_name.to_bytes(),
            (attrs, methods),
        )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class _Bad(Exception):
    """Internal: shape error, turned into MalformedDataError with the entry's bytes and offset."""


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise _Bad(what)


def _entry(value: object, v3: bool | None) -> tuple[ObjectListEntry, bool]:
    """Convert one decoded entry; returns it and whether v3 flags were needed."""
    _need(isinstance(value, tuple) and len(value) == 4, "an entry is structure of 4 elements")
    assert isinstance(value, tuple)
    cid, version, ln, rights = value
    _need(_is_int(cid) and 0 <= cid <= 0xFFFF, "class_id must be long-unsigned")
    _need(_is_int(version) and 0 <= version <= 0xFF, "version must be unsigned")
    _need(isinstance(ln, bytes) and len(ln) == 6, "logical_name must be octet-string(6)")
    _need(isinstance(rights, tuple) and len(rights) == 2, "access_rights must be structure of 2 elements")
    attr_list, meth_list = rights
    _need(isinstance(attr_list, list), "attribute_access must be an array")
    _need(isinstance(meth_list, list) or meth_list is None, "method_access must be an array")
    raw_attrs: dict[int, int] = {}
    selectors: dict[int, tuple[int, ...] | None] = {}
    for item in attr_list:
        _need(isinstance(item, tuple) and len(item) == 3, "attribute_access_item is structure of 3 elements")
        attr_id, mode, sels = item
        _need(_is_int(attr_id) and _is_int(mode), "attribute_id and access_mode must be integers")
        if sels is None:
            selectors[int(attr_id)] = None
        else:
            _need(
                isinstance(sels, list) and all(_is_int(s) for s in sels), "access_selectors: array of integer"
            )
            selectors[int(attr_id)] = tuple(int(s) for s in sels)
        raw_attrs[int(attr_id)] = int(mode)
    methods: dict[int, MethodAccess] = {}
    raw_methods: dict[int, int] = {}
    for item in meth_list or ():
        _need(isinstance(item, tuple) and len(item) == 2, "method_access_item is structure of 2 elements")
        meth_id, mode = item
        _need(_is_int(meth_id), "method_id must be an integer")
        if isinstance(mode, bool):
            methods[int(meth_id)] = mode
        else:
            _need(_is_int(mode), "method access_mode must be boolean or enum")
            raw_methods[int(meth_id)] = int(mode)
    flags = (
        v3
        if v3 is not None
        else any(m > 6 for m in raw_attrs.values()) or any(m > 2 for m in raw_methods.values())
    )
    attrs: dict[int, AttributeAccess] = {
        k: _mode(AccessMode3 if flags else AccessMode, m) for k, m in raw_attrs.items()
    }
    for k, m in raw_methods.items():
        methods[k] = _mode(MethodAccessMode3 if flags else MethodAccessMode, m)
    entry = ObjectListEntry(class_id(int(cid)), int(version), Obis.from_bytes(ln), attrs, methods, selectors)
    return entry, flags


def _mode(kind: type[enum.IntEnum] | type[enum.IntFlag], code: int) -> int:
    try:
        return kind(code)
    except ValueError:
        return code


def _v3_flag(association_version: int | None) -> bool | None:
    if association_version is None:
        return None
    if isinstance(association_version, bool) or not isinstance(association_version, int):
        raise LocalProtocolError(f"association_version must be an int 0..3, got {association_version!r}")
    return association_version >= 3


def parse_object_list_value(
    value: object, *, association_version: int | None = None
) -> list[ObjectListEntry]:
    """From an already decoded attribute value (a list of structures)."""
    v3 = _v3_flag(association_version)
    if not isinstance(value, list):
        raise MalformedDataError(f"object_list must be an array, got {type(value).__name__}")
    out = []
    for index, item in enumerate(value):
        try:
            out.append(_entry(item, v3)[0])
        except _Bad as exc:
            raise MalformedDataError(f"object_list entry {index}: {exc}") from None
    return out


def parse_object_list(
    data: bytes | bytearray | memoryview, *, association_version: int | None = None
) -> list[ObjectListEntry]:
    """Parse the A-XDR bytes of attribute 2; errors carry the offset of the failing entry."""
    v3 = _v3_flag(association_version)
    raw = bytes(data)
    if not raw or raw[0] != 0x01:
        raise MalformedDataError("object_list must be an array (tag 01)", data=raw, offset=0)
    count, offset = decode_length(raw, 1)
    out = []
    for index in range(count):
        start = offset
        try:
            item, offset = axdr.decode_from(raw, offset)
            out.append(_entry(item, v3)[0])
        except _Bad as exc:
            raise MalformedDataError(f"object_list entry {index}: {exc}", data=raw, offset=start) from None
        except MalformedDataError:
            raise
        except MeterlinkError as exc:  # e.g. a Data error class of the decoder
            raise MalformedDataError(f"object_list entry {index}: {exc}", data=raw, offset=start) from None
    if offset != len(raw):
        raise MalformedDataError("bytes left after the object_list array", data=raw, offset=offset)
    return out


def encode_object_list(entries: Iterable[ObjectListEntry]) -> bytes:
    """A-XDR bytes of attribute 2 (the emulator's answer)."""
    items = list(entries)
    return b"\x01" + encode_length(len(items)) + b"".join(axdr.encode(e.to_value()) for e in items)
