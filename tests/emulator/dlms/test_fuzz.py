"""Hostile bytes on a line, hostile A-XDR in SET and ACTION: the emulated meter shrugs (no exception
escapes a session) and answers with a Data-Access-Result where the protocol has one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms.apdu import (
    ActionOutcome,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
)
from meterlink.emulator.dlms import DlmsMeter, LinkSession, ModeESession
from meterlink.obis import Obis

from .helpers import describe

METER = DlmsMeter(describe(), start=0.0)
SNRM = bytes.fromhex("7ea00802232193bd647e")
OBJECTS = [o.obis for o in METER.description.logical_devices[0].objects]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=6), st.sampled_from(["hdlc", "wrapper", "udp", "mode-e"]))
def test_sessions_take_any_bytes(chunks: list[bytes], kind: str) -> None:
    session: LinkSession | ModeESession
    if kind == "mode-e":
        session = ModeESession(METER)
    else:
        session = LinkSession(METER, "hdlc" if kind == "hdlc" else "wrapper", datagrams=kind == "udp")
    if kind == "hdlc":
        session.receive_data(SNRM, 0.0)
    for i, chunk in enumerate(chunks):
        session.receive_data(chunk, float(i))
        session.time_passed(float(i))
        session.data_to_send()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OBJECTS), st.integers(1, 12), st.binary(max_size=40), st.sampled_from([1, 32]))
def test_set_and_action_take_any_data(obis: Obis, index: int, data: bytes, client: int) -> None:
    session = METER.open_association(1, client)
    assert session is not None
    app = session.application
    obj = METER.devices[1].objects[obis]
    result = app.set(CosemAttributeDescriptor(obj.CLASS_ID, obis, index), None, data)
    assert isinstance(result, DataAccessResult)
    if obj.METHODS:
        outcome = app.action(CosemMethodDescriptor(obj.CLASS_ID, obis, min(index, obj.METHODS)), data or None)
        assert isinstance(outcome, ActionOutcome)
