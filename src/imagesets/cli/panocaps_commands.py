"""``validate``, ``convert``, ``show``, ``report`` for PanoCaps: ``imagesets VERB panocaps ...``."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from ..catalog import Registry
from ..errors import ImagesetsError, NotFoundError
from ..panocaps import (
    CaptionMismatchWarning,
    available_splits,
    convert,
    load,
    show,
    validate_split,
    write_report,
)
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

    p = _dataset_parser(commands, "show", "draw one annotated image to a PNG or JPEG")
    p.add_argument("--split", "--sets", default="val", help="split (default: val)")
    p.add_argument("--image-id", default=None, help="image id (default: the first image)")
    p.add_argument("--images-dir", default=None, help="where the source images are")
    p.add_argument("-o", "--output", required=True, help="file to write (.png, .jpg, .jpeg)")
    _prediction_options(p, "draw ground truth and prediction side by side")
    p.set_defaults(func=run_show)

    p = _dataset_parser(commands, "report", "write a self-contained HTML page of many images")
    p.add_argument("--split", "--sets", default="val", help="split (default: val)")
    p.add_argument("--image-id", nargs="+", default=None, help="these images (default: first)")
    p.add_argument("--limit", type=int, default=50, help="images shown without --image-id")
    p.add_argument("--images-dir", default=None, help="where the source images are")
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    _prediction_options(p, "the prediction viewer: every image of the split, worst gPQ first")
    p.set_defaults(func=run_report)


def _prediction_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--pred", default=None, metavar="PRED",
                   help=f"predictions (folder of <image_id>.json or a .json/.jsonl file): {what}")
    p.add_argument("--text-sim", default=None, metavar="BACKEND",
                   help="with --pred: phrase similarity as in `imagesets evaluate` (exact, "
                        "wordnet, sbert, a model id or folder; default: sbert, or the table "
                        "with --sim-table)")
    p.add_argument("--sim-table", default=None, metavar="FILE",
                   help="with --pred: replay a similarity table saved by `imagesets evaluate "
                        "--save-sim-table`")
    p.add_argument("--mode", choices=("official", "corrected"), default="official",
                   help="with --pred: evaluation mode as in `imagesets evaluate`")


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
    try:
        root = panocaps_root(args)
        splits = args.split or list(available_splits(root)) or ["val"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CaptionMismatchWarning)  # validate lists each one
            reports = [validate_split(load(root, s, format=args.format), args.images_dir)
                       for s in splits]
    except (ImagesetsError, OSError) as exc:
        if not args.json:
            raise
        print(json.dumps({"root": None if args.root is None else str(args.root), "ok": False,
                          "error": {"type": type(exc).__name__, "message": str(exc)},
                          "splits": []}, indent=2, ensure_ascii=False))
        return 1
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


def _evaluate_options(args: argparse.Namespace) -> dict[str, object]:
    return {"text_sim": args.text_sim or ("table" if args.sim_table else "sbert"),
            "sim_table": args.sim_table, "mode": args.mode}


def run_show(args: argparse.Namespace) -> int:
    split = load(panocaps_root(args), args.split, args.images_dir, format=args.format)
    image_id = args.image_id if args.image_id is not None else split[0].image_id
    if args.pred is not None:
        from ..panocaps.viewer import show_prediction

        path, comparison = show_prediction(split, args.pred, image_id, args.output,
                                           **_evaluate_options(args))
        score = comparison.score
        print(f"wrote {path} ({split.name}/{image_id}: matched {score.tp}, missed {score.fn}, "
              f"false positives {score.fp})")
        return 0
    sample = split[image_id]
    path = show(sample, args.output)
    print(f"wrote {path} ({sample.split}/{sample.image_id}: {len(sample.phrases)} phrases, "
          f"{len(sample.regions)} masks)")
    return 0


def run_report(args: argparse.Namespace) -> int:
    split = load(panocaps_root(args), args.split, args.images_dir, format=args.format)
    validation = validate_split(split)
    errors = [p.to_dict() for p in validation.errors]
    if args.pred is not None:
        from ..panocaps.viewer import write_prediction_report

        path = write_prediction_report(split, args.pred, args.output, validation=errors,
                                       **_evaluate_options(args))
        print(f"wrote {path} ({len(split)} images, {len(errors)} validation errors)")
        return 0
    summary = [("split", split.name), ("files", ", ".join(split.data.sources)),
               ("images", len(split)), ("errors", len(validation.errors)),
               ("warnings", len(validation.warnings)),
               ("grounded fraction", validation.stats["grounded_fraction"]),
               ("mean coverage", validation.stats["mean_coverage"])]
    path = write_report(split, args.output, args.image_id, args.limit, summary=summary,
                        problems=errors)
    print(f"wrote {path} ({len(errors)} validation errors listed)")
    return 0
