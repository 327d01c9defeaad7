"""Wired M-Bus long frames (EN 13757-2) with DLMS segmentation: real Austrian captures and edge cases."""

from __future__ import annotations

import contextlib
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import ChecksumError, LocalProtocolError, MalformedDataError
from meterlink.mbus import (
    BadMbusFrame,
    DlmsSegmenter,
    LongFrame,
    MbusFramer,
    MbusReceiver,
    NeedData,
    encode_apdu,
    read_frame,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dlms"


def _capture(name: str) -> bytes:
    raw = tomllib.loads((FIXTURES / f"{name}.toml").read_text(encoding="utf-8"))
    return bytes.fromhex("".join(raw["hex"].split()))


NETZNOE = _capture("amshan_test_wiredmb_netznoe")
SAGEMCOM = _capture("amshan_test_wiredmb_sagemcom")


def _drain(receiver: MbusReceiver) -> list[bytes | BadMbusFrame]:
    out: list[bytes | BadMbusFrame] = []
    while not isinstance(item := receiver.next_event(), NeedData):
        out.append(item)
    return out


def test_netznoe_push_is_two_segments_of_one_general_glo_ciphering_apdu() -> None:
    receiver = MbusReceiver()
    receiver.feed(NETZNOE)
    apdus = _drain(receiver)
    assert receiver.frames == 2
    assert len(apdus) == 1 and isinstance(apdus[0], bytes)
    apdu = apdus[0]
    assert apdu[:10] == bytes.fromhex("db084b464d6750000009")  # general-glo-ciphering, title KFMg...
    assert len(apdu) == 245 - 2 + 15 + 2  # both pieces without their SAPs: tag, title, 81 F8, content
    assert receiver.framer.length_overflows == 0 and receiver.segmenter.orphans == 0


def test_sagemcom_low_byte_length_and_orphan_segment() -> None:
    """68 01 01 68 announces 257 bytes; the stream starts with the tail of an earlier push."""
    receiver = MbusReceiver()
    receiver.feed(SAGEMCOM)
    apdus = _drain(receiver)
    assert receiver.frames == 7
    assert receiver.framer.length_overflows == 3
    assert receiver.segmenter.orphans == 1
    assert [a[:10].hex() for a in apdus if isinstance(a, bytes)] == ["db085341475905e6d9fd"] * 3
    counters = [int.from_bytes(a[13:17], "big") for a in apdus if isinstance(a, bytes)]
    assert counters == [6934864, 6934865, 6934866]


@pytest.mark.parametrize("size", [1, 3, 64, 1000])
def test_chunking_does_not_matter(size: int) -> None:
    whole = MbusReceiver()
    whole.feed(SAGEMCOM)
    expected = _drain(whole)
    receiver = MbusReceiver()
    got: list[bytes | BadMbusFrame] = []
    for at in range(0, len(SAGEMCOM), size):
        receiver.feed(SAGEMCOM[at : at + size])
        got.extend(_drain(receiver))
    assert got == expected


def test_noise_acks_and_short_frames_between_pushes_are_skipped() -> None:
    noise = b"\xe5\x10\x40\xfe\x3e\x16\x00\x68\x99"
    receiver = MbusReceiver()
    receiver.feed(noise + NETZNOE + noise + NETZNOE)
    apdus = [a for a in _drain(receiver) if isinstance(a, bytes)]
    assert len(apdus) == 2 and apdus[0] == apdus[1]
    assert receiver.framer.discarded >= 2 * len(noise) - 2


def test_round_trip_of_a_frame_and_read_frame_offsets() -> None:
    frame = LongFrame(0x53, 0xFF, 0x10, b"\x01\x67hello")
    raw = frame.to_bytes()
    assert raw[:4] == bytes((0x68, 10, 10, 0x68)) and raw[-1] == 0x16
    assert raw[-2] == sum(raw[4:-2]) & 0xFF
    assert LongFrame.from_bytes(raw) == frame
    assert (frame.segment, frame.last, frame.stsap, frame.dtsap, frame.payload) == (
        0,
        True,
        1,
        0x67,
        b"hello",
    )
    parsed, end, overflow = read_frame(b"\x00" + raw, 1)
    assert (parsed, end, overflow) == (frame, len(raw) + 1, False)


def test_encode_apdu_segments_like_the_meters_and_reassembles() -> None:
    apdu = bytes(range(256)) * 2
    frames = encode_apdu(apdu, max_piece=200)
    assert [f[6] for f in frames] == [0x00, 0x01, 0x12]  # CI: segment numbers, FIN on the last
    receiver = MbusReceiver()
    receiver.feed(b"".join(frames))
    assert _drain(receiver) == [apdu]
    single = encode_apdu(b"\x0f\x00\x00\x00\x01\x00\x00")
    assert len(single) == 1 and single[0][6] == 0x10


def test_large_frame_reencodes_with_the_low_byte_quirk() -> None:
    frame = LongFrame(0x53, 0xFF, 0x00, bytes(254))  # 257 bytes from C
    raw = frame.to_bytes()
    assert raw[1:3] == b"\x01\x01"
    assert read_frame(raw) == (frame, len(raw), True)


def test_bad_checksum_is_reported_and_the_stream_goes_on() -> None:
    good = encode_apdu(b"\x0f\x00\x00\x00\x07\x00\x00")[0]
    bad = bytearray(good)
    bad[-2] ^= 0xFF
    receiver = MbusReceiver()
    receiver.feed(bytes(bad) + good)
    items = _drain(receiver)
    assert isinstance(items[0], BadMbusFrame) and isinstance(items[0].error, ChecksumError)
    assert items[-1] == b"\x0f\x00\x00\x00\x07\x00\x00"
    with pytest.raises(ChecksumError):
        LongFrame.from_bytes(bytes(bad))


def test_segment_out_of_sequence_drops_the_apdu() -> None:
    frames = encode_apdu(bytes(600), max_piece=200)
    segmenter = DlmsSegmenter()
    assert segmenter.add(LongFrame.from_bytes(frames[0])) is None
    with pytest.raises(MalformedDataError):
        segmenter.add(LongFrame.from_bytes(frames[2]))
    assert not segmenter.in_progress
    assert segmenter.add(LongFrame.from_bytes(frames[1])) is None  # now an orphan
    assert segmenter.orphans == 1


def test_caller_errors() -> None:
    with pytest.raises(LocalProtocolError):
        LongFrame(0x153, 0, 0)
    with pytest.raises(LocalProtocolError):
        encode_apdu(b"")
    with pytest.raises(LocalProtocolError):
        encode_apdu(bytes(5000))
    with pytest.raises(MalformedDataError):
        LongFrame.from_bytes(b"\x68\x03\x03")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_random_bytes_never_raise_from_the_stream_receiver(data: bytes, chunk: int) -> None:
    receiver = MbusReceiver()
    for at in range(0, len(data), chunk):
        receiver.feed(data[at : at + chunk])
        _drain(receiver)
    assert receiver.framer.buffered <= len(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_meterlink_errors_from_read_frame(data: bytes) -> None:
    with contextlib.suppress(MalformedDataError, ChecksumError):
        read_frame(b"\x68" + data)


def test_framer_iteration_stops_at_need_data() -> None:
    framer = MbusFramer()
    framer.feed(NETZNOE[:100])
    assert list(framer) == []
    framer.feed(NETZNOE[100:])
    assert len(list(framer)) == 2


def test_long_frame_with_0x16_where_the_short_reading_stops_is_not_taken_for_damage() -> None:
    """Sagemcom writes only the low byte of the length; when the byte where the short reading
    would stop happens to be 0x16 (1 frame in 256), the frame is still read whole."""
    data = bytearray(i % 251 for i in range(260))  # 263 bytes from C: the length field says 0x07
    n = (3 + len(data)) & 0xFF
    data[n - 2] = 0x16  # the short reading's "stop byte"
    frame = LongFrame(0x53, 0xFF, 0x11, bytes(data))
    raw = frame.to_bytes()
    assert raw[5 + n] == 0x16 and raw[1] == n
    assert read_frame(raw) == (frame, len(raw), True)
    receiver = MbusReceiver()
    receiver.feed(raw)
    assert not any(isinstance(item, BadMbusFrame) for item in _drain(receiver))
    assert receiver.framer.length_overflows == 1
