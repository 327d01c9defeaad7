"""The PyPI ``dlms-cosem`` 25.1 client (u9n/pwitab, the seed) reads our DLMS emulator.

An independent client associating (no authentication, LLS, HLS-GMAC with authenticated and
encrypted APDUs), reading a register, its scaler_unit and the clock over the wrapper and over
HDLC on TCP, and decoding them with its own parsers, shows that the emulator speaks DLMS the way
other clients expect, not only the way meterlink's client does. The meter is
``tests/integration/dlms_meter.toml``.

The seed's known gaps are met on the test's side, each where it is used:

* it only knows the general-glo-ciphering envelope (0xDB) for xDLMS APDUs, not the
  service-specific glo- tags (u9n/dlms-cosem#89): its HLS-GMAC association (client 48) is
  configured with ``general_ciphering = true``, as meters that use the general envelope are;
* it requires the meter's first invocation counter to be above its starting value 0
  (``update_meter_invocation_counter`` compares with ``<=``), while a meter may legally start at
  0: ``meter_initial_invocation_counter=-1``;
* it starts its own invocation counter at 0 in every session, and the meter refuses replays: the
  counter is read first through the public client (0.0.43.1.1.255), as the seed's README does.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import pytest
from dlms_cosem import cosem, enumerations, utils
from dlms_cosem.client import DlmsClient
from dlms_cosem.exceptions import DlmsClientException
from dlms_cosem.io import BlockingTcpIO, HdlcTransport, TcpTransport
from dlms_cosem.security import (
    HighLevelSecurityGmacAuthentication,
    LowLevelSecurityAuthentication,
    NoSecurityAuthentication,
)
from dlms_cosem.time import datetime_from_bytes

from meterlink.dlms import axdr
from meterlink.dlms.cosem_time import CosemDateTime
from meterlink.emulator.dlms import DlmsEmulatorThread, parse_dlms_description

T = TypeVar("T")

TOML: Final = Path(__file__).resolve().parents[1] / "integration" / "dlms_meter.toml"
EK: Final = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK: Final = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
ORIGIN: Final = dt.datetime(2024, 3, 1, 8, 0, 0)
CET: Final = dt.timezone(dt.timedelta(hours=1))
TIMEOUT: Final = 3
WATCHDOG: Final = 15.0

INTERFACE = enumerations.CosemInterface
ENERGY: Final = cosem.CosemAttribute(INTERFACE.REGISTER, cosem.Obis(1, 0, 1, 8, 0, 255), 2)
ENERGY_SCALER: Final = cosem.CosemAttribute(INTERFACE.REGISTER, cosem.Obis(1, 0, 1, 8, 0, 255), 3)
CLOCK: Final = cosem.CosemAttribute(INTERFACE.CLOCK, cosem.Obis(0, 0, 1, 0, 0, 255), 2)
SERIAL: Final = cosem.CosemAttribute(INTERFACE.DATA, cosem.Obis(0, 0, 96, 1, 0, 255), 2)
GMAC_COUNTER: Final = cosem.CosemAttribute(INTERFACE.DATA, cosem.Obis(0, 0, 43, 1, 1, 255), 2)


def within(seconds: float, call: Callable[[], T]) -> T:
    """Watchdog: run ``call`` in a thread; still running after ``seconds`` fails the test."""
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="dlms-cosem under watchdog", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the dlms-cosem client hung: still running after {seconds} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    result: T = value
    return result


@pytest.fixture(scope="module", params=["wrapper", "hdlc"])
def meter(request: pytest.FixtureRequest) -> Iterator[tuple[str, DlmsEmulatorThread]]:
    """The meter on TCP, with the wrapper or HDLC: started once per transport."""
    description = parse_dlms_description(TOML.read_text(encoding="utf-8"), source=str(TOML))
    with DlmsEmulatorThread(description, "tcp://127.0.0.1:0", transport=request.param) as emulator:
        yield request.param, emulator


def seed_client(
    transport: str, emulator: DlmsEmulatorThread, client: int, auth: Any, **kw: Any
) -> DlmsClient:
    host, _, port = emulator.url.removeprefix("tcp://").rpartition(":")
    io = BlockingTcpIO(host=host, port=int(port), timeout=TIMEOUT)
    link: TcpTransport | HdlcTransport
    if transport == "wrapper":
        link = TcpTransport(io=io, server_logical_address=1, client_logical_address=client, timeout=TIMEOUT)
    else:
        link = HdlcTransport(
            io=io,
            server_logical_address=1,
            server_physical_address=17,
            client_logical_address=client,
            timeout=TIMEOUT,
        )
    return DlmsClient(transport=link, authentication=auth, timeout=TIMEOUT, **kw)


def read(client: DlmsClient, *attributes: cosem.CosemAttribute) -> list[bytes]:
    """One session: the raw A-XDR of each attribute, as the seed's ``get`` returns it."""
    with client.session() as session:
        return [bytes(session.get(attribute)) for attribute in attributes]


