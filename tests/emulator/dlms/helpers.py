"""A meter description for the DLMS emulator tests and a tiny blocking client driver.

The driver is the loop of ``tests/dlms/test_stack.py`` on a real transport: a
:class:`ClientAssociation` over an :class:`HdlcFraming` or :class:`WrapperFraming`, bytes through a
socket, a pty file descriptor or a mode E link. It does not use ``meterlink.dlms.client``.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any

from meterlink.dlms import axdr
from meterlink.dlms.apdu import CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccess
from meterlink.dlms.association import ClientAssociation, SecuritySettings, Settings
from meterlink.dlms.events import Event, GetCompleted
from meterlink.dlms.framing import (
    ApduIn,
    Framing,
    HdlcFraming,
    LinkDown,
    LinkUp,
    NeedData,
    Role,
    WrapperFraming,
)
from meterlink.dlms.security import Mechanism, SecurityPolicy
from meterlink.emulator.dlms import DlmsDescription, parse_dlms_description
from meterlink.hdlc.address import HdlcAddress
from meterlink.obis import Obis

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
KEK = bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F")
METER_TITLE = bytes.fromhex("4D4C4B0000BC614E")
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
ORIGIN = "2024-03-01T08:00:00"

ENERGY = CosemAttributeDescriptor(3, Obis.parse("1.0.1.8.0.255"), 2)
ENERGY_SCALER = CosemAttributeDescriptor(3, Obis.parse("1.0.1.8.0.255"), 3)
POWER = CosemAttributeDescriptor(3, Obis.parse("1.0.1.7.0.255"), 2)
SERIAL = CosemAttributeDescriptor(1, Obis.parse("0.0.96.1.0.255"), 2)
CLOCK = CosemAttributeDescriptor(8, Obis.parse("0.0.1.0.0.255"), 2)
OBJECT_LIST = CosemAttributeDescriptor(15, Obis.parse("0.0.40.0.0.255"), 2)
PROFILE = Obis.parse("1.0.99.1.0.255")
BUFFER = CosemAttributeDescriptor(7, PROFILE, 2)
FRAME_COUNTER = CosemAttributeDescriptor(1, Obis.parse("0.0.43.1.0.255"), 2)
BREAKER = Obis.parse("0.0.96.3.10.255")
PUSH = Obis.parse("0.0.25.9.0.255")

METER = f"""
[meter]
name = "Test meter"
physical_address = 17
system_title = "{METER_TITLE.hex()}"
logical_device_name = "MLK0000012345678"

[clock]
origin = {ORIGIN}
deviation = -60

[hdlc]
max_info = 128
window = 1
inactivity_timeout = 5.0

[mode_e]
identification = "/MLk5\\\\2TEST"
reaction_time = 0.02
switch_delay = 0.05
option_timeout = 0.5
inactivity_timeout = 5.0

[[objects]]
class = "data"
obis = "0.0.96.1.0.255"
type = "visible-string"
value = "SN12345678"

[[objects]]
class = "register"
obis = "1.0.1.8.0.255"
value = 1000000
scaler = 0
unit = "Wh"
rate_per_hour = 3600

[[objects]]
class = "register"
obis = "1.0.1.7.0.255"
type = "long-unsigned"
value = 1500
scaler = 0
unit = "W"

[[objects]]
class = "profile-generic"
obis = "1.0.99.1.0.255"
capture = ["0.0.1.0.0.255", "1.0.1.8.0.255", "1.0.1.7.0.255"]
capture_period = 900
depth = 96

[[objects]]
class = "frame-counter"
association = 1

[[objects]]
class = "security-setup"
association = 1

[[objects]]
class = "disconnect-control"
control_mode = 1

[[objects]]
class = "push-setup"
objects = ["0.0.1.0.0.255", "1.0.1.8.0.255"]
{{push}}

[[associations]]
client = 16
mechanism = "none"
objects = ["0.0.96.1.0.255", "1.0.1.8.0.255", "0.0.1.0.0.255", "0.0.43.1.0.255"]

[[associations]]
client = 1
mechanism = "hls-gmac"
policy = "authenticated-encrypted"
key = "{EK.hex()}"
auth_key = "{AK.hex()}"
master_key = "{KEK.hex()}"

