"""The emulator pushing over the client's own open line, and the profile's capture method.

A push setup with ``destination = "session"`` sends its DataNotification to the association of
its client on the line that association runs on (HDLC UI frames, or wrapper PDUs from the
logical device's port), ciphered as that association ciphers. The sans-io tests drive a
:class:`LinkSession` in memory with the blocking test driver of :mod:`.helpers`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from meterlink.dlms import axdr
from meterlink.dlms.apdu import CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccess
from meterlink.dlms.cosem import EntryDescriptor, parse_buffer, parse_capture_objects
from meterlink.dlms.events import Associated, PushReceived
from meterlink.emulator.dlms import DlmsMeter, LinkSession, parse_dlms_description
from meterlink.errors import LocalProtocolError
from meterlink.hdlc.framer import Framer
from meterlink.hdlc.frames import FrameKind

from .helpers import (
    BUFFER,
    ENERGY,
    METER,
    PROFILE,
    PUSH,
    Driver,
    Pipe,
    describe,
    gmac,
    hdlc_framing,
    lls,
    public,
    wrapper_framing,
)
from .test_objects import ORIGIN, clock_of, opened


class Memory:
    """A :class:`Pipe` straight into a :class:`LinkSession` on a fake clock."""

    def __init__(self, session: LinkSession) -> None:
        self.session = session
        self.now = 0.0
        self.wire: list[bytes] = []
        """Everything the meter sent, chunk by chunk."""

    def pipe(self) -> Pipe:
        def send(data: bytes) -> None:
            self.session.receive_data(data, self.now)

        def recv(timeout: float) -> bytes:
            self.now += 0.01
            self.session.time_passed(self.now)
            chunks = [item.data for item in self.session.data_to_send()]
            self.wire += chunks
            return b"".join(chunks)

        return Pipe(send, recv, lambda: None)


def _line(transport: str, client: int, push: str) -> tuple[DlmsMeter, Memory, Driver]:
    meter = DlmsMeter(describe(push), start=0.0)
    memory = Memory(LinkSession(meter, transport))
    framing = hdlc_framing(client) if transport == "hdlc" else wrapper_framing(client)
    settings = {16: public(), 1: gmac(), 32: lls()}[client]
    driver = Driver(memory.pipe(), framing, settings)
    driver.open()
    assert isinstance(driver.associate(), Associated)
    return meter, memory, driver


def _push_body(event: Any) -> tuple[Any, ...]:
    assert isinstance(event, PushReceived), event
    body = axdr.decode(event.notification.body)
    assert isinstance(body, tuple)
    return body


@pytest.mark.parametrize("transport", ["hdlc", "wrapper"])
def test_a_push_goes_to_the_connected_client_over_its_own_line(transport: str) -> None:
    _, memory, driver = _line(transport, 16, 'destination = "session"')
    memory.wire.clear()
    at = memory.now
    assert memory.session.push(1, PUSH, at) == 1
    (event,) = driver.events()
    assert isinstance(event, PushReceived)
    body = _push_body(event)
    assert len(body) == 3  # the push setup itself, the clock, the energy
    assert body[2] == axdr.DoubleLongUnsigned(1_000_000)
    assert event.ciphered is None
    assert event.notification.date_time is not None
    stamp = clock_of(event.notification.date_time)
    assert abs((stamp - ORIGIN).total_seconds() - at) < 0.01  # the meter's time when it pushed
    if transport == "hdlc":  # a UI frame to the client's HDLC address, not an I frame
        framer = Framer()
        framer.feed(b"".join(memory.wire))
        frames = list(framer)
        assert [f.kind for f in frames] == [FrameKind.UI] * len(frames)  # type: ignore[union-attr]
        assert frames[0].destination.logical == 16  # type: ignore[union-attr]
    else:  # from the logical device's port to the client's
        assert b"".join(memory.wire)[:6] == bytes.fromhex("0001 0001 0010")
    # the line goes on: a request after the push is answered as usual
    assert driver.value(ENERGY) >= 1_000_000


def test_a_push_for_a_ciphered_association_comes_ciphered_with_its_keys() -> None:
    _, memory, driver = _line("hdlc", 1, 'destination = "session"\nassociation = 1')
    assert memory.session.push(1, PUSH, memory.now) == 1
    (event,) = driver.events()
    assert isinstance(event, PushReceived) and event.ciphered is not None
    assert _push_body(event)[2] == axdr.DoubleLongUnsigned(1_000_000)
    # a second push uses a higher invocation counter: the client accepts it (no replay)
    assert memory.session.push(1, PUSH, memory.now) == 1
    (again,) = driver.events()
    assert isinstance(again, PushReceived) and again.ciphered is not None
    assert again.ciphered.invocation_counter > event.ciphered.invocation_counter


def test_no_push_without_the_push_setups_client_on_the_line() -> None:
    meter, memory, driver = _line("wrapper", 16, 'destination = "session"\nassociation = 1')
    assert memory.session.push(1, PUSH, memory.now) == 0  # client 1 is not on this line
    assert memory.session.data_to_send() == []
    assert memory.session.push(2, PUSH, memory.now) == 0  # no such logical device
    driver.association.release()
    driver.events()
    quiet = LinkSession(meter, "wrapper")
    assert quiet.push(1, PUSH, 0.0) == 0  # nobody associated


def test_push_method_of_the_client_is_queued_for_the_server() -> None:
    meter, _, driver = _line("wrapper", 1, 'destination = "session"\nassociation = 1')
    outcome = driver.action(CosemMethodDescriptor(40, PUSH, 1), axdr.Integer(0))
    assert int(outcome.result) == 0
    assert list(meter.push_requests) == [(1, PUSH)]
    transport = axdr.decode(driver.get(CosemAttributeDescriptor(40, PUSH, 3)))
    assert transport == (axdr.Enum(0), b"", axdr.Enum(0))  # TCP: the wrapper on this connection


def test_the_destination_is_checked() -> None:
    assert describe('destination = "session"') is not None
    with pytest.raises(LocalProtocolError, match="session"):
        parse_dlms_description(METER.replace("{push}", 'destination = "sessions"'), source="t.toml")


# ------------------------------------------------------------------------------------------------
# ProfileGeneric method 2: capture
# ------------------------------------------------------------------------------------------------
CAPTURE = CosemMethodDescriptor(7, PROFILE, 2)
RESET = CosemMethodDescriptor(7, PROFILE, 1)
IN_USE = CosemAttributeDescriptor(7, PROFILE, 7)


def _rows(wire: Any, access: SelectiveAccess | None = None) -> list[tuple[Any, ...]]:
    captures = parse_capture_objects(wire.get(CosemAttributeDescriptor(7, PROFILE, 3)))
    raw = wire.get(BUFFER, access)
    assert isinstance(raw, bytes), raw
    if access is not None and access.selector == 2:
        return list(parse_buffer(raw).rows)
    return list(parse_buffer(raw, captures).rows)


def test_capture_appends_a_row_now_between_the_grid_rows() -> None:
    meter = DlmsMeter(describe(), start=0.0)
    wire = opened(meter, 1, gmac())
    wire.now = 400.0  # 08:06:40, between 08:00 and 08:15
    before = _rows(wire)
    assert wire.action(CAPTURE, axdr.Integer(0)).name == "SUCCESS"
    rows = _rows(wire)
    assert wire.value(IN_USE) == 96  # a full buffer stays at depth: the oldest row went
    assert rows[:-1] == before[1:]
    stamp, energy, power = rows[-1]
    assert stamp.replace(tzinfo=None) == ORIGIN + dt.timedelta(seconds=400)
    assert (energy, power) == (1_000_400, 1500)  # the values of that moment (3600 Wh/h)
    wire.now = 1000.0  # 08:16:40: the 08:15 grid row comes after the captured one
    later = _rows(wire)
    assert [r[0].replace(tzinfo=None) for r in later[-2:]] == [
        ORIGIN + dt.timedelta(seconds=400),
        ORIGIN + dt.timedelta(minutes=15),
    ]
    assert later[-2][1] == 1_000_400 and later[-1][1] == 1_000_900
    # selective access sees the captured row too
    by_entry = SelectiveAccess(*EntryDescriptor(95, 95, 2, 2).to_selective_access())
    assert _rows(wire, by_entry) == [(1_000_400,)]


def test_capture_after_reset_and_reset_drops_captures() -> None:
    meter = DlmsMeter(describe(), start=0.0)
    wire = opened(meter, 1, gmac())
    wire.now = 10.0
    assert wire.action(RESET, axdr.Integer(0)).name == "SUCCESS"
    assert _rows(wire) == []
    wire.now = 20.0
    assert wire.action(CAPTURE, axdr.Integer(0)).name == "SUCCESS"
    wire.now = 30.0
    assert wire.action(CAPTURE, axdr.Integer(0)).name == "SUCCESS"
    rows = _rows(wire)
    assert [r[0].replace(tzinfo=None) for r in rows] == [
        ORIGIN + dt.timedelta(seconds=20),
        ORIGIN + dt.timedelta(seconds=30),
    ]
    assert [r[1] for r in rows] == [1_000_020, 1_000_030]
    assert wire.value(IN_USE) == 2
    assert wire.action(RESET, axdr.Integer(0)).name == "SUCCESS"
    assert _rows(wire) == []


def test_capture_needs_the_right_to_execute() -> None:
    wire = opened(DlmsMeter(describe(), start=0.0), 32, lls())
    assert wire.action(CAPTURE, axdr.Integer(0)).name == "READ_WRITE_DENIED"