def ciphered_client(transport: str, emulator: DlmsEmulatorThread) -> DlmsClient:
    # the seed restarts its counter at 0: read where the meter is through the public client first
    (raw,) = read(seed_client(transport, emulator, 16, NoSecurityAuthentication()), GMAC_COUNTER)
    counter = utils.parse_as_dlms_data(raw)
    assert isinstance(counter, int)
    return seed_client(
        transport,
        emulator,
        48,
        HighLevelSecurityGmacAuthentication(challenge_length=32),
        encryption_key=EK,
        authentication_key=AK,
        client_system_title=b"SEEDCLI1",
        client_initial_invocation_counter=counter + 1,
        meter_initial_invocation_counter=-1,  # the seed refuses a meter starting at 0
    )


CLIENTS: Final[dict[str, Callable[[str, DlmsEmulatorThread], DlmsClient]]] = {
    "none": lambda transport, emulator: seed_client(transport, emulator, 16, NoSecurityAuthentication()),
    "lls": lambda transport, emulator: seed_client(
        transport, emulator, 32, LowLevelSecurityAuthentication(secret=b"12345678")
    ),
    "hls-gmac": ciphered_client,
}


@pytest.mark.parametrize("mechanism", list(CLIENTS))
def test_seed_reads_register_and_clock(meter: tuple[str, DlmsEmulatorThread], mechanism: str) -> None:
    transport, emulator = meter

    def run() -> tuple[list[bytes], dt.datetime, dt.datetime]:
        before = emulator.meter.wall_time(time.monotonic())
        raws = read(CLIENTS[mechanism](transport, emulator), SERIAL, ENERGY, ENERGY_SCALER, CLOCK)
        return raws, before, emulator.meter.wall_time(time.monotonic())

    raws, before, after = within(WATCHDOG, run)
    serial, energy, scaler_unit, clock = raws
    # the seed's own parser ...
    assert utils.parse_as_dlms_data(serial) == "SN12345678"
    value = utils.parse_as_dlms_data(energy)
    low = 1_000_000 + round((before - ORIGIN).total_seconds())  # +3600 per hour from ORIGIN
    high = 1_000_000 + round((after - ORIGIN).total_seconds())
    assert low - 1 <= value <= high + 1
    assert utils.parse_as_dlms_data(scaler_unit) == [-1, 30]  # 10^-1 Wh
    when, status = datetime_from_bytes(utils.parse_as_dlms_data(clock))
    assert when.utcoffset() == dt.timedelta(hours=1)  # deviation -60: the seed negates it, correctly
    assert before.replace(tzinfo=CET) - dt.timedelta(seconds=1) <= when <= after.replace(tzinfo=CET)
    assert status is not None and not status.invalid
    # ... agrees with ours on the same bytes
    assert axdr.decode(energy) == value
    ours = CosemDateTime.from_bytes(axdr.decode(clock))  # type: ignore[arg-type]
    assert ours.to_datetime() == when


def test_seed_with_a_wrong_lls_password_is_refused(meter: tuple[str, DlmsEmulatorThread]) -> None:
    transport, emulator = meter
    client = seed_client(transport, emulator, 32, LowLevelSecurityAuthentication(secret=b"wrong"))

    def run() -> None:
        with pytest.raises(DlmsClientException, match=r"REJECTED_PERMANENT.*AUTHENTICATION_FAILED"):
            read(client, SERIAL)
        client.transport.disconnect()

    within(WATCHDOG, run)