[[associations]]
client = 32
mechanism = "lls"
secret = "12345678"
write = ["0.0.1.0.0.255", "0.0.40.0.0.255"]
execute = ["0.0.96.3.10.255", "0.0.1.0.0.255"]
[associations.rights."1.0.1.8.0.255"]
read = [1, 3]
"""


def describe(push: str = "") -> DlmsDescription:
    return parse_dlms_description(METER.replace("{push}", push), source="test.toml")


def public() -> Settings:
    return Settings()


def lls(secret: bytes = b"12345678") -> Settings:
    return Settings(mechanism=Mechanism.LLS, secret=secret)


def gmac(ek: bytes = EK) -> Settings:
    security = SecuritySettings(
        SecurityPolicy.AUTHENTICATED_ENCRYPTED, key=ek, auth_key=AK, system_title=CLIENT_TITLE
    )
    return Settings(mechanism=Mechanism.HLS_GMAC, security=security)


def hdlc_framing(client: int, logical: int = 1, physical: int = 17) -> HdlcFraming:
    return HdlcFraming(
        Role.CLIENT,
        client_address=client,
        server_address=HdlcAddress(logical, physical),
        response_timeout=1.0,
    )


def wrapper_framing(client: int, logical: int = 1, datagrams: bool = False) -> WrapperFraming:
    return WrapperFraming(Role.CLIENT, local_port=client, remote_port=logical, datagrams=datagrams)


# ------------------------------------------------------------------------------------------------
# byte pipes
# ------------------------------------------------------------------------------------------------
class Pipe:
    """send(bytes) and recv(timeout) -> bytes over whatever carries them."""

    def __init__(
        self, send: Callable[[bytes], Any], recv: Callable[[float], bytes], close: Callable[[], Any]
    ):
        self.send, self.recv, self.close = send, recv, close

    @classmethod
    def tcp(cls, url: str) -> Pipe:
        host, _, port = url.removeprefix("tcp://").rpartition(":")
        sock = socket.create_connection((host, int(port)), timeout=5)
        return cls(sock.sendall, lambda t: _recv(sock, t, 4096), sock.close)

    @classmethod
    def udp(cls, url: str) -> Pipe:
        host, _, port = url.removeprefix("udp://").rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host, int(port)))
        return cls(sock.send, lambda t: _recv(sock, t, 65535), sock.close)

    @classmethod
    def fd(cls, fd: int) -> Pipe:
        def recv(timeout: float) -> bytes:
            ready, _, _ = select.select([fd], [], [], timeout)
            return os.read(fd, 4096) if ready else b""

        return cls(lambda data: os.write(fd, data), recv, lambda: os.close(fd))


def _recv(sock: socket.socket, timeout: float, size: int) -> bytes:
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        return b""
    return sock.recv(size)


class Driver:
    """A blocking DLMS client over a pipe: the association <-> framing <-> bytes loop."""

    def __init__(self, pipe: Pipe, framing: Framing, settings: Settings, *, timeout: float = 3.0) -> None:
        self.pipe = pipe
        self.framing = framing
        self.association = ClientAssociation(settings)
        self.timeout = timeout
        self.link_events: list[object] = []

    def _flush(self, now: float) -> None:
        for apdu in self.association.data_to_send():
            self.framing.send_apdu(apdu, now)
        for chunk in self.framing.data_to_send():
            self.pipe.send(chunk)

    def _take(self, now: float) -> None:
        while not isinstance(event := self.framing.next_event(), NeedData):
            if isinstance(event, ApduIn):
                self.association.receive_apdu(event.data)
            else:
                self.link_events.append(event)
        self._flush(now)

    def _step(self, wait: float) -> None:
        now = time.monotonic()
        self._flush(now)
        self._take(now)
        deadline = self.framing.deadline
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - now))
        data = self.pipe.recv(wait)
        now = time.monotonic()
        if data:
            self.framing.receive_data(data, now)
        elif deadline is not None and now >= deadline:
            self.framing.time_passed(now)
        self._take(now)

    def wait(self, done: Callable[[], bool]) -> None:
        end = time.monotonic() + self.timeout
        while not done():
            if time.monotonic() > end:
                raise TimeoutError("no answer from the emulator")
            self._step(0.05)

    def open(self) -> None:
        self.framing.open(time.monotonic())
        self.wait(lambda: any(isinstance(e, LinkUp) for e in self.link_events))

    def events(self) -> list[Event]:
        out: list[Event] = []

        def arrived() -> bool:
            out.extend(self.association.events())
            return bool(out)

        self.wait(arrived)
        return out

    def associate(self) -> Event:
        self.association.associate()
        (event,) = self.events()
        return event

    def get(self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None = None) -> Any:
        self.association.get(attribute, access)
        (event,) = self.events()
        assert isinstance(event, GetCompleted), event
        return event.results[0]

    def value(self, attribute: CosemAttributeDescriptor, access: SelectiveAccess | None = None) -> Any:
        raw = self.get(attribute, access)
        assert isinstance(raw, bytes), raw
        return axdr.decode(raw)

    def set(self, attribute: CosemAttributeDescriptor, value: axdr.EncodableValue) -> Any:
        self.association.set(attribute, axdr.encode(value))
        (event,) = self.events()
        return event.results[0]  # type: ignore[union-attr]

    def action(self, method: CosemMethodDescriptor, value: axdr.EncodableValue | None = None) -> Any:
        self.association.action(method, None if value is None else axdr.encode(value))
        (event,) = self.events()
        return event.outcomes[0]  # type: ignore[union-attr]

    def release(self) -> None:
        self.association.release()
        self.events()

    def close(self) -> None:
        if isinstance(self.framing, HdlcFraming):
            self.framing.close(time.monotonic())
            self.wait(lambda: any(isinstance(e, LinkDown) for e in self.link_events))
        self.pipe.close()
