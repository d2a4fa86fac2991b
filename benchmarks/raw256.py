"""ILSVRC2012 ``raw256`` resizing: our per-image path versus the naive path, same files, same run.

Generates camera-like JPEGs (smooth gradients, edges, texture, sensor noise; quality 90) and
measures images per CPU-second in one process for

* naive: dbcollection 0.2.6's path: Pillow full decode, ``resize(LANCZOS)``, Pillow save at
  quality 75 (and, for a like-for-like ratio, at our default quality 90);
* ours: ``imagesets.ilsvrc2012.raw256.resize_file`` (simplejpeg decode, reduced in the DCT
  domain when the source is >= 2x the target, Lanczos-3 prefilter + cubic interpolation with
  OpenCV, simplejpeg encode at quality 90);

on 500x375 images (the most common ImageNet size, where draft() cannot help) and on a mix of
sizes like ImageNet's, then the throughput of the local engine with 1..N workers (images/s from
the difference of two job sizes, so pool start-up cancels out), and the fidelity of each
output against a Lanczos resize of the uncompressed pixels.

Then a whole run, as a user runs it: ``imagesets prepare ilsvrc2012 --task raw256`` on an
ILSVRC2012 tree (scan, engine, atomic writes, metadata) against dbcollection's loop over the
same tree (``Image.open`` → ``resize(LANCZOS)`` → ``save`` at Pillow's default quality 75),
each in a fresh interpreter, CPU seconds of all its processes per image from the difference of
two tree sizes (start-up cancels out).

    python benchmarks/raw256.py               # 300 images per set
    python benchmarks/raw256.py --count 1000 --workers 1 2 4 8
    python benchmarks/raw256.py --whole-run-only --count 300
    python benchmarks/raw256.py --whole-run-only --output-dir /dev/shm   # outputs on tmpfs
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from imagesets.demo import sample_path
from imagesets.engine import run_items
from imagesets.ilsvrc2012.raw256 import ResizeJob, resize_file, target_size

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.ilsvrc2012.trees import SYNSETS, make_tree, write_devkit_files  # noqa: E402
from tests.ilsvrc2012_raw256.images import camera_like  # noqa: E402  (the tests' generator)

NAIVE_RUN = """
import os, sys
from PIL import Image
root, out = sys.argv[1], sys.argv[2]
for set_name in ("train", "val"):
    for folder, _, names in sorted(os.walk(os.path.join(root, set_name))):
        target = os.path.join(out, os.path.relpath(folder, root))
        os.makedirs(target, exist_ok=True)
        for name in sorted(names):
            image = Image.open(os.path.join(folder, name)).convert("RGB")
            w, h = image.size
            size = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
            image.resize(size, Image.LANCZOS).save(os.path.join(target, name))
"""

MIX = ((500, 375), (500, 375), (500, 375), (500, 333), (375, 500), (500, 500), (640, 480),
       (800, 600), (1024, 768), (1600, 1200))


def write_images(folder: Path, sizes: list[tuple[int, int]]) -> list[tuple[Path, np.ndarray]]:
    folder.mkdir(parents=True)
    out = []
    for number, (width, height) in enumerate(sizes):
        pixels = camera_like(width, height, number)
        path = folder / f"img_{number:05d}.JPEG"
        Image.fromarray(pixels).save(path, "JPEG", quality=90)
        out.append((path, pixels))
    return out


def naive_file(source: Path, target: Path, quality: int) -> None:
    image = Image.open(source).convert("RGB")
    image = image.resize(target_size(*image.size), Image.LANCZOS)
    image.save(target, "JPEG", quality=quality)


def cpu_per_image(files: list[Path], out: Path, function: Callable[[Path, Path], None]) -> float:
    """CPU seconds per image in this one process, over one pass."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.process_time()
    for path in files:
        function(path, out / path.name)
    return (time.process_time() - started) / len(files)


def ours(source: Path, target: Path) -> None:
    resize_file(ResizeJob(str(source), str(target)))


def ours_pillow(source: Path, target: Path) -> None:
    resize_file(ResizeJob(str(source), str(target), backend="pillow"))


def fidelity(images: list[tuple[Path, np.ndarray]], out: Path) -> float:
    """Mean absolute difference (grey levels) to a Lanczos resize of the uncompressed pixels."""
    errors = []
    for path, pixels in images[:50]:
        reference = Image.fromarray(pixels).resize(target_size(*pixels.shape[1::-1]),
                                                   Image.LANCZOS)
        result = np.asarray(Image.open(out / path.name).convert("RGB"), dtype=np.float32)
        errors.append(np.abs(result - np.asarray(reference, dtype=np.float32)).mean())
    return float(np.mean(errors))


