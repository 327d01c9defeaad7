"""Our DLMS client against our DLMS emulator, on every link, mechanism and security policy.

Links: HDLC over TCP, the wrapper over TCP and UDP, HDLC on a pty, and mode E on a pty (the IEC
62056-21 sign-on, then HDLC). A Linux pty cannot switch 7E1 to 8N1, so the mode E client runs its
sign-on in software 7E1 (``mode-e://...?parity=sw7e1``, ``Client.serial(software_parity=True)``),
as the IEC tests do with ``parity=sw7e1``; the emulator's sign-on is fast (20 ms reaction time).

The meter is ``dlms_meter.toml`` next to this file: one association per mechanism and policy.
Each link's emulator starts once per module. The meter keeps every association's invocation
counters across connections (as a real one does), so :class:`Meters` remembers where each
ciphered client goes on. Expected values come from the emulator's own model (its clock, the
register's growth rule, the profile grid), computed independently here. Every call runs under
a watchdog (:func:`within`): a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest

from meterlink.dlms import AsyncClient, Client, axdr, listener
from meterlink.dlms.client import AssociationRefusedError, DataAccessError
from meterlink.dlms.cosem import Quantity, Unit
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.emulator.dlms import DlmsDescription, DlmsEmulatorThread, parse_dlms_description
from meterlink.errors import LocalProtocolError
from meterlink.obis import Obis
from meterlink.transport.base import Direction

T = TypeVar("T")

HERE = Path(__file__).parent
TOML = (HERE / "dlms_meter.toml").read_text(encoding="utf-8")
HAS_PTY = Path("/dev/ptmx").exists()

EK: Final = "000102030405060708090A0B0C0D0E0F"
AK: Final = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
ORIGIN: Final = dt.datetime(2024, 3, 1, 8, 0, 0)
EPOCH: Final = dt.datetime(2000, 1, 1)
CET: Final = dt.timezone(dt.timedelta(hours=1))
"""The meter sends deviation -60 (UTC minus local): its times are UTC+1."""
PERIOD: Final = 900
SERIAL: Final = "0.0.96.1.0.255"
ENERGY: Final = "1.0.1.8.0.255"
EXPORT: Final = "1.0.2.8.0.255"
VOLTAGE: Final = "1.0.32.7.0.255"
CLOCK: Final = "0.0.1.0.0.255"
PROFILE: Final = "1.0.99.1.0.255"
BREAKER: Final = "0.0.96.3.10.255"
PUSH: Final = "0.0.25.9.0.255"
WATCHDOG: Final = 15.0

LINKS: Final = ("hdlc-tcp", "wrapper-tcp", "wrapper-udp", "hdlc-pty", "mode-e-pty")

# client SAP -> the options that open its association (see dlms_meter.toml)
PUBLIC: Final[dict[str, Any]] = {"client": 16}
GMAC: Final[dict[str, Any]] = {"client": 1, "auth": "hls-gmac", "key": EK, "auth_key": AK}
MECHANISMS: Final[dict[str, dict[str, Any]]] = {
    "none": PUBLIC,
    "lls": {"client": 32, "auth": "lls", "password": "12345678"},
    "hls-md5": {"client": 2, "auth": "hls-md5", "password": "md5-secret-0002"},
    "hls-sha1": {"client": 3, "auth": "hls-sha1", "password": "sha1-secret-003"},
    "hls-sha256": {"client": 4, "auth": "hls-sha256", "password": "sha256-secret-4"},
    "hls-gmac": GMAC,
}
POLICIES: Final[dict[str, dict[str, Any]]] = {
    "gmac-none": {"client": 7, "auth": "hls-gmac", "key": EK, "auth_key": AK, "policy": "none"},
    "gmac-auth": {"client": 5, "auth": "hls-gmac", "key": EK, "auth_key": AK, "policy": "auth"},
    "gmac-enc": {"client": 6, "auth": "hls-gmac", "key": EK, "auth_key": AK, "policy": "enc"},
    "gmac-auth-enc": GMAC,
    "lls-auth-enc": {"client": 8, "auth": "lls", "password": "LLS-and-ciphered", "key": EK, "auth_key": AK},
    "sha256-enc": {
        "client": 9,
        "auth": "hls-sha256",
        "password": "sha256-secret-9",
        "key": EK,
        "auth_key": AK,
        "policy": "enc",
    },
    "md5-auth": {
        "client": 10,
        "auth": "hls-md5",
        "password": "md5-secret-0010",
        "key": EK,
        "auth_key": AK,
        "policy": "auth",
    },
}
_PLAIN_REQUESTS: Final = frozenset({0xC0, 0xC1, 0xC3})
_CIPHERED_REQUESTS: Final = frozenset({0xC8, 0xC9, 0xCB, 0xD0, 0xD1, 0xD3, 0xDB, 0xDC})


def within(seconds: float, call: Callable[[], T]) -> T:
    """Watchdog: run ``call`` in a thread; still running after ``seconds`` fails the test."""
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="dlms client under watchdog", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the client hung: still running after {seconds} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    result: T = value
    return result


def describe(text: str = TOML) -> DlmsDescription:
    return parse_dlms_description(text, source="dlms_meter.toml")


# ------------------------------------------------------------------------------------------------
# the emulated meters, one per link, started on first use
# ------------------------------------------------------------------------------------------------
class Recorder:
    """Trace hook: keeps what the client wrote."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, direction: Direction, data: bytes, _: float) -> None:
        if direction == "tx":
            self.sent.append(bytes(data))


