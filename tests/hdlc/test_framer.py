"""The incremental framer: every split, shared flags, garbage, echo, 0x7E in the FCS, bad frames."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlink.errors import ChecksumError, LocalProtocolError, MeterlinkError
from meterlink.hdlc.address import HdlcAddress
from meterlink.hdlc.framer import NEED_DATA, BadFrame, Framer
from meterlink.hdlc.frames import Frame, FrameKind, parse_frame

from .test_frames import FLAG_IN_FCS, KAMSTRUP_ECHO, KMETHY_SNRM, MEM600_DISC

UA_INFO = bytes.fromhex("8180 0c 050180 060180 070101 080101".replace(" ", ""))
UA = Frame(FrameKind.UA, HdlcAddress.client(16), HdlcAddress(1, 17), True, UA_INFO).to_bytes()
BIG = Frame(FrameKind.I, HdlcAddress.client(16), HdlcAddress(1, 17), True, bytes(range(256)) * 2).to_bytes()


def drain(framer: Framer) -> list[Frame | BadFrame]:
    return list(framer)


def frames_of(stream: bytes, cuts: list[int]) -> list[Frame | BadFrame]:
    framer = Framer()
    out: list[Frame | BadFrame] = []
    last = 0
    for cut in [*cuts, len(stream)]:
        framer.feed(stream[last:cut])
        out += drain(framer)
        last = cut
    return out


def test_every_split_of_a_multi_frame_stream() -> None:
    # shared flag between the first two, 7E7E, noise between frames, a 0x7E inside an FCS
    stream = KMETHY_SNRM[:-1] + UA + b"\x7e" + FLAG_IN_FCS + b"\x00\x13\x7e\xa0" + MEM600_DISC + BIG
    expected = [parse_frame(f) for f in (KMETHY_SNRM, UA, FLAG_IN_FCS, MEM600_DISC, BIG)]
    for cut in range(len(stream) + 1):
        assert frames_of(stream, [cut]) == expected, cut
    for a in range(0, len(stream), 7):
        for b in range(a, len(stream), 61):
            assert frames_of(stream, [a, b]) == expected, (a, b)
    assert frames_of(stream, list(range(len(stream)))) == expected  # one byte at a time


def test_leading_garbage_and_false_starts() -> None:
    # noise, a flag before a bad format, 7E7E, a too-short length, then a head with a bad HCS
    garbage = b"\xff\x00\x7e\xa9\x99\x7e\x7e\x7e\xa0\x05" + b"\x7e\xa0\xff\x03\x21\x10"
    framer = Framer()
    framer.feed(garbage + KMETHY_SNRM)
    items = drain(framer)
    assert items[-1] == parse_frame(KMETHY_SNRM)
    assert all(isinstance(item, BadFrame) for item in items[:-1])
    assert framer.discarded >= len(garbage)


def test_bad_fcs_is_reported_and_later_frames_survive() -> None:
    broken = bytearray(FLAG_IN_FCS)
    broken[20] ^= 0x40
    framer = Framer()
    framer.feed(bytes(broken) + MEM600_DISC)
    first, second = drain(framer)
    assert isinstance(first, BadFrame) and isinstance(first.error, ChecksumError)
    assert first.error.data == bytes(broken)
    assert second == parse_frame(MEM600_DISC)


def test_bad_hcs_is_reported_and_resynchronised() -> None:
    broken = bytearray(BIG)
    broken[5] ^= 0x01  # the control byte: the HCS no longer matches
    framer = Framer()
    framer.feed(bytes(broken[:20]))
    (first,) = drain(framer)
    assert isinstance(first, BadFrame) and isinstance(first.error, ChecksumError)
    framer.feed(bytes(broken[20:]) + KMETHY_SNRM)
    assert drain(framer)[-1] == parse_frame(KMETHY_SNRM)


def test_cut_frame_followed_by_a_good_one() -> None:
    framer = Framer()
    framer.feed(BIG[:100] + KMETHY_SNRM)
    assert framer.next_frame() is NEED_DATA  # the long frame might still be coming...
    framer.feed(bytes(600))
    items = drain(framer)  # ...until its length leads past a closing flag: resync finds the SNRM
    assert parse_frame(KMETHY_SNRM) in items


def test_echo_of_our_own_frames_is_dropped() -> None:
    framer = Framer()
    framer.expect_echo(KAMSTRUP_ECHO)
    framer.feed(KAMSTRUP_ECHO[:4])
    assert framer.next_frame() is NEED_DATA
    framer.feed(KAMSTRUP_ECHO[4:] + UA)
    assert drain(framer) == [parse_frame(UA)]
    assert framer.echoes_dropped == 1
    # once the peer answered, an identical frame is the peer's
    framer.feed(KAMSTRUP_ECHO)
    assert drain(framer) == [parse_frame(KAMSTRUP_ECHO)]
    off = Framer(drop_echo=False)
    off.expect_echo(KAMSTRUP_ECHO)
    off.feed(KAMSTRUP_ECHO)
    assert drain(off) == [parse_frame(KAMSTRUP_ECHO)]


def test_bounded_buffer() -> None:
    framer = Framer(max_buffer=5000)
    framer.feed(bytes(6000))
    (report,) = drain(framer)
    assert isinstance(report, BadFrame)
    assert framer.buffered == 0
    framer.feed(KMETHY_SNRM)
    assert drain(framer) == [parse_frame(KMETHY_SNRM)]
    with pytest.raises(LocalProtocolError):
        Framer(max_buffer=100)


def test_many_frames_in_one_feed() -> None:
    framer = Framer()
    framer.feed(BIG * 40)
    assert len(drain(framer)) == 40
    assert framer.buffered == 1  # the last closing flag may open another frame


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.binary(max_size=30) | st.sampled_from([KMETHY_SNRM, UA, FLAG_IN_FCS, b"\x7e", b"\x7e\xa0"]),
        max_size=8,
    )
)
def test_fuzz(chunks: list[bytes]) -> None:
    framer = Framer()
    for chunk in chunks:
        framer.feed(chunk)
        try:
            drain(framer)
        except MeterlinkError:  # pragma: no cover - the framer reports, it should not raise
            raise AssertionError("the framer raised instead of reporting") from None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.binary(max_size=40))
def test_good_frames_survive_noise(before: bytes, between: bytes) -> None:
    framer = Framer()
    # noise without flags can never hide a frame (a stray flag could start a bogus candidate)
    framer.feed(before.replace(b"\x7e", b"") + KMETHY_SNRM + between.replace(b"\x7e", b"") + FLAG_IN_FCS)
    frames = [item for item in drain(framer) if isinstance(item, Frame)]  # noise may be reported
    assert frames == [parse_frame(KMETHY_SNRM), parse_frame(FLAG_IN_FCS)]
