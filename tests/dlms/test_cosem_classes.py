"""The interface-class table and interpret() for every class a reader meets."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.cosem import (
    CaptureObject,
    ClassId,
    CosemAttribute,
    ObjectListEntry,
    Quantity,
    ScalerUnit,
    SortMethod,
    Unit,
    attribute_name,
    interface_class,
    interpret,
    known_classes,
    method_name,
)
from meterlink.dlms.cosem.classes import (
    AssociationStatus,
    BaudRate,
    ClockBase,
    ControlMode,
    ControlState,
    EncryptionKeyStatus,
    ImageTransferStatus,
    LocalPortMode,
    MessageType,
    ScriptAction,
    SecurityPolicy,
    SecurityPolicyV0,
    SecuritySuite,
    SendDestination,
    SingleActionType,
    TransportService,
)
from meterlink.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError
from meterlink.obis import Obis

LN = bytes.fromhex("0000010000ff")
DT = bytes.fromhex("07e8011e02 0c0000 00 ffc4 00")  # 2024-01-30 12:00 CET
U = axdr.Unsigned
E = axdr.Enum
LU = axdr.LongUnsigned
DLU = axdr.DoubleLongUnsigned
I8 = axdr.Integer

REQUIRED = {1, 3, 4, 5, 7, 8, 9, 15, 17, 18, 19, 20, 21, 22, 23, 40, 64, 70, 71, 72}


def test_table_covers_the_classes_a_reader_meets() -> None:
    assert {int(ic.class_id) for ic in known_classes()} == REQUIRED
    for ic in known_classes():
        assert ic.attributes[1].name == "logical_name"
        assert ic.attributes[1].tag == axdr.DataTag.OCTET_STRING
        assert all(number == spec.number for number, spec in ic.attributes.items())
        assert all(number == spec.number for number, spec in ic.methods.items())


@pytest.mark.parametrize(
    ("cid", "attr", "name"),
    [
        (ClassId.REGISTER, 3, "scaler_unit"),
        (ClassId.DEMAND_REGISTER, 8, "period"),
        (ClassId.PROFILE_GENERIC, 4, "capture_period"),
        (ClassId.PROFILE_GENERIC, 5, "sort_method"),
        (ClassId.CLOCK, 9, "clock_base"),
        (ClassId.ASSOCIATION_LN, 2, "object_list"),
        (ClassId.IMAGE_TRANSFER, 6, "image_transfer_status"),
        (ClassId.IEC_HDLC_SETUP, 9, "device_address"),
        (ClassId.PUSH_SETUP, 3, "send_destination_and_method"),
        (ClassId.SECURITY_SETUP, 5, "server_system_title"),
        (ClassId.DISCONNECT_CONTROL, 3, "control_state"),
        (ClassId.LIMITER, 11, "actions"),
        (ClassId.MBUS_CLIENT, 14, "encryption_key_status"),
        (999, 1, "logical_name"),
    ],
)
def test_attribute_names(cid: int, attr: int, name: str) -> None:
    assert attribute_name(cid, attr) == name


def test_versions_and_methods() -> None:
    assert attribute_name(ClassId.PUSH_SETUP, 11, version=1) is None
    assert attribute_name(ClassId.PUSH_SETUP, 11, version=2) == "push_operation_method"
    assert attribute_name(ClassId.ASSOCIATION_LN, 9, version=0) is None
    assert attribute_name(ClassId.REGISTER, 9) is None
    assert method_name(ClassId.ASSOCIATION_LN, 1) == "reply_to_hls_authentication"
    assert method_name(ClassId.IMAGE_TRANSFER, 2) == "image_block_transfer"
    assert method_name(ClassId.DISCONNECT_CONTROL, 1) == "remote_disconnect"
    assert method_name(ClassId.CLOCK, 6) == "shift_time"
    assert method_name(ClassId.SECURITY_SETUP, 3, version=0) is None
    assert method_name(ClassId.DATA, 1) is None
    assert method_name(999, 1) is None
    ic = interface_class(ClassId.IMAGE_TRANSFER)
    assert ic.methods[1].argument == "structure{octet-string, double-long-unsigned}"
    assert ic.attributes[6].tag == axdr.DataTag.ENUM
    assert interface_class(ClassId.DATA).attributes[2].tag is None  # "any"
    with pytest.raises(LocalProtocolError):
        interface_class(2)


def test_register_family_quantities() -> None:
    su = ScalerUnit(-3, Unit.WATT_HOUR)
    for cid, attr in [(3, 2), (4, 2), (5, 2), (5, 3), (71, 3)]:
        q = interpret(cid, attr, DLU(12345), scaler_unit=su)
        assert q == Quantity(12345, -3, Unit.WATT_HOUR)
        assert isinstance(q, Quantity) and q.value == Decimal("12.345")
    assert interpret(3, 2, DLU(12345)) == 12345  # no scaler given: unchanged
    assert interpret(3, 2, b"text", scaler_unit=su) == b"text"  # not a number: unchanged
    assert interpret(3, 2, None, scaler_unit=su) is None
    assert interpret(3, 3, (I8(-3), E(30))) == su
    assert interpret(4, 5, DT) == CosemDateTime.from_bytes(DT)
    assert interpret(5, 7, DT) == CosemDateTime.from_bytes(DT)
    assert interpret(4, 5, b"") is None


def test_logical_names_everywhere() -> None:
    for ic in known_classes():
        assert interpret(ic.class_id, 1, LN) == Obis.parse("0.0.1.0.0.255")
    assert interpret(12345, 1, LN) == Obis.parse("0.0.1.0.0.255")
    with pytest.raises(MalformedDataError):
        interpret(ClassId.DATA, 1, b"\x00" * 5)


def test_data_and_unknown_values_pass_through() -> None:
    assert interpret(ClassId.DATA, 2, b"LGZ") == b"LGZ"
    assert interpret(12345, 2, U(5)) == 5
    assert interpret(ClassId.REGISTER, 99, U(5)) == 5


def test_profile_generic() -> None:
    cap = CaptureObject(8, Obis.parse("0.0.1.0.0.255"), 2, 0)
    assert interpret(7, 3, [(LU(8), LN, I8(2), LU(0))]) == [cap]
    assert interpret(7, 5, E(2)) is SortMethod.LIFO
    assert interpret(7, 5, E(9)) == 9  # unnamed code kept
    assert interpret(7, 6, (LU(8), LN, I8(2), LU(0))) == cap
    assert interpret(7, 4, DLU(900)) == 900


def test_clock() -> None:
    value = interpret(8, 2, DT)
    assert isinstance(value, CosemDateTime)
    assert value.to_datetime() == dt.datetime(2024, 1, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert interpret(8, 2, CosemDateTime.from_bytes(DT)) == value  # date-time tag accepted too
    assert interpret(8, 9, E(1)) is ClockBase.INTERNAL_CRYSTAL
    assert interpret(8, 5, DT) == value
    with pytest.raises(MalformedDataError):
        interpret(8, 2, b"\x07\xe8")


def test_association_and_sap() -> None:
    entries = interpret(15, 2, [(LU(8), U(0), LN, ([(I8(2), E(1), None)], [(I8(1), True)]))])
    assert isinstance(entries, list) and isinstance(entries[0], ObjectListEntry)
    assert interpret(15, 8, E(2)) is AssociationStatus.ASSOCIATED
    assert interpret(15, 9, bytes.fromhex("00002b0000ff")) == Obis.parse("0.0.43.0.0.255")
    assert interpret(17, 2, [(LU(1), b"LGZ1234567890123")]) == {1: b"LGZ1234567890123"}
    with pytest.raises(MalformedDataError):
        interpret(17, 2, [(LU(1),)])


def test_image_transfer_and_disconnect() -> None:
    assert interpret(18, 6, E(6)) is ImageTransferStatus.ACTIVATION_SUCCESSFUL
    assert interpret(70, 3, E(0)) is ControlState.DISCONNECTED
    assert interpret(70, 3, E(2)) is ControlState.READY_FOR_RECONNECTION
    assert interpret(70, 4, E(4)) is ControlMode.MODE_4
    assert interpret(70, 2, True) is True


def test_ports_and_hdlc() -> None:
    assert interpret(19, 2, E(1)) is LocalPortMode.DLMS_COSEM
    assert interpret(19, 3, E(5)) is BaudRate.BAUD_9600
    assert BaudRate.BAUD_9600.rate == 9600
    assert interpret(23, 2, E(9)).rate == 115200  # type: ignore[attr-defined]
    assert interpret(23, 5, LU(128)) == 128


def test_calendar_monitor_schedule_script() -> None:
    assert interpret(20, 10, DT) == CosemDateTime.from_bytes(DT)
    script = ScriptAction(Obis.parse("0.0.10.0.100.255"), 1)
    pair = ((bytes.fromhex("00000a0064ff"), LU(1)), (bytes.fromhex("00000a0064ff"), LU(2)))
    assert interpret(21, 4, [pair]) == [(script, ScriptAction(script.script, 2))]
    assert interpret(21, 3, (LU(3), bytes.fromhex("0100010700ff"), I8(2))) == CosemAttribute(
        3, Obis.parse("1.0.1.7.0.255"), 2
    )
    assert interpret(22, 2, (bytes.fromhex("00000a0064ff"), LU(1))) == script
    assert interpret(22, 3, E(1)) is SingleActionType.ONE_TIME_WILDCARD_DATE
    times = interpret(22, 4, [(bytes.fromhex("0c000000"), bytes.fromhex("ffffffffff"))])
    assert times == [(CosemTime(12, 0, 0, 0), CosemDate())]
    assert interpret(9, 2, [(LU(1), [])]) == [(1, [])]


def test_push_setup() -> None:
    dest = interpret(40, 3, (E(0), b"10.0.0.1:4059", E(0)))
    assert dest == SendDestination(TransportService.TCP, b"10.0.0.1:4059", MessageType.AXDR_APDU)
    assert interpret(40, 2, [(LU(40), bytes.fromhex("0000190900ff"), I8(2), LU(0))])[0].class_id == 40  # type: ignore[index]
    assert interpret(40, 4, [(DT, DT)]) == [(CosemDateTime.from_bytes(DT), CosemDateTime.from_bytes(DT))]
    with pytest.raises(MalformedDataError):
        interpret(40, 3, (E(0), "x", E(0)))


def test_security_setup_versions() -> None:
    assert interpret(64, 2, E(3), version=0) is SecurityPolicyV0.ALL_AUTHENTICATED_AND_ENCRYPTED
    policy = interpret(64, 2, E(0x0C))
    assert policy == SecurityPolicy.AUTHENTICATED_REQUEST | SecurityPolicy.ENCRYPTED_REQUEST
    assert interpret(64, 3, E(0)) is SecuritySuite.AES_GCM_128


def test_limiter_and_mbus() -> None:
    assert interpret(71, 2, (LU(3), bytes.fromhex("0100010700ff"), I8(2))).attribute == 2  # type: ignore[attr-defined]
    profile = interpret(71, 8, (LU(1), DT, DLU(3600)))
    assert profile == (1, CosemDateTime.from_bytes(DT), 3600)
    script = (bytes.fromhex("00000a0064ff"), LU(1))
    assert interpret(71, 11, (script, script))[0].selector == 1  # type: ignore[index]
    assert interpret(72, 7, LU(0x2C2D)) == "KAM"  # EN 13757 manufacturer code of Kamstrup
    assert interpret(72, 7, LU(0)) == 0  # not three letters: unchanged
    assert interpret(72, 14, E(4)) is EncryptionKeyStatus.KEY_IN_USE
    assert interpret(72, 2, bytes.fromhex("0001180000ff")) == Obis.parse("0.1.24.0.0.255")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(REQUIRED)),
    st.integers(1, 14),
    st.recursive(
        st.none() | st.booleans() | st.binary(max_size=14) | st.builds(axdr.Unsigned, st.integers(0, 255)),
        lambda children: st.lists(children, max_size=4) | st.lists(children, max_size=4).map(tuple),
        max_leaves=12,
    ),
)
def test_fuzz_interpret(cid: int, attr: int, value: object) -> None:
    with contextlib.suppress(MeterlinkError):
        interpret(cid, attr, value, scaler_unit=ScalerUnit(-1, Unit.VOLT))
