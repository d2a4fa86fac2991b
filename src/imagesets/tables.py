"""Plain-text tables for the CLI and ``info()`` printouts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Render dict rows as an aligned text table with a header line."""
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    cells = [[str(c) for c in columns]]
    cells += [["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
             for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_pairs(pairs: Sequence[tuple[str, Any]]) -> str:
    """Render key/value pairs as two aligned columns."""
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)
