"""The transition tables of IEC 62056-21, both roles in one place.

Every transition either role can make is listed here as data:
``TABLE[(state, input)] -> (handler name, states the handler may move to)``. The connections in
:mod:`.connection` look the pair up, run the named handler and check that it landed in one of
the listed states. A pair that is not in the table is a protocol error: a message the peer may
not send there (:class:`~meterlink.errors.UnexpectedMessageError`) or a call the caller may not
make there (:class:`~meterlink.errors.LocalProtocolError`). The documentation draws its state
diagrams from these tables, so code and picture cannot disagree.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Input(StrEnum):
    """Everything that can drive a state machine: received messages, the clock, the caller."""

    # received
    REQUEST = "request"
    IDENTIFICATION = "identification"
    OPTION_SELECT = "option select"
    DATA = "data message"
    PARTIAL_DATA = "partial data block"
    ERROR = "error message"
    COMMAND = "command"
    BREAK = "break"
    ACK = "ACK"
    NAK = "NAK"
    BAD_FRAME = "damaged frame"
    # clock
    TIMEOUT = "timeout"
    # caller
    READ_OUT = "read_out()"
    PROGRAM = "program()"
    BINARY = "binary()"
    LISTEN = "listen()"
    SEND_COMMAND = "send_command()"
    END = "end()"
    SEND_READOUT = "send_readout()"
    REPLY = "reply()"
    PUSH = "push()"


RECEIVED: Final = (
    Input.REQUEST,
    Input.IDENTIFICATION,
    Input.OPTION_SELECT,
    Input.DATA,
    Input.PARTIAL_DATA,
    Input.ERROR,
    Input.COMMAND,
    Input.BREAK,
    Input.ACK,
    Input.NAK,
    Input.BAD_FRAME,
)
"""Inputs that come from the peer, in a fixed order (the generated docs must not vary)."""


class ClientState(StrEnum):
    """States of the hand-held unit / head-end."""

    IDLE = "idle"
    AWAIT_WAKE_ACK = "awaiting wake-up ACK"
    AWAIT_IDENTIFICATION = "awaiting identification"
    AWAIT_READOUT = "awaiting readout"
    AWAIT_OPERAND = "awaiting P0 operand"
    AWAIT_PASSWORD_REPLY = "awaiting password reply"
    PROGRAMMING = "programming"
    SETTLING = "letting late replies pass"
    AWAIT_REPLY = "awaiting command reply"
    AWAIT_BINARY_CONFIRM = "awaiting mode E confirmation"
    BINARY = "handed over (mode E)"
    LISTENING = "listening (mode D)"
    AWAIT_SIGN_OFF_ACK = "awaiting B1 ACK"


class MeterState(StrEnum):
    """States of the meter."""

    IDLE = "idle"
    ASLEEP = "asleep (fast wake-up)"
    AWAKE = "awake, awaiting sign-on"
    AWAIT_OPTION = "awaiting option select"
    READOUT_DUE = "readout due"
    AFTER_READOUT = "after readout"
    PROGRAMMING = "programming"
    REPLY_DUE = "reply due"
    SENDING_BLOCKS = "sending partial blocks"
    BINARY = "handed over (mode E)"


C = ClientState
M = MeterState
I = Input  # noqa: E741 - short alias keeps the tables readable

_ACTIVE_CLIENT: Final = (
    C.AWAIT_WAKE_ACK,
    C.AWAIT_IDENTIFICATION,
    C.AWAIT_READOUT,
    C.AWAIT_OPERAND,
    C.AWAIT_PASSWORD_REPLY,
    C.PROGRAMMING,
    C.SETTLING,
    C.AWAIT_REPLY,
    C.AWAIT_BINARY_CONFIRM,
)

_SIGNING_ON: Final = frozenset({C.AWAIT_IDENTIFICATION, C.AWAIT_WAKE_ACK})
"""Where a sign-on (re)starts: the request, or first the fast wake-up bursts."""
_SIGNED_OFF: Final = frozenset({C.IDLE, C.AWAIT_SIGN_OFF_ACK})
"""After B0 at rest at once; after B1 once the meter's ACK came (or did not)."""

