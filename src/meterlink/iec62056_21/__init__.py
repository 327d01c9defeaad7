"""IEC 62056-21 (IEC 61107, "D0"): messages, framing, readouts and both roles' state machines.

Everything here is sans-io: bytes in, events out, bytes to send. The transports and the
blocking and asyncio clients wrap these cores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bcc import BccKind, sum_bcc, xor_bcc
from .connection import ClientConnection, ClientSettings, MeterConnection, MeterSettings
from .events import (
    BinaryModeEntered,
    CommandAccepted,
    CommandReceived,
    DataReceived,
    Event,
    IdentificationReceived,
    MeterErrorReceived,
    PasswordRejected,
    ProgrammingModeEntered,
    PushReceived,
    ReadoutReceived,
    ReadoutRequested,
    Send,
    SessionEnded,
    SetLink,
    SignOnReceived,
)
from .framer import NEED_DATA, Framer, NeedData, Role
from .messages import (
    BREAK,
    Ack,
    CommandMessage,
    DataMessage,
    ErrorMessage,
    Identification,
    Message,
    Nak,
    OptionSelect,
    ProtocolMode,
    RequestMessage,
)
from .profile import LoadProfile, ProfileRow, parse_load_profile
from .readout import DataSet, Readout, Value, parse_data_block, parse_readout

if TYPE_CHECKING:
    from .client import AsyncClient, Client

__all__ = [
    "BREAK",
    "NEED_DATA",
    "Ack",
    "AsyncClient",
    "BccKind",
    "BinaryModeEntered",
    "Client",
    "ClientConnection",
    "ClientSettings",
    "CommandAccepted",
    "CommandMessage",
    "CommandReceived",
    "DataMessage",
    "DataReceived",
    "DataSet",
    "ErrorMessage",
    "Event",
    "Framer",
    "Identification",
    "IdentificationReceived",
    "LoadProfile",
    "Message",
    "MeterConnection",
    "MeterErrorReceived",
    "MeterSettings",
    "Nak",
    "NeedData",
    "OptionSelect",
    "PasswordRejected",
    "ProfileRow",
    "ProgrammingModeEntered",
    "ProtocolMode",
    "PushReceived",
    "Readout",
    "ReadoutReceived",
    "ReadoutRequested",
    "RequestMessage",
    "Role",
    "Send",
    "SessionEnded",
    "SetLink",
    "SignOnReceived",
    "Value",
    "parse_data_block",
    "parse_load_profile",
    "parse_readout",
    "sum_bcc",
    "xor_bcc",
]


def __getattr__(name: str) -> Any:
    """The clients load on first use, so importing the sans-io core pulls in no transport."""
    if name in ("AsyncClient", "Client"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
