"""Training/evaluation transforms on RGB uint8 HWC arrays, without PIL round trips.

They draw their random numbers from torch exactly as torchvision's v1 transforms do, so under
the same seed ``RandomResizedCrop`` picks the same boxes and ``RandomHorizontalFlip`` the same
flips. Resampling is OpenCV's (area averaging when shrinking, bilinear when enlarging), close
to Pillow's antialiased bilinear. Any torchvision transform still works on the datasets: pass
``decode="pil"`` (the default for transforms that are not these).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import require
from .base import to_chw_tensor


def _torch() -> Any:
    return require("torch", "torch", "imagesets.torch.transforms")


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    """(height, width) from an int or a (height, width) pair, as torchvision reads ``size``."""
    if isinstance(size, int):
        return size, size
    height, width = size
    return int(height), int(width)


def short_side_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side ``short_side``, the long side truncated, as
    torchvision's ``Resize(n)`` computes it (500×375, 256 → 341×256)."""
    if width <= height:
        return short_side, max(1, int(short_side * height / width))
    return max(1, int(short_side * width / height)), short_side


@functools.cache
def _cv2() -> Any:
    """OpenCV, single-threaded: DataLoader workers are the parallelism (threads only add
    CPU time per image)."""
    cv2 = require("cv2", "torch", "imagesets.torch transforms")
    cv2.setNumThreads(1)
    return cv2


def resize_array(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize to (height, width): area averaging when shrinking, bilinear when enlarging."""
    cv2 = _cv2()
    if pixels.shape[:2] == (height, width):
        return pixels
    shrinking = width < pixels.shape[1] and height < pixels.shape[0]
    return cv2.resize(pixels, (width, height),
                      interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


class ArrayTransform:
    """Marks a transform that takes an HWC uint8 array (the datasets then decode to arrays)."""

    accepts_array = True
    decode_min_size: int | None = None  # a short side the decoder may reduce the image to


class Compose(ArrayTransform):
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        first = self.transforms[0] if self.transforms else None
        self.decode_min_size = getattr(first, "decode_min_size", None)

    def __call__(self, image: Any) -> Any:
        for transform in self.transforms:
            image = transform(image)
        return image


class RandomResizedCrop(ArrayTransform):
    """torchvision's ``RandomResizedCrop``: a box of random area (``scale`` of the image) and
    aspect ratio (``ratio``, log-uniform), 10 tries, else a central crop; resized to ``size``."""

    def __init__(self, size: int | Sequence[int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> None:
        self.size = _pair(size)
        self.scale, self.ratio = scale, ratio

    def get_params(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the box, drawn as torchvision draws it."""
        torch = _torch()
        area = height * width
        log_ratio = torch.log(torch.tensor(self.ratio))
        for _ in range(10):
            target_area = area * torch.empty(1).uniform_(self.scale[0], self.scale[1]).item()
            aspect = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1]).item())
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, size=(1,)).item())
                left = int(torch.randint(0, width - w + 1, size=(1,)).item())
                return top, left, h, w
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            w, h = int(round(height * max(self.ratio))), height
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        top, left, h, w = self.get_params(*pixels.shape[:2])
        return resize_array(pixels[top:top + h, left:left + w], *self.size)


class RandomHorizontalFlip(ArrayTransform):
    """Mirror left-right with probability ``p`` (one ``torch.rand(1)`` draw, as torchvision)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return pixels[:, ::-1] if _torch().rand(1).item() < self.p else pixels


class Resize(ArrayTransform):
    """Short side to ``size`` (long side truncated, as torchvision), or exactly (h, w)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = size
        self.decode_min_size = size if isinstance(size, int) else min(size)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        if isinstance(self.size, int):
            width, height = short_side_size(pixels.shape[1], pixels.shape[0], self.size)
        else:
            height, width = _pair(self.size)
        return resize_array(pixels, height, width)


class CenterCrop(ArrayTransform):
    """The central (h, w) box, offsets rounded as torchvision; zero-padded when larger."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _pair(size)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        height, width = self.size
        pad_h, pad_w = max(0, height - pixels.shape[0]), max(0, width - pixels.shape[1])
        if pad_h or pad_w:
            pixels = np.pad(pixels, ((pad_h // 2, pad_h - pad_h // 2),
                                     (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
        top = int(round((pixels.shape[0] - height) / 2.0))
        left = int(round((pixels.shape[1] - width) / 2.0))
        return pixels[top:top + height, left:left + width]


class ToTensor(ArrayTransform):
    """HWC uint8 array → CHW float32 tensor in [0, 1] (``scale=False``: uint8 tensor)."""

    def __init__(self, scale: bool = True) -> None:
        self.scale = scale

    def __call__(self, pixels: np.ndarray) -> Any:
        return to_chw_tensor(pixels, self.scale)


class Normalize:
    """``(tensor - mean) / std`` per channel, on a CHW float tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        torch = _torch()
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, tensor: Any) -> Any:
        return (tensor - self.mean) / self.std


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_train(size: int = 224) -> Compose:
    """The usual ImageNet training pipeline: random-resized crop, flip, tensor, normalise."""
    return Compose([RandomResizedCrop(size), RandomHorizontalFlip(), ToTensor(),
                    Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def imagenet_eval(size: int = 224, resize: int = 256) -> Compose:
    """The usual ImageNet evaluation pipeline: resize 256, center crop 224, normalise."""
    return Compose([Resize(resize), CenterCrop(size), ToTensor(),
                    Normalize(IMAGENET_MEAN, IMAGENET_STD)])