CLIENT_TABLE: Final[dict[tuple[ClientState, Input], tuple[str, frozenset[ClientState]]]] = {
    # sign-on
    (C.IDLE, I.READ_OUT): ("start_sign_on", _SIGNING_ON),
    (C.IDLE, I.PROGRAM): ("start_sign_on", _SIGNING_ON),
    (C.IDLE, I.BINARY): ("start_sign_on", _SIGNING_ON),
    (C.IDLE, I.LISTEN): ("start_listening", frozenset({C.LISTENING})),
    # fast wake-up (Annex B.2): NUL bursts until the meter ACKs, for 4.5 s, then a failed attempt
    (C.AWAIT_WAKE_ACK, I.ACK): ("on_wake_ack", frozenset({C.AWAIT_IDENTIFICATION})),
    (C.AWAIT_WAKE_ACK, I.TIMEOUT): ("next_burst", frozenset({C.AWAIT_WAKE_ACK, C.IDLE})),
    **{
        (C.AWAIT_WAKE_ACK, received): ("ignore", frozenset({C.AWAIT_WAKE_ACK}))
        for received in RECEIVED
        if received not in (I.ACK, I.BREAK)
    },
    (C.AWAIT_IDENTIFICATION, I.IDENTIFICATION): (
        "on_identification",
        frozenset({C.AWAIT_READOUT, C.AWAIT_OPERAND, C.AWAIT_BINARY_CONFIRM}),
    ),
    (C.AWAIT_IDENTIFICATION, I.TIMEOUT): ("retry_sign_on", _SIGNING_ON | {C.IDLE}),
    (C.AWAIT_IDENTIFICATION, I.BAD_FRAME): ("retry_sign_on", _SIGNING_ON | {C.IDLE}),
    # readout
    (C.AWAIT_READOUT, I.DATA): (
        "on_readout",
        frozenset({C.IDLE, C.AWAIT_PASSWORD_REPLY, C.PROGRAMMING}),
    ),
    (C.AWAIT_READOUT, I.BAD_FRAME): (
        "on_bad_readout",
        _SIGNING_ON | {C.AWAIT_READOUT, C.IDLE},
    ),
    # a second identification answers a repeated request late: the session goes on
    **{
        (state, I.IDENTIFICATION): ("ignore", frozenset({state}))
        for state in (C.AWAIT_READOUT, C.AWAIT_OPERAND, C.AWAIT_BINARY_CONFIRM)
    },
    # a message that cannot be the answer is a damaged one (a bit flip made ACK of STX...)
    **{
        (C.AWAIT_READOUT, received): ("on_bad_readout", _SIGNING_ON | {C.AWAIT_READOUT, C.IDLE})
        for received in (I.ACK, I.NAK, I.COMMAND, I.ERROR, I.PARTIAL_DATA)
    },
    (C.AWAIT_READOUT, I.TIMEOUT): (
        "on_readout_timeout",
        _SIGNING_ON | {C.IDLE, C.AWAIT_PASSWORD_REPLY, C.PROGRAMMING},
    ),
    # programming mode entry
    (C.AWAIT_OPERAND, I.COMMAND): (
        "on_operand",
        frozenset({C.AWAIT_OPERAND, C.AWAIT_PASSWORD_REPLY, C.PROGRAMMING}),
    ),
    (C.AWAIT_OPERAND, I.TIMEOUT): ("retry_sign_on", _SIGNING_ON | {C.IDLE}),
    **{
        (C.AWAIT_OPERAND, received): ("nak_and_wait", frozenset({C.AWAIT_OPERAND}))
        for received in (I.BAD_FRAME, I.DATA, I.PARTIAL_DATA, I.ERROR, I.ACK, I.NAK)
    },
    (C.AWAIT_PASSWORD_REPLY, I.ACK): ("on_password_accepted", frozenset({C.PROGRAMMING})),
    (C.AWAIT_PASSWORD_REPLY, I.NAK): ("on_password_nak", frozenset({C.AWAIT_PASSWORD_REPLY, C.IDLE})),
    (C.AWAIT_PASSWORD_REPLY, I.ERROR): ("on_password_error", frozenset({C.IDLE})),
    (C.AWAIT_PASSWORD_REPLY, I.TIMEOUT): ("resend_command", frozenset({C.AWAIT_PASSWORD_REPLY, C.IDLE})),
    **{
        (C.AWAIT_PASSWORD_REPLY, received): ("nak_and_wait", frozenset({C.AWAIT_PASSWORD_REPLY}))
        for received in (I.BAD_FRAME, I.DATA, I.PARTIAL_DATA)
    },
    # programming mode
    (C.PROGRAMMING, I.SEND_COMMAND): (
        "send_command",
        frozenset({C.AWAIT_REPLY, C.SETTLING, C.PROGRAMMING}),
    ),
    # after repeating ourselves, duplicate answers may still come: they pass before the next command
    (C.SETTLING, I.TIMEOUT): ("send_settled", frozenset({C.AWAIT_REPLY})),
    **{
        (C.SETTLING, received): ("ignore", frozenset({C.SETTLING}))
        for received in RECEIVED
        if received not in (I.REQUEST, I.IDENTIFICATION, I.BREAK)
    },
    # a meter sends no command but P0 and B0: one arriving now is the late echo of our own
    (C.AWAIT_REPLY, I.COMMAND): ("ignore", frozenset({C.AWAIT_REPLY})),
    (C.AWAIT_PASSWORD_REPLY, I.COMMAND): ("ignore", frozenset({C.AWAIT_PASSWORD_REPLY})),
    # an ACK while partial blocks come in is the late echo of our own: it stays unanswered
    (C.AWAIT_REPLY, I.ACK): ("on_command_ack", frozenset({C.PROGRAMMING, C.AWAIT_REPLY})),
    (C.AWAIT_REPLY, I.NAK): ("resend_command", frozenset({C.AWAIT_REPLY, C.IDLE})),
    (C.AWAIT_REPLY, I.DATA): ("on_command_data", frozenset({C.PROGRAMMING})),
    (C.AWAIT_REPLY, I.PARTIAL_DATA): ("on_partial_block", frozenset({C.AWAIT_REPLY})),
    (C.AWAIT_REPLY, I.ERROR): ("on_command_error", frozenset({C.PROGRAMMING})),
    (C.AWAIT_REPLY, I.BAD_FRAME): ("nak_and_wait", frozenset({C.AWAIT_REPLY, C.IDLE})),
    (C.AWAIT_REPLY, I.IDENTIFICATION): ("nak_and_wait", frozenset({C.AWAIT_REPLY, C.IDLE})),
    (C.AWAIT_REPLY, I.TIMEOUT): ("resend_command", frozenset({C.AWAIT_REPLY, C.IDLE})),
    # mode E
    (C.AWAIT_BINARY_CONFIRM, I.OPTION_SELECT): ("on_binary_confirm", frozenset({C.BINARY})),
    (C.AWAIT_BINARY_CONFIRM, I.TIMEOUT): ("fail_timeout", frozenset({C.IDLE})),
    # mode D
    (C.LISTENING, I.IDENTIFICATION): ("on_push_identification", frozenset({C.LISTENING})),
    (C.LISTENING, I.DATA): ("on_push_data", frozenset({C.LISTENING})),
    (C.LISTENING, I.BAD_FRAME): ("drop_push", frozenset({C.LISTENING})),
    (C.LISTENING, I.END): ("stop_listening", frozenset({C.IDLE})),
    # leaving: the caller may break off, the meter may break off, from any active state
    **{(state, I.END): ("send_break", _SIGNED_OFF) for state in _ACTIVE_CLIENT},
    **{(state, I.BREAK): ("on_meter_break", frozenset({C.IDLE})) for state in _ACTIVE_CLIENT},
    (C.BINARY, I.END): ("forget_binary", frozenset({C.IDLE})),
    # B1 (fast wake-up devices) is acknowledged by the meter: wait for that, but not for long
    (C.AWAIT_SIGN_OFF_ACK, I.ACK): ("signed_off", frozenset({C.IDLE})),
    (C.AWAIT_SIGN_OFF_ACK, I.TIMEOUT): ("signed_off", frozenset({C.IDLE})),
    **{
        (C.AWAIT_SIGN_OFF_ACK, received): ("ignore", frozenset({C.AWAIT_SIGN_OFF_ACK}))
        for received in RECEIVED
        if received is not I.ACK
    },
    # the tail of an earlier session (a late readout, an ACK...) is no answer to a sign-on
    **{
        (C.AWAIT_IDENTIFICATION, received): ("ignore", frozenset({C.AWAIT_IDENTIFICATION}))
        for received in RECEIVED
        if received not in (I.IDENTIFICATION, I.BAD_FRAME)
    },
    # with no command outstanding, a late duplicate reply (after a resend) is dropped
    **{
        (C.PROGRAMMING, received): ("ignore", frozenset({C.PROGRAMMING}))
        for received in (I.DATA, I.PARTIAL_DATA, I.ERROR, I.ACK, I.NAK, I.OPTION_SELECT)
    },
    # at rest, and while listening, stray input (late replies, echoes, noise) is dropped
    **{
        (C.IDLE, received): ("ignore", frozenset({C.IDLE}))
        for received in RECEIVED
    },
    **{
        (C.LISTENING, received): ("ignore", frozenset({C.LISTENING}))
        for received in RECEIVED
        if received not in (I.IDENTIFICATION, I.DATA, I.BAD_FRAME)
    },
}

