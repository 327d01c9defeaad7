"""``meterlink decode``: one capture or a whole file of them, text or JSON, keys, bad lines."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dlms"
SCRIPT = Path(sys.executable).with_name("meterlink")


def _hex(name: str) -> tuple[str, dict[str, str]]:
    raw = tomllib.loads((FIXTURES / f"{name}.toml").read_text(encoding="utf-8"))
    return "".join(raw["hex"].split()), raw


def test_one_capture_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    data, _ = _hex("esphome_pr16942_lg_e450_cyprus")
    result = run_cli(capsys, "decode", data)
    assert result.code == 0, result.err
    assert "3 HDLC frames" in result.out
    assert "joined from general-block-transfer blocks 1-3, data-notification" in result.out
    assert "'LGZ1020782546371'" in result.out


def test_keys_decipher_and_json_is_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    data, raw = _hex("amshan_test_wiredmb_netznoe")
    result = run_cli(capsys, "decode", data, "--key", raw["key"], "--no-verify", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["kind"] == "mbus"
    text = json.dumps(document)
    assert '"deciphered APDU"' in text and "2021-09-27T09:47:15+02:00" in text
    without = run_cli(capsys, "decode", data)
    assert "not deciphered: no key given" in without.out


def test_a_capture_file_on_stdin_with_bad_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good, _ = _hex("tasmota_issue8790_iskra_am550")
    lines = [
        "# ISKRA AM550 push, then junk",
        "",
        ":".join(good[i : i + 2] for i in range(0, len(good), 2)),  # colons allowed
        "zz not hex",
        "7e a0 84 ce ff",
        "0f 00 00 00 01 00 09 03 41 42 43",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    result = run_cli(capsys, "decode", "-")
    assert result.code == 1
    assert "# line 3" in result.out and "# line 6" in result.out
    errors = result.err.strip().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("meterlink decode: line 4: LocalProtocolError: not hex")
    assert errors[1].startswith("meterlink decode: line 5: MalformedDataError:") and "at offset" in errors[1]


def test_json_lines_from_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("020212000a1600\n0f0a\n"))
    result = run_cli(capsys, "decode", "-", "--json")
    assert result.code == 0, result.err
    documents = [json.loads(line) for line in result.out.splitlines()]
    assert [d["line"] for d in documents] == [1, 2]
    assert documents[0]["tree"]["children"][0]["text"] == "structure of 2"
    assert documents[1]["tree"]["children"][0]["value"] == 10


def test_forced_layer_and_wrong_key(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "decode", "0f0a", "--as", "apdu")
    assert result.code == 1 and "MalformedDataError" in result.err
    bad_key = run_cli(capsys, "decode", "0f0a", "--key", "1234")
    assert bad_key.code == 1 and "LocalProtocolError" in bad_key.err


@pytest.mark.skipif(not SCRIPT.exists(), reason="the meterlink console script is not installed")
def test_the_console_script() -> None:
    data, _ = _hex("u9n_issue68_kaifa_ma304h4d")
    result = subprocess.run(
        [str(SCRIPT), "decode", data], capture_output=True, text=True, timeout=15, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "I frame" in result.stdout and "data-notification" in result.stdout
