"""Fuzzing the security decoders: only meterlink errors may escape, and protect/unprotect round-trip."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlink.dlms.security import (
    CipheredKind,
    GeneralCipheringHeader,
    HlsParameters,
    InvocationCounters,
    KeyInfo,
    KeyInfoChoice,
    Mechanism,
    parse_ciphered,
    parse_global_key_transfer,
    protect,
    unprotect,
    unwrap_key,
    verify_client_response,
    verify_server_response,
)
from meterlink.errors import AuthenticationError, MeterlinkError

EK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AK = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
ST = bytes.fromhex("4D4D4D0000BC614E")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAGS = [0xC8, 0xCC, 0xD0, 0xD7, 0x21, 0x28, 0x4E, 0xDB, 0xDC, 0xDD]


def _valid(kind: CipheredKind, sc: int, plain: bytes) -> bytes:
    general = (
        GeneralCipheringHeader(b"\x00" * 8, ST, b"", b"", KeyInfo(KeyInfoChoice.IDENTIFIED_KEY, 0))
        if kind is CipheredKind.GENERAL_CIPHERING
        else None
    )
    return protect(
        b"\xc4" + plain,
        kind=kind,
        security_control=sc,
        system_title=ST,
        invocation_counter=1,
        key=EK,
        auth_key=AK,
        general=general,
    )


@FUZZ
@given(st.binary(max_size=80))
def test_parse_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(MeterlinkError):
        parse_ciphered(data)


@FUZZ
@given(st.sampled_from(TAGS), st.binary(max_size=80))
def test_parse_and_unprotect_bytes_behind_a_real_tag(tag: int, rest: bytes) -> None:
    data = bytes((tag,)) + rest
    try:
        parse_ciphered(data)
        unprotect(data, key=EK, auth_key=AK, system_title=ST)
    except MeterlinkError:
        pass


@FUZZ
@given(
    st.sampled_from(list(CipheredKind)),
    st.sampled_from([0x10, 0x20, 0x30]),
    st.binary(max_size=40),
    st.data(),
)
def test_mutated_envelopes(kind: CipheredKind, sc: int, plain: bytes, data: st.DataObject) -> None:
    wire = bytearray(_valid(kind, sc, plain))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(wire) - 1))
        wire[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    with contextlib.suppress(MeterlinkError):
        unprotect(bytes(wire[:cut]), key=EK, auth_key=AK, system_title=ST)


@FUZZ
@given(
    st.sampled_from(list(CipheredKind)),
    st.sampled_from([0x10, 0x20, 0x30]),
    st.binary(max_size=300),
    st.integers(0, 0xFFFFFFFF),
)
def test_round_trip(kind: CipheredKind, sc: int, plain: bytes, counter: int) -> None:
    general = (
        GeneralCipheringHeader(counter.to_bytes(8, "big"), ST, b"", b"x")
        if kind is CipheredKind.GENERAL_CIPHERING
        else None
    )
    apdu = b"\xc0" + plain
    wire = protect(
        apdu,
        kind=kind,
        security_control=sc,
        system_title=ST,
        invocation_counter=counter,
        key=EK,
        auth_key=AK,
        general=general,
    )
    parsed, back = unprotect(wire, key=EK, auth_key=AK, system_title=ST)
    assert back == apdu and parsed.invocation_counter == counter and parsed.to_bytes() == wire


@FUZZ
@given(st.binary(max_size=120))
def test_key_transfer_and_unwrap(data: bytes) -> None:
    for call in (lambda: parse_global_key_transfer(b"\x01" + data, EK), lambda: unwrap_key(EK, data)):
        with contextlib.suppress(MeterlinkError):
            call()


@FUZZ
@given(st.sampled_from([3, 4, 5, 6]), st.binary(max_size=40))
def test_hls_verification_raises_only_authentication_error(mechanism: int, response: bytes) -> None:
    params = HlsParameters(
        client_challenge=b"C" * 16,
        server_challenge=b"S" * 16,
        secret=b"secret",
        client_system_title=ST,
        server_system_title=ST[::-1],
        key=EK,
        auth_key=AK,
    )
    for verify in (verify_client_response, verify_server_response):
        with contextlib.suppress(AuthenticationError):
            verify(Mechanism(mechanism), params, response)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["send", "received", "other"]),
        st.dictionaries(
            st.text(max_size=3), st.one_of(st.integers(-2, 1 << 33), st.text(max_size=2)), max_size=3
        ),
        max_size=3,
    )
)
def test_counters_from_persisted_data(data: dict[str, dict[str, object]]) -> None:
    with contextlib.suppress(MeterlinkError):
        InvocationCounters.from_dict(data)  # type: ignore[arg-type]
