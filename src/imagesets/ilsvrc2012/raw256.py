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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..catalog import PreparedTask, PrepareRequest
from ..engine import Failure, check_options, run_items
from ..errors import InvalidDataError, require
from ..fsutil import atomic_write_text
from ..torch.transforms import short_side_size
from .classification import write_classification_file
from .scan import SETS, ScannedDataset, SetListing, scan_ilsvrc2012, summarize_ignored

SHORT_SIDE = 256
DEFAULT_QUALITY = 90
JPEG_SUFFIXES = (".jpeg", ".jpg")
MANIFEST_NAME = ".imagesets-raw256.json"
PART_SUFFIX = ".part"
BACKENDS = ("auto", "fast", "pillow")
FAILURES_NAME = "raw256_failures.txt"
FORMATS = ("folders", "shards")
_TJCS_YCBCR, _TJCS_GRAY = 1, 2
_TJPF_GRAY = 6
_TJSAMP_420 = 2


class ResizeJob(NamedTuple):
    """One image to resize: absolute source and target paths, JPEG quality, resampler."""

    source: str
    target: str
    quality: int = DEFAULT_QUALITY
    backend: str = "auto"


def target_size(width: int, height: int, short_side: int = SHORT_SIDE) -> tuple[int, int]:
    """(width, height) with the short side ``short_side``; the long side truncated, as
    torchvision's ``Resize(256)`` does (500×375 → 341×256)."""
    return short_side_size(width, height, short_side)


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


@functools.cache
def _turbo() -> Any | None:
    """A PyTurboJPEG handle with the YUV-plane API (PyTurboJPEG 1.x + libturbojpeg), or None."""
    try:
        from turbojpeg import TurboJPEG

        turbo = TurboJPEG()
    except (ImportError, RuntimeError, OSError):
        return None
    return turbo if hasattr(turbo, "decode_to_yuv_planes") else None


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


