"""``meterlink read`` against emulated meters on TCP and on a pseudo-terminal."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import pytest

from meterlink.cli.read import Report, report_csv, report_document, report_text
from meterlink.emulator import Faults, MeterModel
from meterlink.iec62056_21.profile import parse_load_profile

from .conftest import ORIGIN, emh, mode_a, needs_pty, push, run_cli, serving

ROW = re.compile(r"^ +\d+\.\d ms  (tx|rx)  (?:[0-9a-f]{2} ){0,15}[0-9a-f]{2} +\S")


@pytest.mark.parametrize(
    ("listen", "mode"),
    [
        ("tcp://127.0.0.1:0", "A"),
        ("tcp://127.0.0.1:0", "C"),
        pytest.param("pty", "A", marks=needs_pty),
        pytest.param("pty", "C", marks=needs_pty),
    ],
)
def test_readout_as_a_table(capsys: pytest.CaptureFixture[str], listen: str, mode: str) -> None:
    meter = MeterModel(mode_a(), origin=ORIGIN) if mode == "A" else emh()
    # check_line: on the pty a client that misses the switch to 9600 Bd reads noise
    with serving(meter, listen, check_line=listen == "pty") as url:
        result = run_cli(capsys, "read", url)
    assert result.code == 0, result.err
    assert result.err == ""
    if mode == "A":
        assert "identification  /KAM MC601  (mode A, 300 Bd)" in result.out
        assert re.search(r"^6\.8 +6\.8 +0012\.345 +GJ$", result.out, re.MULTILINE)
    else:
        assert "identification  /EMH5\\@D4LZQJ-XC  (mode C, 9600 Bd)" in result.out
        assert "data sets       11, BCC valid" in result.out
        assert re.search(r"^1\.8\.0 +1\.8\.0 +001234\.567 +kWh$", result.out, re.MULTILINE)


def test_readout_as_json(capsys: pytest.CaptureFixture[str], emh_tcp: str) -> None:
    result = run_cli(capsys, "read", emh_tcp, "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["identification"] == "EMH5\\@D4LZQJ-XC"
    assert (document["mode"], document["baud_rate"]) == ("C", 9600)
    assert document["readout"]["bcc_valid"] is True
    energy = next(d for d in document["readout"]["data_sets"] if d["address"] == "1.8.0")
    assert energy["values"] == [{"value": "001234.567", "unit": "kWh"}]
    assert "registers" not in document


def test_readout_as_csv(capsys: pytest.CaptureFixture[str], emh_tcp: str) -> None:
    result = run_cli(capsys, "read", emh_tcp, "--csv", "--request", "2")  # VDEW list 2
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[0] == ["address", "obis", "group", "value", "unit"]
    assert [row[0] for row in rows[1:]] == ["0.0.0", "1.8.0", "2.8.0"]
    assert rows[2][3:] == ["001234.567", "kWh"]


def test_dump_is_an_annotated_transcript(
    capsys: pytest.CaptureFixture[str], emh_tcp: str, tmp_path: Path
) -> None:
    dump = tmp_path / "session.txt"
    result = run_cli(capsys, "read", emh_tcp, "--dump", str(dump))
    assert result.code == 0, result.err
    text = dump.read_text(encoding="utf-8")
    lines = text.splitlines()
    rows = [line for line in lines if not line.startswith("#")]
    assert rows and all(ROW.match(line) for line in rows), rows
    assert {ROW.match(line).group(1) for line in rows} == {"tx", "rx"}  # type: ignore[union-attr]
    times = [float(line.split()[0]) for line in rows]
    assert times == sorted(times) and times[-1] > 0
    assert "2f 3f 21 0d 0a" in text and "/?!<CR><LF>" in text
    assert "<ACK>050<CR><LF>" in text
    assert "<STX>F.F(00000000)<CR><LF>" in text
    assert re.search(r"!<CR><LF><ETX>.$", text, re.MULTILINE)  # the BCC, shown as it is
    notes = [line for line in lines if line.startswith("# ")]
    assert "# request /?!: sign-on, any meter (general address)" in notes
    assert "# identification /EMH5\\@D4LZQJ-XC, mode C, proposes 9600 Bd" in notes
    assert "# option select 0 5 0: data readout at 9600 Bd" in notes
    assert "# switch to 9600 Bd 7E1" in notes
    assert any(re.fullmatch(r"# data readout: \d+ bytes, 12 lines at 9600 Bd, BCC ok", n) for n in notes)
    assert notes[-1] == "# done"


@needs_pty
def test_dump_on_a_pty_follows_the_real_switch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dump = tmp_path / "pty.txt"
    with serving(emh(), "pty", check_line=True) as url:
        result = run_cli(capsys, "read", url, "--dump", str(dump), "--max-baud", "4800")
    assert result.code == 0, result.err
    assert "(mode C, 4800 Bd)" in result.out
    notes = [line for line in dump.read_text(encoding="utf-8").splitlines() if line.startswith("# ")]
    assert "# option select 0 4 0: data readout at 4800 Bd" in notes
    assert "# switch to 4800 Bd 7E1" in notes
    assert any(note.startswith("# data readout:") and note.endswith("at 4800 Bd, BCC ok") for note in notes)


def test_push_meter_in_mode_d(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dump = tmp_path / "push.txt"
    with serving(MeterModel(push(), origin=ORIGIN)) as url:
        result = run_cli(capsys, "read", url, "--mode", "d", "--json", "--timeout", "3", "--dump", str(dump))
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert (document["identification"], document["mode"]) == ("EBZ5DD3BZ06ETA_107", "D")
    assert document["readout"]["data_sets"][0]["values"] == [{"value": "000125.25688570", "unit": "kWh"}]
    notes = [line for line in dump.read_text(encoding="utf-8").splitlines() if line.startswith("# ")]
    assert "# identification /EBZ5DD3BZ06ETA_107 without a request: a mode D telegram follows" in notes
    assert "# unframed data block (mode D telegram): 41 bytes, 3 lines" in notes
    assert not any(line.split()[2:3] == ["tx"] for line in dump.read_text(encoding="utf-8").splitlines())


def test_registers_in_programming_mode(
    capsys: pytest.CaptureFixture[str], emh_tcp: str, tmp_path: Path
) -> None:
    dump = tmp_path / "programming.txt"
    argv = ["read", emh_tcp, "--password", "00000000", "--command", "R5", "--dump", str(dump)]
    result = run_cli(capsys, *argv, "--register", "1.8.0", "--register", "1.6.0")  # 1.6.0 needs P1
    assert result.code == 0, result.err
    assert "programming     password accepted, P0 operand ''" in result.out
    assert "registers (R5)" in result.out
    assert re.search(r"^1\.8\.0 +1\.8\.0 +001234\.5\d\d +kWh$", result.out, re.MULTILINE)
    assert re.search(r"^1\.6\.0 +1\.6\.0 +02\.468 +kW$", result.out, re.MULTILINE)
    text = dump.read_text(encoding="utf-8")
    for note in (
        "# option select 0 5 1: programming mode at 9600 Bd",
        "# password prompt P0, operand ''",
        "# password P1 (8 characters)",
        "# ACK: password accepted",
        "# read R5 1.8.0()",
        "# break B0: end of session",
    ):
        assert note in text
    assert re.search(r"^# answer to R5: 1\.6\.0\(02\.468\*kW\), BCC ok$", text, re.MULTILINE)


def test_registers_as_json(capsys: pytest.CaptureFixture[str], emh_tcp: str) -> None:
    result = run_cli(capsys, "read", emh_tcp, "--json", "--register", "0.0.0", "--register", "C.1.0")
    assert result.code == 0, result.err  # R1 without a password: the registers are open
    document = json.loads(result.out)
    assert document["programming"] == {"password_sent": False, "operand": ""}
    assert [r["command"] for r in document["registers"]] == ["R1", "R1"]
    assert [r["data_sets"][0]["values"][0]["value"] for r in document["registers"]] == [
        "12345678",
        "07123456",
    ]
    assert document["profile"] is None


def test_load_profile(capsys: pytest.CaptureFixture[str], emh_tcp: str) -> None:
    argv = ["read", emh_tcp, "--password", "00000000", "--profile", "2024-02-29T08:00", "2024-02-29T10:00"]
    result = run_cli(capsys, *argv)
    assert result.code == 0, result.err
    assert "load profile P.01: 2 channels, 15 min, 9 rows" in result.out
    assert re.search(r"^timestamp +status +1\.5 \[kW\] +2\.5 \[kW\]$", result.out, re.MULTILINE)
    rows = [line.split() for line in result.out.splitlines() if line.startswith("2024-")]
    assert len(rows) == 9
    assert rows[0][:3] == ["2024-02-29", "08:00", "00000000"]
    assert rows[-1][:2] == ["2024-02-29", "10:00"]
    assert all(re.fullmatch(r"\d+\.\d{5}", value) for row in rows for value in row[3:])


PROFILE = "P.01(1240229080000)(00000080)(15)(2)(1.5)(kW)(2.5)(kW)\r\n(0.72000)(0.05000)\r\n(0.54000)()\r\n"


def test_profile_as_json_and_csv() -> None:
    report = Report("tcp://meter:1", programming=True, password=True, operand="")
    report.profile = parse_load_profile(PROFILE)
    document = report_document(report)
    assert document["programming"] == {"password_sent": True, "operand": ""}
    assert document["profile"] == {
        "profile": "P.01",
        "capture_period": 900,
        "channels": [{"code": "1.5", "unit": "kW"}, {"code": "2.5", "unit": "kW"}],
        "rows": [
            {
                "timestamp": "2024-02-29T08:00:00",
                "season": 1,
                "status": 128,
                "values": ["0.72000", "0.05000"],
            },
            {"timestamp": "2024-02-29T08:15:00", "season": 1, "status": 128, "values": ["0.54000", None]},
        ],
    }
    assert json.loads(json.dumps(document)) == document
    assert report_csv(report).splitlines() == [
        "timestamp,status,1.5,2.5",
        "2024-02-29T08:00:00,128,0.72000,0.05000",
        "2024-02-29T08:15:00,128,0.54000,",
    ]
    assert "2024-02-29 08:15  00000080  0.54000" in report_text(report)


# -- failures: one line on stderr, exit status 1 ---------------------------------------------------
def _one_line_error(result_err: str, name: str) -> None:
    lines = result_err.splitlines()
    assert len(lines) == 1, result_err
    assert lines[0].startswith(f"meterlink: {name}: "), lines[0]


def test_unreachable_url(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for url in ("tcp://127.0.0.1:1", str(tmp_path / "ttyUSB9")):
        result = run_cli(capsys, "read", url)
        assert (result.code, result.out) == (1, "")
        _one_line_error(result.err, "LinkError")


def test_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "read", "ftp://meter")
    assert result.code == 1
    _one_line_error(result.err, "LocalProtocolError")


def test_silent_meter_times_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dump = tmp_path / "silent.txt"
    with serving(MeterModel(faults=Faults(silent=True))) as url:
        started = time.monotonic()
        result = run_cli(capsys, "read", url, "--timeout", "0.5", "--retries", "0", "--dump", str(dump))
        elapsed = time.monotonic() - started
    assert (result.code, result.out) == (1, "")
    _one_line_error(result.err, "ResponseTimeout")
    assert elapsed < 3.0
    text = dump.read_text(encoding="utf-8")
    assert "# request /?!" in text
    assert text.splitlines()[-1].startswith("# failed: ResponseTimeout: ")


def test_wrong_password(capsys: pytest.CaptureFixture[str], emh_tcp: str) -> None:
    result = run_cli(capsys, "read", emh_tcp, "--password", "12345678", "--register", "1.8.0")
    assert (result.code, result.out) == (1, "")
    _one_line_error(result.err, "MeterReportedError")
    assert "password rejected" in result.err


def test_register_the_meter_refuses(capsys: pytest.CaptureFixture[str], emh_tcp: str) -> None:
    result = run_cli(capsys, "read", emh_tcp, "--register", "9.9.9", "--command", "R5")
    assert result.code == 1
    _one_line_error(result.err, "MeterReportedError")
    assert "ER02" in result.err


def test_mode_e_is_refused_before_touching_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "read", "tcp://127.0.0.1:1", "--mode", "e")
    assert result.code == 1
    _one_line_error(result.err, "LocalProtocolError")
    assert "meterlink probe" in result.err


def test_bad_profile_time_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, "read", "tcp://127.0.0.1:1", "--profile", "yesterday", "now")
    assert exit_info.value.code == 2
    assert "use YYYY-MM-DD" in capsys.readouterr().err
