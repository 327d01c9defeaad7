"""The DLMS emulator on real lines: HDLC and the wrapper over TCP, the wrapper over UDP, HDLC on a
pty, mode E behind an IEC 62056-21 sign-on, pushes to a UDP socket - driven by a tiny blocking
client (ClientAssociation + framing + sockets) from ``helpers``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from meterlink.dlms import axdr
from meterlink.dlms.apdu import CosemAttributeDescriptor, DataAccessResult
from meterlink.dlms.association import ClientAssociation, SecuritySettings, Settings
from meterlink.dlms.events import Associated, AssociationRefused, PushReceived
from meterlink.dlms.security import SecurityPolicy
from meterlink.dlms.wrapper import decode_datagram
from meterlink.emulator.dlms import (
    DlmsEmulatorThread,
    load_dlms_description,
    parse_dlms_description,
    parse_listen,
)
from meterlink.errors import LocalProtocolError
from meterlink.hdlc.address import HdlcAddress
from meterlink.hdlc.connection import HdlcConnection, Role
from meterlink.iec62056_21 import Client
from meterlink.obis import Obis

from ..helpers import EXAMPLES, open_pty
from .helpers import (
    AK,
    CLIENT_TITLE,
    CLOCK,
    EK,
    ENERGY,
    FRAME_COUNTER,
    SERIAL,
    Driver,
    Pipe,
    describe,
    gmac,
    hdlc_framing,
    lls,
    public,
    wrapper_framing,
)

HAS_PTY = Path("/dev/ptmx").exists()
needs_pty = pytest.mark.skipif(not HAS_PTY, reason="no pseudo-terminals here")
FAST = {"reaction_time": 0.02, "baud_switch_guard": 0.02, "response_timeout": 0.5, "inter_char_timeout": 0.3}


@contextmanager
def session(driver: Driver) -> Iterator[Driver]:
    try:
        driver.open()
        yield driver
    finally:
        driver.pipe.close()


def test_hdlc_over_tcp_public_and_lls() -> None:
    with DlmsEmulatorThread(describe(), transport="hdlc") as emulator:
        assert emulator.url.startswith("tcp://127.0.0.1:")
        with session(Driver(Pipe.tcp(emulator.url), hdlc_framing(16), public())) as client:
            assert isinstance(client.associate(), Associated)
            assert client.value(SERIAL) == "SN12345678"
            assert client.value(ENERGY) >= 1_000_000
            assert client.set(CLOCK, bytes(12)) == DataAccessResult.READ_WRITE_DENIED
            client.release()
            client.close()
        with session(Driver(Pipe.tcp(emulator.url), hdlc_framing(32), lls(b"nope"))) as client:
            assert isinstance(client.associate(), AssociationRefused)


def test_hdlc_over_tcp_hls_gmac_ciphered_with_frame_counter_bootstrap() -> None:
    with DlmsEmulatorThread(describe(), transport="hdlc") as emulator:
        for _ in range(2):  # the second session must start above the first one's counters
            with session(Driver(Pipe.tcp(emulator.url), hdlc_framing(16), public())) as reader:
                assert isinstance(reader.associate(), Associated)
                counter = reader.value(FRAME_COUNTER)
                reader.release()
            with session(Driver(Pipe.tcp(emulator.url), hdlc_framing(1), gmac())) as client:
                client.association.counters.set_next_to_send("guek", int(counter) + 1)
                assert isinstance(client.associate(), Associated)
                assert client.value(ENERGY) >= 1_000_000
                assert len(client.get(CLOCK)) == 14
                client.release()


def test_wrapper_over_tcp() -> None:
    with (
        DlmsEmulatorThread(describe(), transport="wrapper") as emulator,
        session(Driver(Pipe.tcp(emulator.url), wrapper_framing(32), lls())) as client,
    ):
        assert isinstance(client.associate(), Associated)
        assert client.value(SERIAL) == "SN12345678"
        client.release()


def test_wrapper_over_udp() -> None:
    with DlmsEmulatorThread(describe(), "udp://127.0.0.1:0") as emulator:
        assert emulator.url.startswith("udp://127.0.0.1:")
        pipe = Pipe.udp(emulator.url)
        with session(Driver(pipe, wrapper_framing(16, datagrams=True), public())) as client:
            assert isinstance(client.associate(), Associated)
            assert client.value(SERIAL) == "SN12345678"
            client.release()


TWO_DEVICES = """
[meter]
physical_address = 5

[[logical_devices]]
address = 1
name = "MANAGEMENT000001"
[[logical_devices.associations]]
client = 16

