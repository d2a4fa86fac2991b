"""ImageNet training loader: imagesets.torch vs torchvision ImageFolder + PIL, same files, same run.

Prepares ``raw256`` (folders and shards) from camera-like 500x375 JPEGs, then times the
training input pipeline (random-resized crop 224, horizontal flip, to float tensor; batches
of 64) over the same resized files:

* torchvision: ``ImageFolder`` (PIL decode) + v1 ``transforms`` — torchvision's own code, loaded
  from ``.test-deps/torchvision`` (``scripts/install-test-deps``: ``pip --target --no-deps``;
  its compiled-op registration module replaced by an empty one, the registry's CUDA wheel
  cannot register its operators beside the CPU torch);
* ours: ``imagesets.torch.ImageNet`` (libjpeg-turbo decode to arrays, array transforms) and
  ``ImageNetShards`` over the tar shards.

Per worker process: CPU seconds per image with ``num_workers=0`` (images/s per core); then
wall images/s with ``num_workers=2``. Interleaved rounds, best kept (other load only adds).

    python benchmarks/imagenet_loader.py                 # 600 images, 3 rounds
    python benchmarks/imagenet_loader.py --count 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader

import imagesets
from imagesets.torch import ImageNet, ImageNetShards
from imagesets.torch import transforms as T
from imagesets.torch.decode import decoder_name

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.raw256 import imagenet_tree  # noqa: E402

TORCHVISION = REPO / ".test-deps" / "torchvision"


def load_torchvision() -> types.ModuleType:
    if not (TORCHVISION / "torchvision").is_dir():
        raise SystemExit(f"no torchvision in {TORCHVISION}: run scripts/install-test-deps")
    sys.path.insert(0, str(TORCHVISION))
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("_meta_registrations")
    import torchvision

    return torchvision


def timed(make_loader: Callable[[], DataLoader]) -> tuple[float, float, int]:
    """(wall s, CPU s of this process, images) for one pass."""
    loader = make_loader()
    cpu, wall, count = time.process_time(), time.perf_counter(), 0
    for images, _ in loader:
        count += len(images)
    return time.perf_counter() - wall, time.process_time() - cpu, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=600, help="images in the tree")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torchvision = load_torchvision()
    from torchvision import transforms as tv

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = imagenet_tree(Path(tmp) / "imagenet", args.count, (500, 375))
        home = Path(tmp) / "home"
        ds = imagesets.load("ilsvrc2012", task="raw256", data_dir=root, home=home,
                            verbose=False)
        imagesets.process("ilsvrc2012", task="raw256", data_dir=root, home=Path(tmp) / "h2",
                          verbose=False, format="shards", shard_size="10MB")
        ours_t = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor()])
        tv_t = tv.Compose([tv.RandomResizedCrop(224), tv.RandomHorizontalFlip(), tv.ToTensor()])
        ours_u8 = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                             T.ToTensor(scale=False)])
        tv_u8 = tv.Compose([tv.RandomResizedCrop(224), tv.RandomHorizontalFlip(),
                            tv.PILToTensor()])
        folder = torchvision.datasets.ImageFolder(str(root / "train256"), transform=tv_t)
        folder_u8 = torchvision.datasets.ImageFolder(str(root / "train256"), transform=tv_u8)
        ours = ImageNet(ds, "train", transform=ours_t)
        ours_uint8 = ImageNet(ds, "train", transform=ours_u8)
        shards = ImageNetShards(root / "train_shards", transform=ours_t)
        assert len(folder) == len(ours) == shards.num_samples
        rows = {
            "torchvision ImageFolder + PIL + transforms": lambda w: DataLoader(
                folder, batch_size=64, shuffle=True, num_workers=w),
            "imagesets.torch.ImageNet (folders)": lambda w: DataLoader(
                ours, batch_size=64, shuffle=True, num_workers=w),
            "imagesets.torch.ImageNetShards (shards)": lambda w: DataLoader(
                shards, batch_size=64, num_workers=w),
            "uint8 tensors: torchvision (PILToTensor)": lambda w: DataLoader(
                folder_u8, batch_size=64, shuffle=True, num_workers=w),
            "uint8 tensors: imagesets ImageNet": lambda w: DataLoader(
                ours_uint8, batch_size=64, shuffle=True, num_workers=w),
        }
        bases = {name: ("uint8 tensors: torchvision (PILToTensor)" if name.startswith("uint8")
                        else "torchvision ImageFolder + PIL + transforms") for name in rows}
        items: dict[str, Callable[[], None]] = {
            "torchvision ImageFolder + PIL + transforms": lambda: [folder[i] for i in
                                                                   range(len(folder))],
            "imagesets.torch.ImageNet (folders)": lambda: [ours[i] for i in range(len(ours))],
        }
        best: dict[tuple[str, int], float] = {}
        for _ in range(args.rounds):
            for name, make in rows.items():
                for workers in (0, 2):
                    wall, cpu, count = timed(lambda make=make, workers=workers: make(workers))
                    value = cpu / count if workers == 0 else wall / count
                    best[name, workers] = min(best.get((name, workers), float("inf")), value)
            for name, run in items.items():
                cpu = time.process_time()
                run()
                best[name, -1] = min(best.get((name, -1), float("inf")),
                                     (time.process_time() - cpu) / len(ours))
        print(f"ImageNet training loader, {len(ours)} raw256 images (from 500x375), crop 224 + "
              f"flip + to tensor, batches of 64; decoder: {decoder_name()}; torchvision "
              f"{torchvision.__version__}; {len(os.sched_getaffinity(0))} cores, load average "
              f"{os.getloadavg()[0]:.1f}; best of {args.rounds} interleaved rounds\n")
        print(f"{'loader':45} {'img/CPU-s, 1 process':>21} {'vs tv':>6} "
              f"{'img/s, num_workers=2':>21} {'vs tv':>6}")
        for name in rows:
            one, two = 1 / best[name, 0], 1 / best[name, 2]
            base = bases[name]
            print(f"{name:45} {one:21.0f} {one * best[base, 0]:5.2f}x {two:21.0f} "
                  f"{two * best[base, 2]:5.2f}x")
        base = next(iter(items))
        print("\nper image without DataLoader (dataset[i] in a loop: decode + transforms, no "
              "batching):")
        for name in items:
            print(f"  {name:43} {1 / best[name, -1]:6.0f} img/CPU-s "
                  f"{best[base, -1] / best[name, -1]:5.2f}x")

if __name__ == "__main__":
    main()
