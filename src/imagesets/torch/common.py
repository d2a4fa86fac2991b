"""What the ImageNet datasets share: how a sample is decoded and transformed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InvalidDataError
from .decode import decode_array, decode_pil

DECODES = ("auto", "array", "pil")


def resolve_decode(decode: str, transform: Callable[[Any], Any] | None) -> str:
    """``auto``: arrays for imagesets' array transforms, PIL images otherwise (what
    torchvision transforms and ``ImageFolder`` users expect)."""
    if decode not in DECODES:
        raise InvalidDataError(f"decode must be one of {', '.join(DECODES)}, got {decode!r}")
    if decode != "auto":
        return decode
    return "array" if getattr(transform, "accepts_array", False) else "pil"


class SampleMaker:
    """Bytes + class index → (transformed image, transformed target)."""

    def __init__(self, transform: Callable[[Any], Any] | None,
                 target_transform: Callable[[int], Any] | None, decode: str) -> None:
        self.transform, self.target_transform = transform, target_transform
        self.decode = resolve_decode(decode, transform)
        self.min_size = getattr(transform, "decode_min_size", None)

    def __call__(self, data: bytes, target: int, where: str) -> tuple[Any, Any]:
        try:
            image = (decode_array(data, self.min_size) if self.decode == "array"
                     else decode_pil(data))
        except OSError as exc:
            raise InvalidDataError(f"cannot decode {where}: {type(exc).__name__}: {exc}") \
                from exc
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target
