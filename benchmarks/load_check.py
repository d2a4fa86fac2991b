"""The input check every ``load()`` runs, against hashing every image path, on the same tree.

Builds (or reuses, ``--keep DIR``) the synthetic ILSVRC2012 tree of ``ilsvrc2012_metadata.py``
(1000 class folders, flat val, ``meta.mat``, ground truth) and times, best of ``--repeat``:

1. ``ilsvrc2012.inputs.input_stamp``: the cheap check (folder and devkit file stats);
2. ``imagesets.load`` of the prepared task: the check plus opening the metadata file;
3. the naive check it replaces: list every image and hash the lists
   (``scan_ilsvrc2012(...).fingerprint()``, what a stale-proof check by content would cost).

    python benchmarks/load_check.py --scale 0.1     # 130 per class, 5,000 val
    python benchmarks/load_check.py                 # full size (1.3M + 50k zero-byte files)
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _metadata_benchmark():
    spec = importlib.util.spec_from_file_location("ilsvrc2012_metadata",
                                                  HERE / "ilsvrc2012_metadata.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--keep", default=None, help="build the tree here once and reuse it")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import imagesets
    from imagesets.ilsvrc2012.inputs import input_stamp
    from imagesets.ilsvrc2012.scan import SETS, scan_ilsvrc2012
    from imagesets.tables import format_table

    bench = _metadata_benchmark()
    with tempfile.TemporaryDirectory(prefix="imagesets-bench-") as scratch:
        root, shape = bench.prepare_tree(args.keep, args.scale, 0, Path(scratch))
        files = bench.warm_directory_cache(root)
        home = Path(scratch) / "home"
        imagesets.load("ilsvrc2012", data_dir=root, home=home, verbose=False).close()
        options = {"sets": list(SETS)}
        stamp, _ = bench.best_of(args.repeat, lambda: input_stamp(root, options))
        load, _ = bench.best_of(args.repeat, lambda: imagesets.load(
            "ilsvrc2012", home=home, verbose=False).close())
        naive, _ = bench.best_of(max(1, args.repeat // 2), lambda: scan_ilsvrc2012(
            root, verbose=False).fingerprint())
    print(f"\n{files:,} files, 1000 class folders; wall ms, best of {args.repeat}")
    print(format_table([
        {"check": "input_stamp (folder + devkit stats)", "ms": f"{stamp * 1e3:.1f}",
         "naive / this": f"{naive / stamp:.0f}x"},
        {"check": "imagesets.load, prepared (stamp + open)", "ms": f"{load * 1e3:.1f}",
         "naive / this": f"{naive / load:.0f}x"},
        {"check": "naive: list and hash every image path", "ms": f"{naive * 1e3:.1f}",
         "naive / this": "1x"},
    ]))


if __name__ == "__main__":
    main()
