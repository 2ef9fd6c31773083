"""A Markdown table for docs/VALIDATION.md's sections (each section's module writes its own text)."""

from __future__ import annotations

from typing import Iterable


def table(columns: dict[str, str], rows: Iterable[Iterable[object]]) -> list[str]:
    """Lines of a table: ``columns`` maps each header to its alignment ("l" or "r"); each row
    holds the cells already formatted."""
    rule = "|".join("---:" if align == "r" else "---" for align in columns.values())
    return [f"| {' | '.join(columns)} |", f"|{rule}|", *(f"| {' | '.join(map(str, row))} |" for row in rows)]