_REST: Final = (M.IDLE, M.ASLEEP)
"""Where a meter goes when a session ends: asleep if it is a fast wake-up device."""
_WAKING: Final = frozenset({M.AWAKE, M.ASLEEP})

_ACTIVE_METER: Final = (
    M.AWAIT_OPTION,
    M.READOUT_DUE,
    M.AFTER_READOUT,
    M.PROGRAMMING,
    M.REPLY_DUE,
    M.SENDING_BLOCKS,
)

METER_TABLE: Final[dict[tuple[MeterState, Input], tuple[str, frozenset[MeterState]]]] = {
    # at rest a meter listens for a request (or pushes, in mode D) and ignores everything else
    (M.IDLE, I.REQUEST): ("on_request", frozenset({*_REST, M.AWAIT_OPTION, M.READOUT_DUE})),
    (M.IDLE, I.PUSH): ("push", frozenset({M.IDLE})),
    **{
        (M.IDLE, received): ("ignore", frozenset({M.IDLE}))
        for received in (
            I.IDENTIFICATION,
            I.OPTION_SELECT,
            I.DATA,
            I.PARTIAL_DATA,
            I.ERROR,
            I.COMMAND,
            I.BREAK,
            I.ACK,
            I.NAK,
            I.BAD_FRAME,
        )
    },
    # a battery meter (fast wake-up, Annex B.2) sleeps: it hears nothing until a NUL burst of
    # at least 0.5 s has ended, ACKs it, and then takes a sign-on for a while before sleeping again
    **{(M.ASLEEP, received): ("ignore", frozenset({M.ASLEEP})) for received in RECEIVED},
    (M.ASLEEP, I.TIMEOUT): ("wake_timer", _WAKING),
    (M.AWAKE, I.REQUEST): ("on_request", frozenset({*_REST, M.AWAIT_OPTION, M.READOUT_DUE})),
    (M.AWAKE, I.BREAK): ("on_break", frozenset({*_REST})),
    (M.AWAKE, I.TIMEOUT): ("wake_timer", _WAKING),
    **{
        (M.AWAKE, received): ("ignore", frozenset({M.AWAKE}))
        for received in RECEIVED
        if received not in (I.REQUEST, I.BREAK)
    },
    # mode C/E option select
    (M.AWAIT_OPTION, I.OPTION_SELECT): (
        "on_option_select",
        frozenset({M.READOUT_DUE, M.PROGRAMMING, M.BINARY}),
    ),
    (M.AWAIT_OPTION, I.TIMEOUT): ("fall_back_to_mode_a", frozenset({M.READOUT_DUE})),
    (M.AWAIT_OPTION, I.REQUEST): ("on_request", frozenset({*_REST, M.AWAIT_OPTION, M.READOUT_DUE})),
    (M.AWAIT_OPTION, I.ACK): ("fall_back_to_mode_a", frozenset({M.READOUT_DUE})),
    (M.AWAIT_OPTION, I.BAD_FRAME): ("ignore", frozenset({M.AWAIT_OPTION})),
    # readout
    (M.READOUT_DUE, I.SEND_READOUT): ("send_readout", frozenset({M.AFTER_READOUT})),
    (M.AFTER_READOUT, I.NAK): ("repeat_readout", frozenset({M.AFTER_READOUT, *_REST})),
    (M.AFTER_READOUT, I.COMMAND): ("command_after_readout", frozenset({M.REPLY_DUE, *_REST})),
    (M.AFTER_READOUT, I.REQUEST): ("on_request", frozenset({*_REST, M.AWAIT_OPTION, M.READOUT_DUE})),
    (M.AFTER_READOUT, I.TIMEOUT): ("readout_done", frozenset({*_REST})),
    (M.AFTER_READOUT, I.BAD_FRAME): ("ignore", frozenset({M.AFTER_READOUT})),
    # programming
    (M.PROGRAMMING, I.COMMAND): ("on_command", frozenset({M.REPLY_DUE, *_REST})),
    (M.PROGRAMMING, I.BAD_FRAME): ("send_nak", frozenset({M.PROGRAMMING})),
    (M.PROGRAMMING, I.NAK): ("repeat_reply", frozenset({M.PROGRAMMING, M.SENDING_BLOCKS})),
    (M.REPLY_DUE, I.REPLY): ("send_reply", frozenset({M.PROGRAMMING, M.SENDING_BLOCKS, *_REST})),
    (M.REPLY_DUE, I.COMMAND): ("on_command", frozenset({M.REPLY_DUE, *_REST})),
    (M.SENDING_BLOCKS, I.ACK): ("next_block", frozenset({M.SENDING_BLOCKS, M.PROGRAMMING})),
    (M.SENDING_BLOCKS, I.NAK): ("repeat_block", frozenset({M.SENDING_BLOCKS, M.PROGRAMMING})),
    (M.SENDING_BLOCKS, I.COMMAND): ("on_command", frozenset({M.REPLY_DUE, *_REST})),
    (M.SENDING_BLOCKS, I.BAD_FRAME): ("send_nak", frozenset({M.SENDING_BLOCKS})),
    # the meter's inactivity timer runs in every active state
    **{
        (state, I.TIMEOUT): ("return_to_rest", frozenset({*_REST}))
        for state in _ACTIVE_METER
        if state not in (M.AWAIT_OPTION, M.AFTER_READOUT)
    },
    # a new sign-on restarts the session (modes A/B programming runs at 300 Bd, where it is heard)
    **{
        (state, I.REQUEST): ("on_request", frozenset({*_REST, M.AWAIT_OPTION, M.READOUT_DUE}))
        for state in (M.PROGRAMMING, M.REPLY_DUE, M.SENDING_BLOCKS)
    },
    # B0 ends the session from anywhere; B1 (battery devices) is acknowledged first
    **{(state, I.BREAK): ("on_break", frozenset({*_REST})) for state in _ACTIVE_METER},
    (M.BINARY, I.END): ("return_to_rest", frozenset({*_REST})),
}