class Meters:
    """One emulator per link, and each ciphered association's next invocation counter."""

    def __init__(self) -> None:
        self.running: dict[str, DlmsEmulatorThread] = {}
        self.next_ic: dict[tuple[str, int], int] = {}

    def emulator(self, link: str) -> DlmsEmulatorThread:
        if link not in self.running:
            if link.endswith("pty") and not HAS_PTY:
                pytest.skip("no pseudo-terminals here")
            listen = {"wrapper-udp": "udp://127.0.0.1:0"}.get(link, "pty" if link.endswith("pty") else None)
            transport = "wrapper" if link.startswith("wrapper") else "hdlc"
            thread = DlmsEmulatorThread(
                describe(), listen or "tcp://127.0.0.1:0", transport=transport, mode_e=link == "mode-e-pty"
            )
            self.running[link] = thread.start()
        return self.running[link]

    def client(self, link: str, *, counted: bool = True, cls: type[Any] = Client, **options: Any) -> Any:
        """A client of ``cls`` for the meter on ``link``; ciphered ones go on where the last stopped."""
        url = self.emulator(link).url
        options.setdefault("timeout", 2.0)
        sap = int(options.get("client", 16))
        if counted and options.get("key") is not None and (link, sap) in self.next_ic:
            options.setdefault("invocation_counter", self.next_ic[(link, sap)])
        if link == "hdlc-tcp":
            return cls.from_url(f"{url}?transport=hdlc&physical=17", **options)
        if link == "wrapper-tcp":
            return cls.from_url(url, **options)
        if link == "wrapper-udp":
            host, _, port = url.removeprefix("udp://").rpartition(":")
            return cls.udp(host, int(port), **options)
        if link == "hdlc-pty":
            return cls.serial(url, baud=9600, physical=17, **options)
        # mode E: the sign-on in software 7E1, since the pty cannot change the character format
        return cls.from_url(f"mode-e://{url}?parity=sw7e1&physical=17", **options)

    def done(self, link: str, client: Client | AsyncClient) -> None:
        """Note where a ciphered client's invocation counter stopped."""
        if client.settings.security.key is not None:
            sap = client._engine.link.client
            key = (link, sap)
            self.next_ic[key] = max(self.next_ic.get(key, 0), client.counters.peek_send("guek"))

    def meter_time(self, link: str) -> dt.datetime:
        """The emulated meter's clock now (naive, meter-local)."""
        return self.emulator(link).meter.wall_time(time.monotonic())

    def stop(self) -> None:
        for thread in self.running.values():
            thread.stop()


@pytest.fixture(scope="module")
def meters() -> Iterator[Meters]:
    running = Meters()
    try:
        yield running
    finally:
        running.stop()


def session(meters: Meters, link: str, work: Callable[[Client], T], **options: Any) -> T:
    """Open a client on ``link``, run ``work`` inside its association, close; all under the watchdog."""

    def run() -> T:
        client = meters.client(link, **options)
        try:
            with client:
                return work(client)
        finally:
            meters.done(link, client)

    return within(WATCHDOG, run)


def energy_raw(at: dt.datetime) -> int:
    """The energy register as the description defines it: 1 000 000 at ORIGIN, +3600 per hour."""
    return 1_000_000 + round((at - ORIGIN).total_seconds())


