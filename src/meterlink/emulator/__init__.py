"""The IEC 62056-21 meter emulator: meters described in TOML, served in memory, on TCP or a pty.

* :mod:`.description` reads a meter description (identification, registers, readout layout,
  VDEW load profiles, LIS-200 locks and archives, passwords, error texts, fault knobs);
* :class:`MeterModel` is the meter's application behind the core's ``MeterConnection``
  (``handle(meter, event, now)``, like :class:`~meterlink.iec62056_21.loopback.MeterApp`);
* :class:`EmulatorConnection` adds the fault knobs (:class:`Faults`) and mode limits;
* :func:`serve_tcp`, :func:`serve_pty` and :class:`EmulatorThread` put it on a real line.

Example::

    from meterlink.emulator import EmulatorThread, MeterModel, load_description

    with EmulatorThread(MeterModel(load_description("examples/meters/emh-lzqj.toml"))) as emu:
        print(emu.url)          # tcp://127.0.0.1:PORT - talk IEC 62056-21 to it
"""

from __future__ import annotations

from .connection import EmulatorConnection
from .description import (
    Access,
    Archive,
    ArchiveColumn,
    ChannelSpec,
    ClockSpec,
    LayoutItem,
    Locks,
    MeterDescription,
    ProfileSpec,
    Protocol,
    RegisterSpec,
    Security,
    StatusChange,
    builtin_description,
    load_description,
    parse_description,
)

# the DLMS/COSEM meter lives in .dlms; its main names are re-exported here
from .dlms import (
    DlmsEmulatorThread,
    DlmsMeter,
    demo_dlms_description,
    load_dlms_description,
    parse_dlms_description,
)
from .faults import FaultInjector, Faults
from .model import MeterModel
from .passwords import PASSWORD_ALGORITHMS, register_password_algorithm, xor_password
from .server import (
    EmulatorServer,
    EmulatorThread,
    LineSession,
    PtyEmulator,
    TcpEmulator,
    open_server,
    serve_pty,
    serve_tcp,
)

__all__ = [
    "PASSWORD_ALGORITHMS",
    "Access",
    "Archive",
    "ArchiveColumn",
    "ChannelSpec",
    "ClockSpec",
    "DlmsEmulatorThread",
    "DlmsMeter",
    "EmulatorConnection",
    "EmulatorServer",
    "EmulatorThread",
    "FaultInjector",
    "Faults",
    "LayoutItem",
    "LineSession",
    "Locks",
    "MeterDescription",
    "MeterModel",
    "ProfileSpec",
    "Protocol",
    "PtyEmulator",
    "RegisterSpec",
    "Security",
    "StatusChange",
    "TcpEmulator",
    "builtin_description",
    "demo_dlms_description",
    "load_description",
    "load_dlms_description",
    "open_server",
    "parse_description",
    "parse_dlms_description",
    "register_password_algorithm",
    "serve_pty",
    "serve_tcp",
    "xor_password",
]
