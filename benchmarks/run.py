"""Side-by-side benchmarks of meterlink and the peer libraries, in one process, one run.

    python3 benchmarks/run.py [--quick] [--runs N] [--json FILE] [--chart PNG] [workload ...]

The first run creates ``benchmarks/.venv`` with the peers (``iec62056-21``, ``iec62056``,
``dlms-cosem``, ``gurux-dlms``), matplotlib for the chart and meterlink itself, then re-runs this
script inside it; when PEERS changes, the next run installs the difference. Every workload first
checks that all implementations produced the same content from the same deterministic input,
then times each and prints throughput and the ratio meterlink / peer. Not part of the test suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
PEERS = [
    "iec62056-21==0.0.2",
    "iec62056==0.5.1",
    "dlms-cosem==25.1.0",
    "gurux-dlms==1.0.203",
    "matplotlib",
]
"""Peer libraries (pinned: the results name their versions) and the chart's plotting library."""
STAMP = VENV / "meterlink-benchmark-peers.txt"


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _bootstrap() -> None:
    wanted = "\n".join(PEERS)
    if not _venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        pip = [str(_venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *PEERS], check=True)
        subprocess.run([*pip, "-e", str(ROOT)], check=True)
        STAMP.write_text(wanted)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    os.execve(str(_venv_python()), [str(_venv_python()), "-m", "benchmarks.suite", *sys.argv[1:]], env)


if __name__ == "__main__":
    _bootstrap()
