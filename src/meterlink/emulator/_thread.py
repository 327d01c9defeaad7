"""Run an asyncio emulator server in a background thread: what both emulator threads share.

Tests, the demo and the README start meters this way: ``with SomeThread(...) as emulator`` gives
a running server whose :attr:`url` is valid, and leaving the block stops it and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from meterlink.errors import LocalProtocolError, MeterlinkError

__all__ = ["BackgroundServer", "Served"]


class Served(Protocol):
    """What a started server offers: where to connect, and how to stop."""

    url: str

    async def close(self) -> None: ...


class BackgroundServer(ABC):
    """An emulator server on its own event loop in a daemon thread."""

    thread_name = "meterlink-emulator"

    def __init__(self, listen: str, start_timeout: float) -> None:
        self.listen = listen
        self.start_timeout = start_timeout
        self.url = ""
        """Where to connect: ``tcp://127.0.0.1:PORT``, ``udp://...`` or the pty's path."""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @abstractmethod
    async def _open(self) -> Served:
        """Open the server (in the emulator's thread and loop)."""

    def start(self) -> Self:
        """Start serving; returns once :attr:`url` is valid."""
        if self._thread is not None:
            raise LocalProtocolError("emulator thread already started")
        name = f"{self.thread_name} {self.listen}"
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout):  # pragma: no cover - a stuck loop
            raise LocalProtocolError("emulator did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            error, self._error = self._error, None
            if isinstance(error, MeterlinkError):
                raise error
            raise LocalProtocolError(f"emulator failed to start: {error}") from error
        return self

    def call(self, function: Callable[[], None]) -> None:
        """Run ``function`` in the emulator's thread (to poke the meter safely)."""
        if self._loop is None:
            raise LocalProtocolError("emulator thread not running")
        done = threading.Event()

        def run() -> None:
            try:
                function()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(self.start_timeout)

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (idempotent)."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = self._loop = self._stop = None

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # handed to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await self._open()
        self.url = server.url
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
