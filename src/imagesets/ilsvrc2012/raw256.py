"""The ``raw256`` task: every image resized to a 256-pixel short side, then the metadata file.

Resizing is one importable per-image function (:func:`resize_file`) run by the shared engine on
local processes or Ray. Each output is written under a temp name and renamed, so a rerun skips
finished images and redoes the ones that were in flight.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from ..catalog import PreparedTask, PrepareRequest
from ..engine import Failure, check_options, run_items
from ..errors import InvalidDataError, require
from ..fsutil import atomic_write_text
from .classification import write_classification_file
from .scan import SETS, ScannedDataset, SetListing, scan_ilsvrc2012, summarize_ignored

SHORT_SIDE = 256
DEFAULT_QUALITY = 90
JPEG_SUFFIXES = (".jpeg", ".jpg")
MANIFEST_NAME = ".imagesets-raw256.json"
PART_SUFFIX = ".part"
BACKENDS = ("auto", "fast", "pillow")
FAILURES_NAME = "raw256_failures.txt"


class ResizeJob(NamedTuple):
    """One image to resize: absolute source and target paths, JPEG quality, resampler."""

    source: str
    target: str
    quality: int = DEFAULT_QUALITY
    backend: str = "auto"


def target_size(width: int, height: int, short_side: int = SHORT_SIDE) -> tuple[int, int]:
    """(width, height) with the short side ``short_side``; the long side truncated, as
    torchvision's ``Resize(256)`` does (500×375 → 341×256)."""
    if width <= height:
        return short_side, max(1, int(short_side * height / width))
    return max(1, int(short_side * width / height)), short_side