def render_markdown() -> str:
    """The tables as Markdown, one section per role, for the documentation."""

    def section(title: str, table: dict[tuple[_AnyState, Input], tuple[str, frozenset[_AnyState]]]) -> str:
        rows = [f"## {title}", "", "| state | input | handler | next state(s) |", "|---|---|---|---|"]
        for (state, kind), (handler, targets) in table.items():
            nexts = ", ".join(sorted(t.value for t in targets))
            rows.append(f"| {state.value} | {kind.value} | `{handler}` | {nexts} |")
        return "\n".join(rows)

    intro = (
        "# IEC 62056-21 transition tables\n\n"
        "Generated from `meterlink.iec62056_21._state` by "
        "`python -m meterlink.iec62056_21._state > docs/iec62056-21/state-tables.md`; "
        "a test fails when this page and the code disagree. Any (state, input) pair not listed "
        "is a protocol error: `UnexpectedMessageError` for something received, "
        "`LocalProtocolError` for a call the caller may not make in that state.\n"
    )
    client = section("Client (hand-held unit, head-end)", CLIENT_TABLE)  # type: ignore[arg-type]
    meter = section("Meter", METER_TABLE)  # type: ignore[arg-type]
    return f"{intro}\n{client}\n\n{meter}\n"


_AnyState = ClientState | MeterState

if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_markdown())