def quality_table(name: str, images: list[tuple[Path, np.ndarray]], out: Path) -> None:
    """Output size and fidelity per JPEG quality: what the default (90) is chosen from."""
    print(f"  {name}:")
    for quality in (75, 85, 90, 95):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for path, _ in images[:50]:
            resize_file(ResizeJob(str(path), str(out / path.name), quality))
        size = np.mean([(out / p.name).stat().st_size for p, _ in images[:50]]) / 1024
        print(f"    q{quality}: {size:5.1f} KiB/img, MAD {fidelity(images, out):4.2f}, "
              f"PSNR {psnr(images, out):5.2f} dB")


def sample_photos() -> list[tuple[Path, np.ndarray]]:
    """The package's real sample photos, with their decoded pixels as the reference."""
    folder = sample_path("photos")
    return [(p, np.asarray(Image.open(p).convert("RGB"))) for p in sorted(folder.glob("*.jpg"))]


def psnr(images: list[tuple[Path, np.ndarray]], out: Path) -> float:
    errors = []
    for path, pixels in images[:50]:
        reference = np.asarray(Image.fromarray(pixels).resize(
            target_size(*pixels.shape[1::-1]), Image.LANCZOS), dtype=np.float32)
        result = np.asarray(Image.open(out / path.name).convert("RGB"), dtype=np.float32)
        errors.append(((result - reference) ** 2).mean())
    return float(10 * np.log10(255 ** 2 / np.mean(errors)))


def engine_rate(files: list[Path], out: Path, workers: int) -> tuple[float, float]:
    """Local engine: (images/s wall, worker CPU ms per image), each from the difference of
    two job sizes so that pool start-up cancels out."""
    def timed(count: int) -> tuple[float, float]:
        shutil.rmtree(out, ignore_errors=True)
        jobs = [ResizeJob(str(p), str(out / f"{i}_{p.name}")) for i, p in
                enumerate((files * 4)[:count])]
        cpu = _children_cpu()
        started = time.perf_counter()
        run = run_items(resize_file, jobs, workers=workers, verbose=False)
        assert not run.failures, run.failures[:1]
        return time.perf_counter() - started, _children_cpu() - cpu
    small, large = len(files), 3 * len(files)
    (wall_small, cpu_small), (wall_large, cpu_large) = timed(small), timed(large)
    return (large - small) / (wall_large - wall_small), \
        (cpu_large - cpu_small) / (large - small) * 1e3


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def imagenet_tree(root: Path, count: int, size: tuple[int, int]) -> Path:
    """An ILSVRC2012 tree (devkit files, 10 class folders, a flat val) of ``count`` photos."""
    per_class = count * 9 // 10 // 10
    tree = make_tree(root, train_counts={s.wnid: per_class for s in SYNSETS[:10]},
                     val_count=count - 10 * per_class)
    write_devkit_files(tree)
    for number, path in enumerate(sorted(root.rglob("*.JPEG"))):
        Image.fromarray(camera_like(*size, number % 50)).save(path, "JPEG", quality=90)
    return root


def run_cpu(command: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the command and all its processes)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu


