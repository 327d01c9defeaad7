"""Fixtures for the end-to-end tests: emulated meters on a real pty or TCP socket, clients, a watchdog.

Every meter is a TOML description built in the test (:func:`describe`), served by an
:class:`~meterlink.emulator.EmulatorThread` on a pseudo-terminal (with ``check_line``: a client
at the wrong rate reads noise, as on a real line) or on TCP. Timings are fast on both sides so a
session takes a fraction of a second; :func:`within` turns a hang into a test failure.

A session is mostly waiting (300 Bd line times, reaction times, timeouts), so the pty and the
TCP item of each test run at the same time: when pytest runs the pty item, the TCP twin starts
in a worker thread, and the TCP item then reports that run's outcome (see
:func:`pytest_collection_modifyitems`). Selecting one link (``-k tcp``) runs it alone.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from meterlink.emulator import EmulatorThread, MeterDescription, MeterModel, parse_description
from meterlink.iec62056_21 import AsyncClient, Client
from meterlink.iec62056_21.client import SessionOptions
from meterlink.iec62056_21.connection import ClientSettings

T = TypeVar("T")
Link = Literal["pty", "tcp"]

HAS_PTY = Path("/dev/ptmx").exists()

MODE_C = "/ABc5METER"
"""Mode C, proposes 9600 Bd, lower-case third letter: 20 ms reaction time."""

FAST = SessionOptions(
    reaction_time=0.02, baud_switch_guard=0.02, response_timeout=0.3, inter_char_timeout=0.3, retries=2
)
"""Client timings for a meter that answers in 20 ms."""
PAUSE = 0.3
"""The client's pause before a new sign-on (restart_pause). It must cover the meter's wait for a
NAK after its readout, plus the line time the emulator does not pace: without ``simulate_baud`` a
message arrives at once, while the meter's timers run from the end of its line time."""

METER = """
[meter]
identification = '{ident}'
{timing}
operand = "SEED1234"
block_size = 32
{meter}

[clock]
origin = 2024-03-01T08:00:00

[registers]
"0.0.0" = "12345678"
"C.1.0" = "07123456"

[registers."1.8.0"]
value = "001234.567"
unit = "kWh"

[registers."1.8.1"]
value = "000100.000"
unit = "kWh"
rate_per_hour = 2.0

[registers."C.90.1"]
value = "HOUSE-12"
write = "p1"

[registers."C.90.2"]
value = "0"
write = "p1"

[registers."1.6.0"]
value = "02.468"
unit = "kW"
read = "p2"

[readout]
layout = ["0.0.0", "1.8.0", "C.1.0"]

[security]
p1 = "00000000"
p2 = "SECRET"
p2_algorithm = "xor"
execute = "p1"

[[profiles]]
address = "P.01"
period = 15
block_size = 48
read = "p1"
channels = [
  {{code = "1.5", unit = "kW", register = "1.8.1", kind = "average", decimals = 3}},
  {{code = "2.5", unit = "kvar", constant = 0.5, decimals = 3}},
]
status = [
  {{at = 2024-03-01T06:30:00, value = 0x80}},
  {{at = 2024-03-01T06:45:00, value = 0}},
]

{extra}

[faults]
{faults}
"""


TIMING: dict[str, float] = {
    "reaction_time": 0.02,
    "switch_delay": 0.05,
    "option_timeout": 0.3,
    "after_readout_timeout": 0.02,
    "inactivity_timeout": 5.0,
}
"""The meters' timings (seconds): fast, but in the proportions of the standard."""


def timing_lines(**overrides: float) -> str:
    return "\n".join(f"{key} = {value}" for key, value in {**TIMING, **overrides}.items())


def describe(
    ident: str = MODE_C, *, meter: str = "", extra: str = "", faults: str = "", **timing: float
) -> MeterDescription:
    """An IEC meter with fast timings (``timing`` overrides them); ``meter`` adds lines to
    [meter], ``extra`` tables at the end, ``faults`` lines to [faults]."""
    text = METER.format(ident=ident, timing=timing_lines(**timing), meter=meter, extra=extra, faults=faults)
    return parse_description(text)


