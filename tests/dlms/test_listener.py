"""The push listener: real captures through the core and over real UDP, TCP and pty links."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import sys
import threading
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms import axdr
from meterlink.dlms.apdu import CosemAttributeDescriptor, EventNotificationRequest
from meterlink.dlms.listener import (
    EventNotice,
    Listening,
    Push,
    PushFailed,
    PushListener,
    alisten,
    extract_readings,
    listen,
    parse_listen_url,
)
from meterlink.dlms.security import CipheredKind, SecurityControl, protect
from meterlink.dlms.wrapper import WrapperPdu
from meterlink.errors import DecryptionError, LinkError, LocalProtocolError, ReplayError, SecurityError
from meterlink.mbus import encode_apdu
from meterlink.obis import Obis

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dlms"
HAS_PTY = Path("/dev/ptmx").exists() and sys.platform != "win32"


def _load(name: str) -> dict[str, Any]:
    raw = tomllib.loads((FIXTURES / f"{name}.toml").read_text(encoding="utf-8"))
    raw["data"] = bytes.fromhex("".join(raw["hex"].split()))
    return raw


NETZNOE = _load("amshan_test_wiredmb_netznoe")
SAGEMCOM = _load("amshan_test_wiredmb_sagemcom")
LG = _load("esphome_pr16942_lg_e450_cyprus")
ISKRA = _load("tasmota_issue8790_iskra_am550")
KAIFA = _load("u9n_issue68_kaifa_ma304h4")
UDP = _load("u9n_test_udp_message_glo_push")
AIDON = _load("amshan_test_aidon_list3")
KEY = bytes.fromhex(UDP["key"])
AK = bytes.fromhex(UDP["auth_key"])


def _datagrams(data: bytes) -> list[bytes]:
    out = []
    pos = 0
    while pos < len(data):
        end = pos + 8 + int.from_bytes(data[pos + 6 : pos + 8], "big")
        out.append(data[pos:end])
        pos = end
    return out


UDP_DATAGRAMS = _datagrams(UDP["data"])


def _pushes(events: list[Push | EventNotice | PushFailed]) -> list[Push]:
    return [e for e in events if isinstance(e, Push)]


# ------------------------------------------------------------------------------------------------
# the core
# ------------------------------------------------------------------------------------------------
def test_idis_push_in_three_gbt_blocks_fed_byte_by_byte() -> None:
    core = PushListener(link="hdlc")
    for byte in LG["data"]:
        core.receive_data(bytes((byte,)), "han")
    (push,) = core.events()
    assert isinstance(push, Push)
    assert push.invoke_id == LG["expect"]["invoke_id"] & 0xFFFFFF
    assert push.date_time == dt.datetime(2026, 7, 18, 16, 58)
    assert not push.ciphered and push.source == "han"
    for obis, value in LG["expect"]["values"].items():
        code, _, attribute = obis.partition("/")
        reading = next(
            r for r in push.readings if r.obis == Obis.parse(code) and r.attribute == int(attribute or 2)
        )
        assert reading.value == value
    # the tariff sums the README cross-checks
    total = push.reading("1.0.1.8.0.255")
    t1, t2 = push.reading("1.0.1.8.1.255"), push.reading("1.0.1.8.2.255")
    assert total is not None and t1 is not None and t2 is not None and total.value == t1.value + t2.value


def test_mbus_push_deciphered_without_authentication_and_scaled() -> None:
    core = PushListener(link="mbus", key=bytes.fromhex(NETZNOE["key"]))
    core.receive_data(NETZNOE["data"])
    (push,) = core.events()
    assert isinstance(push, Push)
    assert push.system_title == bytes.fromhex("4b464d6750000009")
    assert (push.security_control, push.invocation_counter) == (0x20, 35)
    assert push.date_time == dt.datetime(2021, 9, 27, 9, 47, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    energy = push.reading("1.0.1.8.0.255")
    assert energy is not None and (energy.value, energy.unit) == (12937, "Wh")
    voltage = push.reading("1.0.32.7.0.255")
    assert voltage is not None and (voltage.value, voltage.unit) == (Decimal("233.7"), "V")  # 2337 * 10^-1
    assert push.reading("1.0.31.7.0.255") is not None


def test_segmented_ui_frames_and_scaler_units() -> None:
    core = PushListener(link="hdlc")
    core.receive_data(b"\x00\xffgarbage\x7e\x7e" + ISKRA["data"] + b"\x13\x37" + ISKRA["data"])
    pushes = _pushes(core.events())
    assert len(pushes) == 2
    assert pushes[0].date_time == dt.datetime(2021, 11, 2, 21, 51, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert pushes[0].readings == pushes[1].readings
    assert pushes[0].reading("0.0.96.1.0.255").value == "78344537"  # type: ignore[union-attr]


def test_ciphered_udp_pushes_with_and_without_the_authentication_key() -> None:
    verified = PushListener(key=KEY, auth_key=AK, link="datagram")
    for datagram in UDP_DATAGRAMS:
        verified.receive_datagram(datagram, "meter")
    pushes = _pushes(verified.events())
    assert len(pushes) == 13
    assert pushes[0].apdu.hex() == UDP["expect"]["first_plain"]
    assert [p.invocation_counter for p in pushes] == UDP["expect"]["invocation_counters"]
    assert all(p.security_control == UDP["expect"]["security_control"] for p in pushes)

    opted_out = PushListener(key=KEY, verify=False, link="datagram")
    for datagram in UDP_DATAGRAMS:
        opted_out.receive_datagram(datagram)
    assert [p.apdu for p in _pushes(opted_out.events())] == [p.apdu for p in pushes]

    no_ak = PushListener(key=KEY, link="datagram")
    no_ak.receive_datagram(UDP_DATAGRAMS[0])
    (failure,) = no_ak.events()
    assert isinstance(failure, PushFailed) and isinstance(failure.error, SecurityError)


def test_a_bad_push_never_stops_the_listener() -> None:
    core = PushListener(key=KEY, auth_key=AK, link="datagram")
    damaged = bytearray(UDP_DATAGRAMS[0])
    damaged[-1] ^= 1
    core.receive_datagram(bytes(damaged))
    core.receive_datagram(b"\x00\x01\x00\x01")  # too short to be anything
    core.receive_datagram(UDP_DATAGRAMS[0])
    core.receive_datagram(UDP_DATAGRAMS[0])  # the same counter again: a replay
    core.receive_datagram(UDP_DATAGRAMS[1])
    events = core.events()
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["PushFailed", "PushFailed", "Push", "PushFailed", "Push"]
    assert isinstance(events[0], PushFailed) and isinstance(events[0].error, DecryptionError)
    assert isinstance(events[3], PushFailed) and isinstance(events[3].error, ReplayError)
    assert (core.pushes, core.failures) == (2, 3)


def test_ciphered_push_without_a_key_is_reported() -> None:
    core = PushListener(link="mbus")
    core.receive_data(SAGEMCOM["data"])
    events = core.events()
    assert len(events) == 3 and all(isinstance(e, PushFailed) for e in events)
    assert "no key" in str(events[0].error)  # type: ignore[union-attr]


def test_gbt_blocks_out_of_order_are_dropped() -> None:
    core = PushListener(link="hdlc")
    frames = LG["data"].split(b"\x7e\x7e")
    core.receive_data(frames[0] + b"\x7e")  # block 1
    core.receive_data(b"\x7e" + frames[2])  # block 3: block 2 is missing
    core.receive_data(LG["data"])  # then a whole push
    events = core.events()
    assert [type(e).__name__ for e in events] == ["PushFailed", "Push"]


def test_positional_values_named_by_obis_codes() -> None:
    """Kaifa list 3 sends values without OBIS codes: the caller names the positions."""
    kaifa = _load("amshan_test_kaifa_list3")
    bare = PushListener(link="apdu")
    bare.receive_apdu(kaifa["data"])
    assert _pushes(bare.events())[0].readings == ()
    codes = [
        "1.1.0.2.129.255",
        "0.0.96.1.0.255",
        "0.0.96.1.7.255",
        "1.0.1.7.0.255",
        None,
        None,
        "1.0.3.7.0.255",
    ]
    named = PushListener(link="apdu", obis_codes=codes)
    named.receive_apdu(kaifa["data"])
    push = _pushes(named.events())[0]
    assert [(r.obis.dotted, r.value) for r in push.readings] == [
        ("1.1.0.2.129.255", "KFM_001"),
        ("0.0.96.1.0.255", "6970631402614476"),
        ("0.0.96.1.7.255", "MA304H3E"),
        ("1.0.1.7.0.255", 4904),
        ("1.0.3.7.0.255", 377),
    ]
    readings = extract_readings([[b"\x01\xff", 5]], ["1.0.1.8.0.255", None])
    assert readings == (extract_readings([[b"\x01\xff", 5]], ["1.0.1.8.0.255"])[0],)
    assert readings[0].obis == Obis.parse("1.0.1.8.0.255") and readings[0].value == b"\x01\xff"


def test_obis_value_structures_with_scaler_unit() -> None:
    core = PushListener(link="apdu")
    core.receive_apdu(AIDON["data"])
    push = _pushes(core.events())[0]
    power = push.reading("1.0.1.7.0.255")
    assert power is not None and (power.value, power.unit) == (280, "W")
    clock = push.reading("0.0.1.0.0.255")
    assert clock is not None and isinstance(clock.value, dt.datetime)


def test_dsmr_telegram_inside_general_glo_ciphering() -> None:
    telegram = b"/ISK5\\2M550T-1012\r\n\r\n1-0:1.8.0(000123.456*kWh)\r\n0-0:96.1.1(4530303235)\r\n!ABCD\r\n"
    title = bytes.fromhex("5341475905e6d9fd")
    apdu = protect(
        telegram,
        kind=CipheredKind.GENERAL_GLO,
        security_control=SecurityControl.from_byte(0x30),
        system_title=title,
        invocation_counter=9,
        key=KEY,
        auth_key=AK,
    )
    core = PushListener(key=KEY, auth_key=AK)
    core.receive_apdu(apdu, "p1")
    (push,) = core.events()
    assert isinstance(push, Push) and push.dsmr is not None
    energy = push.reading("1.0.1.8.0.255")
    assert energy is not None and (energy.value, energy.unit) == (Decimal("123.456"), "kWh")
    assert push.system_title == title


def test_non_push_apdus_and_bad_arguments() -> None:
    core = PushListener(link="apdu")
    core.receive_apdu(bytes.fromhex("c001c100080000010000ff0200"))
    (failure,) = core.events()
    assert isinstance(failure, PushFailed) and "not a push" in str(failure.error)
    with pytest.raises(LocalProtocolError):
        PushListener(link="carrier-pigeon")
    with pytest.raises(LocalProtocolError):
        PushListener(key=b"short")
    for bad in ("http://x", "udp://:4059", "serial://", "tcp://h:0", "udp://0.0.0.0:1?baud=x&y=1"):
        with pytest.raises(LocalProtocolError):
            parse_listen_url(bad)
    spec = parse_listen_url("mbus:///dev/ttyUSB0?baud=9600")
    assert (spec.device, spec.baud_rate, spec.parity, spec.framing) == ("/dev/ttyUSB0", 9600, "E", "mbus")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["auto", "hdlc", "wrapper", "mbus", "datagram", "apdu"]))
def test_the_core_survives_random_bytes(data: bytes, link: str) -> None:
    core = PushListener(link=link, key=KEY, verify=False)
    core.receive_data(data, "a")
    core.receive_datagram(data, "b")
    core.receive_apdu(data, "c")
    for event in core.events():
        assert isinstance(event, Push | EventNotice | PushFailed)


# ------------------------------------------------------------------------------------------------
# real links
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def listening_udp() -> Iterator[Listening]:
    with Listening("udp://127.0.0.1:0", PushListener(key=KEY, auth_key=AK, link="datagram")) as endpoint:
        yield endpoint


def test_udp_socket_with_garbage_between_pushes(listening_udp: Listening) -> None:
    assert listening_udp.address is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for datagram in UDP_DATAGRAMS[:4]:
            sender.sendto(b"\xde\xad", listening_udp.address)
            sender.sendto(datagram, listening_udp.address)
        failures: list[PushFailed] = []
        pushes = list(listening_udp.pushes(count=4, timeout=5, on_error=failures.append))
    assert [p.invocation_counter for p in pushes] == UDP["expect"]["invocation_counters"][:4]
    assert len(failures) == 4 and all(f.source and f.source.startswith("udp:127.0.0.1:") for f in failures)


def test_tcp_listen_takes_an_hdlc_stream_and_a_wrapper_stream() -> None:
    wrapped = b"".join(
        WrapperPdu(1, 102, bytes.fromhex(UDP["expect"]["first_plain"])).to_bytes() for _ in range(2)
    )
    with Listening("tcp-listen://127.0.0.1:0") as endpoint:
        assert endpoint.address is not None
        a = socket.create_connection(endpoint.address)
        b = socket.create_connection(endpoint.address)
        try:
            half = len(ISKRA["data"]) // 2
            a.sendall(ISKRA["data"][:half])
            b.sendall(wrapped)
            a.sendall(ISKRA["data"][half:])
            pushes = _pushes(list(endpoint.pushes(count=3, timeout=5)))
        finally:
            a.close()
            b.close()
    first_plain = bytes.fromhex(UDP["expect"]["first_plain"])
    assert sorted(p.invoke_id for p in pushes) == [475, 475, ISKRA["expect"]["invoke_id"] & 0xFFFFFF]
    assert sum(p.apdu == first_plain for p in pushes) == 2
    assert len({p.source for p in pushes}) == 2


def test_tcp_connect_reads_until_the_peer_closes() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(LG["data"] + b"noise" + LG["data"])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        pushes = _pushes(list(listen(f"tcp://127.0.0.1:{port}?framing=hdlc", timeout=5)))
    finally:
        thread.join(5)
        server.close()
    assert [p.invoke_id for p in pushes] == [LG["expect"]["invoke_id"]] * 2


def _pty() -> tuple[int, str]:
    import tty

    master, slave = os.openpty()
    tty.setraw(master)
    name = os.ttyname(slave)
    os.close(slave)  # the listener opens it by name
    return master, name


@pytest.mark.skipif(not HAS_PTY, reason="no pseudo-terminals here")
def test_serial_hdlc_over_a_pty() -> None:
    master, name = _pty()
    try:
        with Listening(f"serial://{name}?baud=2400", PushListener(link="hdlc")) as endpoint:
            os.write(master, b"\x00\x00" + KAIFA["data"] + ISKRA["data"])
            pushes = list(endpoint.pushes(count=2, timeout=5))
    finally:
        os.close(master)
    assert len(pushes) == 2
    reading = pushes[0].reading("0.0.96.1.7.255")
    assert reading is not None and reading.value == "MA304H4"
    assert pushes[1].source == name


@pytest.mark.skipif(not HAS_PTY, reason="no pseudo-terminals here")
def test_mbus_over_a_pty() -> None:
    master, name = _pty()
    apdu = bytes.fromhex(UDP["expect"]["first_plain"])
    try:
        with Listening(f"mbus://{name}?baud=2400") as endpoint:
            # a cut 257-byte frame first: its head waits for 263 bytes, then the framer resynchronises
            os.write(master, SAGEMCOM["data"][:30] + b"".join(encode_apdu(apdu, max_piece=40)) * 5)
            failures: list[PushFailed] = []
            pushes = list(endpoint.pushes(count=5, timeout=5, on_error=failures.append))
    finally:
        os.close(master)
    assert [p.apdu for p in pushes] == [apdu] * 5


def test_async_listener_over_udp() -> None:
    async def main() -> list[Push]:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()

        async def send() -> None:
            await asyncio.sleep(0.3)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for datagram in UDP_DATAGRAMS[:2]:
                    sender.sendto(datagram, ("127.0.0.1", port))

        task = asyncio.create_task(send())
        url = f"udp://127.0.0.1:{port}"
        got = _pushes([push async for push in alisten(url, key=KEY, auth_key=AK, count=2, timeout=5)])
        await task
        return got

    pushes = asyncio.run(main())
    assert [p.invocation_counter for p in pushes] == UDP["expect"]["invocation_counters"][:2]


# ------------------------------------------------------------------------------------------------
# event-notification-request (C2)
# ------------------------------------------------------------------------------------------------
ALARM = CosemAttributeDescriptor(1, Obis.parse("0.0.97.98.0.255"), 2)
EVENT_TIME = bytes.fromhex("07E8030105080F1E00FF8880")  # 2024-03-01 08:15:30, deviation -120


def _event(value: axdr.EncodableValue, time: bytes | None = EVENT_TIME) -> bytes:
    return EventNotificationRequest(ALARM, axdr.encode(value), time).to_bytes()


def test_event_notification_is_its_own_typed_event() -> None:
    apdu = _event(axdr.DoubleLongUnsigned(0x00010004))
    assert apdu.hex().startswith("c2010c07e8")  # time present (01), then 12 octets
    core = PushListener(link="apdu")
    core.receive_apdu(apdu, "meter")
    (notice,) = core.events()
    assert isinstance(notice, EventNotice) and not notice.ciphered
    assert (notice.attribute.class_id, notice.attribute.instance, notice.attribute.attribute_id) == (
        1,
        Obis(0, 0, 97, 98, 0, 255),
        2,
    )
    assert notice.value == 0x00010004 and isinstance(notice.value, axdr.DoubleLongUnsigned)
    assert isinstance(notice.date_time, dt.datetime)
    assert notice.date_time == dt.datetime(2024, 3, 1, 8, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert notice.readings == ((Obis(0, 0, 97, 98, 0, 255), 0x00010004, None, 2),)
    assert notice.reading("0.0.97.98.0.255") == notice.readings[0]
    assert notice.reading("1.0.1.8.0.255") is None
    assert (notice.source, notice.apdu) == ("meter", apdu)
    assert core.pushes == 1 and core.failures == 0
    view = notice.to_dict()
    assert view["kind"] == "event-notification"
    assert (view["class_id"], view["obis"]) == (1, "0.0.97.98.0.255")
    assert (view["attribute"], view["value"]) == (2, 65540)


def test_event_notification_without_time_in_a_wrapper_stream_and_hdlc() -> None:
    apdu = _event(b"door open", time=None)
    assert apdu[1] == 0x00  # no time
    core = PushListener(link="wrapper")
    core.receive_data(WrapperPdu(1, 102, apdu).to_bytes(), "tcp")
    (notice,) = core.events()
    assert isinstance(notice, EventNotice) and notice.date_time is None
    assert notice.value == b"door open" and notice.readings[0].value == "door open"


def test_ciphered_event_notification_glo_and_general_glo() -> None:
    title = bytes.fromhex("4D4C4B0000BC614E")
    plain = _event(axdr.Unsigned(7))
    glo = protect(
        plain,
        kind=CipheredKind.GLO,
        security_control=SecurityControl.from_byte(0x30),
        system_title=title,
        invocation_counter=41,
        key=KEY,
        auth_key=AK,
    )
    assert glo[0] == 0xCA  # glo-event-notification-request
    general = protect(
        plain,
        kind=CipheredKind.GENERAL_GLO,
        security_control=SecurityControl.from_byte(0x30),
        system_title=title,
        invocation_counter=42,
        key=KEY,
        auth_key=AK,
    )
    core = PushListener(key=KEY, auth_key=AK, system_title=title)
    core.receive_apdu(glo, "m")
    core.receive_apdu(general, "m")
    core.receive_apdu(general, "m")  # a replay
    first, second, replay = core.events()
    assert isinstance(first, EventNotice) and isinstance(second, EventNotice)
    assert (first.invocation_counter, second.invocation_counter) == (41, 42)
    assert first.ciphered and first.system_title == title and first.apdu == plain
    assert first.value == 7 and second.value == 7
    assert isinstance(replay, PushFailed) and isinstance(replay.error, ReplayError)


def test_listen_yields_event_notifications(listening_udp: Listening) -> None:
    assert listening_udp.address is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(WrapperPdu(1, 102, _event(axdr.Unsigned(1))).to_bytes(), listening_udp.address)
        sender.sendto(UDP_DATAGRAMS[0], listening_udp.address)
        got = list(listening_udp.pushes(count=2, timeout=5))
    assert isinstance(got[0], EventNotice) and got[0].value == 1
    assert isinstance(got[1], Push)


def test_the_listen_command_prints_an_event_notification_as_one_line() -> None:
    from meterlink.cli.listen import _event_line

    core = PushListener(link="apdu")
    core.receive_apdu(_event(axdr.Unsigned(9)), "udp:10.0.0.7:4059")
    (notice,) = core.events()
    assert isinstance(notice, EventNotice)
    assert _event_line(notice) == (
        "event from udp:10.0.0.7:4059, class 1, time 2024-03-01T08:15:30+02:00: 0.0.97.98.0.255/2 9"
    )


# ================================================================================================
# review fixes
# ================================================================================================
def test_a_utf8_string_body_outside_latin1_is_a_push_not_a_crash() -> None:
    # 0F long-iip, no date-time, body utf8-string "€ 5": the DSMR check used to encode it to latin-1
    core = PushListener()
    core.receive_apdu(bytes.fromhex("0f0000000100") + b"\x0c\x05" + "€ 5".encode())
    core.receive_apdu(bytes.fromhex("0f0000000200") + axdr.encode(axdr.LongUnsigned(7)))  # still listening
    events = core.events()
    assert [type(e) for e in events] == [Push, Push]
    first = events[0]
    assert isinstance(first, Push) and first.body == "€ 5" and first.dsmr is None


def test_a_failed_bind_closes_its_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[socket.socket] = []
    real = socket.socket

    def tracking(*args: Any, **kwargs: Any) -> socket.socket:
        sock = real(*args, **kwargs)
        made.append(sock)
        return sock

    with real(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        monkeypatch.setattr(socket, "socket", tracking)
        with pytest.raises(LinkError, match="cannot listen"):
            Listening(f"udp://127.0.0.1:{port}")
    assert len(made) == 1 and made[0].fileno() == -1  # closed, not left to the garbage collector
