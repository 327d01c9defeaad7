"""A small DLMS meter for the client tests: ServerAssociation + server framing over real sockets and a pty.

Not the emulator (``meterlink emulate dlms`` is built elsewhere): a dict-backed ServerApplication
and one select() loop in a thread, enough to run the real clients over the real transports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from meterlink.dlms import axdr
from meterlink.dlms.apdu import (
    ActionOutcome,
    ActionResult,
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    DataAccessResult,
    SelectiveAccess,
)
from meterlink.dlms.association import SecuritySettings, ServerAssociation, Settings
from meterlink.dlms.cosem import (
    CaptureObject,
    EntryDescriptor,
    ObjectListEntry,
    encode_capture_objects,
    encode_object_list,
    parse_selective_access,
)
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.dlms.framing import ApduIn, Framing, HdlcFraming, LinkDown, NeedData, Role, WrapperFraming
from meterlink.dlms.security import Mechanism, SecurityPolicy
from meterlink.errors import MeterlinkError
from meterlink.hdlc.address import HdlcAddress
from meterlink.obis import Obis

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
METER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = b"MLK\x00\x00\x00\x00\x01"
SECRET = b"12345678"

ENERGY = Obis.parse("1.0.1.8.0.255")
CLOCK = Obis.parse("0.0.1.0.0.255")
NAME = Obis.parse("0.0.42.0.0.255")
BLOB = Obis.parse("0.0.96.1.0.255")
FRAME_COUNTER = Obis.parse("0.0.43.1.0.255")
ASSOCIATION = Obis.parse("0.0.40.0.0.255")
PROFILE = Obis.parse("1.0.99.1.0.255")
START = dt.datetime(2024, 5, 6, 0, 0)
PERIOD = 900
ROWS = 8


def a(cid: int, obis: Obis, attr: int) -> CosemAttributeDescriptor:
    return CosemAttributeDescriptor(cid, obis, attr)


def blob(n: int = 3000) -> bytes:
    return bytes(i % 251 for i in range(n))


COLUMNS = [CaptureObject(8, CLOCK, 2), CaptureObject(3, ENERGY, 2)]


@dataclass
class MeterApp:
    """The COSEM objects of the test meter, as raw A-XDR in a dict."""

    frame_counter: int = 1000
    values: dict[CosemAttributeDescriptor, bytes] = field(default_factory=dict)
    reads: list[CosemAttributeDescriptor] = field(default_factory=list)
    rows: list[tuple[dt.datetime, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        clock = CosemDateTime.from_datetime(dt.datetime(2024, 5, 6, 12, 30, 15), clock_status=0)
        self.values.update(
            {
                a(3, ENERGY, 2): axdr.encode(axdr.DoubleLongUnsigned(123_456)),
                a(3, ENERGY, 3): axdr.encode((axdr.Integer(-3), axdr.Enum(30))),
                a(8, CLOCK, 2): axdr.encode(clock.to_bytes()),
                a(1, NAME, 2): axdr.encode(b"MLK0001"),
                a(1, BLOB, 2): axdr.encode(blob()),
                a(1, FRAME_COUNTER, 2): axdr.encode(axdr.DoubleLongUnsigned(self.frame_counter)),
                a(7, PROFILE, 3): encode_capture_objects(COLUMNS),
                a(7, PROFILE, 4): axdr.encode(axdr.DoubleLongUnsigned(PERIOD)),
                a(15, ASSOCIATION, 2): encode_object_list(
                    [
                        ObjectListEntry(3, 0, ENERGY, {1: 1, 2: 1, 3: 1}, {1: 1}),
                        ObjectListEntry(8, 0, CLOCK, {1: 1, 2: 3}, {}),
                        ObjectListEntry(1, 0, Obis.parse("0.0.96.5.0.255"), {1: 1, 2: 1}, {}),
                        ObjectListEntry(7, 1, PROFILE, {1: 1, 2: 1, 3: 1, 4: 1}, {}),
                    ]
                ),
                a(1, Obis.parse("0.0.96.5.0.255"), 2): axdr.encode(axdr.LongUnsigned(7)),
            }
        )
        self.rows = [(START + dt.timedelta(seconds=PERIOD * i), 1000 + 10 * i) for i in range(ROWS)]

    def get(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None
    ) -> bytes | DataAccessResult:
        with self.lock:
            self.reads.append(attribute)
            if attribute == a(7, PROFILE, 2):
                return self._buffer(access)
            return self.values.get(attribute, DataAccessResult.OBJECT_UNDEFINED)

    def _buffer(self, access: SelectiveAccess | None) -> bytes:
        rows = self.rows
        if access is not None:
            selection = parse_selective_access(access.selector, access.parameters)
            if isinstance(selection, EntryDescriptor):
                rows = rows[selection.from_entry - 1 : selection.to_entry or None]
            else:
                low = selection.from_value
                high = selection.to_value
                assert isinstance(low, CosemDateTime) and isinstance(high, CosemDateTime)
                lo, hi = low.to_datetime(), high.to_datetime()
                rows = [r for r in rows if lo <= r[0] <= hi]
        value = [
            (CosemDateTime.from_datetime(t, clock_status=0).to_bytes(), axdr.DoubleLongUnsigned(v))
            for t, v in rows
        ]
        return axdr.encode(value)

    def set(
        self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None, data: bytes
    ) -> DataAccessResult:
        with self.lock:
            if attribute not in self.values:
                return DataAccessResult.OBJECT_UNDEFINED
            if attribute.class_id == 15:
                return DataAccessResult.READ_WRITE_DENIED
            self.values[attribute] = data
            return DataAccessResult.SUCCESS

    def action(self, method: CosemMethodDescriptor, parameters: bytes | None) -> ActionOutcome:
        with self.lock:
            if method == CosemMethodDescriptor(3, ENERGY, 1):
                self.values[a(3, ENERGY, 2)] = axdr.encode(axdr.DoubleLongUnsigned(0))
                return ActionOutcome(ActionResult.SUCCESS)
            if method == CosemMethodDescriptor(1, BLOB, 1):  # echo
                return ActionOutcome(ActionResult.SUCCESS, return_data=parameters)
            return ActionOutcome(ActionResult.OBJECT_UNDEFINED)


def server_settings(
    mechanism: Mechanism = Mechanism.NONE, policy: SecurityPolicy = SecurityPolicy.NONE
) -> Settings:
    keyed = policy is not SecurityPolicy.NONE or mechanism in (Mechanism.HLS_GMAC, Mechanism.HLS_SHA256)
    secret = SECRET if mechanism not in (Mechanism.NONE, Mechanism.HLS_GMAC) else None
    security = (
        SecuritySettings(policy, key=EK, auth_key=AK, system_title=METER_TITLE)
        if keyed
        else SecuritySettings()
    )
    return Settings(mechanism=mechanism, secret=secret, security=security)


def _send_to(sock: socket.socket, peer: Any, data: bytes) -> None:
    sock.sendto(data, peer)


class _Session:
    """One client line: a server framing and an association per client SAP."""

    def __init__(self, meter: MeterServer, framing: Framing, send: Callable[[bytes], object]) -> None:
        self.meter = meter
        self.framing = framing
        self.send = send
        self.assocs: dict[int, ServerAssociation] = {}

    def assoc(self, sap: int) -> ServerAssociation | None:
        found = self.assocs.get(sap)
        if found is None:
            settings = self.meter.clients.get(sap)
            if settings is None:
                return None
            found = self.assocs[sap] = ServerAssociation(self.meter.app, settings)
            floor = self.meter.ic_floor
            if floor is not None:
                found.counters.set_last_received(f"guek:{CLIENT_TITLE.hex()}", floor)
        return found

    def feed(self, data: bytes) -> None:
        now = time.monotonic()
        self.meter.received.append(data)
        if self.meter.silent:
            return
        self.framing.receive_data(data, now)
        while True:
            event = self.framing.next_event()
            if isinstance(event, NeedData):
                break
            if isinstance(event, ApduIn):
                sap = event.source if event.source is not None else 16  # the client SAP, either framing
                assoc = self.assoc(sap)
                if assoc is None:
                    continue
                try:
                    assoc.receive_apdu(event.data)
                except MeterlinkError as exc:
                    self.meter.errors.append(exc)
                for apdu in assoc.data_to_send():
                    self.framing.send_apdu(apdu, now)
                self.meter.events += assoc.events()
            elif isinstance(event, LinkDown):
                self.meter.link_downs += 1
                for assoc in self.assocs.values():
                    with contextlib.suppress(MeterlinkError):
                        assoc.link_lost()
        for chunk in self.framing.data_to_send():
            self.send(chunk)


class MeterServer:
    """kind: ``tcp-wrapper``, ``tcp-hdlc``, ``udp`` or ``pty``; ``clients`` maps client SAP -> Settings."""

    def __init__(
        self,
        kind: str,
        *,
        clients: dict[int, Settings] | None = None,
        silent: bool = False,
        ic_floor: int | None = None,
        app: MeterApp | None = None,
        physical: int | None = None,
    ) -> None:
        self.kind = kind
        self.app = app or MeterApp()
        self.clients = clients if clients is not None else {16: server_settings()}
        self.silent = silent
        self.ic_floor = ic_floor
        self.physical = physical
        self.received: list[bytes] = []
        self.errors: list[Exception] = []
        self.events: list[Any] = []
        self.link_downs = 0
        self._stop = threading.Event()
        self._closers: list[Callable[[], None]] = []
        self.port = 0
        self.path = ""
        self._sessions: dict[Any, _Session] = {}
        if kind in ("tcp-wrapper", "tcp-hdlc"):
            self._sock = socket.socket()
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(("127.0.0.1", 0))
            self._sock.listen()
        elif kind == "udp":
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.bind(("127.0.0.1", 0))
        elif kind == "pty":
            self.master, self.slave = os.openpty()
            tty.setraw(self.slave)
            self.path = os.ttyname(self.slave)
            self._sock = None  # type: ignore[assignment]
        else:
            raise ValueError(kind)
        if self._sock is not None:
            self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def framing(self) -> Framing:
        if self.kind in ("tcp-hdlc", "pty"):
            return HdlcFraming(Role.SERVER, server_address=HdlcAddress(1, self.physical))
        return WrapperFraming(Role.SERVER, local_port=1, remote_port=16, datagrams=self.kind == "udp")

    def __enter__(self) -> MeterServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for close in self._closers:
            with contextlib.suppress(OSError):
                close()
        if self._sock is not None:
            self._sock.close()
        if self.kind == "pty":
            os.close(self.master)
            os.close(self.slave)

    def _loop(self) -> None:
        if self.kind == "pty":
            session = _Session(self, self.framing(), lambda d: os.write(self.master, d))
            while not self._stop.is_set():
                ready, _, _ = select.select([self.master], [], [], 0.02)
                if ready:
                    try:
                        data = os.read(self.master, 4096)
                    except OSError:
                        continue
                    session.feed(data)
            return
        conns: dict[socket.socket, _Session] = {}
        while not self._stop.is_set():
            readable: list[Any] = [self._sock, *conns]
            ready, _, _ = select.select(readable, [], [], 0.02)
            sock: Any
            for sock in ready:
                if self.kind == "udp":
                    data, peer = sock.recvfrom(65535)
                    found = self._sessions.get(peer)
                    if found is None:
                        found = self._sessions[peer] = _Session(
                            self, self.framing(), functools.partial(_send_to, self._sock, peer)
                        )
                    found.feed(data)
                elif sock is self._sock:
                    conn, _ = sock.accept()
                    self._closers.append(conn.close)
                    conns[conn] = _Session(self, self.framing(), conn.sendall)
                else:
                    try:
                        data = sock.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        conns.pop(sock)
                        sock.close()
                        continue
                    conns[sock].feed(data)
