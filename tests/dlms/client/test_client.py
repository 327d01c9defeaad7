"""The blocking and asyncio DLMS clients against a real in-test meter over TCP, UDP and a pty."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.cli import dlms as cli
from meterlink.dlms import axdr
from meterlink.dlms._driver import Engine, LinkOptions, Read, Write, guess_class, run_sync
from meterlink.dlms.association import Settings
from meterlink.dlms.client import (
    AssociationRefusedError,
    AsyncClient,
    Client,
    DataAccessError,
    parse_key,
)
from meterlink.dlms.cosem import ClassId, Quantity, Unit
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.dlms.framing import HdlcFraming, LinkUp, Role
from meterlink.dlms.security import (
    AesEcbProcessor,
    Mechanism,
    SecurityPolicy,
    register_mechanism,
    unregister_mechanism,
)
from meterlink.errors import LinkError, LocalProtocolError, MeterlinkError, ResponseTimeout
from meterlink.hdlc.address import HdlcAddress
from meterlink.obis import Obis
from meterlink.transport.udp import UdpLink

from .meter import (
    AK,
    BLOB,
    CLOCK,
    EK,
    ENERGY,
    FRAME_COUNTER,
    NAME,
    PERIOD,
    PROFILE,
    SECRET,
    START,
    MeterServer,
    a,
    blob,
    server_settings,
)

T = TypeVar("T")


def within(seconds: float, call: Callable[[], T]) -> T:
    """Run ``call`` in a thread; fail the test if it has not returned or raised by then."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(("ok", call()))
        except BaseException as exc:
            outcome.append(("error", exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"call still running after {seconds} s"
    kind, value = outcome[0]
    if kind == "error":
        raise value
    result: T = value
    return result


def run(coroutine: Coroutine[Any, Any, T], seconds: float = 10.0) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(seconds):
            return await coroutine

    return asyncio.run(bounded())


def connect(meter: MeterServer, **options: Any) -> Client:
    options.setdefault("timeout", 2.0)
    if meter.kind == "udp":
        return Client.udp("127.0.0.1", meter.port, **options)
    if meter.kind == "pty":
        return Client.serial(meter.path, **options)
    transport: Literal["wrapper", "hdlc"] = "hdlc" if meter.kind == "tcp-hdlc" else "wrapper"
    return Client.tcp("127.0.0.1", meter.port, transport=transport, **options)


KINDS = ["tcp-wrapper", "tcp-hdlc", "udp", "pty"]


# ================================================================================================
# every link
# ================================================================================================
@pytest.mark.parametrize("kind", KINDS)
def test_typed_values_and_block_transfer_on_every_link(kind: str) -> None:
    with MeterServer(kind) as meter:

        def session() -> tuple[Any, ...]:
            with connect(meter, max_pdu_size=256) as client:
                energy = client.get(ENERGY)
                again = client.get("1-0:1.8.0.255")
                long = client.get(BLOB)
                name = client.get(NAME)
            return energy, again, long, name

        energy, again, long, name = within(15, session)
    assert energy == Quantity(123_456, -3, Unit(30)) and energy.value == Decimal("123.456")
    assert again == energy
    assert long == blob() and name == b"MLK0001"
    # scaler_unit read once, then cached
    assert meter.app.reads.count(a(3, ENERGY, 3)) == 1
    assert not meter.errors
    # the goodbye went out: RLRQ answered, and over HDLC the DISC too
    assert any(getattr(e, "reason", "") == "RLRQ" for e in meter.events)
    if kind in ("tcp-hdlc", "pty"):
        assert meter.link_downs == 1


def test_wrapper_tcp_full_api() -> None:
    with MeterServer("tcp-wrapper") as meter:

        def session() -> dict[str, Any]:
            out: dict[str, Any] = {}
            with connect(meter) as client:
                out["clock"] = client.read_clock()
                out["clock_attr"] = client.get(CLOCK)
                client.set_clock(dt.datetime(2025, 1, 2, 3, 4, 5))
                out["clock_after"] = client.read_clock()
                with pytest.raises(DataAccessError) as missing:
                    client.get("0.0.96.99.0.255")
                out["missing"] = missing.value
                out["many"] = client.get_many([ENERGY, (ENERGY, 3), "0.0.96.99.0.255", (CLOCK, 2, 8)])
                client.set(PROFILE, 600, attribute=4)  # plain int typed by the class table
                out["period"] = client.get_raw(PROFILE, 4)
                with pytest.raises(LocalProtocolError):
                    client.set(ENERGY, 5)  # a register value is "any": a plain int has no type
                client.set(ENERGY, axdr.DoubleLongUnsigned(5), class_id=3)
                out["set"] = client.get(ENERGY)
                client.set(NAME, b"NEW")
                out["name"] = client.get(NAME)
                client.action(ENERGY, 1, axdr.Integer(0))
                out["reset"] = client.get(ENERGY)
                out["echo"] = client.action(BLOB, 1, b"x" * 600, class_id=1)
                out["objects"] = client.read_object_list()
                out["guessed"] = client.get("0.0.96.5.0.255")  # class from the object list
                client.set(PROFILE, PERIOD, attribute=4)
                out["profile"] = client.read_profile(PROFILE)
                out["range"] = client.read_profile(
                    PROFILE, START + dt.timedelta(minutes=30), START + dt.timedelta(minutes=60)
                )
                out["entries"] = client.read_profile_entries(PROFILE, 2, 3)
                out["open_end"] = client.read_profile(PROFILE, START + dt.timedelta(minutes=90))
            return out

        out = within(15, session)
    assert out["clock"] == dt.datetime(2024, 5, 6, 12, 30, 15)
    assert isinstance(out["clock_attr"], CosemDateTime) and out["clock_attr"].to_datetime() == out["clock"]
    assert out["clock_after"] == dt.datetime(2025, 1, 2, 3, 4, 5)
    assert out["missing"].result.name == "OBJECT_UNDEFINED" and out["missing"].code == 4
    many = out["many"]
    assert many[0] == Quantity(123_456, -3, Unit(30))
    assert many[1].scaler == -3 and int(many[1].unit) == 30
    assert isinstance(many[2], DataAccessError) and isinstance(many[3], CosemDateTime)
    assert out["period"] == axdr.encode(axdr.DoubleLongUnsigned(600))
    assert out["set"] == Quantity(5, -3, Unit(30))
    assert out["name"] == b"NEW"
    assert out["reset"] == Quantity(0, -3, Unit(30))
    assert out["echo"] == b"x" * 600
    assert [int(e.class_id) for e in out["objects"]] == [3, 8, 1, 7]
    assert out["guessed"] == 7
    profile = out["profile"]
    assert len(profile) == 8 and profile.rows[0] == (START, 1000)
    assert profile.columns[1].scaler_unit is not None  # register column scaled
    assert profile.scaled_rows()[1][1] == Quantity(1010, -3, Unit(30))
    assert [r[0] for r in out["range"].rows] == [START + dt.timedelta(seconds=PERIOD * i) for i in (2, 3, 4)]
    assert [r[1] for r in out["entries"].rows] == [1010, 1020]
    assert [r[1] for r in out["open_end"].rows] == [1060, 1070]


# ================================================================================================
# mechanisms and ciphering
# ================================================================================================
MECHANISMS = {
    "lls": Mechanism.LLS,
    "hls": Mechanism.HLS,
    "hls-md5": Mechanism.HLS_MD5,
    "hls-sha1": Mechanism.HLS_SHA1,
    "hls-sha256": Mechanism.HLS_SHA256,
    "hls-gmac": Mechanism.HLS_GMAC,
}


@pytest.mark.parametrize("auth", MECHANISMS)
def test_each_mechanism(auth: str) -> None:
    mechanism = MECHANISMS[auth]
    clients = {16: server_settings(), 1: server_settings(mechanism)}
    keys: dict[str, Any] = {}
    if mechanism in (Mechanism.HLS_GMAC, Mechanism.HLS_SHA256):
        keys = {"key": EK.hex(), "auth_key": AK, "policy": "none"}
    if mechanism is Mechanism.HLS:  # manufacturer specific: the caller names the processor
        register_mechanism(Mechanism.HLS, AesEcbProcessor())
    try:
        with MeterServer("tcp-wrapper", clients=clients) as meter:

            def session() -> Any:
                with connect(meter, client=1, auth=auth, password=SECRET.decode(), **keys) as client:
                    return client.get(ENERGY)

            assert within(10, session) == Quantity(123_456, -3, Unit(30))
    finally:
        if mechanism is Mechanism.HLS:
            unregister_mechanism(Mechanism.HLS)


@pytest.mark.parametrize("policy", ["auth", "enc", "auth-enc"])
@pytest.mark.parametrize("kind", ["tcp-wrapper", "tcp-hdlc"])
def test_ciphered_policies(policy: str, kind: str, tmp_path: Path) -> None:
    server_policy = {
        "auth": SecurityPolicy.AUTHENTICATED,
        "enc": SecurityPolicy.ENCRYPTED,
        "auth-enc": SecurityPolicy.AUTHENTICATED_ENCRYPTED,
    }[policy]
    clients = {1: server_settings(Mechanism.HLS_GMAC, server_policy)}
    key_file = tmp_path / "ek.hex"
    key_file.write_text(EK.hex() + "\n")
    with MeterServer(kind, clients=clients) as meter:

        def session() -> Any:
            with connect(
                meter,
                client=1,
                auth="hls-gmac",
                key=f"@{key_file}",
                auth_key=AK,
                policy=policy,
                max_pdu_size=300,
            ) as client:
                return client.get(ENERGY), client.get(BLOB), client.counters.peek_send("guek")

        energy, long, counter = within(10, session)
    assert energy == Quantity(123_456, -3, Unit(30)) and long == blob()
    assert counter > 3  # AARQ, HLS reply, requests: every APDU took a fresh invocation counter
    assert not meter.errors


def test_refused_association_is_typed_and_link_closed() -> None:
    clients = {1: server_settings(Mechanism.LLS)}
    with MeterServer("tcp-hdlc", clients=clients) as meter:

        def session() -> None:
            with connect(meter, client=1, auth="lls", password="wrong!!"):
                pass

        with pytest.raises(AssociationRefusedError) as refused:
            within(10, session)
        time.sleep(0.1)
    assert "AUTHENTICATION_FAILURE" in refused.value.reason
    assert meter.link_downs == 1  # DISC sent after the refusal


# ================================================================================================
# invocation counter bootstrap
# ================================================================================================
@pytest.mark.parametrize("kind", ["tcp-wrapper", "tcp-hdlc"])
def test_bootstrap_invocation_counter(kind: str) -> None:
    clients = {
        16: server_settings(),
        1: server_settings(Mechanism.HLS_GMAC, SecurityPolicy.AUTHENTICATED_ENCRYPTED),
    }
    options = {"client": 1, "auth": "hls-gmac", "key": EK, "auth_key": AK}
    with MeterServer(kind, clients=clients, ic_floor=1000) as meter:

        def stale() -> None:
            with connect(meter, **options):
                pass

        with pytest.raises(AssociationRefusedError):
            within(10, stale)

        def fresh() -> tuple[int, Any, int]:
            client = connect(meter, **options)
            value = client.bootstrap_invocation_counter()
            with client:
                energy = client.get(ENERGY)
                again = client.bootstrap_invocation_counter()  # inside the session: reopened after
                energy2 = client.get(ENERGY)
            assert energy == energy2
            return value, energy, again

        value, energy, again = within(15, fresh)
    assert value == again == 1000 and energy == Quantity(123_456, -3, Unit(30))
    assert a(1, FRAME_COUNTER, 2) in meter.app.reads


# ================================================================================================
# timeouts: nothing hangs
# ================================================================================================
@pytest.mark.parametrize("kind", ["tcp-wrapper", "tcp-hdlc", "udp"])
def test_silent_meter_times_out_within_the_deadline(kind: str) -> None:
    with MeterServer(kind, silent=True) as meter:
        start = time.monotonic()
        with pytest.raises(ResponseTimeout):
            within(5, lambda: connect(meter, timeout=0.5, frame_timeout=0.2, retries=1).open())
        elapsed = time.monotonic() - start
    assert elapsed < 2.0
    assert meter.received  # it did send the SNRM / AARQ


def test_meter_going_silent_mid_session() -> None:
    with MeterServer("tcp-hdlc") as meter:

        def session() -> None:
            with connect(meter, timeout=0.5, frame_timeout=0.2, retries=1) as client:
                client.get(ENERGY)
                meter.silent = True
                client.get(NAME)

        start = time.monotonic()
        with pytest.raises(ResponseTimeout):
            within(5, session)
        assert time.monotonic() - start < 2.5


# ================================================================================================
# asyncio
# ================================================================================================
@pytest.mark.parametrize("kind", ["tcp-wrapper", "tcp-hdlc", "udp"])
def test_async_client(kind: str) -> None:
    async def session(meter: MeterServer) -> tuple[Any, ...]:
        if kind == "udp":
            client = AsyncClient.udp("127.0.0.1", meter.port, timeout=2)
        else:
            transport: Literal["wrapper", "hdlc"] = "hdlc" if kind == "tcp-hdlc" else "wrapper"
            client = AsyncClient.tcp(
                "127.0.0.1", meter.port, transport=transport, timeout=2, max_pdu_size=256
            )
        async with client:
            energy = await client.get(ENERGY)
            long = await client.get_raw(BLOB)
            profile = await client.read_profile_entries(PROFILE, 1, 2)
            clock = await client.read_clock()
            many = await client.get_many([NAME, ENERGY])
        return energy, long, profile, clock, many

    with MeterServer(kind) as meter:
        energy, long, profile, clock, many = run(session(meter))
    assert energy == Quantity(123_456, -3, Unit(30))
    assert long == axdr.encode(blob())
    assert [r[1] for r in profile.rows] == [1000, 1010]
    assert clock == dt.datetime(2024, 5, 6, 12, 30, 15)
    assert many == [b"MLK0001", energy]


def test_async_timeout_and_refusal() -> None:
    async def silent(meter: MeterServer) -> None:
        async with AsyncClient.tcp("127.0.0.1", meter.port, timeout=0.4):
            pass

    with MeterServer("tcp-wrapper", silent=True) as meter:
        start = time.monotonic()
        with pytest.raises(ResponseTimeout):
            run(silent(meter))
        assert time.monotonic() - start < 2

    async def refused(meter: MeterServer) -> None:
        async with AsyncClient.tcp("127.0.0.1", meter.port, client=1, auth="lls", password="nope", timeout=2):
            pass

    refusing = MeterServer("tcp-wrapper", clients={1: server_settings(Mechanism.LLS)})
    with refusing as meter, pytest.raises(AssociationRefusedError):
        run(refused(meter))


# ================================================================================================
# URLs, keys, arguments
# ================================================================================================
def test_from_url() -> None:
    with MeterServer("tcp-hdlc") as meter:
        url = f"tcp://127.0.0.1:{meter.port}?transport=hdlc"
        assert within(5, lambda: _one(Client.from_url(url, timeout=2))) == Quantity(123_456, -3, Unit(30))
    with MeterServer("udp") as meter:
        assert within(5, lambda: _one(Client.from_url(f"udp://127.0.0.1:{meter.port}", timeout=2)))
    with MeterServer("pty") as meter:
        assert within(5, lambda: _one(Client.from_url(f"serial://{meter.path}?baud=19200", timeout=2)))
    for bad in (
        "ftp://x",
        "tcp://:4059",
        "udp://h:1?transport=hdlc",
        "serial:///dev/x?transport=wrapper",
        "tcp://h?x=1",
    ):
        with pytest.raises(LocalProtocolError):
            Client.from_url(bad)


def _one(client: Client) -> Any:
    with client:
        return client.get(ENERGY)


def test_keys_and_titles(tmp_path: Path) -> None:
    binary = tmp_path / "key.bin"
    binary.write_bytes(EK)
    assert parse_key(EK) == parse_key(EK.hex()) == parse_key(EK.hex(" ").upper()) == EK
    assert parse_key(f"@{binary}") == EK
    assert parse_key("00:01:02") == b"\x00\x01\x02"
    for bad in ("zz", f"@{tmp_path / 'missing'}", 5):
        with pytest.raises(LocalProtocolError):
            parse_key(bad)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        Client.tcp("h", key="0011")  # not 16 bytes
    with pytest.raises(LocalProtocolError):
        Client.tcp("h", auth="kerberos")
    with pytest.raises(LocalProtocolError):
        Client.tcp("h", auth="lls")  # LLS without a password
    ciphered = Client.tcp("h", key=EK, auth_key=AK)
    assert ciphered.settings.security.policy is SecurityPolicy.AUTHENTICATED_ENCRYPTED
    assert Client.tcp("h", key=EK).settings.security.policy is SecurityPolicy.ENCRYPTED
    assert Client.tcp("h").settings.security.policy is SecurityPolicy.NONE


def test_guess_class() -> None:
    assert guess_class(Obis.parse("1.0.1.8.0.255")) == ClassId.REGISTER
    assert guess_class(Obis.parse("0.0.1.0.0.255")) == ClassId.CLOCK
    assert guess_class(Obis.parse("1.0.99.1.0.255")) == ClassId.PROFILE_GENERIC
    assert guess_class(Obis.parse("0.0.40.0.0.255")) == ClassId.ASSOCIATION_LN
    assert guess_class(Obis.parse("0.0.43.1.0.255")) == ClassId.DATA
    assert guess_class(Obis.parse("0.0.96.1.0.255")) == ClassId.DATA
    assert guess_class(Obis.parse("1.0.0.9.1.255")) == ClassId.DATA


def test_operations_need_an_association() -> None:
    client = Client.tcp("127.0.0.1", 1)
    with pytest.raises(LocalProtocolError):
        client.get("1.8.0")  # reduced OBIS refused before any I/O


# ================================================================================================
# UDP link
# ================================================================================================
def test_udp_link_keeps_datagram_boundaries() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    try:
        link = UdpLink.connect("127.0.0.1", server.getsockname()[1])
        link.write(b"hello")
        data, peer = server.recvfrom(100)
        assert data == b"hello"
        server.sendto(b"one", peer)
        server.sendto(b"two", peer)
        assert link.read(1.0) == b"one" and link.read(1.0) == b"two"
        start = time.monotonic()
        assert link.read(0.1) == b"" and time.monotonic() - start < 0.5
        link.close()
        with pytest.raises(MeterlinkError):
            link.read(0)
    finally:
        server.close()


# ================================================================================================
# CLI
# ================================================================================================
def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(argv)


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with MeterServer("tcp-hdlc") as meter:
        url = f"tcp://127.0.0.1:{meter.port}"
        base = ["--transport", "hdlc", "--timeout", "2"]
        assert within(5, lambda: cli.run(_cli(["get", url, "1.0.1.8.0.255:2", *base, "--json"]))) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["value"]["value"] == "123.456" and document["value"]["unit"] == "Wh"
        assert document["class_id"] == 3 and document["name"] == "value"
        assert within(5, lambda: cli.run(_cli(["get", url, "0.0.42.0.0.255", *base]))) == 0
        assert "MLK0001" in capsys.readouterr().out
        assert within(5, lambda: cli.run(_cli(["objects", url, *base]))) == 0
        assert "profile_generic" in capsys.readouterr().out
        argv = [
            "profile",
            url,
            "1.0.99.1.0.255",
            "--from",
            "2024-05-06T00:30",
            "--to",
            "2024-05-06T00:45",
            *base,
        ]
        assert within(5, lambda: cli.run(_cli([*argv, "--json"]))) == 0
        rows = json.loads(capsys.readouterr().out)["rows"]
        assert rows == [
            ["2024-05-06T00:30:00", {"value": "1.020", "unit": "Wh", "raw": 1020, "scaler": -3}],
            ["2024-05-06T00:45:00", {"value": "1.030", "unit": "Wh", "raw": 1030, "scaler": -3}],
        ]
        with pytest.raises(LocalProtocolError):
            cli.run(_cli(["get", url, "not-obis", *base]))


# ================================================================================================
# fuzz: whatever the "meter" sends, only meterlink errors come out
# ================================================================================================
@settings(max_examples=300, deadline=None)
@given(
    transport=st.sampled_from(["wrapper", "hdlc"]),
    chunks=st.lists(st.binary(min_size=0, max_size=80), max_size=6),
)
def test_engine_fuzz(transport: str, chunks: list[bytes]) -> None:
    link = LinkOptions(transport=transport, frame_timeout=0.01, retries=0)  # type: ignore[arg-type]
    engine = Engine(Settings(), link, timeout=0.05)
    clock = [0.0]
    engine.clock = lambda: clock[0]
    feed = list(chunks)

    def perform(op: Write | Read) -> bytes:
        if isinstance(op, Read):
            if feed:
                return feed.pop(0)
            clock[0] = max(clock[0], op.deadline)
        return b""

    driver = engine.connect()
    try:
        op = next(driver)
        for _ in range(200):
            op = driver.send(perform(op))
    except StopIteration:
        pass
    except MeterlinkError:
        pass


# ================================================================================================
# review fixes
# ================================================================================================
def test_link_failing_during_bootstrap_raises_the_link_error_not_runtime_error() -> None:
    """The runner closes the driver when its link fails; the bootstrap must not try a goodbye then."""
    engine = Engine(Settings(), LinkOptions(transport="hdlc"), timeout=1.0)
    engine.clock = lambda: 0.0
    meter = HdlcFraming(Role.SERVER, server_address=HdlcAddress(1, None))
    answers: list[bytes] = []
    writes: list[bytes] = []

    def perform(op: Write | Read) -> bytes:
        if isinstance(op, Read):
            return answers.pop(0) if answers else b""
        writes.append(op.data)
        if len(writes) > 1:  # the SNRM got its UA; the AARQ meets a dead socket
            raise LinkError("connection reset")
        meter.receive_data(op.data, 0.0)
        assert isinstance(meter.next_event(), LinkUp)
        answers.extend(meter.data_to_send())
        return b""

    with pytest.raises(LinkError, match="connection reset"):
        run_sync(engine.bootstrap_invocation_counter(16, FRAME_COUNTER), perform)
    assert len(writes) == 2 and not engine.associated and not engine.link_up


def test_cli_udp_with_transport_wrapper(capsys: pytest.CaptureFixture[str]) -> None:
    with MeterServer("udp") as meter:
        argv = ["get", f"udp://127.0.0.1:{meter.port}", "0.0.42.0.0.255", "--transport", "wrapper"]
        assert within(5, lambda: cli.run(_cli([*argv, "--timeout", "2"]))) == 0
        assert "MLK0001" in capsys.readouterr().out
    with pytest.raises(LocalProtocolError, match="udp:// the wrapper"):
        cli.run(_cli(["get", "udp://127.0.0.1:4059", "0.0.42.0.0.255", "--transport", "hdlc"]))


def test_a_meter_that_only_pushes_cannot_hold_a_request_open() -> None:
    """Pushes during a request are collected, but they do not count as an answer: the request
    still times out within its deadline however fast the meter pushes."""
    from meterlink.dlms.association import ServerAssociation
    from meterlink.dlms.framing import ApduIn, NeedData, WrapperFraming

    from .meter import MeterApp

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def meter() -> None:
        conn, _ = server.accept()
        framing = WrapperFraming(Role.SERVER, local_port=1, remote_port=16)
        assoc = ServerAssociation(MeterApp(), server_settings())
        conn.settimeout(0.05)
        associated = False
        while not stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                data = b""
            except OSError:
                break  # the client has gone
            if data:
                framing.receive_data(data, 0.0)
                while not isinstance(event := framing.next_event(), NeedData):
                    if isinstance(event, ApduIn) and not associated:
                        assoc.receive_apdu(event.data)  # answer the AARQ, then only push
                        for apdu in assoc.data_to_send():
                            framing.send_apdu(apdu, 0.0)
                        associated = True
            elif associated:
                for apdu in assoc.push(axdr.encode(axdr.DoubleLongUnsigned(7))):
                    framing.send_apdu(apdu, 0.0)
            try:
                for chunk in framing.data_to_send():
                    conn.sendall(chunk)
            except OSError:
                break  # the client closed after its timeout: the meter's job is done
        conn.close()

    thread = threading.Thread(target=meter, daemon=True)
    thread.start()
    try:
        with Client.tcp("127.0.0.1", server.getsockname()[1], timeout=0.5) as client:
            start = time.monotonic()
            with pytest.raises(ResponseTimeout):
                within(5, lambda: client.get(ENERGY))
            assert time.monotonic() - start < 1.5  # pushes every 50 ms did not extend the 0.5 s deadline
            assert client.pushes  # ... and none of them was lost
    finally:
        stop.set()
        thread.join(5)
        server.close()