def _resample_scaled(plane: np.ndarray, size: tuple[int, int],
                     scale: tuple[float, float]) -> np.ndarray:
    """Resample one plane to ``size`` where output pixel x samples source (x + ½)·scale − ½:
    a chroma plane covers half a pixel more or less than ``size`` says when a side is odd.

    Downscaling, ``cv2.resize`` keeps that exact scale when given factors instead of a size
    (under a quarter of the cost of an affine warp): it sizes the output round(input / scale),
    so the blurred plane is cut or edge-padded to the input size that rounds to ``size``."""
    cv2, _ = _require_fast()
    blurred = cv2.sepFilter2D(plane, -1, lanczos_kernel(scale[0]), lanczos_kernel(scale[1]),
                              borderType=cv2.BORDER_REFLECT)
    if min(scale) < 1:
        matrix = np.float32([[scale[0], 0, scale[0] / 2 - 0.5],
                             [0, scale[1], scale[1] / 2 - 0.5]])
        return cv2.warpAffine(blurred, matrix, size, borderMode=cv2.BORDER_REPLICATE,
                              flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
    width, height = (math.ceil((n + 0.5) * f) - 1 for n, f in zip(size, scale, strict=True))
    pad_x, pad_y = max(0, width - plane.shape[1]), max(0, height - plane.shape[0])
    if pad_x or pad_y:
        blurred = cv2.copyMakeBorder(blurred, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
    return cv2.resize(blurred[:height, :width], None, fx=1 / scale[0], fy=1 / scale[1],
                      interpolation=cv2.INTER_CUBIC)


def _require_fast() -> tuple[Any, Any]:
    modules = _fast_modules()
    if modules is None:
        require("simplejpeg", "fast", "the fast raw256 resampler")
        require("cv2", "fast", "the fast raw256 resampler")
    return modules  # type: ignore[return-value]


@dataclass(frozen=True)
class Decoded:
    """A decoded RGB image (possibly reduced by ``draft()``; None when resized on the YUV
    planes), its original size and kind."""

    image: np.ndarray | Image.Image | None
    original: tuple[int, int]
    kind: str


def _describe(data: bytes) -> str:
    if not data:
        return "the file is empty"
    return f"not an image format Pillow reads ({len(data):,} bytes starting {data[:12]!r})"


def _to_8bit(image: Image.Image) -> Image.Image:
    """16-bit (and 32-bit integer) grayscale scaled to 0..255, not clipped to white."""
    pixels = np.asarray(image)
    top = 65535 if image.mode.startswith("I;16") or int(pixels.max(initial=0)) <= 65535 \
        else int(pixels.max())
    scaled = (pixels.astype(np.float64) * (255 / top)).round()
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L")


def _decode_pillow(data: bytes) -> Decoded:
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UnidentifiedImageError(f"cannot identify image file: {_describe(data)}") from None
    original = image.size
    if image.format != "JPEG":
        kind = f"{(image.format or 'unknown').lower()}"
    else:
        kind = {"CMYK": "cmyk", "L": "grayscale"}.get(image.mode, "jpeg")
        image.draft("RGB", target_size(*original))
    image.load()
    if image.mode.startswith("I"):
        image = _to_8bit(image)
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


def _pad4(n: int) -> int:
    return -(-n // 4) * 4


def _resize_planes(data: bytes, quality: int) -> tuple[bytes, Decoded] | None:
    """Resize a YCbCr/gray JPEG on its Y, Cb, Cr planes with libjpeg-turbo: no colour
    conversion, chroma resized at its own resolution, DCT-domain reduction as ``draft()``.
    None when the file is not such a JPEG (Pillow decides then)."""
    turbo = _turbo()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # libjpeg warnings (truncation...): Pillow decides
            width, height, _, colorspace = turbo.decode_header(data)
            if colorspace not in (_TJCS_YCBCR, _TJCS_GRAY):
                return None
            size = target_size(width, height)
            factor = (1, draft_factor(width, height, size))
            if colorspace == _TJCS_GRAY:  # PyTurboJPEG 1.x cannot size a lone Y plane
                planes = [turbo.decode(data, pixel_format=_TJPF_GRAY,
                                       scaling_factor=factor).reshape(-(-height // factor[1]),
                                                                      -1)]
            else:
                planes = turbo.decode_to_yuv_planes(data, scaling_factor=factor)
    except (OSError, ValueError, UserWarning):
        return None
    decoded_w = -(-width * factor[0] // factor[1])
    decoded_h = -(-height * factor[0] // factor[1])
    out_w, out_h = size
    chroma = (-(-out_w // 2), -(-out_h // 2))
    y_rows, y_stride = 2 * chroma[1], _pad4(2 * chroma[0])  # 4:2:0 luma: even sizes
    y_bytes, c_bytes = y_stride * y_rows, _pad4(chroma[0]) * chroma[1]
    buffer = np.full(y_bytes + 2 * c_bytes, 128, dtype=np.uint8)
    luma = buffer[:y_bytes].reshape(y_rows, y_stride)
    luma[:out_h, :out_w] = resample_array(planes[0][:decoded_h, :decoded_w], size)
    luma[out_h:] = luma[out_h - 1]
    luma[:, out_w:2 * chroma[0]] = luma[:, out_w - 1:out_w]
    for number, plane in enumerate(planes[1:]):
        start = y_bytes + number * c_bytes
        subsampled = planes[0].shape[1] // plane.shape[1], planes[0].shape[0] // plane.shape[0]
        scale = (2 * decoded_w / subsampled[0] / out_w, 2 * decoded_h / subsampled[1] / out_h)
        buffer[start:start + c_bytes].reshape(chroma[1], -1)[:, :chroma[0]] = _resample_scaled(
            plane, chroma, scale)
    encoded = turbo.encode_from_yuv(buffer, out_h, out_w, quality=quality,
                                    jpeg_subsample=_TJSAMP_420)
    kind = "grayscale" if colorspace == _TJCS_GRAY else "jpeg"
    return encoded, Decoded(None, (width, height), kind)


def decode_rgb(data: bytes, fast: bool = True) -> Decoded:
    """Decode to RGB: simplejpeg for baseline YCbCr/gray JPEGs when ``fast``, else Pillow
    (CMYK, PNG and other formats, odd JPEGs). Raises on files Pillow cannot fully decode."""
    modules = _fast_modules() if fast else None
    decoded = _decode_fast(data, modules[1]) if modules else None
    return decoded if decoded is not None else _decode_pillow(data)


def resize_bytes(data: bytes, quality: int = DEFAULT_QUALITY, backend: str = "auto"
                 ) -> tuple[bytes, Decoded]:
    """Resize one encoded image to a 256-pixel short side; return RGB JPEG bytes.

    ``backend``: ``fast`` (OpenCV resampling; JPEGs on their YUV planes with PyTurboJPEG when
    installed, else simplejpeg RGB), ``pillow`` (Pillow only: ``draft()`` and Lanczos),
    ``auto`` (fast when installed).
    """
    if backend not in BACKENDS:
        raise InvalidDataError(f"unknown resize backend '{backend}'; choose one of {BACKENDS}")
    fast = backend == "fast" or (backend == "auto" and fast_available())
    if fast:
        _require_fast()
        planar = _resize_planes(data, quality) if _turbo() is not None else None
        if planar is not None:
            return planar
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


def _write_atomically(target: str, data: bytes) -> None:
    """Write under a hidden ``.part`` name, then rename; the folder is made only when the
    first open fails (few system calls: this runs per image)."""
    part = _part_path(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(part, flags, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = os.open(part, flags, 0o666)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(part, target)


def resize_file(job: ResizeJob) -> tuple[str, str, bool]:
    """Resize ``job.source`` into ``job.target`` (temp name, then rename).

    Returns (source, kind, upscaled): kind is jpeg, grayscale, cmyk or the format's name
    (e.g. png); upscaled says the source's short side was below 256.
    """
    with open(job.source, "rb", buffering=0) as fh:  # unbuffered: one read of the whole file
        data = fh.read()
    encoded, decoded = resize_bytes(data, job.quality, job.backend)
    _write_atomically(job.target, encoded)
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


def _shards_report(run: Any) -> str:
    rate = run.written_shards / run.seconds if run.seconds else 0
    return (f"raw256: {run.written_shards:,} shards written, {run.skipped_shards:,} already "
            f"done, {len(run.failures):,} image(s) failed in {run.seconds:.1f} s "
            f"({rate:.2f} shards/s, {run.workers} worker{'' if run.workers == 1 else 's'})")


def _write_shards(request: PrepareRequest, scanned: ScannedDataset, options: dict[str, Any],
                  quality: int, engine: str) -> tuple[dict[str, str], dict[str, Any], str]:
    """The shards path of :func:`prepare_raw256`: (failed relpaths, attributes, report)."""
    from .shards import DEFAULT_SEED, DEFAULT_SHARD_SIZE, parse_size, write_ilsvrc2012_shards

    root = Path(options.get("output_dir") or scanned.data_dir).expanduser().resolve()
    shard_size = parse_size(options.get("shard_size") or DEFAULT_SHARD_SIZE)
    seed = int(options.get("seed") if options.get("seed") is not None else DEFAULT_SEED)
    run = write_ilsvrc2012_shards(
        scanned, root, quality=quality, shard_size=shard_size, seed=seed,
        exclude_corrupt=bool(options.get("exclude_corrupt")), workers=options.get("workers"),
        engine=engine, address=options.get("address"), verbose=request.verbose)
    relative = {str(scanned.data_dir / p): p for listing in scanned.sets.values()
                for p in listing.relpaths}
    failed = {relative.get(str(f.item), str(f.item)): f.error for f in run.failures}
    failed.update((relative.get(source, source), reason) for source, reason in
                  run.excluded.items())
    unwritten = sorted(set(scanned.sets) - set(run.indexes))
    if unwritten and options.get("exclude_corrupt"):
        raise InvalidDataError(
            f"the {', '.join(unwritten)} shards could not all be written ("
            f"{'; '.join(f'{f.item}: {f.error}' for f in run.failures[:3])}); rerun the same "
            "command to resume (finished shards are kept)")
    lines = [_shards_report(run)] + [f"  could not resize {path}: {error}"
                                     for path, error in failed.items()]
    attributes = {"format": "shards", "shard_size": shard_size, "seed": seed,
                  "shard_root": str(root), "shard_indexes": {
                      name: path.relative_to(root).as_posix()
                      for name, path in run.indexes.items()}}
    return failed, attributes, "\n".join(lines)


def prepare_raw256(request: PrepareRequest) -> PreparedTask:
    """Resize the images, then write the classification layout pointing at the copies.

    Files that cannot be resized are listed (and saved to ``raw256_failures.txt`` beside the
    metadata); the task is only recorded once they are fixed or ``exclude_corrupt=True``.
    """
    options = dict(request.options)
    sets = tuple(options.get("sets") or SETS)
    quality = int(options.get("quality", DEFAULT_QUALITY))
    engine = options.get("engine") or ("ray" if options.get("address") else "local")
    output_format = options.get("format") or "folders"
    if output_format not in FORMATS:
        raise InvalidDataError(f"unknown raw256 format '{output_format}'; choose one of "
                               f"{', '.join(FORMATS)} (--format)")
    _check_quality(quality)
    check_options(engine, options.get("workers"))
    scanned = scan_ilsvrc2012(request.data_dir, sets=sets, verbose=request.verbose)
    if request.verbose and scanned.ignored_files:
        print(summarize_ignored(scanned.ignored_files))
    if request.verbose and not fast_available():
        print("raw256: simplejpeg/OpenCV are not installed, so Pillow resizes (about 2x "
              "slower); for the fast path: pip install 'imagesets[fast]'")
    if output_format == "shards":
        failed, attributes, summary = _write_shards(request, scanned, options, quality, engine)
        rename = None
    else:
        run = resize_ilsvrc2012(scanned, options.get("output_dir"), quality,
                                options.get("workers"), engine, options.get("address"),
                                request.verbose)
        failed, summary = run.failed_relpaths(scanned.data_dir), _report(run, scanned.data_dir)
        attributes = ({"image_root": str(run.output_root), "paths_relative_to": "image_root"}
                      if options.get("output_dir") else {})
        rename = run.renamed
    if request.verbose:
        print(summary)
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
    attributes.update(short_side=SHORT_SIDE, quality=quality, excluded_files=failed,
                      source_fingerprint=scanned.fingerprint())
    output = request.metadata_dir / f"{request.task}.h5"
    write_classification_file(kept, output, task=request.task,
                              rename=None if rename is None else lambda s, p: rename[s][p],
                              extra_attributes=attributes)
    parameters = {**options, "sets": list(sets), "quality": quality}
    return PreparedTask(request.dataset, request.task, str(scanned.data_dir), str(output),
                        parameters, scanned.fingerprint())
