"""A facade with the API of the ``iec62056-21`` package (pwitab, PyPI 0.0.2) over :class:`Client`.

Code written for that package switches by changing one import::

    # from iec62056_21.client import Iec6205621Client
    from meterlink.iec62056_21.compat import Iec6205621Client

    client = Iec6205621Client.with_tcp_transport(address=("10.0.0.5", 8000), device_address="12345678")
    client.connect()
    answer = client.standard_readout()
    challenge = client.access_programming_mode()
    client.send_password("00000000")
    print(client.read_value("1.8.0").value)
    client.send_break()
    client.disconnect()

This module is a *facade*, not a port: every call goes to a meterlink :class:`Client`
(:attr:`Iec6205621Client.client`), so timing, retries, echo handling, partial blocks and the modes
are meterlink's. What differs from the package, on purpose:

* errors are meterlink's (:mod:`meterlink.errors`): :class:`~meterlink.errors.MeterReportedError`
  for ``(ERxx)``/``#nnnn`` answers and refused passwords, :class:`~meterlink.errors.ResponseTimeout`,
  :class:`~meterlink.errors.LinkError`, :class:`~meterlink.errors.RemoteProtocolError` for NAKs
  and garbled answers, :class:`~meterlink.errors.LocalProtocolError` for calls out of order;
* ``send_password`` waits for the meter's answer (the package does not read it), and a refused
  password ends the programming session;
* ``read_single_value``/``write_single_value`` need an open programming session
  (``access_programming_mode()``) and say so instead of sending into a session that is not there;
* a given ``device_address`` is sent on serial links too (the package drops it there);
* the identification is split correctly (``/ISk5MT174-0001`` is ``MT174-0001``, not
  ``T174-0001``); ``&``-joined values keep their text with ``unit=None``;
* data sets are frozen values, ``data`` is a tuple; ``data_block`` and the message classes
  (``to_bytes``, ``from_representation``) are not provided;
* not supported: ``startup()``, ``ack_with_option_select()``, ``read_response()``, ``transport``,
  ``error_parser_class`` (errors are always decoded; for Elster devices see
  :mod:`meterlink.iec62056_21.lis200`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from meterlink.errors import LocalProtocolError, MalformedDataError, MeterlinkError, MeterReportedError
from meterlink.transport.tcp import CONNECT_TIMEOUT

from .client import Client, Programming, SessionOptions
from .connection import ClientSettings
from .messages import CommandMessage
from .readout import DataSet as _DataSet
from .readout import Readout

__all__ = ["DataSet", "Iec6205621Client", "PasswordChallenge", "ReadoutAnswer"]


@dataclass(frozen=True, slots=True)
class DataSet:
    """``address(value*unit)`` as the package shows it; ``address`` is None for extra groups."""

    address: str | None
    value: str
    unit: str | None = None


def _data_sets(data_sets: tuple[_DataSet, ...]) -> tuple[DataSet, ...]:
    """meterlink data sets flattened the package's way: one entry per bracket group."""
    found: list[DataSet] = []
    for data_set in data_sets:
        if data_set.malformed:
            continue
        for index, value in enumerate(data_set.values):
            address = data_set.address if index == 0 and data_set.address else None
            found.append(DataSet(address, value.value, value.unit))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class ReadoutAnswer:
    """What :meth:`Iec6205621Client.standard_readout` returns (the package's answer message)."""

    data: tuple[DataSet, ...]
    """Every bracket group in order, as :class:`DataSet`."""
    readout: Readout
    """meterlink's own result: identification, :class:`~.readout.DataSet`s, typed values."""

    @classmethod
    def from_readout(cls, readout: Readout) -> ReadoutAnswer:
        return cls(_data_sets(readout.data_sets), readout)


@dataclass(frozen=True, slots=True)
class PasswordChallenge:
    """The meter's ``P0(operand)``, shaped like the package's command message."""

    data_set: DataSet
    command: str = "P"
    command_type: int = 0


