"""Every example in the README runs, and prints what its ``# ->`` comments promise."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterlink.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
COMMANDS = [
    line[2:].strip()
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.DOTALL)
    for line in block.splitlines()
    if line.startswith("$ ")
]
_PROMISE = re.compile(r"^\s*print\(.*#\s*->\s*(?P<out>.*?)\s*$")


def test_readme_has_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 2
    assert "bash scripts/test.sh" in COMMANDS


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.splitlines()[0][:40])
def test_python_example_runs_and_prints_what_it_says(block: str) -> None:
    promised = [m.group("out") for line in block.splitlines() if (m := _PROMISE.match(line))]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})
    printed = output.getvalue().splitlines()
    for expected in promised:
        assert expected in printed, f"README promises {expected!r}; printed {printed!r}"


FOREGROUND = [c for c in COMMANDS if "meterlink " in c and not c.endswith("&")]
BACKGROUND = [c for c in COMMANDS if "meterlink " in c and c.endswith("&")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def readme_servers() -> Iterator[dict[str, str]]:
    """Start the README's background commands (``... &``) on free ports, as a user's shell would."""
    replacements: dict[str, str] = {}
    processes: list[subprocess.Popen[str]] = []
    try:
        for command in BACKGROUND:
            argv = shlex.split(command[command.index("meterlink ") :].rstrip("& "))[1:]
            for address in re.findall(r"127\.0\.0\.1:\d+", command):
                replacements.setdefault(address, f"127.0.0.1:{_free_port()}")
            argv = [_replace(arg, replacements) for arg in argv]
            process = subprocess.Popen(
                [sys.executable, "-m", "meterlink.cli.main", *argv],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            processes.append(process)
            assert process.stdout is not None
            assert process.stdout.readline().strip(), f"{command!r} printed no address"
        yield replacements
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def _replace(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("command", FOREGROUND)
def test_meterlink_command_in_readme_runs(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, readme_servers: dict[str, str]
) -> None:
    monkeypatch.chdir(ROOT if "tests/" in command else tmp_path)
    argv = [_replace(arg, readme_servers) for arg in shlex.split(command[command.index("meterlink ") :])[1:]]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert main(argv) == 0
    assert output.getvalue().strip()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci
    assert "bash scripts/test.sh" in COMMANDS


def test_benchmark_command_in_readme_exists_and_its_inputs_parse() -> None:
    """The README's benchmark command needs the peers (not installed here); its inputs must parse."""
    assert "python3 benchmarks/run.py --quick" in COMMANDS
    assert (ROOT / "benchmarks" / "run.py").is_file()
    from benchmarks import inputs

    from meterlink.iec62056_21 import parse_load_profile, parse_readout

    readout = parse_readout(inputs.readout_frame(200))
    assert readout.bcc_valid is True
    assert len(readout.data_sets) == 200
    assert len(readout.get_all("")) == 24  # the P.01 rows: data sets without an address
    assert len(parse_load_profile(inputs.load_profile_block(500)).rows) == 500