[[logical_devices]]
address = 2
name = "WATER00000000002"
[[logical_devices.objects]]
class = "register"
obis = "8.0.1.0.0.255"
value = 77
unit = "cubic-metre"
[[logical_devices.associations]]
client = 16
"""
NAME = CosemAttributeDescriptor(1, Obis.parse("0.0.42.0.0.255"), 2)
WATER = CosemAttributeDescriptor(3, Obis.parse("8.0.1.0.0.255"), 2)


def test_two_logical_devices_over_hdlc_and_the_wrapper() -> None:
    description = parse_dlms_description(TWO_DEVICES)
    with DlmsEmulatorThread(description, transport="hdlc") as emulator:
        for logical, name in ((1, b"MANAGEMENT000001"), (2, b"WATER00000000002")):
            framing = hdlc_framing(16, logical=logical, physical=5)
            with session(Driver(Pipe.tcp(emulator.url), framing, public())) as client:
                assert isinstance(client.associate(), Associated)
                assert client.value(NAME) == name
                if logical == 2:
                    assert client.value(WATER) == 77
                else:
                    assert client.get(WATER) == DataAccessResult.OBJECT_UNDEFINED
        # an HDLC address nobody has: no answer to SNRM at all
        driver = Driver(
            Pipe.tcp(emulator.url), hdlc_framing(16, logical=9, physical=5), public(), timeout=0.5
        )
        with pytest.raises(TimeoutError):
            driver.open()
        driver.pipe.close()
    with DlmsEmulatorThread(description, transport="wrapper") as emulator:
        pipe = Pipe.tcp(emulator.url)
        with session(Driver(pipe, wrapper_framing(16, logical=2), public())) as client:
            assert isinstance(client.associate(), Associated)
            assert client.value(WATER) == 77


def test_the_example_meter_serves() -> None:
    description = load_dlms_description(EXAMPLES / "dlms-meter.toml")
    with (
        DlmsEmulatorThread(description, transport="hdlc") as emulator,
        session(Driver(Pipe.tcp(emulator.url), hdlc_framing(16), public())) as client,
    ):
        assert isinstance(client.associate(), Associated)
        assert client.value(ENERGY) >= 12345678


@needs_pty
def test_hdlc_on_a_pty() -> None:
    with DlmsEmulatorThread(describe(), "pty") as emulator:
        assert emulator.url.startswith("/dev/")
        fd = open_pty(emulator.url, 9600)
        with session(Driver(Pipe.fd(fd), hdlc_framing(16), public())) as client:
            assert isinstance(client.associate(), Associated)
            assert client.value(SERIAL) == "SN12345678"
            client.release()
            client.framing.close(0.0)


@needs_pty
def test_mode_e_on_a_pty() -> None:
    # a pty cannot change the character format: software 7E1 for the sign-on, as the IEC tests do
    with DlmsEmulatorThread(describe(), "pty", mode_e=True) as emulator:
        for _ in range(2):  # after DISC the meter waits for a new sign-on
            with Client.from_url(f"serial://{emulator.url}?parity=sw7e1", **FAST) as iec:  # type: ignore[arg-type]
                handover = iec.binary()
                assert handover.baud_rate == 9600
                link = handover.link
                driver = Driver(Pipe(link.write, link.read, lambda: None), hdlc_framing(16), public())
                driver.open()
                assert isinstance(driver.associate(), Associated)
                assert driver.value(SERIAL) == "SN12345678"
                driver.release()
                driver.close()


def _push_listener() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3.0)
    return sock, int(sock.getsockname()[1])


@pytest.mark.parametrize("ciphered", [False, True])
def test_pushes_arrive_on_a_udp_socket(ciphered: bool) -> None:
    sock, port = _push_listener()
    association = "association = 1" if ciphered else "association = 0"
    push = f'destination = "udp://127.0.0.1:{port}"\ninterval = 0.15\n{association}'
    try:
        with DlmsEmulatorThread(describe(push)):
            first, second = decode_datagram(sock.recv(65535)), decode_datagram(sock.recv(65535))
    finally:
        sock.close()
    assert (first.source, first.destination) == (1, 102)
    security = (
        SecuritySettings(
            SecurityPolicy.AUTHENTICATED_ENCRYPTED, key=EK, auth_key=AK, system_title=CLIENT_TITLE
        )
        if ciphered
        else SecuritySettings()
    )
    listener = ClientAssociation(Settings(security=security))
    for pdu in (first, second):
        assert (pdu.apdu[0] == 0xDB) is ciphered  # general-glo-ciphering when the association ciphers
        listener.receive_apdu(pdu.apdu)
    one, two = listener.events()
    assert isinstance(one, PushReceived) and isinstance(two, PushReceived)
    body: Any = axdr.decode(one.notification.body)
    assert isinstance(body, tuple) and len(body) == 3
    assert body[0][0] == (
        axdr.LongUnsigned(40),
        bytes((0, 0, 25, 9, 0, 255)),
        axdr.Integer(2),
        axdr.LongUnsigned(0),
    )
    assert body[2] >= 1_000_000
    assert (one.ciphered is not None) is ciphered


def test_pushes_in_hdlc_ui_frames() -> None:
    sock, port = _push_listener()
    push = f'destination = "udp://127.0.0.1:{port}"\ninterval = 0.15\ntransport = "hdlc"\nmax_info = 32'
    try:
        with DlmsEmulatorThread(describe(push)):
            data = sock.recv(65535)
    finally:
        sock.close()
    listener = HdlcConnection(Role.CLIENT, client_address=102, server_address=HdlcAddress(0x7F))
    listener.receive_data(data, 0.0)
    events = listener.events()
    assert len(data) > 40 and data.count(b"\x7e") >= 4  # segmented into several UI frames
    apdu = events[-1].data  # type: ignore[union-attr]
    assert apdu[0] == 0x0F  # a plain DataNotification


def test_listen_addresses() -> None:
    assert parse_listen("udp://0.0.0.0:4059") == ("udp", "0.0.0.0", 4059)
    for bad in ("tcp:/x", "http://a:1", "udp://host", "tcp://h:99999"):
        with pytest.raises(LocalProtocolError):
            parse_listen(bad)
    with pytest.raises(LocalProtocolError, match="mode E"):
        DlmsEmulatorThread(describe(), mode_e=True).start()
