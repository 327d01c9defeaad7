"""``meterlink listen``: pushes sent over a real UDP socket, printed as blocks or JSON lines."""

from __future__ import annotations

import json
import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dlms"
RAW = tomllib.loads((FIXTURES / "u9n_test_udp_message_glo_push.toml").read_text(encoding="utf-8"))
DATA = bytes.fromhex("".join(RAW["hex"].split()))
FIRST = DATA[: 8 + int.from_bytes(DATA[6:8], "big")]
AIDON = bytes.fromhex(
    "".join(
        tomllib.loads((FIXTURES / "amshan_test_aidon_list3.toml").read_text(encoding="utf-8"))["hex"].split()
    )
)
"""LLC header + DataNotification: sent as a bare-APDU datagram."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def sending(port: int, datagrams: list[bytes]) -> Iterator[None]:
    """Send the datagrams every 0.1 s until the test is done (the listener may bind late)."""
    stop = threading.Event()

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            while not stop.is_set():
                for datagram in datagrams:
                    sender.sendto(datagram, ("127.0.0.1", port))
                time.sleep(0.1)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2)


def test_listen_prints_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    with sending(port, [b"junk", FIRST]):
        result = run_cli(
            capsys,
            "listen",
            f"udp://127.0.0.1:{port}",
            "--key",
            RAW["key"],
            "--auth-key",
            RAW["auth_key"],
            "--json",
            "--count",
            "1",
            "--timeout",
            "10",
        )
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["ciphered"] is True
    assert document["system_title"] == RAW["expect"]["system_title"]
    assert document["invocation_counter"] == RAW["expect"]["invocation_counters"][0]
    assert document["apdu"] == RAW["expect"]["first_plain"]


def test_listen_prints_blocks_and_warns_about_bad_pushes(capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    with sending(port, [FIRST, AIDON]):  # no key: the ciphered one is dropped with a warning
        result = run_cli(capsys, "listen", f"udp://127.0.0.1:{port}", "--count", "1", "--timeout", "10")
    assert result.code == 0, result.err
    assert result.out.startswith("push from udp:127.0.0.1:")
    assert "1.0.1.7.0.255          280 W" in result.out
    assert "0.0.96.1.0.255         7359992892587665" in result.out
    assert "meterlink listen: push from udp:127.0.0.1:" in result.err and "no key" in result.err


def test_timeout_without_pushes_ends_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    result = run_cli(capsys, "listen", f"udp://127.0.0.1:{_free_port()}", "--timeout", "0.3")
    assert result.code == 0 and result.out == ""
    assert time.monotonic() - started < 3


def test_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "listen", "ftp://x")
    assert result.code == 1 and "LocalProtocolError" in result.err
