"""The emulated meter's objects and access rights, sans-io: a client association wired to the meter's
server association in memory, on a virtual clock (``now`` passed in, the meter starts at 0)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from meterlink.dlms import axdr
from meterlink.dlms.apdu import (
    AARE,
    ActionResult,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    SelectiveAccess,
    decode_apdu,
)
from meterlink.dlms.association import ClientAssociation, Settings
from meterlink.dlms.cosem import (
    AccessMode,
    CaptureObject,
    ClassId,
    EntryDescriptor,
    RangeDescriptor,
    parse_buffer,
    parse_capture_objects,
    parse_object_list,
)
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.dlms.events import Associated, AssociationRefused, Event, GetCompleted
from meterlink.dlms.security import KeyId, global_key_transfer
from meterlink.emulator.dlms import DlmsMeter
from meterlink.obis import Obis

from .helpers import (
    AK,
    BREAKER,
    BUFFER,
    CLOCK,
    EK,
    ENERGY,
    ENERGY_SCALER,
    FRAME_COUNTER,
    KEK,
    OBJECT_LIST,
    POWER,
    PROFILE,
    PUSH,
    SERIAL,
    describe,
    gmac,
    lls,
    public,
)

ORIGIN = dt.datetime(2024, 3, 1, 8, 0, 0)


class Wire:
    """Client association <-> the meter's association for one client SAP, whole APDUs in memory."""

    def __init__(self, meter: DlmsMeter, client: int, settings: Settings) -> None:
        session = meter.open_association(1, client)
        assert session is not None
        self.server = session
        self.client = ClientAssociation(settings)
        self.now = 0.0

    def run(self) -> list[Event]:
        self.server.application.now = self.now  # type: ignore[attr-defined]
        for _ in range(100):
            out = self.client.data_to_send()
            for apdu in out:
                self.server.receive_apdu(apdu)
            back = self.server.data_to_send()
            for apdu in back:
                self.client.receive_apdu(apdu)
            if not out and not back:
                break
        return self.client.events()

    def associate(self) -> Event:
        self.client.associate()
        (event,) = self.run()
        return event

    def get(self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None = None) -> Any:
        self.client.get(attribute, access)
        (event,) = self.run()
        assert isinstance(event, GetCompleted)
        return event.results[0]

    def value(self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None = None) -> Any:
        raw = self.get(attribute, access)
        assert isinstance(raw, bytes), raw
        return axdr.decode(raw)

    def set(self, attribute: CosemAttributeDescriptor, value: Any) -> DataAccessResult:
        self.client.set(attribute, axdr.encode(value))
        (event,) = self.run()
        result = event.results[0]  # type: ignore[union-attr]
        assert isinstance(result, DataAccessResult)
        return result

    def action(self, method: CosemMethodDescriptor, value: Any = None) -> ActionResult:
        self.client.action(method, None if value is None else axdr.encode(value))
        (event,) = self.run()
        result: ActionResult = event.outcomes[0].result  # type: ignore[union-attr]
        return result


def meter() -> DlmsMeter:
    return DlmsMeter(describe(), start=0.0)


def opened(m: DlmsMeter, client: int, settings: Settings) -> Wire:
    wire = Wire(m, client, settings)
    assert isinstance(wire.associate(), Associated)
    return wire


def clock_of(raw: bytes) -> dt.datetime:
    return CosemDateTime.from_bytes(raw).to_datetime().replace(tzinfo=None)


