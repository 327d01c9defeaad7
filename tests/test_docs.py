"""The documentation that is generated from code is current."""

from __future__ import annotations

from pathlib import Path

from meterlink.iec62056_21._state import render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_state_tables_page_matches_the_code() -> None:
    page = (ROOT / "docs" / "iec62056-21" / "state-tables.md").read_text(encoding="utf-8")
    assert page == render_markdown(), (
        "regenerate: python -m meterlink.iec62056_21._state > docs/iec62056-21/state-tables.md"
    )