def whole_run(root: Path, count: int, workers: list[int], rounds: int,
              size: tuple[int, int] = (500, 375), output_dir: Path | None = None) -> None:
    """imagesets prepare (raw256) vs dbcollection's loop, per image, start-up subtracted.

    Every run writes into a folder of its own (under ``output_dir`` when given), deleted only
    at the end: deleting the previous run's images right before the next one makes file
    creation slower by a varying amount on file systems that skip recently freed inodes
    (ext4 without a journal), which a real run, writing into an untouched folder, never pays.
    """
    trees = {n: imagenet_tree(root / f"tree{n}", n, size) for n in (count, 3 * count)}
    outputs = Path(tempfile.mkdtemp(prefix="raw256-whole-", dir=output_dir or root))
    runs = iter(range(10**6))

    def naive(n: int) -> tuple[float, float]:
        out = outputs / f"naive{next(runs)}"
        return run_cpu([sys.executable, "-c", NAIVE_RUN, str(trees[n]), str(out)])

    def ours(n: int, worker_count: int) -> tuple[float, float]:
        out = outputs / f"ours{next(runs)}"
        return run_cpu([sys.executable, "-m", "imagesets.cli.main", "--home",
                        str(root / "home"), "prepare", "ilsvrc2012", "--task", "raw256",
                        "--data-dir", str(trees[n]), "--workers", str(worker_count), "--force",
                        "--quiet", "--output-dir", str(out)])

    rows = [("dbcollection loop (q75), 1 process", naive)] + [
        (f"imagesets prepare --task raw256 (q90), --workers {w}",
         lambda n, w=w: ours(n, w)) for w in workers]
    fastest = np.full((len(rows), 2, 2), np.inf)  # row, tree size, (wall, CPU)
    load = os.getloadavg()[0]
    try:
        for _ in range(rounds):  # interleaved, best of N per size: other load only adds time
            for index, (_, function) in enumerate(rows):
                for size_index, n in enumerate((count, 3 * count)):
                    fastest[index, size_index] = np.minimum(fastest[index, size_index],
                                                            function(n))
    finally:
        shutil.rmtree(outputs, ignore_errors=True)
    best = [tuple((fastest[i, 1] - fastest[i, 0]) / (2 * count)) for i in range(len(rows))]
    print(f"\nwhole run, {size[0]}x{size[1]} photos, {count} and {3 * count} images "
          f"(difference), outputs under {output_dir or 'a temporary folder'}, CPU of every "
          f"process; best of {rounds} interleaved rounds per size (load average before: "
          f"{load:.2f}, after: {os.getloadavg()[0]:.2f}):")
    print(f"  {'run':52} {'wall ms/img':>11} {'CPU ms/img':>10} {'img/CPU-s':>9} "
          f"{'per core vs naive':>17} {'wall vs naive':>13}")
    for (label, _), (wall, cpu) in zip(rows, best, strict=True):
        print(f"  {label:52} {wall * 1e3:11.2f} {cpu * 1e3:10.2f} {1 / cpu:9.0f} "
              f"{best[0][1] / cpu:16.2f}x {best[0][0] / wall:12.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300, help="images per set")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (best is kept)")
    parser.add_argument("--workers", type=int, nargs="+", default=None,
                        help="worker counts for the engine scaling table (default 1..cores)")
    parser.add_argument("--whole-run-only", action="store_true",
                        help="only the whole-run comparison")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where the whole runs write their images (default: beside the trees; "
                        "e.g. /dev/shm leaves the disk's file-creation cost out of both sides)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    workers = args.workers or list(range(1, cores + 1))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.whole_run_only:
            whole_run(root / "whole", args.count, workers, args.rounds,
                      output_dir=args.output_dir)
            return
        sets = {"500x375": [(500, 375)] * args.count,
                "ImageNet-like mix": [MIX[i % len(MIX)] for i in range(args.count)]}
        print(f"raw256 benchmark: {args.count} camera-like JPEGs per set, {cores} cores\n")
        print(f"{'set':18} {'path':34} {'ms/img':>7} {'img/s/core':>10} {'vs naive':>9} "
              f"{'MAD':>5}")
        for name, sizes in sets.items():
            images = write_images(root / name.replace(" ", "_"), sizes)
            files = [p for p, _ in images]
            rows = [("naive: Pillow Lanczos, q75", lambda s, t: naive_file(s, t, 75)),
                    ("naive: Pillow Lanczos, q90", lambda s, t: naive_file(s, t, 90)),
                    ("ours: resize_file, q90", ours),
                    ("ours without [fast]: Pillow, q90", ours_pillow)]
            best = [float("inf")] * len(rows)
            for _ in range(args.rounds):  # interleaved, best of N: other load only adds time
                for index, (_, function) in enumerate(rows):
                    seconds = cpu_per_image(files, root / "out" / str(index), function)
                    best[index] = min(best[index], seconds)
            for index, (label, _) in enumerate(rows):
                print(f"{name:18} {label:34} {best[index] * 1e3:7.2f} {1 / best[index]:10.0f} "
                      f"{best[0] / best[index]:8.2f}x "
                      f"{fidelity(images, root / 'out' / str(index)):5.2f}")
        print("\nJPEG quality of the outputs (MAD and PSNR against a Lanczos resize of the "
              "source pixels):")
        quality_table("camera-like mix (uncompressed pixels as reference)", images,
                      root / "quality")
        quality_table("the package's 5 sample photos (decoded JPEG as reference)",
                      sample_photos(), root / "quality")
        print(f"\nlocal engine, ImageNet-like mix, {args.count}..{3 * args.count} images "
              f"(load average before: {os.getloadavg()[0]:.2f}); efficiency = wall rate x "
              "worker CPU per image / workers (1.00 = every worker busy all the time):")
        for count in workers:
            rate, cpu_ms = engine_rate([p for p, _ in images], root / "engine", count)
            print(f"  {count:2d} worker(s): {rate:6.0f} img/s wall, {cpu_ms:5.2f} CPU ms/img in "
                  f"workers, efficiency {rate * cpu_ms / 1e3 / count:4.2f}")
        whole_run(root / "whole", args.count, workers, args.rounds, output_dir=args.output_dir)

if __name__ == "__main__":
    main()
