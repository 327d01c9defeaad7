"""The emulator's meter connection: the core's :class:`MeterConnection` plus faults and mode limits.

It is a :class:`~meterlink.iec62056_21.connection.MeterConnection` in every respect (the
in-memory :class:`~meterlink.iec62056_21.loopback.Wire` and the servers drive it the same way),
and on top it

* applies :class:`~meterlink.emulator.faults.Faults`: what it hears (silence, ignored requests,
  echo), what it sends (dropped and corrupted bytes, wrong BCCs), when it sends (slow and late
  replies), and how it answers commands (NAK storms);
* refuses mode E when the description leaves it out although the identification has ``\\2``,
  and hears nothing at all when the meter only pushes (mode D only).

Sends it spoils keep the core's timing bookkeeping: the core believes it sent the intact bytes
on time, exactly like a meter whose line garbles or delays them.
"""

from __future__ import annotations

from collections import deque

from meterlink.iec62056_21.connection import MeterConnection, MeterSettings
from meterlink.iec62056_21.events import CommandReceived, Event, Send
from meterlink.iec62056_21.framer import NeedData
from meterlink.iec62056_21.messages import Nak

from .faults import FaultInjector, Faults

__all__ = ["EmulatorConnection"]


class EmulatorConnection(MeterConnection):
    """A meter connection with fault knobs and mode restrictions (see the module docstring)."""

    def __init__(
        self,
        settings: MeterSettings,
        faults: Faults | None = None,
        *,
        listening: bool = True,
    ) -> None:
        super().__init__(settings)
        self.faults = faults or Faults()
        self.injector = FaultInjector(self.faults)
        self.listening = listening
        """False: a push-only meter, deaf to requests."""
        self._pending: deque[Event] = deque()
        self._clock = 0.0
        self._naks_left = self.faults.nak_storm
        self._reply_due = False
        self._requests = 0
        self._in_request = False
        self._tail = b""

    def renewed(self) -> EmulatorConnection:
        """A fresh connection at rest with this one's settings and fault state.

        Workaround: the core's meter keeps a partial frame begun by noise (a stray SOH) forever
        while at rest, deaf to every later request; a real meter drops it after ta.
        """
        fresh = EmulatorConnection(
            self.settings, self.faults, listening=self.listening
        )
        fresh.injector = self.injector
        fresh._clock = self._clock
        fresh._naks_left = self._naks_left
        fresh._requests = self._requests
        return fresh

    # -- input ----------------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        self._clock = max(self._clock, now)
        if not data:
            return
        if self.faults.echo:
            self._pending.append(Send(bytes(data), now))
        if self.faults.silent or not self.listening:
            return
        data = self._skip_requests(bytes(data))
        if data:
            super().receive_data(data, now)

    def time_passed(self, now: float) -> None:
        self._clock = max(self._clock, now)
        super().time_passed(now)

    def _skip_requests(self, data: bytes) -> bytes:
        """Drop everything up to the end of the first ``answer_after`` requests."""
        if self._requests >= self.faults.answer_after:
            return data
        for i, byte in enumerate(data):
            ch = byte & 0x7F
            if ch == 0x2F:  # '/'
                self._in_request, self._tail = True, b""
            elif self._in_request:
                self._tail = (self._tail + bytes((ch,)))[-3:]
                if self._tail == b"!\r\n":
                    self._in_request = False
                    self._requests += 1
                    if self._requests >= self.faults.answer_after:
                        return data[i + 1 :]
        return b""

    # -- output ---------------------------------------------------------------------------------
    def next_event(self) -> Event | NeedData:
        if self._pending:
            return self._pending.popleft()
        while True:
            event = super().next_event()
            if isinstance(event, CommandReceived):
                if self._naks_left > 0:
                    self._naks_left -= 1
                    self.reply(Nak(), self._clock)
                    continue
                self._reply_due = True
                return event
            if isinstance(event, Send):
                return self._spoil(event)
            return event

    def _spoil(self, send: Send) -> Send:
        delay = self.faults.delay
        if self._reply_due:
            self._reply_due = False
            delay += self.injector.reply_delay()
        data = self.injector.spoil(send.data)
        if delay or data != send.data:
            return Send(data, send.not_before + delay)
        return send
