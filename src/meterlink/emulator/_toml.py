"""Reading TOML tables with errors that name the key (``registers."1.8.0".unit: ...``)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from meterlink.errors import LocalProtocolError

__all__ = ["Table", "kind_of"]


def _key_text(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


class Table:
    """A TOML table being read: typed getters that name the key in every error."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.path}.{_key_text(key)}" if self.path else _key_text(key)

    def error(self, key: str, message: str) -> LocalProtocolError:
        return LocalProtocolError(f"{self.where(key)}: {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {kind_of(value)}")
        return value

    def number(self, key: str, default: float | None = None, *, minimum: float | None = None) -> float | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(key, f"expected a number, got {kind_of(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {kind_of(value)}")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {kind_of(value)}")
        return value

    def table(self, key: str) -> Table:
        value = self.raw(key)
        if value is None:
            return Table({}, self.where(key))
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {kind_of(value)}")
        return Table(value, self.where(key))

    def tables(self, key: str) -> list[Table]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"expected an array of tables ([[{key}]]), got {kind_of(value)}")
        return [Table(v, f"{self.where(key)}[{i}]") for i, v in enumerate(value)]

    def datetime(self, key: str) -> dt.datetime | None:
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                raise self.error(key, "meters keep naive wall-clock time: drop the UTC offset")
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time())
        raise self.error(key, f"expected a TOML date-time like 2024-03-01T08:00:00, got {kind_of(value)}")

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown key (misspelt?)")


def kind_of(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value!r}"
