"""Pushes on an open client: the emulator pushes over the client's own connection (destination
``session``), the client collects them (``client.pushes``) or waits for them (``wait_push``,
``iter_pushes``), blocking and async, over HDLC and the wrapper, plain and ciphered."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from meterlink.dlms import AsyncClient, Client, axdr
from meterlink.dlms._driver import Engine, LinkOptions, run_sync
from meterlink.dlms.association import Settings
from meterlink.dlms.events import PushReceived
from meterlink.emulator.dlms import DlmsEmulatorThread
from meterlink.errors import LocalProtocolError

from ...emulator.dlms.helpers import AK, EK, describe

PUSH = "0.0.25.9.0.255"
ENERGY = "1.0.1.8.0.255"
GMAC: dict[str, Any] = {"client": 1, "auth": "hls-gmac", "key": EK, "auth_key": AK}


def _address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("tcp://").rpartition(":")
    return host, int(port)


def _energy(push: object) -> int:
    assert isinstance(push, PushReceived), push
    body = axdr.decode(push.notification.body)
    assert isinstance(body, tuple) and len(body) == 3
    value = body[2]
    assert isinstance(value, int)
    return int(value)


def test_wait_push_over_hdlc_between_requests() -> None:
    with DlmsEmulatorThread(describe('destination = "session"\ninterval = 0.2'), transport="hdlc") as emu:
        host, port = _address(emu.url)
        with Client.tcp(host, port, transport="hdlc", physical=17, timeout=3.0) as client:
            first = client.wait_push(3.0)
            assert isinstance(first, PushReceived) and first.ciphered is None
            assert _energy(first) >= 1_000_000
            assert client.get(ENERGY).value >= 1_000_000  # requests still work between pushes
            second = client.wait_push(3.0)
            assert _energy(second) >= _energy(first)


def test_pushes_during_requests_are_collected() -> None:
    with DlmsEmulatorThread(describe('destination = "session"\ninterval = 0.1')) as emu:
        host, port = _address(emu.url)
        with Client.tcp(host, port, timeout=3.0) as client:
            end = time.monotonic() + 0.6
            while time.monotonic() < end:
                client.get(ENERGY)
                time.sleep(0.02)
            client.get(ENERGY)
            collected = client.pushes
            assert collected and all(isinstance(p, PushReceived) for p in collected)
            assert client.pushes == []  # taken out of the queue
            assert client.wait_push(3.0) is not None


def test_the_push_method_pushes_ciphered_to_the_invoking_client() -> None:
    with DlmsEmulatorThread(describe('destination = "session"\nassociation = 1')) as emu:
        host, port = _address(emu.url)
        with Client.tcp(host, port, timeout=3.0, **GMAC) as client:
            assert client.wait_push(0.3) is None  # no interval: nothing comes by itself
            client.action(PUSH, 1, axdr.Integer(0), class_id=40)
            push = client.wait_push(3.0)
            assert isinstance(push, PushReceived) and push.ciphered is not None
            assert _energy(push) >= 1_000_000
        with Client.tcp(host, port, timeout=3.0) as public:
            assert public.wait_push(0.3) is None  # a push for client 1 does not reach client 16


def test_wait_push_checks_its_arguments_and_state() -> None:
    engine = Engine(Settings(), LinkOptions())
    with pytest.raises(LocalProtocolError, match="timeout"):
        run_sync(engine.wait_push(-1.0), lambda op: b"")
    with pytest.raises(LocalProtocolError, match="not connected"):
        run_sync(engine.wait_push(1.0), lambda op: b"")


def test_async_iter_pushes() -> None:
    async def main() -> list[int]:
        meter = describe('destination = "session"\ninterval = 0.15')
        with DlmsEmulatorThread(meter, transport="hdlc") as emu:
            host, port = _address(emu.url)
            async with AsyncClient.tcp(host, port, transport="hdlc", physical=17, timeout=3.0) as client:
                values = [_energy(p) async for p in client.iter_pushes(count=2, timeout=5.0)]
                assert await client.wait_push(3.0) is not None
                async for _ in client.iter_pushes(timeout=0.0):
                    raise AssertionError("a zero timeout yields nothing")
                return values

    values = asyncio.run(main())
    assert len(values) == 2 and values[0] <= values[1]


def test_blocking_iter_pushes_stops_at_its_timeout() -> None:
    with DlmsEmulatorThread(describe('destination = "session"\ninterval = 0.1')) as emu:
        host, port = _address(emu.url)
        with Client.tcp(host, port, timeout=3.0) as client:
            start = time.monotonic()
            pushes = list(client.iter_pushes(timeout=0.5))
            assert 0.45 <= time.monotonic() - start < 2.0
            assert 2 <= len(pushes) <= 8
