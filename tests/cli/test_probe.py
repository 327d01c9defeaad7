"""``meterlink probe``: sign on, show what the meter is, break off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meterlink.emulator import MeterModel

from .conftest import ORIGIN, emh, mode_e, needs_pty, run_cli, serving


def test_probe_prints_the_diagnostics(capsys: pytest.CaptureFixture[str], emh_tcp: str) -> None:
    result = run_cli(capsys, "probe", emh_tcp)
    assert result.code == 0, result.err
    assert result.err == ""
    fields = dict(line.split(None, 1) for line in result.out.replace("  ", "\t").splitlines() if "\t" in line)
    assert result.out.splitlines()[0] == "identification  /EMH5\\@D4LZQJ-XC"
    assert "manufacturer    EMH (EMH metering)" in result.out
    assert "mode            C" in result.out
    assert "proposed baud   9600 Bd" in result.out
    assert "reaction time   200 ms" in result.out
    assert "mode E          no" in result.out
    assert "answered after" in result.out
    assert fields


def test_probe_json_for_a_mode_e_meter(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(MeterModel(mode_e(), origin=ORIGIN)) as url:
        result = run_cli(capsys, "probe", url, "--json")
        text = run_cli(capsys, "probe", url)
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["identification"] == "LGZ5\\2ZMD3104400.B32"
    assert (document["manufacturer"], document["manufacturer_name"]) == ("LGZ", "Landis+Gyr")
    assert (document["mode"], document["baud_rate"], document["mode_e"]) == ("E", 9600, True)
    assert document["reaction_time_ms"] == 200
    assert document["enhanced"] == ["2"]
    assert document["type"] == "ZMD3104400.B32"
    assert isinstance(document["answered_after_ms"], int)
    assert "mode E          yes - DLMS/HDLC via mode E" in text.out
    assert "\\2: DLMS/HDLC via mode E" in text.out


@needs_pty
def test_probe_on_a_pty_with_a_dump(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dump = tmp_path / "probe.txt"
    with serving(emh(), "pty", check_line=True) as url:
        result = run_cli(capsys, "probe", url, "--dump", str(dump), "--address", "12345678")
    assert result.code == 0, result.err
    assert "proposed baud   9600 Bd" in result.out
    text = dump.read_text(encoding="utf-8")
    assert "# request /?12345678!: sign-on, address 12345678" in text
    assert "# identification /EMH5\\@D4LZQJ-XC, mode C, proposes 9600 Bd" in text


def test_probe_of_nothing_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "probe", "tcp://127.0.0.1:1", "--json")
    assert (result.code, result.out) == (1, "")
    assert result.err.count("\n") == 1
    assert result.err.startswith("meterlink: LinkError: cannot connect to 127.0.0.1:1")