# ================================================================================================
# associations and access rights
# ================================================================================================
def test_public_sees_only_its_objects_and_reads_only() -> None:
    wire = opened(meter(), 16, public())
    entries = {e.logical_name: e for e in parse_object_list(wire.get(OBJECT_LIST))}
    assert set(entries) == {
        Obis.parse(t)
        for t in ("0.0.40.0.0.255", "0.0.96.1.0.255", "1.0.1.8.0.255", "0.0.1.0.0.255", "0.0.43.1.0.255")
    }
    clock = entries[Obis.parse("0.0.1.0.0.255")]
    assert clock.class_id == ClassId.CLOCK and clock.readable(2) and not clock.writable(2)
    assert not clock.callable(6)
    assert wire.value(SERIAL) == "SN12345678"
    assert wire.set(CLOCK, bytes(12)) == DataAccessResult.READ_WRITE_DENIED
    assert wire.set(SERIAL, "X") == DataAccessResult.READ_WRITE_DENIED
    assert wire.get(POWER) == DataAccessResult.OBJECT_UNDEFINED  # not in its view
    assert (
        wire.action(CosemMethodDescriptor(70, BREAKER, 1), axdr.Integer(0)) == ActionResult.OBJECT_UNDEFINED
    )


def test_object_list_follows_the_description_and_the_rights() -> None:
    m = meter()
    wire = opened(m, 32, lls())
    entries = {e.logical_name: e for e in parse_object_list(wire.get(OBJECT_LIST))}
    configured = {o.obis for o in m.description.logical_devices[0].objects}
    automatic = {Obis.parse(t) for t in ("0.0.40.0.0.255", "0.0.41.0.0.255", "0.0.42.0.0.255")}
    assert set(entries) == configured | automatic
    profile = entries[PROFILE]
    assert (profile.class_id, profile.version) == (ClassId.PROFILE_GENERIC, 1)
    assert profile.selectors[2] == (1, 2)
    energy = entries[Obis.parse("1.0.1.8.0.255")]
    assert dict(energy.attribute_access) == {1: AccessMode.READ, 2: AccessMode.NO_ACCESS, 3: AccessMode.READ}
    assert entries[Obis.parse("0.0.1.0.0.255")].writable(2)
    assert not entries[Obis.parse("1.0.1.7.0.255")].writable(2)
    assert entries[BREAKER].callable(1) and not entries[PUSH].callable(1)
    # the rights are enforced, not only listed
    assert wire.get(ENERGY) == DataAccessResult.READ_WRITE_DENIED
    assert wire.value(ENERGY_SCALER) == (axdr.Integer(0), axdr.Enum(30))
    assert wire.action(CosemMethodDescriptor(40, PUSH, 1), axdr.Integer(0)) == ActionResult.READ_WRITE_DENIED


def test_lls_wrong_password_and_unknown_client_are_refused() -> None:
    m = meter()
    refused = Wire(m, 32, lls(b"wrong")).associate()
    assert isinstance(refused, AssociationRefused)
    assert "AUTHENTICATION_FAILURE" in refused.reason
    assert m.open_association(1, 99) is None
    aare = decode_apdu(m.refusal(bytes.fromhex("6000")) or b"")
    assert isinstance(aare, AARE) and aare.result != 0


def test_hls_gmac_ciphered_management_and_frame_counter() -> None:
    m = meter()
    wire = opened(m, 1, gmac())
    assert wire.value(ENERGY) == 1_000_000
    wire.client.release()
    wire.run()
    assert m.frame_counter(1, 1) >= 2
    # a second association that starts its counter at 0 again is a replay: refused
    assert isinstance(Wire(m, 1, gmac()).associate(), AssociationRefused)
    # bootstrap through the public client as a real head-end does
    counter = opened(m, 16, public()).value(FRAME_COUNTER)
    fresh = Wire(m, 1, gmac())
    fresh.client.counters.set_next_to_send("guek", int(counter) + 1)
    assert isinstance(fresh.associate(), Associated)


def test_wrong_gmac_key_is_refused() -> None:
    event = Wire(meter(), 1, gmac(ek=bytes(16))).associate()
    assert isinstance(event, AssociationRefused)


