"""``meterlink emulate``: prints where to connect at once, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from meterlink.cli import emulate

from .helpers import EXAMPLES, ROOT, line_end, open_pty, read_until, tcp_client


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "meterlink.cli.emulate", "iec62056-21", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()  # flushed before serving
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serves_the_builtin_meter_on_tcp_until_sigterm() -> None:
    with running("--listen", "tcp://127.0.0.1:0") as (process, url):
        assert url.startswith("tcp://127.0.0.1:")
        with tcp_client(url) as sock:
            sock.sendall(b"/?!\r\n")
            assert read_until(sock, line_end) == b"/EMH5\\@D4LZQJ-XC\r\n"
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
        assert process.stderr is not None
        assert b"emulating EMH LZQJ-XC" in process.stderr.read()


@pytest.mark.skipif(not Path("/dev/ptmx").exists(), reason="no pseudo-terminals here")
def test_serves_a_described_meter_on_a_pty() -> None:
    meter = str(EXAMPLES / "elster-ek280.toml")
    with running("--listen", "pty", "--meter", meter, "--check-line") as (process, path):
        assert path.startswith("/dev/")
        fd = open_pty(path)
        try:
            os.write(fd, b"/?!\r\n")
            assert read_until(fd, line_end) == b"/Els6\\2EK280\r\n"
        finally:
            os.close(fd)
        process.send_signal(signal.SIGINT)
        assert process.wait(5) == 0


def test_bad_meter_file_is_reported() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "meterlink.cli.emulate", "iec62056-21", "--meter", "/nonexistent.toml"],
        capture_output=True,
        cwd=ROOT,
        timeout=20,
        check=False,
    )
    assert result.returncode == 1
    assert b"LocalProtocolError: cannot read meter description" in result.stderr
    assert result.stdout == b""


def test_configure_follows_the_command_pattern() -> None:
    assert emulate.NAME == "emulate"
    assert emulate.HELP
    parser = argparse.ArgumentParser()
    emulate.configure(parser)
    args = parser.parse_args(["iec62056-21", "--listen", "pty", "--simulate-baud"])
    assert (args.protocol, args.listen, args.meter, args.simulate_baud, args.check_line) == (
        "iec62056-21",
        "pty",
        None,
        True,
        False,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["mbus"])
