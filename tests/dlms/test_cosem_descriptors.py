"""Attribute/method descriptors and capture objects: byte-exact, against dlms_cosem too."""

from __future__ import annotations

import pytest
from dlms_cosem import cosem as dc_cosem
from dlms_cosem import enumerations as dc_enum
from dlms_cosem.cosem.capture_object import CaptureObject as DcCaptureObject
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.cosem import CaptureObject, ClassId, CosemAttribute, CosemMethod
from meterlink.dlms.cosem.descriptors import class_id
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.obis import Obis

CLOCK = Obis.parse("0.0.1.0.0.255")


def test_attribute_descriptor_bytes() -> None:
    attr = CosemAttribute(ClassId.CLOCK, CLOCK, 2)
    assert attr.to_bytes() == bytes.fromhex("0008 0000010000ff 02")
    assert CosemAttribute.from_bytes(attr.to_bytes()) == attr
    reg = CosemAttribute(3, "1-0:1.8.0*255", 2)  # type: ignore[arg-type]  # text accepted too
    assert reg.instance == Obis.parse("1.0.1.8.0.255")
    assert reg.interface is ClassId.REGISTER


def test_negative_attribute_and_unknown_class() -> None:
    attr = CosemAttribute(9000, CLOCK, -2)
    assert attr.to_bytes() == bytes.fromhex("2328 0000010000ff fe")
    assert attr.interface == 9000 and not isinstance(attr.interface, ClassId)
    assert CosemAttribute.from_bytes(attr.to_bytes()).attribute == -2
    assert class_id(8) is ClassId.CLOCK


def test_method_descriptor_bytes_and_decode_from() -> None:
    method = CosemMethod(ClassId.ASSOCIATION_LN, Obis.parse("0.0.40.0.0.255"), 1)
    data = b"\xaa" + method.to_bytes() + b"\xbb"
    assert method.to_bytes() == bytes.fromhex("000f 0000280000ff 01")
    assert CosemMethod.decode_from(data, 1) == (method, 10)


def test_descriptors_match_dlms_cosem() -> None:
    ours = CosemAttribute(ClassId.REGISTER, Obis.parse("1.0.1.8.0.255"), 2)
    theirs = dc_cosem.CosemAttribute(dc_enum.CosemInterface.REGISTER, dc_cosem.Obis(1, 0, 1, 8, 0, 255), 2)
    assert ours.to_bytes() == theirs.to_bytes()
    cap = CaptureObject(ClassId.CLOCK, CLOCK, 2, 0)
    dc_cap = DcCaptureObject(
        dc_cosem.CosemAttribute(dc_enum.CosemInterface.CLOCK, dc_cosem.Obis(0, 0, 1, 0, 0, 255), 2), 0
    )
    assert cap.to_bytes() == dc_cap.to_bytes()


def test_capture_object_value_round_trip() -> None:
    cap = CaptureObject(ClassId.REGISTER, Obis.parse("1.0.2.8.0.255"), 2, 0)
    assert axdr.encode(cap.to_value()) == cap.to_bytes()
    assert CaptureObject.from_value(axdr.decode(cap.to_bytes())) == cap
    assert CaptureObject.of(cap.attribute_descriptor, 3).data_index == 3


@pytest.mark.parametrize(
    "bad",
    [
        (1, b"\x00" * 5, 2, 0),
        (1, b"\x00" * 6, 200, 0),
        (70000, b"\x00" * 6, 2, 0),
        (1, b"\x00" * 6),
        [1, b"\x00" * 6, 2, 0],
        (True, b"\x00" * 6, 2, 0),
    ],
)
def test_capture_object_shape_errors(bad: object) -> None:
    with pytest.raises(MalformedDataError):
        CaptureObject.from_value(bad)


def test_caller_errors() -> None:
    with pytest.raises(LocalProtocolError):
        CosemAttribute(70000, CLOCK, 2)
    with pytest.raises(LocalProtocolError):
        CosemAttribute(8, CLOCK, 128)
    with pytest.raises(LocalProtocolError):
        CosemAttribute(8, Obis.parse("1.8.0"), 2)  # not a complete logical name
    with pytest.raises(LocalProtocolError):
        CaptureObject(8, CLOCK, 2, -1)
    with pytest.raises(MalformedDataError) as err:
        CosemAttribute.from_bytes(b"\x00\x08")
    assert err.value.data == b"\x00\x08"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12), st.integers(0, 12))
def test_fuzz_descriptor_decode(data: bytes, offset: int) -> None:
    try:
        attr, end = CosemAttribute.decode_from(data, offset)
    except MeterlinkError:
        return
    assert end == offset + 9
    assert attr.to_bytes() == data[offset:end]
