"""Selective access: byte-exact against Gurux's GET requests and dlms_cosem's RangeDescriptor."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from dlms_cosem import cosem as dc_cosem
from dlms_cosem import enumerations as dc_enum
from dlms_cosem.cosem.capture_object import CaptureObject as DcCaptureObject
from dlms_cosem.cosem.selective_access import EntryDescriptor as DcEntryDescriptor
from dlms_cosem.cosem.selective_access import RangeDescriptor as DcRangeDescriptor
from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import Authentication, InterfaceType
from gurux_dlms.objects import GXDLMSClock, GXDLMSProfileGeneric, GXDLMSRegister
from gurux_dlms.objects.GXDLMSCaptureObject import GXDLMSCaptureObject
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.cosem import (
    CLOCK_TIME,
    CaptureObject,
    ClassId,
    CosemAttribute,
    EntryDescriptor,
    RangeDescriptor,
    parse_selective_access,
)
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.obis import Obis

CET = dt.timezone(dt.timedelta(hours=1))
CEST = dt.timezone(dt.timedelta(hours=2))
PROFILE = Obis.parse("1.0.99.1.0.255")
ENERGY = CaptureObject(ClassId.REGISTER, Obis.parse("1.0.1.8.0.255"), 2, 0)


def _gurux() -> tuple[GXDLMSClient, GXDLMSProfileGeneric]:
    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    pg = GXDLMSProfileGeneric("1.0.99.1.0.255")
    pg.captureObjects.append((GXDLMSClock("0.0.1.0.0.255"), GXDLMSCaptureObject(2, 0)))
    pg.captureObjects.append((GXDLMSRegister("1.0.1.8.0.255"), GXDLMSCaptureObject(2, 0)))
    return client, pg


def _gurux_parameters(frames: list[bytearray], selector: int) -> bytes:
    """The access parameters inside Gurux's GET-request-normal (after the wrapper header)."""
    (frame,) = frames
    apdu = bytes(frame)[8:]
    head = bytes.fromhex("c001c1 0007") + PROFILE.to_bytes() + bytes((2, 1, selector))
    assert apdu.startswith(head)
    return apdu[len(head) :]


def test_range_matches_gurux_read_rows_by_range() -> None:
    client, pg = _gurux()
    start, end = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=CET), dt.datetime(2024, 6, 3, tzinfo=CEST)
    theirs = _gurux_parameters(client.readRowsByRange(pg, start, end), 1)
    assert RangeDescriptor(start, end).to_selective_access() == (1, theirs)
    # With one selected column.
    theirs = _gurux_parameters(client.readRowsByRange(pg, start, end, [pg.captureObjects[1]]), 1)
    assert RangeDescriptor(start, end, selected_values=[ENERGY]).to_selective_access() == (1, theirs)


def test_range_vector() -> None:
    start, end = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=CET), dt.datetime(2024, 1, 3, tzinfo=CET)
    selector, params = RangeDescriptor(start, end).to_selective_access()
    assert selector == 1
    assert params == bytes.fromhex(
        "0204 0204 120008 09060000010000ff 0f02 120000"
        " 090c 07e80102ff03040500ffc400"
        " 090c 07e80103ff00000000ffc400"
        " 0100"
    )
    decoded = axdr.decode(params)
    assert isinstance(decoded, tuple)
    assert decoded[1] == bytes.fromhex("07e80102ff03040500ffc400")


def test_range_matches_dlms_cosem() -> None:
    restricting = DcCaptureObject(
        dc_cosem.CosemAttribute(dc_enum.CosemInterface.CLOCK, dc_cosem.Obis(0, 0, 1, 0, 0, 255), 2), 0
    )
    for start, end in [
        (dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 3)),  # naive: deviation not specified
        (dt.datetime(2024, 3, 30, 23, 0, tzinfo=CET), dt.datetime(2024, 3, 31, 5, 0, tzinfo=CEST)),
    ]:
        theirs = DcRangeDescriptor(restricting, start, end).to_bytes()
        selector, params = RangeDescriptor(start, end).to_selective_access()
        assert bytes((selector,)) + params == theirs