def grid(index: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=PERIOD * index)


def grid_index(at: dt.datetime) -> int:
    return math.floor((at - EPOCH).total_seconds() / PERIOD)


# ------------------------------------------------------------------------------------------------
# every mechanism over one link
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mechanism", list(MECHANISMS))
def test_every_mechanism_reads_and_writes(meters: Meters, mechanism: str) -> None:
    link = "wrapper-tcp"
    options = MECHANISMS[mechanism]

    def work(client: Client) -> dict[str, Any]:
        before = meters.meter_time(link)
        out: dict[str, Any] = {"serial": client.get(SERIAL), "energy": client.get(ENERGY)}
        out["window"] = (before, meters.meter_time(link))
        out["many"] = client.get_many([SERIAL, (ENERGY, 3), (CLOCK, 2, 8)])
        if mechanism != "none":
            client.set(EXPORT, axdr.DoubleLongUnsigned(5000 + options["client"]))
            out["written"] = client.get(EXPORT)
        return out

    out = session(meters, link, work, **options)
    assert out["serial"] == "SN12345678"
    energy = out["energy"]
    assert isinstance(energy, Quantity) and (energy.scaler, energy.unit) == (-1, Unit.WATT_HOUR)
    low, high = (energy_raw(t) for t in out["window"])
    assert low - 1 <= energy.raw <= high + 1
    serial, scaler_unit, clock = out["many"]
    assert serial == "SN12345678"
    assert scaler_unit.scaler == -1 and scaler_unit.unit == Unit.WATT_HOUR
    assert isinstance(clock, CosemDateTime) and clock.deviation == -60  # get() keeps the wire form
    assert clock.to_datetime().replace(tzinfo=None) - out["window"][1] < dt.timedelta(seconds=3)
    if mechanism != "none":
        assert out["written"] == Quantity(5000 + options["client"], 0, Unit.WATT_HOUR)


@pytest.mark.parametrize("mechanism", [m for m in MECHANISMS if m != "none"])
def test_wrong_secret_is_refused(meters: Meters, mechanism: str) -> None:
    options = dict(MECHANISMS[mechanism])
    if mechanism == "hls-gmac":
        options["auth_key"] = "00" * 16  # the GMAC of the challenge no longer matches
    else:
        options["password"] = "not-the-secret!"
    with pytest.raises(AssociationRefusedError):
        session(meters, "wrapper-tcp", lambda client: client.get(SERIAL), counted=False, **options)
    # and the right secret still works afterwards (the refusal left nothing behind)
    right = MECHANISMS[mechanism]
    assert session(meters, "wrapper-tcp", lambda client: client.get(SERIAL), **right) == "SN12345678"


# ------------------------------------------------------------------------------------------------
# every policy (HLS-GMAC) and a few cross combinations
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", list(POLICIES))
def test_every_policy(meters: Meters, policy: str) -> None:
    link = "hdlc-tcp"
    options = POLICIES[policy]
    recorder = Recorder()

    def work(client: Client) -> tuple[Any, Any, Any]:
        value = axdr.DoubleLongUnsigned(7000 + options["client"])
        client.set(EXPORT, value)
        recorder.sent.clear()  # only the requests after the association
        return client.get(SERIAL), client.get(EXPORT), client.action(BREAKER, 2, axdr.Integer(0), class_id=70)

    serial, written, reconnected = session(meters, link, work, trace=recorder, **options)
    assert serial == "SN12345678"
    assert written == Quantity(7000 + options["client"], 0, Unit.WATT_HOUR)
    assert reconnected is None
    # what went on the wire: the xDLMS requests are ciphered exactly when the policy says so
    # 7E A0 len, server 02 23, client, control, HCS (2), LLC E6 E6 00, then the APDU's tag
    # (the RLRQ, 0x62, is ACSE and goes plain)
    tags = {f[12] for f in recorder.sent if len(f) > 13 and f[9:12] == b"\xe6\xe6\x00" and f[12] >= 0xC0}
    ciphered = policy not in ("gmac-none",)
    assert tags, recorder.sent
    assert tags <= (_CIPHERED_REQUESTS if ciphered else _PLAIN_REQUESTS), sorted(tags)


