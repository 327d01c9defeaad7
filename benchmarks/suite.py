"""The workloads: each one checks that every implementation agrees, then times them side by side."""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import timeit
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from benchmarks import inputs
from meterlink.iec62056_21 import parse_readout
from meterlink.iec62056_21.profile import parse_load_profile

Content = list[tuple[str, str | None, str | None]]
"""Every bracket group in order: (address on a data set's first group else "", value, unit)."""


@dataclass
class Result:
    workload: str
    implementation: str
    per_second: float | None
    note: str = ""


def _best_rate(func: Callable[[], object], quick: bool) -> float:
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    runs = timer.repeat(repeat=3 if quick else 7, number=number)
    return number / min(runs)


# -- workload 1: readout parsing -----------------------------------------------------------------
def _ours_readout(frame: bytes) -> Content:
    readout = parse_readout(frame)
    out: Content = []
    for data_set in readout.data_sets:
        for i, value in enumerate(data_set.values):
            out.append((data_set.address if i == 0 else "", value.value, value.unit))
    return out


def _pwitab_readout(text: str) -> Content:
    from iec62056_21.messages import ReadoutDataMessage

    message = ReadoutDataMessage.from_representation(text)
    out: Content = []
    for line in message.data_block.data_lines:
        for data_set in line.data_sets:
            out.append((data_set.address or "", data_set.value, data_set.unit))
    return out


def _jonkerj_readout(telegram: str) -> object:
    from iec62056 import parser

    return parser.Parser().parse(telegram)


def readout_parsing(quick: bool) -> list[Result]:
    frame = inputs.readout_frame(200)
    text = frame.decode("latin-1")
    ident = b"/EMH5\\@D4LZQJ-XC\r\n"
    ours = _ours_readout(frame)
    theirs = _pwitab_readout(text)
    if ours != theirs:
        raise SystemExit("readout parsing: meterlink and iec62056-21 disagree on the content")
    name = "IEC 62056-21 readout, 200 lines"
    results = [
        Result(name, "meterlink", _best_rate(lambda: parse_readout(frame), quick)),
        Result(name, "iec62056-21", _best_rate(lambda: _pwitab_readout(text), quick)),
    ]
    telegram = (ident + frame[1:-2]).decode("latin-1")  # the grammar wants ident + block + '!'
    try:
        _jonkerj_readout(telegram)
    except Exception as exc:  # the peer's own exception types
        results.append(Result(name, "iec62056", None, f"cannot parse this readout ({type(exc).__name__})"))
    else:
        results.append(Result(name, "iec62056", _best_rate(lambda: _jonkerj_readout(telegram), quick)))
    return results


def load_profile(quick: bool) -> list[Result]:
    from iec62056_21.messages import DataBlock

    block = inputs.load_profile_block(35_000)
    text = block.decode("ascii")
    profile = parse_load_profile(block)
    if len(profile.rows) != 35_000:
        raise SystemExit(f"load profile: meterlink found {len(profile.rows)} rows, not 35000")
    peer = DataBlock.from_representation(text)
    peer_rows = len(peer.data_lines) - 1
    if peer_rows != 35_000:
        raise SystemExit(f"load profile: iec62056-21 found {peer_rows} rows, not 35000")
    name = "P.01 load profile, 35,000 rows x 4"
    results = []
    for impl, func in (
        ("meterlink", lambda: parse_load_profile(block)),
        ("iec62056-21", lambda: DataBlock.from_representation(text)),
    ):
        gc.collect()
        tracemalloc.start()
        func()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rate = _best_rate(func, True)
        results.append(Result(name, impl, rate, f"peak {peak / 2**20:.1f} MiB (tracemalloc)"))
    return results


WORKLOADS: dict[str, Callable[[bool], list[Result]]] = {
    "readout": readout_parsing,
    "profile": load_profile,
}


def _versions() -> str:
    names = ["meterlink", "iec62056-21", "iec62056"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (absent)")
    return ", ".join(found)


def report(results: list[Result]) -> str:
    lines = [
        f"Python {platform.python_version()} on {platform.machine()}, {_versions()}",
        "",
        "| workload | implementation | per second | meterlink / this | note |",
        "|---|---|---:|---:|---|",
    ]
    ours: dict[str, float] = {
        r.workload: r.per_second for r in results if r.implementation == "meterlink" and r.per_second
    }
    for r in results:
        rate = f"{r.per_second:,.1f}" if r.per_second else "-"
        base = ours.get(r.workload)
        compared = base and r.per_second and r.implementation != "meterlink"
        ratio = f"{base / r.per_second:.1f}x" if compared else ""
        lines.append(f"| {r.workload} | {r.implementation} | {rate} | {ratio} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("workloads", nargs="*", choices=[*WORKLOADS, []], help="default: all")
    args = parser.parse_args(argv)
    chosen = args.workloads or list(WORKLOADS)
    results: list[Result] = []
    for name in chosen:
        results.extend(WORKLOADS[name](args.quick))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())


