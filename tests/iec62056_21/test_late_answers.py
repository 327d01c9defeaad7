"""The client's driver against a scripted line with a virtual clock: late answers (issue 3).

A meter too slow for the response timeout answers the first request while the client pauses
before its second: that answer must not pass for the answer to the second request. The runner
here plays the line: bytes arrive at set times, and the driver's reads, writes, sleeps and
discards move a virtual clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from meterlink.errors import ResponseTimeout
from meterlink.iec62056_21.client import _Discard, _Engine, _Read, _Relink, _Sleep, _Write
from meterlink.iec62056_21.connection import ClientConnection, ClientSettings
from meterlink.iec62056_21.events import Send

REQUEST = b"/?!\r\n"
IDENT = b"/ABc5METER\r\n"


class ScriptedLine:
    """Runs a driver; ``arrivals`` are (time, bytes) the meter's side puts on the line."""

    def __init__(self, arrivals: list[tuple[float, bytes]]) -> None:
        self.now = 0.0
        self.arrivals = sorted(arrivals)
        self.buffer = b""
        self.log: list[tuple[float, str, bytes]] = []

    def clock(self) -> float:
        return self.now

    def _until(self, t: float) -> None:
        self.now = max(self.now, t)
        while self.arrivals and self.arrivals[0][0] <= self.now:
            self.buffer += self.arrivals.pop(0)[1]

    def perform(self, op: Any) -> bytes:
        if isinstance(op, _Write):
            self._until(op.not_before)
            self.log.append((self.now, "tx", op.data))
        elif isinstance(op, _Sleep):
            self._until(op.until)
        elif isinstance(op, _Discard):
            self._until(self.now)
            self.log.append((self.now, "discard", self.buffer))
            self.buffer = b""
        elif isinstance(op, _Read):
            self._until(self.now)
            if not self.buffer:
                nxt = self.arrivals[0][0] if self.arrivals else float("inf")
                limit = op.deadline if op.deadline is not None else self.now + 0.01
                self._until(min(nxt, limit))
            data, self.buffer = self.buffer, b""
            if data:
                self.log.append((self.now, "rx", data))
            return data
        else:
            assert isinstance(op, _Relink)
        return b""

    def run(self, driver: Any) -> Any:
        op = next(driver)
        try:
            while True:
                op = driver.send(self.perform(op))
        except StopIteration as stop:
            return stop.value


def engine(line: ScriptedLine, **settings: Any) -> _Engine:
    e = _Engine(
        ClientSettings(**settings),
        push=False,
        baud_step_down=False,
        restart_pause=settings.get("restart_pause", 2.0),
        home=(300, 7),
    )
    e.clock = line.clock
    return e


def test_an_answer_arriving_in_the_pause_before_a_repeated_sign_on_is_dropped() -> None:
    # the request leaves at 0 (line time 0.167 s at 300 Bd): no answer by 0.467, so the client
    # pauses 0.3 s and signs on again at 0.767. The meter's answer to the first request comes at
    # 0.7, in the pause; nothing answers the second one. Taken for its answer, the late ident
    # would start a session with a meter that is busy with another sign-on.
    line = ScriptedLine([(0.7, IDENT)])
    e = engine(line, response_timeout=0.3, restart_pause=0.3, retries=1)
    with pytest.raises(ResponseTimeout):
        line.run(e.read_out())
    sent = [data for _, kind, data in line.log if kind == "tx"]
    assert sent == [REQUEST, REQUEST]
    second = next(t for t, kind, data in line.log if kind == "tx" and t > 0)
    assert (second, "discard", IDENT) in line.log  # dropped just before the second request
    assert not any(kind == "rx" for _, kind, _ in line.log)


def test_an_answer_after_the_repeated_request_is_taken() -> None:
    # the same line, but the meter answers the second request: the session goes on as usual
    line = ScriptedLine([(0.7, IDENT), (1.0, IDENT)])
    e = engine(line, response_timeout=0.3, restart_pause=0.3, retries=1, mode=None)
    with pytest.raises(ResponseTimeout):  # no readout follows on this line
        line.run(e.read_out())
    assert e.identification is not None and e.identification.text == "ABc5METER"
    sent = [data for _, kind, data in line.log if kind == "tx"]
    assert sent[:3] == [REQUEST, REQUEST, b"\x06050\r\n"]


def test_only_a_repeated_sign_on_flushes() -> None:
    client = ClientConnection(ClientSettings(response_timeout=0.3, restart_pause=0.3))
    client.read_out(0.0)
    first = client.events()
    assert [e for e in first if isinstance(e, Send)] == [Send(REQUEST, 0.0)]
    assert client.deadline is not None
    client.time_passed(client.deadline)
    again = [e for e in client.events() if isinstance(e, Send)]
    assert again == [Send(REQUEST, pytest.approx(0.767, abs=1e-3), flush=True)]  # type: ignore[arg-type]