def test_ciphered_plaintext_does_not_leak(meters: Meters) -> None:
    """Encrypted policies must not carry the logical name of a request in clear."""
    recorder = Recorder()
    session(meters, "wrapper-tcp", lambda client: client.get(SERIAL), trace=recorder, **GMAC)
    requests = recorder.sent[1:]  # after the AARQ (which carries the HLS challenge only)
    assert requests and not any(bytes([0, 0, 96, 1, 0, 255]) in chunk for chunk in requests)
    plain = Recorder()
    session(meters, "wrapper-tcp", lambda client: client.get(SERIAL), trace=plain, **PUBLIC)
    assert any(bytes([0, 0, 96, 1, 0, 255]) in chunk for chunk in plain.sent)


# ------------------------------------------------------------------------------------------------
# every link: the public client and the ciphered HLS-GMAC association
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("link", LINKS)
def test_every_link_public(meters: Meters, link: str) -> None:
    def work(client: Client) -> tuple[Any, Any, Any, Any]:
        clock = client.read_clock()
        return client.get(SERIAL), client.get(ENERGY), clock, meters.meter_time(link)

    serial, energy, clock, after = session(meters, link, work, **PUBLIC)
    assert serial == "SN12345678"
    assert isinstance(energy, Quantity) and energy.unit == Unit.WATT_HOUR
    assert isinstance(clock, dt.datetime)
    assert abs(clock.replace(tzinfo=None) - after) < dt.timedelta(seconds=3)
    assert clock.utcoffset() == dt.timedelta(hours=1)


@pytest.mark.parametrize("link", LINKS)
def test_every_link_ciphered(meters: Meters, link: str) -> None:
    def work(client: Client) -> dict[str, Any]:
        out: dict[str, Any] = {"serial": client.get(SERIAL)}
        out["profile"] = client.read_profile_entries(PROFILE, 1, 2)
        client.action(BREAKER, 1, axdr.Integer(0), class_id=70)  # remote_disconnect
        out["off"] = client.get_many([(BREAKER, 2, 70), (BREAKER, 3, 70)])
        client.action(BREAKER, 2, axdr.Integer(0), class_id=70)  # remote_reconnect
        out["on"] = client.get(BREAKER, 2, 70)
        out["list"] = client.read_object_list()
        return out

    out = session(meters, link, work, **GMAC)
    assert out["serial"] == "SN12345678"
    assert len(out["profile"]) == 2
    assert out["off"][0] is False and int(out["off"][1]) == 0
    assert out["on"] is True
    names = {entry.logical_name for entry in out["list"]}
    assert {Obis.parse(n) for n in (SERIAL, ENERGY, PROFILE, BREAKER, PUSH)} <= names


# ------------------------------------------------------------------------------------------------
# operations, on HDLC over TCP with the management association
# ------------------------------------------------------------------------------------------------
def test_register_quantity_and_get_many(meters: Meters) -> None:
    link = "hdlc-tcp"

    def work(client: Client) -> tuple[Any, ...]:
        before = meters.meter_time(link)
        energy = client.get(ENERGY)
        voltage = client.get(VOLTAGE)
        many = client.get_many([ENERGY, VOLTAGE, ("1.0.99.99.0.255", 2, 3), SERIAL])
        return before, energy, voltage, many, meters.meter_time(link)

    before, energy, voltage, many, after = session(meters, link, work, **GMAC)
    assert energy.scaler == -1 and energy.unit == Unit.WATT_HOUR
    assert energy_raw(before) - 1 <= energy.raw <= energy_raw(after) + 1
    assert voltage == Quantity(2301, -1, Unit.VOLT) and voltage.value == Decimal("230.1")
    assert isinstance(many[0], Quantity) and many[0].raw >= energy.raw
    assert many[1] == voltage
    assert isinstance(many[2], DataAccessError)  # no such object: refused, the others still come
    assert many[3] == "SN12345678"


def test_set_and_the_public_client_may_not(meters: Meters) -> None:
    link = "hdlc-tcp"
    session(meters, link, lambda client: client.set(EXPORT, axdr.DoubleLongUnsigned(123456)), **GMAC)

    def denied(client: Client) -> Any:
        with pytest.raises(DataAccessError) as refused:
            client.set(EXPORT, axdr.DoubleLongUnsigned(1))
        return refused.value, client.get(EXPORT)

    error, value = session(meters, link, denied, **PUBLIC)
    assert error.result.name in ("READ_WRITE_DENIED", "SCOPE_OF_ACCESS_VIOLATED")
    assert value == Quantity(123456, 0, Unit.WATT_HOUR)  # unchanged by the refused write


