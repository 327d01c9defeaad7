"""Association LN object_list: parse, encode back, access-mode versions, peers."""

from __future__ import annotations

import contextlib

import pytest
from dlms_cosem.parsers import AssociationObjectListParser
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.cosem import (
    AccessMode,
    AccessMode3,
    ClassId,
    MethodAccessMode,
    MethodAccessMode3,
    ObjectListEntry,
    encode_object_list,
    parse_object_list,
)
from meterlink.dlms.cosem.object_list import parse_object_list_value
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.obis import Obis

# Two entries of a v1 list, written by hand from the grammar in the reference (4.9):
# clock 0.0.1.0.0.255 v0: attr 1 read, attr 2 read-write with no selectors; method 1 access
# profile 1.0.99.1.0.255 v1: attr 2 read with selectors [1, 2]; method 1 authenticated access
V1 = bytes.fromhex(
    "0102"
    "0204 120008 1100 09060000010000ff"
    "  0202 0102 0203 0f01 1601 00   0203 0f02 1603 00"
    "       0101 0202 0f01 1601"
    "0204 120007 1101 0906010063 0100ff"
    "  0202 0101 0203 0f02 1601 0102 0f01 0f02"
    "       0101 0202 0f01 1602"
)


def test_parse_v1_list() -> None:
    clock, profile = parse_object_list(V1)
    assert clock.class_id is ClassId.CLOCK and clock.version == 0
    assert clock.logical_name == Obis.parse("0.0.1.0.0.255")
    assert clock.attribute_access == {1: AccessMode.READ, 2: AccessMode.READ_WRITE}
    assert clock.selectors == {1: None, 2: None}
    assert clock.method_access == {1: MethodAccessMode.ACCESS}
    assert clock.readable(2) and clock.writable(2) and not clock.writable(1) and clock.callable(1)
    assert profile.selectors == {2: (1, 2)}
    assert profile.method_access == {1: MethodAccessMode.AUTHENTICATED_ACCESS}
    assert not profile.readable(3)


def test_round_trip_exact_bytes() -> None:
    assert encode_object_list(parse_object_list(V1)) == V1


def test_v0_boolean_method_access() -> None:
    data = bytes.fromhex(
        "0101 0204 120003 1100 0906 0100010800ff 0202 0101 0203 0f02 1604 00 0101 0202 0f01 0300"
    )
    (entry,) = parse_object_list(data)
    assert entry.method_access == {1: False}
    assert entry.attribute_access == {2: AccessMode.AUTHENTICATED_READ}
    assert entry.readable(2) and not entry.writable(2) and not entry.callable(1)
    assert encode_object_list([entry]) == data


def test_v3_flags() -> None:
    value: list[axdr.DataValue] = [
        (axdr.LongUnsigned(3), axdr.Unsigned(0), bytes(6), ([(axdr.Integer(2), axdr.Enum(0x25), None)], []))
    ]
    (auto,) = parse_object_list_value(value)
    assert (
        auto.attribute_access[2]
        == AccessMode3.READ | AccessMode3.AUTHENTICATED_REQUEST | AccessMode3.AUTHENTICATED_RESPONSE
    )
    # 4 reads as v0-v2 "authenticated read" unless the association says v3
    low = [
        (
            axdr.LongUnsigned(3),
            axdr.Unsigned(0),
            bytes(6),
            ([(axdr.Integer(2), axdr.Enum(4), None)], [(axdr.Integer(1), axdr.Enum(1))]),
        )
    ]
    assert parse_object_list_value(low)[0].attribute_access[2] is AccessMode.AUTHENTICATED_READ
    (v3,) = parse_object_list_value(low, association_version=3)
    assert v3.attribute_access[2] == AccessMode3.AUTHENTICATED_REQUEST and not v3.readable(2)
    assert v3.method_access[1] is MethodAccessMode3.ACCESS
    with pytest.raises(LocalProtocolError):
        parse_object_list_value(low, association_version="3")  # type: ignore[arg-type]


def test_dlms_cosem_reads_every_mode_as_v3_flags() -> None:
    """Peer bug: dlms_cosem applies the v3 bit meaning to v0-v2 codes (4 = authenticated read)."""
    data = bytes.fromhex("0101 0204 120003 1100 0906 0100010800ff 0202 0101 0203 0f02 1604 00 0100")
    (theirs,) = AssociationObjectListParser.parse_bytes(data)
    their_rights = theirs.attribute_access_rights[2].access_rights
    assert 1 not in their_rights  # READ lost
    (ours,) = parse_object_list(data)
    assert ours.readable(2)


def test_dlms_cosem_agrees_on_plain_lists() -> None:
    theirs = AssociationObjectListParser.parse_bytes(V1)
    ours = parse_object_list(V1)
    assert [int(t.interface) for t in theirs] == [int(o.class_id) for o in ours]
    assert [t.logical_name.to_bytes() for t in theirs] == [o.logical_name.to_bytes() for o in ours]


def test_entries_hash_by_identity_fields() -> None:
    a, b = parse_object_list(V1)
    assert len({a, b, a}) == 2
    assert ObjectListEntry(8, 0, Obis.parse("0.0.1.0.0.255")) != a


@pytest.mark.parametrize(
    ("hexdata", "offset"),
    [
        ("02 00", 0),
        ("0101 0203 120008 1100 09060000010000ff", 2),
        ("0101 0204 120008 1100 09050000010000 0202 0100 0100", 2),
        ("0101 0204 120008 1100 09060000010000ff 0202 0101 0202 0f01 1601 0100", 2),
        ("0101 0204 120008 1100 09060000010000ff 0202 0100 0101 0202 0f01 0901", None),
        ("0101 0204 120008 1100 09060000010000ff 0202 0100 0100 00", 23),
        ("0102 0204 120008 1100 09060000010000ff 0202 0100 0100", None),
    ],
)
def test_malformed_lists(hexdata: str, offset: int | None) -> None:
    data = bytes.fromhex(hexdata)
    with pytest.raises(MalformedDataError) as err:
        parse_object_list(data)
    assert err.value.data == data
    if offset is not None:
        assert err.value.offset == offset


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_fuzz_parse_object_list(data: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        parse_object_list(b"\x01" + data)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 0xFFFF),
            st.integers(0, 255),
            st.binary(min_size=6, max_size=6),
            st.dictionaries(st.integers(-128, 127), st.integers(0, 6), max_size=4),
            st.dictionaries(st.integers(-128, 127), st.integers(0, 2), max_size=3),
        ),
        max_size=5,
    )
)
def test_round_trip_property(items: list[tuple[int, int, bytes, dict[int, int], dict[int, int]]]) -> None:
    entries = [
        ObjectListEntry(
            cid,
            ver,
            Obis.from_bytes(ln),
            {a: AccessMode(m) for a, m in attrs.items()},
            {m: MethodAccessMode(v) for m, v in meths.items()},
            dict.fromkeys(attrs),
        )
        for cid, ver, ln, attrs, meths in items
    ]
    data = encode_object_list(entries)
    parsed = parse_object_list(data, association_version=1)
    assert parsed == entries
    assert encode_object_list(parsed) == data