def test_dlms_cosem_cannot_encode_entry_or_selected_values() -> None:
    """Peer gaps: dlms_cosem 25.1 raises NotImplementedError for both; we encode them."""
    with pytest.raises(NotImplementedError):
        DcEntryDescriptor(from_entry=1).to_bytes()
    assert EntryDescriptor(1).to_selective_access() == (
        2,
        bytes.fromhex("0204 0600000001 0600000000 120001 120000"),
    )


def test_entry_matches_gurux_read_rows_by_entry() -> None:
    client, pg = _gurux()
    theirs = _gurux_parameters(client.readRowsByEntry(pg, 1, 10), 2)
    assert EntryDescriptor(from_entry=1, to_entry=10).to_selective_access() == (2, theirs)
    assert theirs == bytes.fromhex("0204 0600000001 060000000a 120001 120000")


def test_round_trips() -> None:
    start = dt.datetime(2024, 1, 2, 3, 4, 5, 670000, tzinfo=CET)
    rng = RangeDescriptor(start, dt.datetime(2024, 1, 3, tzinfo=CET), selected_values=[CLOCK_TIME, ENERGY])
    parsed = parse_selective_access(*rng.to_selective_access())
    assert isinstance(parsed, RangeDescriptor)
    assert isinstance(parsed.from_value, CosemDateTime)
    assert parsed.from_value.to_datetime() == start
    assert parsed.restricting_object == CLOCK_TIME
    assert parsed.selected_values == (CLOCK_TIME, ENERGY)
    assert parsed.to_selective_access() == rng.to_selective_access()
    entry = EntryDescriptor(5, 0xFFFFFFFF, 2, 3)
    assert parse_selective_access(*entry.to_selective_access()) == entry


def test_other_restricting_objects_and_values() -> None:
    unix = CosemAttribute(ClassId.DATA, Obis.parse("0.0.1.1.0.255"), 2)
    rng = RangeDescriptor(
        axdr.DoubleLongUnsigned(1_700_000_000), axdr.DoubleLongUnsigned(1_700_086_400), unix
    )
    selector, params = rng.to_selective_access()
    assert params[20:30] == bytes.fromhex("06 6553f100 06 65554280")
    parsed = parse_selective_access(selector, params)
    assert isinstance(parsed, RangeDescriptor)
    assert parsed.from_value == 1_700_000_000
    assert parsed.restricting_object == CaptureObject.of(unix)
    cdt = CosemDateTime(2024, 1, 1, None, 0, 0, 0, 0, None, None)  # wildcard day of week kept exactly
    assert RangeDescriptor(cdt, cdt).to_selective_access()[1][20:34] == b"\x09\x0c" + cdt.to_bytes()


def test_caller_errors() -> None:
    with pytest.raises(LocalProtocolError):
        EntryDescriptor(-1)
    with pytest.raises(LocalProtocolError):
        EntryDescriptor(1, 0, 0x10000)
    with pytest.raises(LocalProtocolError):
        RangeDescriptor(1, 2, restricting_object="clock")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("selector", "params"),
    [
        (2, b""),
        (2, bytes.fromhex("0204 0600000001 0600000000 120001 110000")),
        (3, bytes.fromhex("0100")),
        (1, bytes.fromhex("0203 0100 0100 0100")),
        (1, bytes.fromhex("0204 0100 0900 0900 0100")),
        (1, bytes.fromhex("0204 0204 120008 09050000010000 0f02 120000 0900 0900 0100")),
        (1, bytes.fromhex("0204 0204 120008 09060000010000ff 0f02 120000 0900 0900 0101 11")),
        (1, bytes.fromhex("0204")),
    ],
)
def test_malformed_parameters(selector: int, params: bytes) -> None:
    with pytest.raises(MalformedDataError):
        parse_selective_access(selector, params)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 2, 7]), st.binary(max_size=80))
def test_fuzz_parse_selective_access(selector: int, params: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        parse_selective_access(selector, params)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_entry_round_trip_property(a: int, b: int, c: int, d: int) -> None:
    entry = EntryDescriptor(a, b, c, d)
    selector, params = entry.to_selective_access()
    assert axdr.decode(params) == (a, b, c, d)
    assert parse_selective_access(selector, params) == entry
