"""Real IEC 62056-21 readouts and identifications collected from public sources.

Every sample in ``tests/fixtures/iec62056_21`` is a pair: ``<name>.bin`` holds the bytes as the meter sent
them (control characters rebuilt from ``<STX>``/``\\x02``/hex-dump notation, nothing invented), and
``<name>.json`` says where they came from, what had to be reconstructed, whether the BCC is right, and what a
parser must find in them (read off the source by hand). The JSON ``expect`` object holds:

* ``identification``: the identification line without ``/`` and CR LF, or ``null``;
* ``manufacturer_id``: the three-letter FLAG id of that line (when there is one);
* ``data_set_count``: how many data sets the block holds, or ``null`` when the sample is too mangled to say;
* ``values``: ``{address, index, group, value[, unit]}`` - ``index`` picks the occurrence of a repeated
  address, ``group`` the bracket group (groups continued on the next line included); without ``unit`` the
  unit is not checked (used where the source is ambiguous, e.g. ``(013925.5*)``);
* for identification-only samples also ``baud_char`` and ``enhanced``.

Samples whose BCC is valid or absent are parsed strictly; published samples with a wrong BCC (edited or
anonymised data, GOST additive checksums) are parsed leniently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from meterlink.iec62056_21.messages import Identification
from meterlink.iec62056_21.readout import parse_readout

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iec62056_21"

KINDS = frozenset({"readout", "identification", "push", "dsmr"})
FRAMINGS = frozenset({"stx_etx_bcc", "bare", "identification_only"})
BCC_VALID: dict[str, bool | None] = {"valid": True, "invalid": False, "absent": None}
"""What ``Readout.bcc_valid`` must say for each recorded ``bcc`` state (``unknown`` is not checked)."""

MIN_SAMPLES = 20
MIN_MANUFACTURERS = 10


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    meta: dict[str, Any]

    @property
    def expect(self) -> dict[str, Any]:
        expect: dict[str, Any] = self.meta["expect"]
        return expect

    @property
    def strict(self) -> bool:
        return self.meta["bcc"] in ("valid", "absent")


def _load() -> list[Sample]:
    samples = []
    for path in sorted(FIXTURES.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        samples.append(Sample(path.stem, path.with_suffix(".bin").read_bytes(), meta))
    return samples


SAMPLES = _load()
READOUTS = [s for s in SAMPLES if s.meta["kind"] != "identification"]
IDENTIFICATIONS = [s for s in SAMPLES if s.meta["kind"] == "identification"]


def _params(samples: list[Sample]) -> list[Any]:
    return [pytest.param(sample, id=sample.name) for sample in samples]


def _recorded_bcc(data: bytes) -> str:
    """``valid``/``invalid``/``absent``: XOR of the 7-bit bytes after the first STX up to and including the
    next ETX, compared with the byte after that ETX (computed here, independently of the library)."""
    stx = data.find(b"\x02")
    etx = data.find(b"\x03", stx + 1) if stx >= 0 else -1
    if stx < 0 or etx < 0 or etx + 1 >= len(data):
        return "absent"
    check = 0
    for byte in data[stx + 1 : etx + 1]:
        check ^= byte & 0x7F
    return "valid" if check == data[etx + 1] & 0x7F else "invalid"


# -- the corpus itself --------------------------------------------------------------------------------------


def test_corpus_does_not_shrink() -> None:
    manufacturers = {s.meta["manufacturer"].casefold() for s in SAMPLES}
    assert len(SAMPLES) >= MIN_SAMPLES, f"only {len(SAMPLES)} samples"
    assert len(manufacturers) >= MIN_MANUFACTURERS, (
        f"only {len(manufacturers)} manufacturers: {manufacturers}"
    )


def test_every_fixture_has_both_files() -> None:
    bins = {p.stem for p in FIXTURES.glob("*.bin")}
    jsons = {p.stem for p in FIXTURES.glob("*.json")}
    assert bins == jsons, f"unpaired fixtures: {sorted(bins ^ jsons)}"


@pytest.mark.parametrize("sample", _params(SAMPLES))
def test_metadata_is_well_formed(sample: Sample) -> None:
    meta = sample.meta
    for key in ("source", "manufacturer", "meter", "notes"):
        assert isinstance(meta[key], str) and meta[key], key
    assert meta["kind"] in KINDS
    assert meta["framing"] in FRAMINGS
    assert meta["bcc"] in (*BCC_VALID, "unknown")
    expect = sample.expect
    assert expect["identification"] is None or isinstance(expect["identification"], str)
    assert expect["data_set_count"] is None or isinstance(expect["data_set_count"], int)
    if meta["kind"] == "identification":
        assert meta["framing"] == "identification_only"
        assert isinstance(expect["identification"], str)
        return
    assert len(expect["values"]) >= 3, "a readout needs at least three hand-checked values"
    for value in expect["values"]:
        assert isinstance(value["address"], str)  # "" names the bare rows of a load profile
        assert isinstance(value["index"], int) and value["index"] >= 0
        assert isinstance(value.get("group", 0), int) and value.get("group", 0) >= 0
        assert isinstance(value["value"], str)
        assert value.get("unit") is None or isinstance(value["unit"], str)


@pytest.mark.parametrize("sample", _params(SAMPLES))
def test_recorded_bcc_matches_the_bytes(sample: Sample) -> None:
    if sample.meta["bcc"] == "unknown":
        pytest.skip("BCC state could not be established for this sample")
    assert _recorded_bcc(sample.data) == sample.meta["bcc"]


# -- the parser against the corpus --------------------------------------------------------------------------


@pytest.mark.parametrize("sample", _params(READOUTS))
def test_real_readout(sample: Sample) -> None:
    expect = sample.expect
    readout = parse_readout(sample.data, strict=sample.strict)

    if expect["identification"] is None:
        assert readout.identification is None
    else:
        assert readout.identification is not None
        assert readout.identification.text == expect["identification"]
        if "manufacturer_id" in expect:
            assert readout.identification.manufacturer == expect["manufacturer_id"]

    if expect["data_set_count"] is not None:
        assert len(readout.data_sets) == expect["data_set_count"]

    for wanted in expect["values"]:
        address, index, group = wanted["address"], wanted["index"], wanted.get("group", 0)
        found = readout.get_all(address)
        assert len(found) > index, f"{address}: {len(found)} data sets, wanted occurrence {index}"
        data_set = found[index]
        assert data_set.address == address
        assert len(data_set.values) > group, (
            f"{address}[{index}]: {len(data_set.values)} groups, wanted {group}"
        )
        value = data_set.values[group]
        assert value.value == wanted["value"], f"{address}[{index}] group {group}"
        if "unit" in wanted:
            assert value.unit == wanted["unit"], f"{address}[{index}] group {group} unit"

    if sample.meta["bcc"] in BCC_VALID:
        assert readout.bcc_valid is BCC_VALID[sample.meta["bcc"]]


@pytest.mark.parametrize("sample", _params(IDENTIFICATIONS))
def test_real_identification(sample: Sample) -> None:
    expect = sample.expect
    ident = Identification.from_bytes(sample.data)
    assert ident.text == expect["identification"]
    assert ident.manufacturer == expect["manufacturer_id"]
    assert ident.baud_char == expect["baud_char"]
    assert list(ident.enhanced) == expect["enhanced"]
    assert ident.to_bytes() == sample.data
