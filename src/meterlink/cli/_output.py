"""Printing readouts as a table, JSON or CSV - shared by the commands that show meter data."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from meterlink.iec62056_21.readout import Readout


def readout_table(readout: Readout, *, limit: int | None = None) -> str:
    """A plain-text table: address, OBIS, value and unit of every bracket group."""
    rows: list[tuple[str, str, str, str]] = []
    for data_set in readout.data_sets:
        obis = data_set.obis.canonical if data_set.obis is not None else ""
        values = data_set.values or ()
        if not values:
            rows.append((data_set.address, obis, "", ""))
        for i, value in enumerate(values):
            address = data_set.address if i == 0 else ""
            rows.append((address, obis if i == 0 else "", value.value.strip(), value.unit or ""))
    shown = rows if limit is None else rows[:limit]
    header = ("address", "OBIS", "value", "unit")
    widths = [max(len(header[i]), *(len(r[i]) for r in shown)) if shown else len(header[i]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in shown)
    if limit is not None and len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows")
    return "\n".join(lines)


def readout_csv(readout: Readout) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["address", "obis", "group", "value", "unit"])
    for data_set in readout.data_sets:
        obis = data_set.obis.canonical if data_set.obis is not None else ""
        for i, value in enumerate(data_set.values):
            writer.writerow([data_set.address, obis, i, value.value, value.unit or ""])
    return buffer.getvalue()


def to_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)
