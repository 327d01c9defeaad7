"""The real user path: the installed ``meterlink`` script reads a ``meterlink emulate`` meter."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("meterlink")
METERLINK = str(SCRIPT) if SCRIPT.exists() else shutil.which("meterlink")
pytestmark = pytest.mark.skipif(METERLINK is None, reason="the meterlink console script is not installed")


@contextmanager
def emulator() -> Iterator[str]:
    assert METERLINK is not None
    process = subprocess.Popen(
        [METERLINK, "emulate", "iec62056-21", "--listen", "tcp://127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().decode().strip()  # the URL comes first, flushed
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()


def meterlink(*argv: str) -> subprocess.CompletedProcess[str]:
    assert METERLINK is not None
    return subprocess.run([METERLINK, *argv], capture_output=True, text=True, timeout=15, check=False)


def test_read_and_probe_an_emulated_meter_through_the_console_script(tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    with emulator() as url:
        assert url.startswith("tcp://127.0.0.1:")
        result = meterlink("read", url, "--json", "--dump", str(dump))
        probe = meterlink("probe", url)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # piped: no progress line, no noise
    document = json.loads(result.stdout)
    assert (document["identification"], document["mode"]) == ("EMH5\\@D4LZQJ-XC", "C")
    assert any(d["address"] == "1.8.0" for d in document["readout"]["data_sets"])
    assert "# identification /EMH5\\@D4LZQJ-XC, mode C, proposes 9600 Bd" in dump.read_text(encoding="utf-8")
    assert probe.returncode == 0, probe.stderr
    assert "proposed baud   9600 Bd" in probe.stdout

    gone = meterlink("read", url, "--timeout", "1")  # the emulator has stopped
    assert gone.returncode == 1
    assert gone.stdout == ""
    assert gone.stderr.startswith("meterlink: LinkError: cannot connect to 127.0.0.1:")
    assert gone.stderr.count("\n") == 1 and "Traceback" not in gone.stderr