def test_clock_read_set_and_shift(meters: Meters) -> None:
    link = "hdlc-tcp"

    def work(client: Client) -> tuple[Any, ...]:
        start = meters.meter_time(link)
        target = start.replace(microsecond=0) + dt.timedelta(minutes=3)
        client.set_clock(target.replace(tzinfo=CET))
        after_set = client.read_clock()
        client.action(CLOCK, 6, axdr.Long(-60))  # shift_time: one minute back
        after_shift = client.read_clock()
        client.set_clock(meters.meter_time(link).replace(microsecond=0) - dt.timedelta(minutes=2))
        return target, after_set, after_shift

    target, after_set, after_shift = session(meters, link, work, **GMAC)
    assert isinstance(after_set, dt.datetime) and isinstance(after_shift, dt.datetime)
    assert dt.timedelta(0) <= after_set - target.replace(tzinfo=CET) < dt.timedelta(seconds=2)
    assert dt.timedelta(seconds=-61) <= after_shift - after_set < dt.timedelta(seconds=-58)


def test_read_object_list(meters: Meters) -> None:
    def work(client: Client) -> Any:
        return client.read_object_list()

    public = session(meters, "hdlc-tcp", work, **PUBLIC)
    seen = {entry.logical_name: int(entry.class_id) for entry in public}
    wanted = {Obis.parse(n) for n in (SERIAL, ENERGY, EXPORT, CLOCK, "0.0.43.1.0.255")}
    assert wanted <= set(seen)
    assert Obis.parse(PROFILE) not in seen  # not visible to the public client
    assert seen[Obis.parse(ENERGY)] == 3 and seen[Obis.parse(CLOCK)] == 8
    full = session(meters, "hdlc-tcp", work, **GMAC)
    classes = {entry.logical_name: int(entry.class_id) for entry in full}
    assert classes[Obis.parse(PROFILE)] == 7 and classes[Obis.parse(BREAKER)] == 70
    assert classes[Obis.parse(PUSH)] == 40 and classes[Obis.parse("0.0.40.0.0.255")] == 15


def _check_rows(profile: Any, indices: range) -> None:
    rows = profile.scaled_rows()
    assert [row[0] for row in rows] == [grid(i).replace(tzinfo=CET) for i in indices]
    assert [row[1] for row in rows] == [Quantity(energy_raw(grid(i)), -1, Unit.WATT_HOUR) for i in indices]
    assert all(row[2] == Quantity(2301, -1, Unit.VOLT) for row in rows)


def test_read_profile_by_range_and_by_entry(meters: Meters) -> None:
    link = "hdlc-tcp"
    start, end = ORIGIN - dt.timedelta(hours=3, minutes=10), ORIGIN - dt.timedelta(hours=2)

    def work(client: Client) -> tuple[Any, ...]:
        by_range = client.read_profile(PROFILE, start, end)
        before = grid_index(meters.meter_time(link))
        entries = client.read_profile_entries(PROFILE, 3, 5)
        after = grid_index(meters.meter_time(link))
        raw = client.read_profile(PROFILE, start, end, scale=False)
        return by_range, entries, before, after, raw

    by_range, entries, before, after, raw = session(meters, link, work, **GMAC)
    first = math.ceil((start - EPOCH).total_seconds() / PERIOD)
    _check_rows(by_range, range(first, grid_index(end) + 1))
    assert len(by_range) == 5  # 04:50 .. 06:00 -> 05:00, 05:15, 05:30, 05:45, 06:00
    assert [row[1] for row in raw.rows] == [energy_raw(grid(i)) for i in range(first, first + 5)]
    # entries count from the oldest row kept: the newest grid point minus depth (960) plus one
    candidates = {before, after}
    assert any(
        [row[0] for row in entries.rows] == [grid(last - 960 + 1 + k).replace(tzinfo=CET) for k in (2, 3, 4)]
        for last in candidates
    ), entries.rows
    oldest = grid_index(entries.rows[0][0].replace(tzinfo=None))
    _check_rows(entries, range(oldest, oldest + 3))


