"""Encoded image bytes → RGB uint8 array, with the fastest decoder installed.

libjpeg-turbo through PyTurboJPEG (or simplejpeg) for YCbCr/gray JPEGs, reduced in the DCT
domain when the caller only needs a short side of ``min_size``; Pillow for everything else
(CMYK, PNG, truncated files, which it refuses as ``ImageFolder`` does).
"""

from __future__ import annotations

import functools
import io
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
from PIL import Image

from .base import LazyHandle

_TJPF_RGB = 0
_TJCS_YCBCR, _TJCS_GRAY = 1, 2
_SCALES = tuple(Fraction(n, 8) for n in range(1, 9))


def _open_turbo() -> Any:
    try:
        from turbojpeg import TurboJPEG

        return TurboJPEG()
    except (ImportError, RuntimeError, OSError):
        return False


@functools.cache
def _simplejpeg() -> Any:
    try:
        import simplejpeg
    except ImportError:
        return None
    return simplejpeg


_TURBO = LazyHandle(_open_turbo)


def decoder_name() -> str:
    """Which decoder JPEGs go through here: pyturbojpeg, simplejpeg or pillow."""
    if _TURBO.get():
        return "pyturbojpeg"
    return "simplejpeg" if _simplejpeg() is not None else "pillow"


def _scale_for(width: int, height: int, min_size: int | None) -> Fraction:
    if not min_size:
        return Fraction(1)
    return next(s for s in _SCALES if min(-(-width * s.numerator // s.denominator),
                                          -(-height * s.numerator // s.denominator)) >= min_size)


def _decode_turbo(turbo: Any, data: bytes, min_size: int | None) -> np.ndarray | None:
    width, height, _, colorspace = turbo.decode_header(data)
    if colorspace not in (_TJCS_YCBCR, _TJCS_GRAY):
        return None
    scale = _scale_for(width, height, min_size)
    return turbo.decode(data, pixel_format=_TJPF_RGB,
                        scaling_factor=(scale.numerator, scale.denominator))


def _decode_simplejpeg(simplejpeg: Any, data: bytes, min_size: int | None) -> np.ndarray | None:
    if not simplejpeg.is_jpeg(data):
        return None
    height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    if colorspace not in ("YCbCr", "Gray"):
        return None
    scale = _scale_for(width, height, min_size)
    return simplejpeg.decode_jpeg(data, "RGB", fastdct=False, fastupsample=False,
                                  min_height=-(-height * scale.numerator // scale.denominator),
                                  min_width=-(-width * scale.numerator // scale.denominator))


def decode_pil(data: bytes) -> Image.Image:
    """What torchvision's default loader gives: ``Image.open(...).convert("RGB")``."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def decode_array(data: bytes, min_size: int | None = None) -> np.ndarray:
    """RGB uint8 HWC pixels; JPEGs may come back smaller (down to a short side of
    ``min_size``) when that is given, decoded in the DCT domain."""
    turbo, simplejpeg = _TURBO.get(), _simplejpeg()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # libjpeg warnings (truncation): Pillow decides
            if turbo:
                pixels = _decode_turbo(turbo, data, min_size)
            elif simplejpeg is not None:
                pixels = _decode_simplejpeg(simplejpeg, data, min_size)
            else:
                pixels = None
    except (OSError, ValueError, UserWarning):
        pixels = None
    if pixels is not None:
        return pixels
    with Image.open(io.BytesIO(data)) as image:
        if min_size and image.format == "JPEG":
            image.draft("RGB", (min_size, min_size))
        return np.asarray(image.convert("RGB"))
