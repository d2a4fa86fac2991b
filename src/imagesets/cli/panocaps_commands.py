"""``validate``, ``convert``, ``show``, ``report`` for PanoCaps: ``imagesets VERB panocaps ...``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..catalog import Registry
from ..errors import NotFoundError
from ..panocaps import available_splits, convert, load, show, validate_split, write_report
from ..panocaps.convert import TARGETS
from ..panocaps.formats import FORMATS


def _dataset_parser(commands: argparse._SubParsersAction, verb: str, help_text: str
                    ) -> argparse.ArgumentParser:
    parent = commands.add_parser(verb, help=help_text)
    datasets = parent.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    p = datasets.add_parser("panocaps", help=f"{help_text} (PanoCaps)")
    data_dir_argument(p)
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="read only this layout (default: JSON pair if present, else Parquet)")
    return p


def register(commands: argparse._SubParsersAction) -> None:
    p = _dataset_parser(commands, "validate", "check a dataset's annotations")
    p.add_argument("--split", "--sets", nargs="+", default=None,
                   help="splits (default: all present)")
    p.add_argument("--images-dir", default=None, help="check the images there too")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--max-rows", type=int, default=200, help="problems listed per split")
    p.set_defaults(func=run_validate)

    p = _dataset_parser(commands, "convert", "convert a dataset's annotations")
    p.add_argument("--to", required=True, choices=TARGETS)
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--split", "--sets", nargs="+", default=None,
                   help="splits (default: all present)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_convert)

    p = _dataset_parser(commands, "show", "draw one annotated image to a PNG")
    p.add_argument("--split", "--sets", default="val", help="split (default: val)")
    p.add_argument("--image-id", default=None, help="image id (default: the first image)")
    p.add_argument("--images-dir", default=None, help="where the source images are")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.set_defaults(func=run_show)

    p = _dataset_parser(commands, "report", "write a self-contained HTML page of many images")
    p.add_argument("--split", "--sets", default="val", help="split (default: val)")
    p.add_argument("--image-id", nargs="+", default=None, help="these images (default: first)")
    p.add_argument("--limit", type=int, default=50, help="images shown without --image-id")
    p.add_argument("--images-dir", default=None, help="where the source images are")
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.set_defaults(func=run_report)


def data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` (``--root``, the old name, still works) of a PanoCaps verb."""
    parser.add_argument("--data-dir", dest="root", default=None, metavar="DIR",
                        help="PanoCaps folder (annotations/ and/or data/); default: the folder "
                             "remembered by `imagesets download/prepare panocaps`")
    parser.add_argument("--root", dest="root", help=argparse.SUPPRESS)


def panocaps_root(args: argparse.Namespace) -> Path:
    """The PanoCaps folder given with --data-dir, else the one the registry remembers."""
    if args.root is not None:
        return Path(args.root)
    remembered = Registry(args.home).data_dir("panocaps")
    if remembered is None:
        raise NotFoundError("no PanoCaps folder given: pass --data-dir PATH (or run "
                            "`imagesets download panocaps --data-dir PATH` first, which "
                            "remembers it)")
    return Path(remembered)


def run_validate(args: argparse.Namespace) -> int:
    root = panocaps_root(args)
    splits = args.split or list(available_splits(root)) or ["val"]
    reports = [validate_split(load(root, s, format=args.format), args.images_dir)
               for s in splits]
    if args.json:
        print(json.dumps({"root": str(root), "ok": all(r.ok for r in reports),
                          "splits": [r.to_dict() for r in reports]}, indent=2,
                         ensure_ascii=False))
    else:
        print("\n\n".join(r.format_text(args.max_rows) for r in reports))
    return 0 if all(r.ok for r in reports) else 1


def run_convert(args: argparse.Namespace) -> int:
    result = convert(panocaps_root(args), args.to, args.output, args.split, args.format,
                     progress=not args.quiet)
    for split, count in result.splits.items():
        print(f"{split}: {count:,} images")
    for path in result.files:
        print(f"wrote {path}")
    if result.overlapping_pixels or result.dropped_segments:
        print(f"note: {result.overlapping_pixels:,} overlapping pixels went to the earlier mask; "
              f"{result.dropped_segments:,} segments had no pixels left and were dropped")
    return 0


def run_show(args: argparse.Namespace) -> int:
    split = load(panocaps_root(args), args.split, args.images_dir, format=args.format)
    sample = split[args.image_id] if args.image_id is not None else split[0]
    path = show(sample, args.output)
    print(f"wrote {path} ({sample.split}/{sample.image_id}: {len(sample.phrases)} phrases, "
          f"{len(sample.regions)} masks)")
    return 0


def run_report(args: argparse.Namespace) -> int:
    split = load(panocaps_root(args), args.split, args.images_dir, format=args.format)
    validation = validate_split(split)
    summary = [("split", split.name), ("files", ", ".join(split.data.sources)),
               ("images", len(split)), ("errors", len(validation.errors)),
               ("warnings", len(validation.warnings)),
               ("grounded fraction", validation.stats["grounded_fraction"]),
               ("mean coverage", validation.stats["mean_coverage"])]
    path = write_report(split, args.output, args.image_id, args.limit, summary=summary)
    print(f"wrote {path}")
    return 0