class Iec6205621Client:
    """The package's client, backed by a meterlink :class:`Client`.

    Build it with :meth:`with_serial_transport`, :meth:`with_tcp_transport` or :meth:`from_url`.
    ``factory`` makes a fresh :class:`Client` for every :meth:`connect` after a
    :meth:`disconnect`; ``password`` is what :meth:`send_password` sends when given none.
    """

    def __init__(self, factory: Callable[[], Client], password: str = "00000000") -> None:
        self._factory = factory
        self._client: Client | None = None
        self._session: contextlib.ExitStack | None = None
        self._programming: Programming | None = None
        self.password = password

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def with_serial_transport(
        cls,
        port: str,
        device_address: str | None = None,
        password: str = "00000000",
        battery_powered: bool = False,
        error_parser_class: object = None,
        *,
        restart_pause: float | None = None,
        settings: ClientSettings | None = None,
    ) -> Self:
        """A serial port or pyserial URL at 300 Bd 7E1; ``battery_powered`` sends the wake-up train.

        ``restart_pause`` and ``settings`` (timeouts, reaction time...) are meterlink's.
        """
        _no_error_parser(error_parser_class)
        options = _options(battery_powered)

        def factory() -> Client:
            return Client.serial(
                port, address=device_address, restart_pause=restart_pause, settings=settings, **options
            )

        return cls(factory, password)

    @classmethod
    def with_tcp_transport(
        cls,
        address: tuple[str, int],
        device_address: str = "",
        password: str = "00000000",
        battery_powered: bool = False,
        error_parser_class: object = None,
        *,
        software_parity: bool = False,
        connect_timeout: float = CONNECT_TIMEOUT,
        restart_pause: float | None = None,
        settings: ClientSettings | None = None,
    ) -> Self:
        """A raw TCP converter at ``address=(host, port)``; the rate stays what the converter runs.

        ``software_parity`` adds and strips 7E1 parity for converters that pass 8-bit bytes.
        """
        _no_error_parser(error_parser_class)
        host, port = address
        options = _options(battery_powered)

        def factory() -> Client:
            return Client.tcp(
                host,
                port,
                software_parity=software_parity,
                connect_timeout=connect_timeout,
                address=device_address,
                restart_pause=restart_pause,
                settings=settings,
                **options,
            )

        return cls(factory, password)

    @classmethod
    def from_url(
        cls,
        url: str,
        device_address: str | None = None,
        password: str = "00000000",
        *,
        restart_pause: float | None = None,
        settings: ClientSettings | None = None,
    ) -> Self:
        """Any link meterlink names by URL (``tcp://host:port?parity=sw7e1``, ``/dev/ttyUSB0``...)."""

        def factory() -> Client:
            return Client.from_url(
                url, address=device_address, restart_pause=restart_pause, settings=settings
            )

        return cls(factory, password)

    # -- the link -------------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        """The meterlink client doing the work (made, not yet opened, on first use)."""
        if self._client is None:
            self._client = self._factory()
        return self._client

    def connect(self) -> None:
        """Open the port or socket (otherwise the first operation does)."""
        self.client.open()

    def disconnect(self) -> None:
        """End an open programming session (B0) and close the link; :meth:`connect` reopens."""
        client, self._client = self._client, None
        try:
            self._leave_programming()
        finally:
            if client is not None:
                client.close()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *_: object) -> None:
        self.disconnect()

    # -- what the meter said about itself -------------------------------------------------------
    @property
    def device_address(self) -> str:
        return self.client.settings.address

    @property
    def identification(self) -> str | None:
        """The identification after ``XXXZ`` and the ``\\W`` pairs (``EK280`` of ``/Els6\\2EK280``)."""
        ident = self.client.identification
        return None if ident is None else ident.ident

    @property
    def manufacturer_id(self) -> str | None:
        ident = self.client.identification
        return None if ident is None else ident.manufacturer

    @property
    def switchover_baudrate_char(self) -> str | None:
        ident = self.client.identification
        return None if ident is None else ident.baud_char

    @property
    def switchover_baudrate(self) -> int | None:
        """The rate the meter proposed (mode C characters ``0``-``6``), else None."""
        char = self.switchover_baudrate_char
        if char is None or char not in "0123456":
            return None
        return 300 << int(char)

    @property
    def use_short_reaction_time(self) -> bool:
        """The manufacturer id's third letter is lower case: the meter answers within 20 ms."""
        ident = self.client.identification
        return ident is not None and ident.fast_reaction

    # -- operations -----------------------------------------------------------------------------
    def standard_readout(self) -> ReadoutAnswer:
        """Sign on and read the data readout (an open programming session is ended first)."""
        self._leave_programming()
        return ReadoutAnswer.from_readout(self.client.read_out())

    def access_programming_mode(self) -> PasswordChallenge:
        """Sign on in programming mode and return the meter's ``P0`` operand; no password is sent."""
        self._leave_programming()
        session = contextlib.ExitStack()
        self._programming = session.enter_context(self.client.programming())
        self._session = session
        return PasswordChallenge(DataSet(None, self._programming.operand or ""))

    def send_password(self, password: str | None = None) -> None:
        """``P1(password)`` (default: the client's); a refusal raises and ends the session."""
        programming = self._open_session("send_password")
        try:
            programming.command(CommandMessage.password(password or self.password))
        except MeterReportedError as exc:
            self._abandon()
            raise MeterReportedError(exc.text, code=exc.code, meaning="password rejected") from exc
        except MeterlinkError:
            self._abandon()
            raise

    def read_single_value(self, address: str, additional_data: str = "1") -> DataSet:
        """``R1 address(additional_data)``: the register's first bracket group."""
        result = self._open_session("read_single_value").read(address, additional_data)
        found = [data_set for data_set in result.data_sets if not data_set.malformed]
        if len(found) != 1 or not found[0].values:
            raise MalformedDataError(
                f"R1 {address} answered with {len(found)} data sets, expected one",
                data=result.text.encode("latin-1", "replace"),
            )
        return _data_sets((found[0],))[0]

    def read_value(self, address: str) -> DataSet:
        """The package README's name for :meth:`read_single_value` (``R1 address(1)``)."""
        return self.read_single_value(address)

    def write_single_value(self, address: str, data: str) -> None:
        """``W1 address(data)``; the meter's ACK returns, its error text raises."""
        self._open_session("write_single_value").write(address, data)

    def send_break(self) -> None:
        """End the programming session with B0; without one there is nothing to end."""
        self._leave_programming()

    # -- the programming session ----------------------------------------------------------------
    def _open_session(self, what: str) -> Programming:
        if self._programming is None:
            raise LocalProtocolError(f"{what}() needs programming mode: call access_programming_mode() first")
        return self._programming

    def _leave_programming(self) -> None:
        session, self._session, self._programming = self._session, None, None
        if session is not None:
            session.close()

    def _abandon(self) -> None:
        """Drop a session that failed; the B0 is best effort."""
        with contextlib.suppress(MeterlinkError):
            self._leave_programming()


def _no_error_parser(error_parser_class: object) -> None:
    if error_parser_class is not None:
        raise LocalProtocolError(
            "error_parser_class is not supported: meter errors raise MeterReportedError "
            "(LIS-200 codes are decoded by meterlink.iec62056_21.lis200)"
        )


def _options(battery_powered: bool) -> SessionOptions:
    options = SessionOptions()
    if battery_powered:
        options["wake_up"] = True
    return options