# ================================================================================================
# registers, clock, profile
# ================================================================================================
def test_growing_register_grows_with_the_meter_clock() -> None:
    w16 = opened(meter(), 16, public())
    assert w16.value(ENERGY) == 1_000_000
    w16.now = 1800.0
    assert w16.value(ENERGY) == 1_001_800  # 3600 Wh per hour
    assert clock_of(w16.value(CLOCK)) == ORIGIN + dt.timedelta(minutes=30)


def test_clock_set_and_shift_time_move_the_clock_and_the_profile() -> None:
    m = meter()
    wire = opened(m, 32, lls())
    target = CosemDateTime.from_datetime(dt.datetime(2024, 6, 1, 12, 0, 0), clock_status=0)
    assert wire.set(CLOCK, target.to_bytes()) == DataAccessResult.SUCCESS
    assert clock_of(wire.value(CLOCK)) == dt.datetime(2024, 6, 1, 12, 0, 0)
    shift = CosemMethodDescriptor(8, Obis.parse("0.0.1.0.0.255"), 6)
    assert wire.action(shift, axdr.Long(-30)) == ActionResult.SUCCESS
    assert clock_of(wire.value(CLOCK)) == dt.datetime(2024, 6, 1, 11, 59, 30)
    assert wire.action(shift, axdr.Long(5000)) == ActionResult.TYPE_UNMATCHED
    assert wire.set(CLOCK, b"short") == DataAccessResult.TYPE_UNMATCHED
    raw = CosemDateTime.from_bytes(wire.value(CLOCK))
    assert raw.deviation == -60 and raw.day_of_week == 6


def _profile(wire: Wire, access: SelectiveAccess | None = None) -> list[tuple[Any, ...]]:
    captures = parse_capture_objects(wire.get(CosemAttributeDescriptor(7, PROFILE, 3)))
    raw = wire.get(BUFFER, access)
    assert isinstance(raw, bytes), raw
    if access is not None and access.selector == 2:
        return list(parse_buffer(raw).rows)
    return list(parse_buffer(raw, captures).rows)


def test_profile_rows_are_deterministic_and_computed_from_the_registers() -> None:
    m = meter()
    wire = opened(m, 32, lls())
    wire.now = 100.0
    rows = _profile(wire)
    assert len(rows) == 96
    assert rows == _profile(wire)  # read twice, same rows
    last = rows[-1]
    assert last[0].replace(tzinfo=None) == ORIGIN  # 08:00:00 is on the 15-minute grid
    assert last[1:] == (1_000_000, 1500)
    assert rows[-2][1] == 1_000_000 - 900  # 15 minutes earlier
    assert wire.value(CosemAttributeDescriptor(7, PROFILE, 7)) == 96
    wire.now = 1000.0
    assert _profile(wire)[-1][1] == 1_000_900  # a new row at 08:15


def test_profile_by_entry_and_by_range_with_columns() -> None:
    m = meter()
    wire = opened(m, 32, lls())
    wire.now = 3600.0
    everything = _profile(wire)
    by_entry = SelectiveAccess(*EntryDescriptor(2, 4, 2, 2).to_selective_access())
    assert _profile(wire, by_entry) == [(row[1],) for row in everything[1:4]]
    start, end = dt.datetime(2024, 3, 1, 8, 0), dt.datetime(2024, 3, 1, 8, 40)
    energy = CaptureObject(3, Obis.parse("1.0.1.8.0.255"), 2)
    clock = CaptureObject(8, Obis.parse("0.0.1.0.0.255"), 2)
    by_range = SelectiveAccess(
        *RangeDescriptor(start, end, selected_values=(clock, energy)).to_selective_access()
    )
    raw = wire.get(BUFFER, by_range)
    rows = list(parse_buffer(raw, [clock, energy]).rows)
    assert [r[0].replace(tzinfo=None) for r in rows] == [
        start + dt.timedelta(minutes=15 * i) for i in range(3)
    ]
    assert [r[1] for r in rows] == [1_000_000, 1_000_900, 1_001_800]
    reset = CosemMethodDescriptor(7, PROFILE, 1)
    assert wire.action(reset, axdr.Integer(0)) == ActionResult.READ_WRITE_DENIED  # not for client 32
    management = opened(m, 1, gmac())
    management.now = 3600.0
    assert management.action(reset, axdr.Integer(0)) == ActionResult.SUCCESS
    assert _profile(wire) == []
    wire.now = 3600.0 + 900
    assert len(_profile(wire)) == 1


