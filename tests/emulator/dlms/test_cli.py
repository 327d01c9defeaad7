"""``meterlink emulate dlms``: prints where to connect, serves HDLC/wrapper, stops on SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from meterlink.cli import emulate
from meterlink.dlms.events import Associated
from meterlink.errors import LocalProtocolError

from ..helpers import EXAMPLES, ROOT
from .helpers import ENERGY, SERIAL, Driver, Pipe, hdlc_framing, public, wrapper_framing


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "meterlink.cli.emulate", "dlms", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline().decode().strip()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serves_the_example_over_hdlc_tcp_until_sigterm() -> None:
    meter = str(EXAMPLES / "dlms-meter.toml")
    with running("--listen", "tcp://127.0.0.1:0", "--transport", "hdlc", "--meter", meter) as (
        process,
        url,
    ):
        assert url.startswith("tcp://127.0.0.1:")
        driver = Driver(Pipe.tcp(url), hdlc_framing(16), public())
        driver.open()
        assert isinstance(driver.associate(), Associated)
        assert driver.value(SERIAL) == "12345678"
        driver.pipe.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
        assert process.stderr is not None
        assert b"emulating meterlink DLMS example" in process.stderr.read()


def test_serves_the_builtin_meter_over_udp() -> None:
    with running("--listen", "udp://127.0.0.1:0") as (process, url):
        assert url.startswith("udp://127.0.0.1:")
        driver = Driver(Pipe.udp(url), wrapper_framing(16, datagrams=True), public())
        driver.open()
        assert isinstance(driver.associate(), Associated)
        assert driver.value(ENERGY) >= 1234567
        driver.pipe.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0


def test_json_prints_the_address_as_one_object_line_for_scripts() -> None:
    meter = str(EXAMPLES / "dlms-meter.toml")
    with running("--listen", "tcp://127.0.0.1:0", "--transport", "hdlc", "--meter", meter, "--json") as (
        process,
        line,
    ):
        info = json.loads(line)
        assert set(info) == {"url", "transport", "mode_e", "physical_address", "logical_devices", "clients"}
        assert info["url"].startswith("tcp://127.0.0.1:") and info["transport"] == "hdlc"
        assert info["mode_e"] is False and info["clients"] == sorted(info["clients"])
        (device,) = info["logical_devices"]
        assert device["address"] == 1 and 16 in device["clients"] and set(device["clients"]) == set(
            info["clients"]
        )
        driver = Driver(Pipe.tcp(info["url"]), hdlc_framing(16, physical=info["physical_address"]), public())
        driver.open()
        assert isinstance(driver.associate(), Associated)
        driver.pipe.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0


def test_json_over_udp_names_the_wrapper() -> None:
    with running("--listen", "udp://127.0.0.1:0", "--json") as (process, line):
        info = json.loads(line)
        assert info["url"].startswith("udp://127.0.0.1:") and info["transport"] == "wrapper"
        assert info["clients"] == [1, 16]  # the built-in meter: public and LLS management
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0


def test_options_that_do_not_fit() -> None:
    assert emulate.main(["dlms", "--listen", "tcp://127.0.0.1:0", "--mode-e"]) == 1
    assert emulate.main(["iec62056-21", "--transport", "hdlc"]) == 1
    assert emulate.main(["iec62056-21", "--json"]) == 1
    with pytest.raises(LocalProtocolError):
        emulate.run(emulate_args("dlms", "--listen", "udp://127.0.0.1:0", "--transport", "hdlc"))


def emulate_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    emulate.configure(parser)
    return parser.parse_args(argv)