def draft_factor(width: int, height: int, size: tuple[int, int]) -> int:
    """The DCT reduction (1, 2, 4 or 8) that keeps the decoded image at least ``size``:
    the one Pillow's ``draft()`` picks; above 1 only when the source is ≥ 2× the target."""
    scale = min(width // size[0], height // size[1])
    return next(f for f in (8, 4, 2, 1) if f <= max(scale, 1))


@functools.cache
def _fast_modules() -> tuple[Any, Any] | None:
    try:
        import cv2
        import simplejpeg
    except ImportError:
        return None
    cv2.setNumThreads(1)
    return cv2, simplejpeg


def fast_available() -> bool:
    """Whether the ``fast`` extra (simplejpeg + OpenCV) is installed."""
    return _fast_modules() is not None


@functools.lru_cache(maxsize=4096)
def lanczos_kernel(scale: float, lobes: int = 3) -> np.ndarray:
    """A Lanczos low-pass kernel cutting at the output's Nyquist frequency (1 / 2·scale)."""
    if scale <= 1.0:
        return np.ones(1, dtype=np.float32)
    radius = int(math.ceil(lobes * scale))
    x = np.arange(-radius, radius + 1) / scale
    kernel = np.sinc(x) * np.sinc(x / lobes)
    return (kernel / kernel.sum()).astype(np.float32)


def resample_array(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB uint8 array to ``size`` = (width, height), fast but anti-aliased.

    Downscaling: a separable Lanczos-3 low-pass at the output's Nyquist frequency, then cubic
    interpolation, which matches Pillow's Lanczos resize within about half a grey level at a
    fraction of its cost. Upscaling: OpenCV's Lanczos-4 interpolation.
    """
    cv2, _ = _require_fast()
    height, width = pixels.shape[:2]
    if (width, height) == size:
        return pixels
    if size[0] > width:
        return cv2.resize(pixels, size, interpolation=cv2.INTER_LANCZOS4)
    blurred = cv2.sepFilter2D(pixels, -1, lanczos_kernel(width / size[0]),
                              lanczos_kernel(height / size[1]), borderType=cv2.BORDER_REFLECT)
    return cv2.resize(blurred, size, interpolation=cv2.INTER_CUBIC)


def _require_fast() -> tuple[Any, Any]:
    modules = _fast_modules()
    if modules is None:
        require("simplejpeg", "fast", "the fast raw256 resampler")
        require("cv2", "fast", "the fast raw256 resampler")
    return modules  # type: ignore[return-value]


@dataclass(frozen=True)
class Decoded:
    """A decoded RGB image (possibly reduced by ``draft()``), its original size and kind."""

    image: np.ndarray | Image.Image
    original: tuple[int, int]
    kind: str


def _decode_pillow(data: bytes) -> Decoded:
    image = Image.open(io.BytesIO(data))
    original = image.size
    if image.format != "JPEG":
        kind = f"{(image.format or 'unknown').lower()}"
    else:
        kind = {"CMYK": "cmyk", "L": "grayscale"}.get(image.mode, "jpeg")
        image.draft("RGB", target_size(*original))
    image.load()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return Decoded(flat, original, kind)
    return Decoded(image.convert("RGB"), original, kind)


def _decode_fast(data: bytes, simplejpeg: Any) -> Decoded | None:
    """simplejpeg decode, reduced in the DCT domain as ``draft()`` does; None if it can't."""
    if not simplejpeg.is_jpeg(data):
        return None
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
        if colorspace not in ("YCbCr", "Gray"):
            return None
        factor = draft_factor(width, height, target_size(width, height))
        pixels = simplejpeg.decode_jpeg(data, "RGB", min_height=-(-height // factor),
                                        min_width=-(-width // factor))
    except ValueError:  # libjpeg warnings (extraneous bytes, truncation): Pillow decides
        return None
    return Decoded(pixels, (width, height), "grayscale" if colorspace == "Gray" else "jpeg")


def decode_rgb(data: bytes, fast: bool = True) -> Decoded:
    """Decode to RGB: simplejpeg for baseline YCbCr/gray JPEGs when ``fast``, else Pillow
    (CMYK, PNG and other formats, odd JPEGs). Raises on files Pillow cannot fully decode."""
    modules = _fast_modules() if fast else None
    decoded = _decode_fast(data, modules[1]) if modules else None
    return decoded if decoded is not None else _decode_pillow(data)


def resize_bytes(data: bytes, quality: int = DEFAULT_QUALITY, backend: str = "auto"
                 ) -> tuple[bytes, Decoded]:
    """Resize one encoded image to a 256-pixel short side; return RGB JPEG bytes.

    ``backend``: ``fast`` (simplejpeg + OpenCV), ``pillow`` (Pillow only: ``draft()`` and
    Lanczos), ``auto`` (fast when installed).
    """
    if backend not in BACKENDS:
        raise InvalidDataError(f"unknown resize backend '{backend}'; choose one of {BACKENDS}")
    fast = backend == "fast" or (backend == "auto" and fast_available())
    if fast:
        _require_fast()
    decoded = decode_rgb(data, fast)
    size = target_size(*decoded.original)
    if not fast:
        image = decoded.image
        resized = image.resize(size, Image.LANCZOS) if image.size != size else image
        out = io.BytesIO()
        resized.save(out, "JPEG", quality=quality)
        return out.getvalue(), decoded
    _, simplejpeg = _require_fast()
    resized = resample_array(np.asarray(decoded.image), size)
    return simplejpeg.encode_jpeg(np.ascontiguousarray(resized), quality, "RGB", "420"), decoded


def _part_path(target: str) -> str:
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}{PART_SUFFIX}")


def resize_file(job: ResizeJob) -> tuple[str, str, bool]:
    """Resize ``job.source`` into ``job.target`` (temp name, then rename).

    Returns (source, kind, upscaled): kind is jpeg, grayscale, cmyk or the format's name
    (e.g. png); upscaled says the source's short side was below 256.
    """
    with open(job.source, "rb") as fh:
        data = fh.read()
    encoded, decoded = resize_bytes(data, job.quality, job.backend)
    part = _part_path(job.target)
    os.makedirs(os.path.dirname(job.target), exist_ok=True)
    with open(part, "wb") as fh:
        fh.write(encoded)
    os.replace(part, job.target)
    return job.source, decoded.kind, min(decoded.original) < SHORT_SIDE


def output_relpath(set_name: str, listing: SetListing, data_dir: Path, relpath: str) -> str:
    """Where an image's resized copy goes, relative to the output root:
    ``train/n01440764/x.JPEG`` → ``train256/n01440764/x.JPEG`` (non-JPEG names get ``.JPEG``)."""
    prefix = listing.source_dir.relative_to(data_dir).as_posix()
    rest = relpath[len(prefix) + 1:]
    if not rest.lower().endswith(JPEG_SUFFIXES):
        rest += ".JPEG"
    return f"{set_name}{SHORT_SIDE}/{rest}"


@dataclass
class Raw256Run:
    """What :func:`resize_ilsvrc2012` did."""

    output_root: Path
    renamed: dict[str, dict[str, str]]
    total: int
    skipped: int
    kinds: dict[str, int]
    upscaled: int
    failures: list[Failure]
    seconds: float
    workers: int

    def failed_relpaths(self, data_dir: Path) -> dict[str, str]:
        """Relative source path → error, for every image that could not be resized."""
        return {Path(f.item.source).relative_to(data_dir).as_posix(): f.error
                for f in self.failures}


def _check_manifest(folder: Path, quality: int) -> None:
    """Refuse to mix qualities in one output folder; record the quality on first use."""
    manifest = folder / MANIFEST_NAME
    wanted = {"short_side": SHORT_SIDE, "quality": quality, "format": "JPEG"}
    if manifest.exists():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found != wanted:
            raise InvalidDataError(
                f"{folder} holds images resized with {found}, but {wanted} was asked for; rerun "
                f"with quality={found.get('quality')} (--quality), or pick another output "
                f"folder (--output-dir), or delete {folder} to redo every image.")
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(manifest, json.dumps(wanted, sort_keys=True) + "\n")


def _finished(jobs: Sequence[ResizeJob]) -> set[str]:
    """Targets already written and newer than their source (one listing per folder)."""
    written: dict[str, int] = {}
    for folder in {os.path.dirname(job.target) for job in jobs}:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        written.update((e.path, e.stat().st_mtime_ns) for e in entries
                       if not e.name.startswith("."))
    return {job.target for job in jobs if job.target in written
            and written[job.target] >= os.stat(job.source).st_mtime_ns}


def _check_quality(quality: int) -> None:
    if not 1 <= int(quality) <= 100:
        raise InvalidDataError(f"JPEG quality must be 1..100, got {quality}")


def resize_ilsvrc2012(scanned: ScannedDataset, output_root: str | os.PathLike | None = None,
                      quality: int = DEFAULT_QUALITY, workers: int | None = None,
                      engine: str = "local", address: str | None = None, verbose: bool = True,
                      backend: str = "auto") -> Raw256Run:
    """Resize every scanned image into ``output_root/{set}256/`` (default: the data dir),
    skipping outputs newer than their source; failures are returned, never raised."""
    _check_quality(quality)
    check_options(engine, workers)
    root = Path(output_root).expanduser().resolve() if output_root else scanned.data_dir
    renamed: dict[str, dict[str, str]] = {}
    jobs: list[ResizeJob] = []
    for set_name, listing in scanned.sets.items():
        _check_manifest(root / f"{set_name}{SHORT_SIDE}", int(quality))
        names = renamed[set_name] = {}
        for relpath in listing.relpaths:
            names[relpath] = output_relpath(set_name, listing, scanned.data_dir, relpath)
            jobs.append(ResizeJob(str(scanned.data_dir / relpath), str(root / names[relpath]),
                                  int(quality), backend))
    done = _finished(jobs)
    todo = [job for job in jobs if job.target not in done]
    if verbose and done:
        print(f"raw256: {len(done):,} of {len(jobs):,} images already resized; "
              f"resizing the other {len(todo):,}")
    run = run_items(resize_file, todo, engine=engine, workers=workers, address=address,
                    desc="raw256", unit="img", verbose=verbose)
    kinds: dict[str, int] = {}
    for _, kind, _ in run.results:
        kinds[kind] = kinds.get(kind, 0) + 1
    upscaled = sum(1 for *_, up in run.results if up)
    return Raw256Run(root, renamed, len(jobs), len(done), kinds, upscaled, run.failures,
                     run.seconds, run.workers)


def _report(run: Raw256Run, data_dir: Path) -> str:
    rate = (len(run.failures) + sum(run.kinds.values())) / run.seconds if run.seconds else 0
    odd = ", ".join(f"{count:,} {kind}" for kind, count in sorted(run.kinds.items())
                    if kind != "jpeg")
    workers = f"{run.workers} worker{'' if run.workers == 1 else 's'}"
    lines = [f"raw256: {sum(run.kinds.values()):,} resized, {run.skipped:,} already done, "
             f"{len(run.failures):,} failed in {run.seconds:.1f} s ({rate:.0f} img/s, "
             f"{workers}); converted to RGB JPEG: {odd or 'none'}; upscaled "
             f"(short side < {SHORT_SIDE}): {run.upscaled:,}"]
    lines += [f"  could not resize {path}: {error}"
              for path, error in run.failed_relpaths(data_dir).items()]
    return "\n".join(lines)


def _exclude(scanned: ScannedDataset, failed: dict[str, str]) -> ScannedDataset:
    sets = {}
    for name, listing in scanned.sets.items():
        keep = np.array([p not in failed for p in listing.relpaths], dtype=bool)
        sets[name] = SetListing([p for p in listing.relpaths if p not in failed],
                                listing.class_indices[keep], listing.source_dir)
    return replace(scanned, sets=sets)


def prepare_raw256(request: PrepareRequest) -> PreparedTask:
    """Resize the images, then write the classification layout pointing at the copies.

    Files that cannot be resized are listed (and saved to ``raw256_failures.txt`` beside the
    metadata); the task is only recorded once they are fixed or ``exclude_corrupt=True``.
    """
    options = dict(request.options)
    sets = tuple(options.get("sets") or SETS)
    quality = int(options.get("quality", DEFAULT_QUALITY))
    engine = options.get("engine") or ("ray" if options.get("address") else "local")
    _check_quality(quality)
    check_options(engine, options.get("workers"))
    scanned = scan_ilsvrc2012(request.data_dir, sets=sets, verbose=request.verbose)
    if request.verbose and scanned.ignored_files:
        print(summarize_ignored(scanned.ignored_files))
    if request.verbose and not fast_available():
        print("raw256: simplejpeg/OpenCV are not installed, so Pillow resizes (about 2x "
              "slower); for the fast path: pip install 'imagesets[fast]'")
    run = resize_ilsvrc2012(scanned, options.get("output_dir"), quality,
                            options.get("workers"), engine, options.get("address"),
                            request.verbose)
    if request.verbose:
        print(_report(run, scanned.data_dir))
    failed = run.failed_relpaths(scanned.data_dir)
    report = request.metadata_dir / FAILURES_NAME
    if failed:
        request.metadata_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(report, "".join(f"{p}\t{e}\n" for p, e in failed.items()))
    else:
        report.unlink(missing_ok=True)
    if failed and not options.get("exclude_corrupt"):
        path, error = next(iter(failed.items()))
        raise InvalidDataError(
            f"{len(failed)} image(s) could not be resized (e.g. {path}: {error}); all are listed "
            f"in {report}. Replace or delete them and rerun (finished images are kept), or rerun "
            "with --exclude-corrupt (exclude_corrupt=True) to leave them out of the metadata.")
    kept = _exclude(scanned, failed) if failed else scanned
    attributes: dict[str, Any] = {"short_side": SHORT_SIDE, "quality": quality,
                                  "excluded_files": failed, "source_fingerprint":
                                  scanned.fingerprint()}
    if options.get("output_dir"):
        attributes.update(image_root=str(run.output_root), paths_relative_to="image_root")
    output = request.metadata_dir / f"{request.task}.h5"
    write_classification_file(kept, output, task=request.task,
                              rename=lambda s, p: run.renamed[s][p],
                              extra_attributes=attributes)
    parameters = {**options, "sets": list(sets), "quality": quality}
    return PreparedTask(request.dataset, request.task, str(scanned.data_dir), str(output),
                        parameters, scanned.fingerprint())
