"""Every transition of the DLMS association, both roles, in one place.

A row reads: in this state, on this input, call this handler, which may leave the machine in
one of these states. Anything not listed is refused: a local input with LocalProtocolError, a
peer's APDU with UnexpectedMessageError (the bytes attached). Pushes, event notifications and
general-block-transfer are accepted in every state, because meters send them whenever they like.
"""

from __future__ import annotations

import enum
from typing import Final

from meterlink._sansio import render_tables


class State(enum.Enum):
    IDLE = "no association"
    AWAIT_AARE = "awaiting the AARE"
    AWAIT_HLS_REPLY = "awaiting the meter's HLS reply (pass 4)"
    AWAIT_HLS_CLIENT = "awaiting the client's HLS reply (pass 3)"
    ASSOCIATED = "associated"
    AWAIT_RESPONSE = "awaiting a response"
    AWAIT_RLRE = "awaiting the RLRE"


class Input(enum.Enum):
    # local
    ASSOCIATE = "associate()"
    REQUEST = "a GET/SET/ACTION request"
    RELEASE = "release()"
    LINK_LOST = "the link went down"
    # from the peer
    AARQ = "AARQ"
    AARE = "AARE"
    RESPONSE = "a GET/SET/ACTION response"
    REMOTE_REQUEST = "a GET/SET/ACTION request from the client"
    ERROR = "exception-response / confirmed-service-error"
    PUSH = "data-notification / event-notification"
    GBT = "general-block-transfer"
    RLRQ = "RLRQ"
    RLRE = "RLRE"


LOCAL_INPUTS: Final = frozenset({Input.ASSOCIATE, Input.REQUEST, Input.RELEASE, Input.LINK_LOST})

S, I = State, Input  # noqa: E741 - short names keep the table readable
Row = tuple[str, frozenset[State]]

_EVERYWHERE_CLIENT = (S.IDLE, S.AWAIT_AARE, S.AWAIT_HLS_REPLY, S.ASSOCIATED, S.AWAIT_RESPONSE, S.AWAIT_RLRE)
_EVERYWHERE_SERVER = (S.IDLE, S.AWAIT_HLS_CLIENT, S.ASSOCIATED)

CLIENT_TABLE: Final[dict[tuple[State, Input], Row]] = {
    (S.IDLE, I.ASSOCIATE): ("send_aarq", frozenset({S.AWAIT_AARE})),
    (S.AWAIT_AARE, I.AARE): ("on_aare", frozenset({S.ASSOCIATED, S.AWAIT_HLS_REPLY, S.IDLE})),
    (S.AWAIT_AARE, I.ERROR): ("on_refusal_error", frozenset({S.IDLE})),
    (S.AWAIT_HLS_REPLY, I.RESPONSE): ("on_hls_reply", frozenset({S.ASSOCIATED, S.IDLE})),
    (S.AWAIT_HLS_REPLY, I.ERROR): ("on_hls_error", frozenset({S.IDLE})),
    (S.ASSOCIATED, I.REQUEST): ("send_request", frozenset({S.AWAIT_RESPONSE})),
    (S.AWAIT_RESPONSE, I.RESPONSE): ("on_response", frozenset({S.AWAIT_RESPONSE, S.ASSOCIATED})),
    (S.AWAIT_RESPONSE, I.ERROR): ("on_service_error", frozenset({S.ASSOCIATED})),
    (S.ASSOCIATED, I.ERROR): ("on_unsolicited_error", frozenset({S.ASSOCIATED})),
    (S.ASSOCIATED, I.RELEASE): ("send_rlrq", frozenset({S.AWAIT_RLRE, S.IDLE})),
    (S.AWAIT_RLRE, I.RLRE): ("on_rlre", frozenset({S.IDLE})),
    (S.AWAIT_RLRE, I.ERROR): ("on_rlre", frozenset({S.IDLE})),
    **{(state, I.PUSH): ("on_push", frozenset({state})) for state in _EVERYWHERE_CLIENT},
    **{(state, I.GBT): ("on_gbt", frozenset(_EVERYWHERE_CLIENT)) for state in _EVERYWHERE_CLIENT},
    **{(state, I.LINK_LOST): ("on_link_lost", frozenset({S.IDLE})) for state in _EVERYWHERE_CLIENT},
}

SERVER_TABLE: Final[dict[tuple[State, Input], Row]] = {
    (S.IDLE, I.AARQ): ("on_aarq", frozenset({S.ASSOCIATED, S.AWAIT_HLS_CLIENT, S.IDLE})),
    (S.ASSOCIATED, I.AARQ): ("on_second_aarq", frozenset({S.ASSOCIATED})),
    (S.AWAIT_HLS_CLIENT, I.AARQ): ("on_aarq", frozenset({S.ASSOCIATED, S.AWAIT_HLS_CLIENT, S.IDLE})),
    (S.AWAIT_HLS_CLIENT, I.REMOTE_REQUEST): (
        "on_hls_request",
        frozenset({S.ASSOCIATED, S.AWAIT_HLS_CLIENT, S.IDLE}),
    ),
    (S.ASSOCIATED, I.REMOTE_REQUEST): ("serve", frozenset({S.ASSOCIATED})),
    (S.IDLE, I.REMOTE_REQUEST): ("refuse_unassociated", frozenset({S.IDLE})),
    (S.ASSOCIATED, I.RLRQ): ("on_rlrq", frozenset({S.IDLE})),
    (S.AWAIT_HLS_CLIENT, I.RLRQ): ("on_rlrq", frozenset({S.IDLE})),
    (S.IDLE, I.RLRQ): ("on_rlrq", frozenset({S.IDLE})),
    **{(state, I.GBT): ("on_gbt", frozenset(_EVERYWHERE_SERVER)) for state in _EVERYWHERE_SERVER},
    **{(state, I.LINK_LOST): ("on_link_lost", frozenset({S.IDLE})) for state in _EVERYWHERE_SERVER},
}


def render_markdown() -> str:
    """The association and HDLC tables as Markdown, for the docs (kept current by a test)."""
    from meterlink.hdlc._state import CLIENT_TABLE as HDLC_CLIENT
    from meterlink.hdlc._state import SERVER_TABLE as HDLC_SERVER

    return render_tables(
        "DLMS state tables",
        "Generated from `meterlink.dlms._state` and `meterlink.hdlc._state`; every row is enforced by "
        "the state machines, and anything not listed is refused (see the state machines page).",
        [
            ("Association, client", CLIENT_TABLE),
            ("Association, server (meter)", SERVER_TABLE),
            ("HDLC, client (primary station)", HDLC_CLIENT),
            ("HDLC, server (secondary station)", HDLC_SERVER),
        ],
    )