@pytest.fixture(params=["pty", "tcp"])
def link(request: pytest.FixtureRequest) -> Link:
    """Each test runs over a real pseudo-terminal (pyserial) and over TCP."""
    if request.param == "pty" and not HAS_PTY:
        pytest.skip("no pseudo-terminals here")
    name: Link = request.param
    return name


@contextlib.contextmanager
def emulated(
    meter: MeterDescription | MeterModel, link: Link, *, simulate_baud: bool = False
) -> Iterator[EmulatorThread]:
    """The meter served on ``link``; a pty checks the client's line settings like a real line."""
    listen = "pty" if link == "pty" else "tcp://127.0.0.1:0"
    with EmulatorThread(meter, listen, check_line=link == "pty", simulate_baud=simulate_baud) as emulator:
        yield emulator


def url_of(emulator: EmulatorThread, *, software_parity: bool = False) -> str:
    """The link URL a client opens; ``software_parity``: 7E1 done in software over 8-bit bytes."""
    if emulator.url.startswith("tcp://"):
        return emulator.url + ("?parity=sw7e1" if software_parity else "")
    return f"serial://{emulator.url}?parity=" + ("sw7e1" if software_parity else "E")


def _options(options: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {**FAST, "restart_pause": PAUSE}
    merged.update(options)
    # the pause the connection keeps between its own sign-on attempts follows the client's
    merged.setdefault("settings", ClientSettings(restart_pause=merged["restart_pause"]))
    return merged


def connect(emulator: EmulatorThread, **options: Any) -> Client:
    """A blocking client for the emulator: ``Client.serial`` on the pty, ``from_url`` on TCP."""
    merged = _options(options)
    if emulator.url.startswith("tcp://"):
        return Client.from_url(emulator.url, **merged)
    return Client.serial(emulator.url, **merged)


def connect_url(url: str, **options: Any) -> Client:
    return Client.from_url(url, **_options(options))


def connect_async(emulator: EmulatorThread, **options: Any) -> AsyncClient:
    return AsyncClient.from_url(url_of(emulator), **_options(options))


def within(seconds: float, call: Callable[[], T]) -> T:
    """Run ``call`` in a thread; a call still running after ``seconds`` fails the test (a hang)."""
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name="client under watchdog", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the client hung: still running after {seconds} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    result: T = value
    return result


# ------------------------------------------------------------------------------------------------
# the pty and TCP items of a test run side by side
# ------------------------------------------------------------------------------------------------
_TWINS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tcp twin")
_HERE = Path(__file__).parent


def _link_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("link")


def _pair(pty: pytest.Function, tcp: pytest.Function) -> None:
    """Make ``pty`` start ``tcp``'s run in the worker, and ``tcp`` report that run."""
    run_pty, run_tcp = pty.obj, tcp.obj
    tcp_args = {name: tcp.callspec.params[name] for name in tcp._fixtureinfo.argnames}
    started: list[Future[None]] = []

    def pty_and_start_twin(**kwargs: Any) -> None:
        started.append(_TWINS.submit(run_tcp, **tcp_args))
        run_pty(**kwargs)

    def tcp_outcome(**kwargs: Any) -> None:
        if not started:  # the pty item did not run (no ptys here): run now
            run_tcp(**kwargs)
        else:
            started[0].result()  # its exception, assertion or skip is this item's

    pty.obj = pty_and_start_twin
    tcp.obj = tcp_outcome


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    waiting: dict[tuple[object, ...], pytest.Function] = {}
    for item in items:
        link = _link_of(item)
        if link not in ("pty", "tcp") or not isinstance(item, pytest.Function):
            continue
        if not item.path.is_relative_to(_HERE):
            continue  # this hook sees the whole session's items
        params = item.callspec.params
        if not set(item._fixtureinfo.argnames) <= set(params):
            continue  # other fixtures: the twin could not be called directly
        others = tuple(sorted((k, repr(v)) for k, v in params.items() if k != "link"))
        key = (item.parent, item.originalname, others)
        if link == "pty":
            waiting[key] = item
        elif (pty := waiting.pop(key, None)) is not None:
            _pair(pty, item)
