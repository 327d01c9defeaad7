"""Hostile APDUs into both association roles, in every state a real exchange passes through.

Only :class:`~meterlink.errors.MeterlinkError` subclasses may escape, and after an error the
machine must still be in one of its states (it keeps working or reports the association gone).
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms._state import State
from meterlink.dlms.association import ClientAssociation, ServerAssociation
from meterlink.dlms.security import Mechanism, SecurityPolicy
from meterlink.errors import MeterlinkError

from .test_association import BUFFER, ENERGY, Pair, pair

FUZZ = settings(max_examples=300, deadline=None)


def recorded(mechanism: Mechanism, policy: SecurityPolicy) -> tuple[list[bytes], list[bytes]]:
    """The APDUs of a real session (client->server, server->client) to mutate."""
    p = pair(mechanism, policy, client={"max_receive_pdu_size": 128})
    p.associate()
    p.client.get(ENERGY)
    p.pump()
    p.client.get(BUFFER)
    p.pump()
    p.client.release()
    p.pump()
    to_server = [a for way, a in p.traffic if way == "c>s"]
    to_client = [a for way, a in p.traffic if way == "s>c"]
    return to_server, to_client


SESSIONS = [
    recorded(Mechanism.NONE, SecurityPolicy.NONE),
    recorded(Mechanism.HLS_GMAC, SecurityPolicy.AUTHENTICATED_ENCRYPTED),
    recorded(Mechanism.LLS, SecurityPolicy.NONE),
]


def mutate(data: bytes, where: int, how: int, value: int) -> bytes:
    if not data:
        return bytes((value,))
    where %= len(data)
    if how == 0:
        return data[:where] + bytes((value,)) + data[where + 1 :]
    if how == 1:
        return data[:where] + bytes((value,)) + data[where:]
    if how == 2:
        return data[:where] + data[where + 1 :]
    return data[:where]


def advanced(session: int, steps: int) -> Pair:
    """A pair in the middle of its session: ``steps`` client requests already answered."""
    mechanism, policy = [
        (Mechanism.NONE, SecurityPolicy.NONE),
        (Mechanism.HLS_GMAC, SecurityPolicy.AUTHENTICATED_ENCRYPTED),
        (Mechanism.LLS, SecurityPolicy.NONE),
    ][session]
    p = pair(mechanism, policy, client={"max_receive_pdu_size": 128})
    if steps >= 1:
        p.associate()
    if steps >= 2:
        p.client.get(BUFFER)
        p.client.data_to_send()  # the request is out; the client awaits blocks
    return p


def survive(target: ClientAssociation | ServerAssociation, apdus: list[bytes]) -> None:
    for apdu in apdus:
        with contextlib.suppress(MeterlinkError):
            target.receive_apdu(apdu)
        assert isinstance(target.state, State)
        target.data_to_send()
        target.events()


@FUZZ
@given(
    session=st.integers(0, 2),
    steps=st.integers(0, 2),
    picks=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 4096), st.integers(0, 3), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_session_apdus(session: int, steps: int, picks: list[tuple[int, int, int, int]]) -> None:
    to_server, to_client = SESSIONS[session]
    p = advanced(session, steps)
    survive(p.client, [mutate(to_client[i % len(to_client)], w, h, v) for i, w, h, v in picks])
    survive(p.server, [mutate(to_server[i % len(to_server)], w, h, v) for i, w, h, v in picks])


@FUZZ
@given(session=st.integers(0, 2), steps=st.integers(0, 2), blobs=st.lists(st.binary(max_size=80), max_size=5))
def test_random_apdus(session: int, steps: int, blobs: list[bytes]) -> None:
    p = advanced(session, steps)
    survive(p.client, blobs)
    survive(p.server, blobs)


@FUZZ
@given(session=st.integers(0, 2), cut=st.integers(0, 200))
def test_truncated_apdus(session: int, cut: int) -> None:
    to_server, to_client = SESSIONS[session]
    p = advanced(session, 1)
    survive(p.client, [a[:cut] for a in to_client])
    survive(p.server, [a[:cut] for a in to_server])