def test_invocation_counter_bootstrap(meters: Meters) -> None:
    link = "wrapper-tcp"
    session(meters, link, lambda client: client.get(SERIAL), **GMAC)  # the meter has seen counters
    seen = meters.emulator(link).meter.frame_counter(1, 1)
    assert seen > 0

    # a fresh client starting from the bottom replays old counters: the meter will not have it
    with pytest.raises(AssociationRefusedError):
        session(meters, link, lambda client: client.get(SERIAL), counted=False, **GMAC)

    def bootstrapped() -> tuple[int, Any, int]:
        client = meters.client(link, counted=False, **GMAC)
        value = client.bootstrap_invocation_counter()
        with client:
            serial = client.get(SERIAL)
        meters.done(link, client)
        return value, serial, client.counters.peek_send("guek")

    value, serial, next_ic = within(WATCHDOG, bootstrapped)
    assert value == seen and serial == "SN12345678" and next_ic > value + 1


def test_public_client_cannot_use_a_key_it_does_not_have(meters: Meters) -> None:
    with pytest.raises(AssociationRefusedError):
        session(meters, "wrapper-tcp", lambda client: client.get(SERIAL), client=1, auth="lls", password="x")


def test_async_client(meters: Meters) -> None:
    link = "wrapper-udp"
    meters.emulator(link)

    async def run() -> tuple[Any, ...]:
        client = meters.client(link, cls=AsyncClient, **GMAC)
        try:
            async with client:
                serial = await client.get(SERIAL)
                energy = await client.get(ENERGY)
                profile = await client.read_profile(PROFILE, ORIGIN - dt.timedelta(hours=1), ORIGIN)
                clock = await client.read_clock()
                await client.set(EXPORT, axdr.DoubleLongUnsigned(42))
                export = await client.get(EXPORT)
        finally:
            meters.done(link, client)
        return serial, energy, profile, clock, export

    serial, energy, profile, clock, export = within(WATCHDOG, lambda: asyncio.run(run()))
    assert serial == "SN12345678" and energy.unit == Unit.WATT_HOUR
    first = grid_index(ORIGIN - dt.timedelta(hours=1))
    _check_rows(profile, range(first, first + 5))
    assert isinstance(clock, dt.datetime) and export == Quantity(42, 0, Unit.WATT_HOUR)


def test_urls_name_the_mode_e_sign_on() -> None:
    client = Client.from_url("mode-e:///dev/ttyX?parity=sw7e1&physical=17")
    assert client._opener.software_parity and client._opener.kind == "mode-e"
    assert not Client.from_url("mode-e:///dev/ttyX")._opener.software_parity
    with pytest.raises(LocalProtocolError):
        Client.from_url("serial:///dev/ttyX?parity=sw7e1")  # 8N1 HDLC has no 7E1 sign-on
    with pytest.raises(LocalProtocolError):
        Client.serial("/dev/ttyX", software_parity=True)


# ------------------------------------------------------------------------------------------------
# a push from the emulator, received by meterlink.dlms.listener over UDP
# ------------------------------------------------------------------------------------------------
def test_push_reaches_the_listener_over_udp() -> None:
    with listener.Listening(
        "udp://127.0.0.1:0", listener.PushListener(key=bytes.fromhex(EK), auth_key=bytes.fromhex(AK))
    ) as endpoint:
        assert endpoint.address is not None
        port = endpoint.address[1]
        text = TOML.replace("# destination: set by the push test", f'destination = "udp://127.0.0.1:{port}"')
        with DlmsEmulatorThread(describe(text), transport="hdlc") as emulator:
            meters = Meters()
            meters.running["hdlc-tcp"] = emulator

            def push_now(client: Client) -> Any:
                return client.action(PUSH, 1, axdr.Integer(0))

            assert session(meters, "hdlc-tcp", push_now, **GMAC) is None
            pushes = within(WATCHDOG, lambda: list(endpoint.pushes(count=1, timeout=5.0)))
            now = emulator.meter.wall_time(time.monotonic())
    (push,) = pushes
    assert push.ciphered and push.system_title == bytes.fromhex("4D4C4B0000BC614E")
    assert isinstance(push.date_time, dt.datetime)
    assert abs(push.date_time.replace(tzinfo=None) - now) < dt.timedelta(seconds=3)
    # an IDIS push carries the values only (no scaler_unit): raw numbers, no unit
    energy = push.reading(ENERGY)
    assert energy is not None and energy.unit is None
    assert abs(energy.value - energy_raw(now)) <= 3
    voltage = push.reading(VOLTAGE)
    assert voltage is not None and voltage.value == 2301
    clock = push.reading(CLOCK)
    assert clock is not None and isinstance(clock.value, dt.datetime | CosemDateTime)
