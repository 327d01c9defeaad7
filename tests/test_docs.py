"""The documentation that is generated from code is current."""

from __future__ import annotations

from pathlib import Path

from meterlink.dlms._state import render_markdown as render_dlms
from meterlink.iec62056_21._state import render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_state_tables_page_matches_the_code() -> None:
    page = (ROOT / "docs" / "iec62056-21" / "state-tables.md").read_text(encoding="utf-8")
    assert page == render_markdown(), (
        "regenerate: python -m meterlink.iec62056_21._state > docs/iec62056-21/state-tables.md"
    )


def test_dlms_state_tables_page_matches_the_code() -> None:
    page = (ROOT / "docs" / "dlms" / "state-tables.md").read_text(encoding="utf-8")
    assert page == render_dlms(), (
        "regenerate: python -c 'from meterlink.dlms._state import render_markdown as r; "
        "print(r(), end=\"\")' > docs/dlms/state-tables.md"
    )
