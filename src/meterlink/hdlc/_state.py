"""The transition tables of the HDLC data link, both roles in one place.

``TABLE[(state, input)] -> (handler name, states the handler may move to)``. The connection in
:mod:`.connection` looks the pair up, runs ``_<handler>`` and checks that it landed in one of
the listed states. A received frame whose pair is missing is a protocol error
(:class:`~meterlink.errors.UnexpectedMessageError`); a call whose pair is missing is a
:class:`~meterlink.errors.LocalProtocolError`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from .frames import FrameKind


class Role(StrEnum):
    CLIENT = "client"
    """The primary station (head-end, hand-held unit): it polls, the server answers."""
    SERVER = "server"
    """The secondary station (the meter)."""


class State(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "awaiting UA to SNRM"
    CONNECTED = "connected"
    DISCONNECTING = "awaiting UA to DISC"
    FRAME_REJECT = "frame reject condition"


class Input(StrEnum):
    # received frames
    I = "I frame"  # noqa: E741
    RR = "RR frame"
    RNR = "RNR frame"
    SNRM = "SNRM frame"
    DISC = "DISC frame"
    UA = "UA frame"
    DM = "DM frame"
    FRMR = "FRMR frame"
    UI = "UI frame"
    # clock
    TIMEOUT = "timeout"
    # caller
    CONNECT = "connect()"
    SEND_APDU = "send_apdu()"
    SEND_PUSH = "send_push()"
    DISCONNECT = "disconnect()"


INPUT_OF_KIND: Final = {kind: Input[kind.name] for kind in FrameKind}
RECEIVED: Final = frozenset(INPUT_OF_KIND.values())

S = State
I = Input  # noqa: E741 - short alias keeps the tables readable
_Table = dict[tuple[State, Input], tuple[str, frozenset[State]]]


def _f(*states: State) -> frozenset[State]:
    return frozenset(states)


CLIENT_TABLE: Final[_Table] = {
    # link set-up
    (S.DISCONNECTED, I.CONNECT): ("start_connect", _f(S.CONNECTING)),
    (S.CONNECTED, I.CONNECT): ("start_connect", _f(S.CONNECTING)),
    (S.CONNECTING, I.UA): ("on_connect_ua", _f(S.CONNECTED)),
    (S.CONNECTING, I.DM): ("on_dm", _f(S.DISCONNECTED)),
    (S.CONNECTING, I.FRMR): ("on_frmr", _f(S.DISCONNECTED)),
    (S.CONNECTING, I.TIMEOUT): ("retry_command", _f(S.CONNECTING, S.DISCONNECTED)),
    # data transfer
    (S.CONNECTED, I.SEND_APDU): ("send_apdu", _f(S.CONNECTED)),
    (S.CONNECTED, I.I): ("on_i", _f(S.CONNECTED)),
    (S.CONNECTED, I.RR): ("on_rr", _f(S.CONNECTED)),
    (S.CONNECTED, I.RNR): ("on_rnr", _f(S.CONNECTED)),
    (S.CONNECTED, I.TIMEOUT): ("on_timeout", _f(S.CONNECTED, S.DISCONNECTED)),
    (S.CONNECTED, I.DM): ("on_dm", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.FRMR): ("on_frmr", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.UA): ("ignore", _f(S.CONNECTED)),  # late answer to a repeated SNRM
    # release
    (S.DISCONNECTED, I.DISCONNECT): ("start_disconnect", _f(S.DISCONNECTING)),
    (S.CONNECTING, I.DISCONNECT): ("start_disconnect", _f(S.DISCONNECTING)),
    (S.CONNECTED, I.DISCONNECT): ("start_disconnect", _f(S.DISCONNECTING)),
    (S.DISCONNECTING, I.UA): ("on_released", _f(S.DISCONNECTED)),
    (S.DISCONNECTING, I.DM): ("on_released", _f(S.DISCONNECTED)),
    (S.DISCONNECTING, I.FRMR): ("on_released", _f(S.DISCONNECTED)),
    (S.DISCONNECTING, I.TIMEOUT): ("retry_command", _f(S.DISCONNECTING, S.DISCONNECTED)),
    (S.DISCONNECTING, I.I): ("ignore", _f(S.DISCONNECTING)),
    (S.DISCONNECTING, I.RR): ("ignore", _f(S.DISCONNECTING)),
    (S.DISCONNECTING, I.RNR): ("ignore", _f(S.DISCONNECTING)),
    # late frames of a link that is gone
    (S.DISCONNECTED, I.UA): ("ignore", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.DM): ("ignore", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.RR): ("ignore", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.RNR): ("ignore", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.FRMR): ("ignore", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.TIMEOUT): ("ignore", _f(S.DISCONNECTED)),
    # pushes: UI frames in any state, I frames outside a link
    (S.DISCONNECTED, I.I): ("on_push_frame", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.UI): ("on_push_frame", _f(S.DISCONNECTED)),
    (S.CONNECTING, I.UI): ("on_push_frame", _f(S.CONNECTING)),
    (S.CONNECTED, I.UI): ("on_push_frame", _f(S.CONNECTED)),
    (S.DISCONNECTING, I.UI): ("on_push_frame", _f(S.DISCONNECTING)),
    (S.DISCONNECTED, I.SEND_PUSH): ("send_push", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.SEND_PUSH): ("send_push", _f(S.CONNECTED)),
}

SERVER_TABLE: Final[_Table] = {
    (S.DISCONNECTED, I.SNRM): ("on_snrm", _f(S.CONNECTED)),
    (S.CONNECTED, I.SNRM): ("on_snrm", _f(S.CONNECTED)),
    (S.FRAME_REJECT, I.SNRM): ("on_snrm", _f(S.CONNECTED)),
    (S.DISCONNECTED, I.DISC): ("answer_dm", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.DISC): ("on_disc", _f(S.DISCONNECTED)),
    (S.FRAME_REJECT, I.DISC): ("on_disc", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.I): ("answer_dm", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.RR): ("answer_dm", _f(S.DISCONNECTED)),
    (S.DISCONNECTED, I.RNR): ("answer_dm", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.I): ("on_i", _f(S.CONNECTED, S.FRAME_REJECT)),
    (S.CONNECTED, I.RR): ("on_rr", _f(S.CONNECTED, S.FRAME_REJECT)),
    (S.CONNECTED, I.RNR): ("on_rnr", _f(S.CONNECTED, S.FRAME_REJECT)),
    (S.CONNECTED, I.SEND_APDU): ("send_apdu", _f(S.CONNECTED)),
    (S.FRAME_REJECT, I.I): ("repeat_frmr", _f(S.FRAME_REJECT)),
    (S.FRAME_REJECT, I.RR): ("repeat_frmr", _f(S.FRAME_REJECT)),
    (S.FRAME_REJECT, I.RNR): ("repeat_frmr", _f(S.FRAME_REJECT)),
    (S.DISCONNECTED, I.UI): ("on_push_frame", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.UI): ("on_push_frame", _f(S.CONNECTED)),
    (S.FRAME_REJECT, I.UI): ("on_push_frame", _f(S.FRAME_REJECT)),
    (S.DISCONNECTED, I.SEND_PUSH): ("send_push", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.SEND_PUSH): ("send_push", _f(S.CONNECTED)),
    (S.FRAME_REJECT, I.SEND_PUSH): ("send_push", _f(S.FRAME_REJECT)),
    (S.DISCONNECTED, I.TIMEOUT): ("ignore", _f(S.DISCONNECTED)),
    (S.CONNECTED, I.TIMEOUT): ("ignore", _f(S.CONNECTED)),
    (S.FRAME_REJECT, I.TIMEOUT): ("ignore", _f(S.FRAME_REJECT)),
}

TABLES: Final = {Role.CLIENT: CLIENT_TABLE, Role.SERVER: SERVER_TABLE}
