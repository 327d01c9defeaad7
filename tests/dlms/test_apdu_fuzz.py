"""Fuzzing decode_apdu: random bytes and mutations of valid APDUs; only MeterlinkError may escape."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.dlms.apdu import decode_apdu
from meterlink.errors import MeterlinkError

from .test_apdu_acse import KAMSTRUP_AARE, KAMSTRUP_AARQ, LG_REJECT
from .test_apdu_xdlms import VECTORS

SEEDS = [bytes.fromhex(raw) for raw, _apdu in VECTORS] + [KAMSTRUP_AARQ, KAMSTRUP_AARE, LG_REJECT]


def _decode_or_clean_error(data: bytes) -> None:
    try:
        apdu = decode_apdu(data)
    except MeterlinkError:
        return
    # Whatever decodes must encode again, to bytes that decode to the same APDU.
    assert decode_apdu(apdu.to_bytes()) == apdu


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes(data: bytes) -> None:
    _decode_or_clean_error(data)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        sorted(
            {
                0x01,
                0x08,
                0x0E,
                0x0F,
                0x60,
                0x61,
                0x62,
                0x63,
                0xC0,
                0xC1,
                0xC2,
                0xC3,
                0xC4,
                0xC5,
                0xC7,
                0xD8,
                0xE0,
            }
        )
    ),
    st.binary(max_size=64),
)
def test_known_tag_random_body(tag: int, body: bytes) -> None:
    _decode_or_clean_error(bytes((tag,)) + body)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "cut":
            del data[draw(st.integers(0, len(data))) :]
        elif not data:
            continue
        elif action == "flip":
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif action == "insert":
            data.insert(draw(st.integers(0, len(data))), draw(st.integers(0, 255)))
        else:
            del data[draw(st.integers(0, len(data) - 1))]
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(_mutated())
def test_mutated_valid_apdus(data: bytes) -> None:
    _decode_or_clean_error(data)


def test_every_truncation_of_every_seed() -> None:
    for seed in SEEDS:
        for end in range(len(seed)):
            _decode_or_clean_error(seed[:end])
