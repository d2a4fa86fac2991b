"""Real image files for the raw256 tests: camera-like JPEGs and each ImageNet quirk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..ilsvrc2012.trees import Tree, make_tree, write_devkit_files


def camera_like(width: int = 500, height: int = 375, seed: int = 0) -> np.ndarray:
    """Smooth gradients, edges, texture and sensor-like noise, as uint8 RGB."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    pixels = np.stack([x / width * 180, y / height * 180, (x + y) / (width + height) * 255], -1)
    pixels += 40 * np.sin(x[..., None] / (5 + seed % 7) + np.arange(3)) * np.cos(y[..., None] / 9)
    pixels[(x > width * 0.6) & (y < height * 0.4)] = (220, 40, 30)
    pixels += rng.normal(0, 8, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def encode(image: Image.Image | np.ndarray, fmt: str = "JPEG", **options) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 92} if fmt == "JPEG" else {}) | options)
    return buffer.getvalue()


def jpeg(width: int = 500, height: int = 375, seed: int = 0) -> bytes:
    return encode(camera_like(width, height, seed))


def cmyk_jpeg(seed: int = 0) -> bytes:
    return encode(Image.fromarray(camera_like(seed=seed)).convert("CMYK"))


def png(seed: int = 0) -> bytes:
    return encode(camera_like(seed=seed), "PNG")


def gray_jpeg(seed: int = 0) -> bytes:
    return encode(Image.fromarray(camera_like(seed=seed)).convert("L"))


def truncated_jpeg(seed: int = 0) -> bytes:
    data = jpeg(seed=seed)
    return data[: len(data) // 2]


def decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.mode == "RGB"
    return np.asarray(image, dtype=np.int16)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def image_tree(root: Path, per_class: int = 3, val_count: int = 6, seed: int = 0,
               sizes: tuple[tuple[int, int], ...] = ((500, 375), (375, 500), (640, 480))
               ) -> Tree:
    """An ILSVRC2012 tree (real class folders, devkit files) whose every image is a real JPEG."""
    counts = {"n01440764": per_class, "n02123045": per_class, "n07920052": per_class}
    tree = make_tree(root, train_counts=counts, val_count=val_count, seed=seed)
    write_devkit_files(tree)
    for number, path in enumerate(sorted(p for p in root.rglob("*.JPEG"))):
        width, height = sizes[number % len(sizes)]
        path.write_bytes(jpeg(width, height, seed=number))
    return tree


def train_image(tree: Tree, index: int = 0) -> Path:
    """The ``index``-th training image of the tree (sorted), for planting a quirk."""
    return sorted((tree.root / "train").rglob("*.JPEG"))[index]


def naive(data: bytes, size: tuple[int, int], quality: int = 90) -> np.ndarray:
    """dbcollection's path: Pillow full decode, Lanczos resize, Pillow JPEG save; decoded."""
    image = Image.open(io.BytesIO(data)).convert("RGB").resize(size, Image.LANCZOS)
    return decode(encode(image, quality=quality))
