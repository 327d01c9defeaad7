"""Link URLs: every documented form, round trips, and clear errors for the rest."""

from __future__ import annotations

import pytest

from meterlink.errors import LocalProtocolError
from meterlink.transport import SerialSpec, TcpSpec, parse_url


@pytest.mark.parametrize(
    ("url", "spec"),
    [
        ("/dev/ttyUSB0", SerialSpec("/dev/ttyUSB0")),
        ("COM3", SerialSpec("COM3")),
        ("/dev/ttyUSB0?baud=9600&parity=N", SerialSpec("/dev/ttyUSB0", 9600, 8)),
        ("serial:///dev/ttyUSB0?baud=300&parity=E", SerialSpec("/dev/ttyUSB0", 300, 7)),
        ("serial:///dev/ttyAMA0?baud=115200&parity=n", SerialSpec("/dev/ttyAMA0", 115200, 8)),
        ("serial://COM4?parity=sw7e1", SerialSpec("COM4", 300, 7, software_parity=True)),
        ("tcp://10.0.0.5:4001", TcpSpec("10.0.0.5", 4001)),
        ("tcp://meter.local:4001?parity=sw7e1", TcpSpec("meter.local", 4001, software_parity=True)),
        ("TCP://[::1]:8000?timeout=2.5", TcpSpec("::1", 8000, connect_timeout=2.5)),
        ("rfc2217://10.0.0.5:4001", SerialSpec("rfc2217://10.0.0.5:4001")),
        ("rfc2217://10.0.0.5:4001?baud=9600", SerialSpec("rfc2217://10.0.0.5:4001", 9600)),
        (
            "rfc2217://10.0.0.5:4001?ign_set_control&parity=E",
            SerialSpec("rfc2217://10.0.0.5:4001?ign_set_control="),
        ),
        ("socket://127.0.0.1:7000", SerialSpec("socket://127.0.0.1:7000")),
        (
            "socket://127.0.0.1:7000?parity=sw7e1",
            SerialSpec("socket://127.0.0.1:7000", software_parity=True),
        ),
        ("loop://", SerialSpec("loop://")),
    ],
)
def test_parse_url(url: str, spec: SerialSpec | TcpSpec) -> None:
    parsed = parse_url(url)
    assert parsed == spec
    assert parse_url(parsed.url) == parsed


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("serial://", "no serial port"),
        ("serial:///dev/ttyUSB0?baud=fast", "not a number"),
        ("serial:///dev/ttyUSB0?baud=0", "positive"),
        ("serial:///dev/ttyUSB0?baud=-300", "positive"),
        ("serial:///dev/ttyUSB0?parity=O", "parity"),
        ("serial:///dev/ttyUSB0?speed=9600", "unknown key"),
        ("/dev/ttyUSB0?baud", "not a number"),
        ("tcp://10.0.0.5", "host:port"),
        ("tcp://:4001", "host:port"),
        ("tcp://10.0.0.5:port", "1 to 65535"),
        ("tcp://10.0.0.5:70000", "1 to 65535"),
        ("tcp://10.0.0.5:0", "host:port"),
        ("tcp://10.0.0.5:4001?parity=N", "parity"),
        ("tcp://10.0.0.5:4001?baud=9600", "unknown key"),
        ("tcp://10.0.0.5:4001?timeout=0", "positive"),
        ("rfc2217://10.0.0.5", "host:port"),
        ("socket://:7000", "host:port"),
        ("udp://10.0.0.5:4001", "unknown scheme"),
        ("http://example.com:80", "unknown scheme"),
    ],
)
def test_bad_urls_are_local_errors(url: str, why: str) -> None:
    with pytest.raises(LocalProtocolError, match=why):
        parse_url(url)


def test_specs_validate_themselves() -> None:
    with pytest.raises(LocalProtocolError):
        SerialSpec("")
    with pytest.raises(LocalProtocolError):
        SerialSpec("/dev/ttyUSB0", data_bits=6)
    with pytest.raises(LocalProtocolError):
        SerialSpec("/dev/ttyUSB0", data_bits=8, software_parity=True)
    with pytest.raises(LocalProtocolError):
        TcpSpec("host", 0)
    with pytest.raises(LocalProtocolError):
        TcpSpec("", 4001)


def test_url_of_a_bare_path_reads_back() -> None:
    assert SerialSpec("/dev/ttyUSB0", 9600, 8).url == "serial:///dev/ttyUSB0?baud=9600&parity=N"
    assert TcpSpec("::1", 8000, software_parity=True).url == "tcp://[::1]:8000?parity=sw7e1"
