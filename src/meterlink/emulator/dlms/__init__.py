"""The DLMS/COSEM meter emulator: a COSEM meter described in TOML, served over HDLC, the wrapper, mode E.

* :mod:`.description` reads the meter description (logical devices, objects, associations with
  mechanisms, keys and access rights, HDLC and mode E parameters, pushes);
* :class:`DlmsMeter` (:mod:`.objects`) is the meter's state and COSEM objects; each association
  gets an :class:`AssociationApplication`, the ``ServerApplication`` of
  :class:`~meterlink.dlms.association.ServerAssociation`;
* :class:`LinkSession` / :class:`ModeESession` (:mod:`.session`) drive one line, sans-io;
* :func:`open_dlms_server` and :class:`DlmsEmulatorThread` (:mod:`.server`) put it on TCP, UDP or
  a pty.

Example::

    from meterlink.emulator.dlms import DlmsEmulatorThread, load_dlms_description

    with DlmsEmulatorThread(load_dlms_description("examples/meters/dlms-meter.toml")) as emu:
        print(emu.url)          # tcp://127.0.0.1:PORT - HDLC over TCP
"""

from __future__ import annotations

from .description import (
    AssociationSpec,
    ClockSpec,
    DlmsDescription,
    HdlcSpec,
    LogicalDeviceSpec,
    ModeESpec,
    ObjectSpec,
    Rights,
    default_dlms_description,
    demo_dlms_description,
    load_dlms_description,
    parse_dlms_description,
)
from .objects import OBJECT_CLASSES, AssociationApplication, CosemObject, DlmsMeter, LogicalDevice
from .server import (
    DlmsEmulatorThread,
    DlmsPtyServer,
    DlmsServer,
    DlmsTcpServer,
    DlmsUdpServer,
    live_meter,
    open_dlms_server,
    parse_listen,
)
from .session import LinkSession, ModeESession, Outgoing, PushSender

__all__ = [
    "OBJECT_CLASSES",
    "AssociationApplication",
    "AssociationSpec",
    "ClockSpec",
    "CosemObject",
    "DlmsDescription",
    "DlmsEmulatorThread",
    "DlmsMeter",
    "DlmsPtyServer",
    "DlmsServer",
    "DlmsTcpServer",
    "DlmsUdpServer",
    "HdlcSpec",
    "LinkSession",
    "LogicalDevice",
    "LogicalDeviceSpec",
    "ModeESession",
    "ModeESpec",
    "ObjectSpec",
    "Outgoing",
    "PushSender",
    "Rights",
    "default_dlms_description",
    "demo_dlms_description",
    "live_meter",
    "load_dlms_description",
    "open_dlms_server",
    "parse_dlms_description",
    "parse_listen",
]
