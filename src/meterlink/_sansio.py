"""What every sans-io state machine of meterlink shares.

Each framer and connection answers "nothing yet" with the same :data:`NEED_DATA` sentinel, so
code driving several layers (HDLC under an association, the IEC 62056-21 framer under a meter)
tests for one thing.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["NEED_DATA", "NeedData", "render_tables"]


class NeedData:
    """Sentinel type: nothing complete is buffered yet; feed more bytes."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


def render_tables(
    title: str, intro: str, tables: list[tuple[str, dict[tuple[Any, Any], tuple[str, frozenset[Any]]]]]
) -> str:
    """Transition tables as Markdown for the docs: one row per (state, input) pair, in table order."""
    lines = [f"# {title}", "", intro]
    for heading, table in tables:
        lines += ["", f"## {heading}", "", "| state | input | handler | next states |", "|---|---|---|---|"]
        for (state, inp), (handler, nexts) in table.items():
            targets = ", ".join(sorted(s.value for s in nexts))
            lines.append(f"| {state.value} | {inp.value} | `{handler}` | {targets} |")
    return "\n".join(lines) + "\n"