def test_disconnect_control_and_push_method() -> None:
    m = meter()
    wire = opened(m, 32, lls())
    state = CosemAttributeDescriptor(70, BREAKER, 3)
    assert wire.value(state) == 1
    assert wire.action(CosemMethodDescriptor(70, BREAKER, 1), axdr.Integer(0)) == ActionResult.SUCCESS
    assert wire.value(state) == 0 and wire.value(CosemAttributeDescriptor(70, BREAKER, 2)) is False
    assert wire.action(CosemMethodDescriptor(70, BREAKER, 2), axdr.Integer(0)) == ActionResult.SUCCESS
    assert wire.value(state) == 1
    management = opened(m, 1, gmac())
    assert management.action(CosemMethodDescriptor(40, PUSH, 1), axdr.Integer(0)) == ActionResult.SUCCESS
    assert list(m.push_requests) == [(1, PUSH)]
    body = axdr.decode(m.push_body(1, PUSH, 0.0))
    assert isinstance(body, tuple) and len(body) == 3
    assert body[2] == axdr.DoubleLongUnsigned(1_000_000)


def test_undefined_and_inconsistent_objects() -> None:
    wire = opened(meter(), 32, lls())
    assert (
        wire.get(CosemAttributeDescriptor(1, Obis.parse("0.0.96.99.0.255"), 2))
        == DataAccessResult.OBJECT_UNDEFINED
    )
    assert wire.get(CosemAttributeDescriptor(1, Obis.parse("1.0.1.8.0.255"), 2)) == (
        DataAccessResult.OBJECT_CLASS_INCONSISTENT
    )
    assert (
        wire.get(CosemAttributeDescriptor(3, Obis.parse("1.0.1.7.0.255"), 9))
        == DataAccessResult.OBJECT_UNDEFINED
    )
    # the association secret is never readable
    secret = CosemAttributeDescriptor(15, Obis.parse("0.0.40.0.0.255"), 7)
    assert wire.get(secret) == DataAccessResult.READ_WRITE_DENIED


def test_changed_secret_and_transferred_keys_apply_to_the_next_association() -> None:
    m = meter()
    wire = opened(m, 32, lls())
    secret = CosemAttributeDescriptor(15, Obis.parse("0.0.40.0.0.255"), 7)
    assert wire.set(secret, b"NEWPASS1") == DataAccessResult.SUCCESS
    assert isinstance(Wire(m, 32, lls()).associate(), AssociationRefused)
    assert isinstance(Wire(m, 32, lls(b"NEWPASS1")).associate(), Associated)
    management = opened(m, 1, gmac())
    new_ek = bytes(range(16, 32))
    params = global_key_transfer(KEK, [(KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY, new_ek)])
    transfer = CosemMethodDescriptor(64, Obis.parse("0.0.43.0.0.255"), 2)
    management.client.action(transfer, params)
    (done,) = management.run()
    assert done.outcomes[0].result == ActionResult.SUCCESS  # type: ignore[union-attr]
    later = Wire(m, 1, gmac(ek=new_ek))
    later.client.counters.set_next_to_send("guek", m.frame_counter(1, 1) + 1)
    assert isinstance(later.associate(), Associated)
    assert AK and EK  # the old keys no longer open it:
    old = Wire(m, 1, gmac())
    old.client.counters.set_next_to_send("guek", m.frame_counter(1, 1) + 1)
    assert isinstance(old.associate(), AssociationRefused)
