"""Tests for :mod:`meterlink.obis`: every printed form, exact-text round trips, strict equality."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlink.errors import ObisError
from meterlink.obis import Obis

N = None

# (text as printed, expected groups a..f)
FORMS: list[tuple[str, tuple[int | None, ...]]] = [
    # full form, both storage separators, F absent
    ("1-0:1.8.0*255", (1, 0, 1, 8, 0, 255)),
    ("1-0:1.8.0.255", (1, 0, 1, 8, 0, 255)),
    ("1-0:1.8.0", (1, 0, 1, 8, 0, N)),
    ("0-1:24.2.1", (0, 1, 24, 2, 1, N)),
    ("1-0:99.97.0", (1, 0, 99, 97, 0, N)),
    ("0-0:96.1.255*255", (0, 0, 96, 1, 255, 255)),
    ("1-0:1.8.0*100", (1, 0, 1, 8, 0, 100)),
    ("1-0:32.7.0", (1, 0, 32, 7, 0, N)),
    # six-group DLMS form
    ("1.0.1.8.0.255", (1, 0, 1, 8, 0, 255)),
    ("0.0.40.0.0.255", (0, 0, 40, 0, 0, 255)),
    # IEC 62056-21 short forms
    ("1.8.0", (N, N, 1, 8, 0, N)),
    ("1.8.0*24", (N, N, 1, 8, 0, 24)),
    ("1.8.1*01", (N, N, 1, 8, 1, 1)),
    ("1.8.0*1", (N, N, 1, 8, 0, 1)),
    ("0.9.1", (N, N, 0, 9, 1, N)),
    ("96.1.255", (N, N, 96, 1, 255, N)),
    ("32.7", (N, N, 32, 7, N, N)),
    # EDIS letters C=96, F=97, L=98, P=99
    ("C.1.0", (N, N, 96, 1, 0, N)),
    ("C.1", (N, N, 96, 1, N, N)),
    ("F.F", (N, N, 97, 97, N, N)),
    ("P.01", (N, N, 99, 1, N, N)),
    ("P.98", (N, N, 99, 98, N, N)),
    ("L.1", (N, N, 98, 1, N, N)),
    ("C.1.F", (N, N, 96, 1, 97, N)),
    ("0-0:C.1.0*255", (0, 0, 96, 1, 0, 255)),
    ("0-0:F.F", (0, 0, 97, 97, N, N)),
]

NOT_OBIS = [
    "",
    "3:171.0",  # LIS-200 instance:register.attribute
    "2:310.0",
    "4:171.0",
    "VOLTA",  # Energomera names
    "ET0PE",
    "CURRE",
    "C003",  # Annex C hex codes
    "D000",
    "(1.8.0)",
    "1.8.0(",
    "1.8.0()",
    "1.8.0(001234.5*kWh)",
    "[1.8.0]",
    "1.8.0.255",  # four bare dotted groups: ambiguous
    "1.0.1.8.0",  # five
    "1.0.1.8.0.255.1",
    "1-0:1.8.0.255.1",
    "1-0:1.8.0*255*1",
    "256.8.0",
    "1.8.0*256",
    "1-0:1.8.0.999",
    "0001.8.0",
    "1",
    "1.",
    ".8.0",
    "1..0",
    "1-0",
    "1-0:",
    "1-0:1",
    "1:1.8.0",  # B without A
    "1-:1.8.0",
    "-0:1.8.0",
    "1.8*1",  # F without E
    "1.8.0*",
    "1-0:1.8.0*",
    " 1.8.0",
    "1.8.0 ",
    "1.8.0\n",
    "1.8.0\r\n",
    "c.1.0",
    "f.f",
    "X.1",
    "CF.1",
    "1-0:1.8.0*C",
    "C-0:1.8.0",
    "1-F:1.8.0",
    "1.0.C.1.0.255",
    "1.8.0&01",
    "\u0661.\u0668.\u0660",  # Arabic-Indic digits are digits to str.isdigit, not to OBIS
    "１.８.０",  # fullwidth digits
    "1" * 1000,
    "1.8.0" * 10,
]


def _groups(obis: Obis) -> tuple[int | None, ...]:
    return (obis.a, obis.b, obis.c, obis.d, obis.e, obis.f)


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "groups"), FORMS)
def test_parse_forms(text: str, groups: tuple[int | None, ...]) -> None:
    obis = Obis.parse(text)
    assert _groups(obis) == groups
    assert obis.groups == groups
    assert Obis.try_parse(text) == obis


@pytest.mark.parametrize(("text", "groups"), FORMS)
def test_exact_text_round_trip(text: str, groups: tuple[int | None, ...]) -> None:
    obis = Obis.parse(text)
    assert str(obis) == text
    assert obis.text == text
    assert repr(obis) == f"Obis({text!r})"
    assert Obis.parse(obis.canonical) == obis


def test_repr() -> None:
    assert repr(Obis.parse("1.8.0*24")) == "Obis('1.8.0*24')"
    assert str(Obis.parse("1.8.1*01")) == "1.8.1*01"


@pytest.mark.parametrize("text", NOT_OBIS)
def test_not_obis_rejected(text: str) -> None:
    assert Obis.try_parse(text) is None
    with pytest.raises(ObisError):
        Obis.parse(text)


@pytest.mark.parametrize("text", [t for t in NOT_OBIS if 0 < len(t) <= 40])
def test_error_message_names_text_and_position(text: str) -> None:
    with pytest.raises(ObisError) as info:
        Obis.parse(text)
    message = str(info.value)
    assert repr(text) in message
    assert "position" in message
    assert "does not have the shape" not in message  # every rejection gets a specific reason


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("3:171.0", 1, "':'"),
        ("1.8.0(", 5, "'('"),
        ("1.8.0*256", 6, "out of range"),
        ("1-0:1.8.0*256", 10, "out of range"),
        ("1..0", 2, "empty"),
        ("C003", 0, "'C003'"),
        ("VOLTA", 0, "'V'"),
        ("1.8.0.255", 0, "ambiguous"),
        ("1.0.1.8.0", 0, "ambiguous"),
        ("1-0:1.8.0*C", 10, "value group F"),
        ("1.8*1", 3, "'*'"),
        ("1-0", 3, "too early"),
        ("", 0, "empty"),
    ],
)
def test_error_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ObisError, match=r"\(position (\d+)\)$") as info:
        Obis.parse(text)
    message = str(info.value)
    assert message.endswith(f"(position {position})")
    assert fragment in message


def test_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="not an OBIS code"):
        Obis.parse("3:171.0")


def test_long_text_message_is_shortened() -> None:
    with pytest.raises(ObisError) as info:
        Obis.parse("1" * 10_000)
    assert len(str(info.value)) < 200


def test_non_str_input() -> None:
    assert Obis.try_parse(None) is None  # type: ignore[arg-type]
    assert Obis.try_parse(b"1.8.0") is None  # type: ignore[arg-type]
    assert Obis.try_parse(["1.8.0"]) is None  # type: ignore[arg-type]
    with pytest.raises(ObisError):
        Obis.parse(b"1.8.0")  # type: ignore[arg-type]


def test_try_parse_is_cached() -> None:
    first = Obis.try_parse("1-0:1.8.0*255")
    assert first is not None
    assert Obis.try_parse("1-0:1.8.0*255") is first


# -- equality --------------------------------------------------------------------------------


def test_storage_is_not_ignored() -> None:
    assert Obis.parse("1.8.0*1") != Obis.parse("1.8.0")
    assert Obis.parse("1.8.0") != Obis.parse("1.8.0*0")
    assert Obis.parse("1.8.0") != Obis.parse("1.8.0*255")
    assert Obis.parse("1.8.0") != Obis.parse("1-0:1.8.0")
    assert Obis.parse("1.8.0") != Obis.parse("0-0:1.8.0")
    assert Obis.parse("C.1") != Obis.parse("C.1.0")


def test_equal_codes_from_every_form() -> None:
    forms = [
        Obis.parse("1-0:1.8.0*255"),
        Obis.parse("1-0:1.8.0.255"),
        Obis.parse("1.0.1.8.0.255"),
        Obis.parse("001-000:001.008.000*255"),
        Obis.from_bytes(b"\x01\x00\x01\x08\x00\xff"),
        Obis.from_groups(1, 0, 1, 8, 0, 255),
        Obis(1, 0, 1, 8, 0, 255),
    ]
    assert all(obis == forms[0] for obis in forms)
    assert len({hash(obis) for obis in forms}) == 1
    assert len(set(forms)) == 1
    assert [str(obis) for obis in forms[:4]] == [
        "1-0:1.8.0*255",
        "1-0:1.8.0.255",
        "1.0.1.8.0.255",
        "001-000:001.008.000*255",
    ]


def test_text_is_not_compared() -> None:
    assert Obis.parse("1.8.1*01") == Obis.parse("1.8.1*1")
    assert Obis.parse("F.F") == Obis.parse("97.97")
    assert Obis.parse("C.1.0") == Obis.parse("96.1.0")
    assert Obis.parse("0-0:C.1.0*255") == Obis.parse("0.0.96.1.0.255")
    assert Obis.parse("P.01") == Obis.parse("99.1")


def test_not_equal_to_other_types() -> None:
    others: list[object] = ["1.8.0", (1, 0, 1, 8, 0, 255), None]
    assert all(Obis.parse("1.8.0") != other for other in others)
    assert all(Obis.parse("1.0.1.8.0.255") != other for other in others)


def test_usable_as_dict_key() -> None:
    values = {Obis.parse("1-0:1.8.0*255"): 1}
    assert values[Obis.parse("1.0.1.8.0.255")] == 1
    assert Obis.parse("1.8.0") not in values


# -- bytes -----------------------------------------------------------------------------------


def test_from_bytes() -> None:
    obis = Obis.from_bytes(b"\x01\x00\x01\x08\x00\xff")
    assert obis.groups == (1, 0, 1, 8, 0, 255)
    assert str(obis) == "1-0:1.8.0*255"
    assert obis.to_bytes() == b"\x01\x00\x01\x08\x00\xff"
    assert Obis.from_bytes(bytearray(b"\x00\x00\x01\x00\x00\xff")).canonical == "0-0:1.0.0*255"
    assert Obis.from_bytes(memoryview(b"\x00\x00\x28\x00\x00\xff")).dotted == "0.0.40.0.0.255"


@pytest.mark.parametrize("data", [b"", b"\x01", b"\x01\x00\x01\x08\x00", b"\x01\x00\x01\x08\x00\xff\x00"])
def test_from_bytes_wrong_length(data: bytes) -> None:
    with pytest.raises(ObisError, match="exactly 6 bytes"):
        Obis.from_bytes(data)


def test_from_bytes_wrong_type() -> None:
    with pytest.raises(ObisError):
        Obis.from_bytes("1.8.0")  # type: ignore[arg-type]
    with pytest.raises(ObisError):
        Obis.from_bytes([1, 0, 1, 8, 0, 255])  # type: ignore[arg-type]
    view = memoryview(b"\x01\x00\x01\x08\x00\xff")
    view.release()
    with pytest.raises(ObisError):
        Obis.from_bytes(view)


def test_to_bytes_needs_complete_code() -> None:
    with pytest.raises(ObisError, match=r"'1\.8\.0'.*A, B, F"):
        Obis.parse("1.8.0").to_bytes()
    with pytest.raises(ObisError, match="complete"):
        _ = Obis.parse("F.F").dotted


# -- views, completion, matching ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1-0:1.8.0*255", "1-0:1.8.0*255"),
        ("1-0:1.8.0.255", "1-0:1.8.0*255"),
        ("1.0.1.8.0.255", "1-0:1.8.0*255"),
        ("1.8.1*01", "1.8.1*1"),
        ("1.8.0", "1.8.0"),
        ("F.F", "97.97"),
        ("C.1", "96.1"),
        ("P.01", "99.1"),
        ("0-0:C.1.0*255", "0-0:96.1.0*255"),
        ("0-1:24.2.1", "0-1:24.2.1"),
    ],
)
def test_canonical(text: str, canonical: str) -> None:
    assert Obis.parse(text).canonical == canonical


def test_dotted_and_is_complete() -> None:
    assert Obis.parse("1-0:1.8.0*255").dotted == "1.0.1.8.0.255"
    assert Obis.parse("1-0:1.8.0*255").is_complete
    assert not Obis.parse("1-0:1.8.0").is_complete
    assert not Obis.parse("1.8.0").is_complete


def test_complete() -> None:
    short = Obis.parse("1.8.0")
    full = short.complete()
    assert full == Obis.parse("1-0:1.8.0*255")
    assert full.is_complete
    assert str(full) == "1-0:1.8.0*255"
    assert short.complete(a=1, b=0, f=255).to_bytes() == b"\x01\x00\x01\x08\x00\xff"
    # present groups win over defaults
    assert Obis.parse("1.8.0*3").complete(f=255).f == 3
    assert Obis.parse("0-1:24.2.1").complete() == Obis.parse("0-1:24.2.1*255")
    # abstract objects: the caller knows the medium
    assert Obis.parse("F.F").complete(a=0) == Obis.parse("0.0.97.97.0.255")
    assert Obis.parse("C.1.0").complete(a=0).canonical == "0-0:96.1.0*255"
    with pytest.raises(ObisError):
        short.complete(f=256)


def test_matches_exact_by_default() -> None:
    short = Obis.parse("1.8.0")
    assert short.matches(Obis.parse("1.8.0"))
    assert not short.matches(Obis.parse("1.8.0*1"))
    assert not short.matches(Obis.parse("1-0:1.8.0*255"))
    assert short.matches("1.8.0")


def test_matches_wildcard() -> None:
    short = Obis.parse("1.8.0")
    assert short.matches(Obis.parse("1-0:1.8.0*255"), wildcard=True)
    assert Obis.parse("1-0:1.8.0*255").matches(short, wildcard=True)
    assert short.matches("1.8.0*1", wildcard=True)
    assert not Obis.parse("1.8.0*1").matches("1.8.0*2", wildcard=True)
    assert not short.matches("1.8.1", wildcard=True)
    assert not short.matches("2-0:1.8.1*255", wildcard=True)
    assert Obis.parse("C.1").matches("0-0:96.1.0*255", wildcard=True)


def test_matches_bad_argument() -> None:
    with pytest.raises(ObisError, match=r"3:171\.0"):
        Obis.parse("1.8.0").matches("3:171.0")
    with pytest.raises(ObisError):
        Obis.parse("1.8.0").matches(42)  # type: ignore[arg-type]


# -- construction from numbers ------------------------------------------------------------------


def test_from_groups() -> None:
    obis = Obis.from_groups(None, None, 1, 8, 0, None)
    assert obis == Obis.parse("1.8.0")
    assert str(obis) == "1.8.0"
    assert Obis.from_groups(0, 0, 96, 1, 0, 255).text == "0-0:96.1.0*255"


@pytest.mark.parametrize(
    "groups",
    [
        (1, 0, 1, 8, 0, 256),
        (-1, 0, 1, 8, 0, 255),
        (1, None, 1, 8, 0, 255),  # A without B
        (None, 0, 1, 8, 0, 255),
        (1, 0, None, 8, 0, 255),  # C and D required
        (1, 0, 1, None, 0, 255),
        (None, None, 1, 8, None, 1),  # F needs E
        (1, 0, 1, 8, 0, True),
        (1, 0, 1, 8, 0, "255"),
        (1, 0, 1, 8, 0, 2.0),
    ],
)
def test_from_groups_rejects(groups: tuple[object, ...]) -> None:
    with pytest.raises(ObisError):
        Obis.from_groups(*groups)  # type: ignore[arg-type]


def test_frozen_slots_and_pickle() -> None:
    obis = Obis.parse("1.8.0*24")
    with pytest.raises(dataclasses.FrozenInstanceError):
        obis.f = 1  # type: ignore[misc]
    assert not hasattr(obis, "__dict__")
    assert "text" in Obis.__slots__
    copy = pickle.loads(pickle.dumps(obis))
    assert copy == obis
    assert str(copy) == "1.8.0*24"


# -- properties --------------------------------------------------------------------------------

GROUP = st.integers(min_value=0, max_value=255)
OPTIONAL = st.none() | GROUP


@st.composite
def obis_groups(draw: st.DrawFn) -> tuple[int | None, ...]:
    """Any combination of groups a text form can express."""
    ab: tuple[int | None, int | None] = draw(st.tuples(GROUP, GROUP) | st.just((None, None)))
    c, d = draw(GROUP), draw(GROUP)
    e = draw(OPTIONAL)
    f = draw(OPTIONAL) if e is not None else None
    return (*ab, c, d, e, f)


@given(obis_groups())
def test_canonical_round_trip(groups: tuple[int | None, ...]) -> None:
    obis = Obis.from_groups(*groups)
    parsed = Obis.parse(obis.canonical)
    assert parsed == obis
    assert parsed.groups == groups
    assert str(parsed) == obis.canonical
    assert parsed.canonical == obis.canonical


@given(st.tuples(GROUP, GROUP, GROUP, GROUP, GROUP, GROUP))
def test_complete_forms_round_trip(groups: tuple[int, int, int, int, int, int]) -> None:
    obis = Obis.from_groups(*groups)
    assert Obis.from_bytes(obis.to_bytes()) == obis
    assert Obis.parse(obis.dotted) == obis
    a, b, c, d, e, f = groups
    assert Obis.parse(f"{a}-{b}:{c}.{d}.{e}.{f}") == obis
    assert obis.to_bytes() == bytes(groups)


@given(st.binary(min_size=6, max_size=6))
def test_bytes_round_trip(data: bytes) -> None:
    assert Obis.from_bytes(data).to_bytes() == data


@given(st.binary(max_size=12))
def test_from_bytes_raises_only_obis_error(data: bytes) -> None:
    try:
        obis = Obis.from_bytes(data)
    except ObisError:
        assert len(data) != 6
    else:
        assert obis.to_bytes() == data


TEXT = st.text() | st.text(alphabet="0123456789CFLPVX-:.*()&# ", max_size=30)


@given(TEXT)
def test_random_text(text: str) -> None:
    probed = Obis.try_parse(text)  # must never raise
    try:
        obis = Obis.parse(text)
    except ObisError as exc:
        assert probed is None
        assert "does not have the shape" not in str(exc)
    else:
        assert probed == obis
        assert str(obis) == text
        assert Obis.parse(obis.canonical) == obis


@given(obis_groups(), st.sampled_from(["", " ", "(", ")", "&", "x", "*", ".", ":", "-"]))
def test_valid_text_with_junk_suffix(groups: tuple[int | None, ...], junk: str) -> None:
    text = Obis.from_groups(*groups).canonical + junk
    if junk:
        # no junk can extend a valid code: a separator must be followed by a group
        assert Obis.try_parse(text) is None
    else:
        assert Obis.try_parse(text) is not None
