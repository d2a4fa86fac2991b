"""``evaluate panocaps``: score grounded-captioning predictions with the PanoCaps metrics."""

from __future__ import annotations

import argparse
import json
import os

from ..fsutil import atomic_write_text
from ..tables import format_pairs, format_table
from .panocaps_commands import data_dir_argument, panocaps_root


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("evaluate", help="score predictions against a dataset's ground truth")
    datasets = p.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    e = datasets.add_parser(
        "panocaps", help="panoptic grounded captioning: AP50, mIoU, Recall, Precision, F1, gPQ",
        description="Score PanoCaps predictions with the official metrics (AP50, mIoU, "
                    "Recall/Precision/F1/gPQ @0.5), broken down by data source, thing/stuff and "
                    "single/plural entities.")
    data_dir_argument(e)
    e.add_argument("--split", "--sets", default="test", help="split to score (default: test)")
    e.add_argument("--pred", required=True,
                   help="folder of <image_id>.json predictions, or one .json/.jsonl file")
    e.add_argument("--text-sim", default=None, metavar="BACKEND",
                   help="phrase similarity: exact, wordnet, sbert (official: all-mpnet-base-v2) "
                        "or a sentence-transformers model name / local path (default: sbert, or "
                        "the table with --sim-table)")
    wordnet = e.add_mutually_exclusive_group()
    wordnet.add_argument("--wordnet", dest="wordnet", action="store_true", default=None,
                         help="use the WordNet synonym step (default except for exact)")
    wordnet.add_argument("--no-wordnet", dest="wordnet", action="store_false",
                         help="skip the WordNet synonym step")
    e.add_argument("--nltk-data", default=None, metavar="DIR",
                   help="an nltk_data folder holding corpora/wordnet (default: nltk's paths)")
    e.add_argument("--mode", choices=("official", "corrected"), default="official",
                   help="official: reproduce the published code and its quirks; corrected: "
                        "fix them (default: official)")
    e.add_argument("--sim-table", default=None, metavar="FILE",
                   help="JSON list of [phrase_a, phrase_b, score] replacing the embedding step")
    e.add_argument("--sim-table-default", type=float, default=0.0, metavar="X",
                   help="score of pairs the table lacks (default: 0)")
    e.add_argument("--save-sim-table", default=None, metavar="FILE",
                   help="write every phrase-pair score this run computed (replay: --sim-table)")
    e.add_argument("--captions", action="store_true",
                   help="also compute BLEU, METEOR (needs Java), ROUGE-L, CIDEr "
                        "(pip install 'imagesets[captions]')")
    e.add_argument("--json", default=None, metavar="FILE", help="write all results as JSON")
    e.add_argument("--details", default=None, metavar="FILE",
                   help="write per-image details (entities, matches, IoU, sim) as JSON")
    e.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="worker processes for reading and measuring masks (default: up to 4)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=run_panocaps)


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def run_panocaps(args: argparse.Namespace) -> int:
    from ..panocaps.evaluation import METRIC_NAMES, evaluate

    text_sim = args.text_sim or ("table" if args.sim_table else "sbert")
    result = evaluate(panocaps_root(args), args.split, args.pred, text_sim=text_sim, mode=args.mode,
                      wordnet=args.wordnet, nltk_data=args.nltk_data,
                      sim_table=args.sim_table, sim_table_default=args.sim_table_default,
                      save_sim_table=args.save_sim_table, captions=args.captions,
                      workers=args.workers, progress=not args.quiet)
    settings = result.settings
    print(f"PanoCaps {settings['split']} · mode {settings['mode']} · text similarity: "
          f"{settings['text_similarity']}")
    print(format_pairs([(name, _fmt(result.metrics[name])) for name in METRIC_NAMES]
                       + [(k, v) for k, v in result.counts.items()]))
    if result.by_source:
        print("\nBy data source")
        print(format_table([{"source": name, **{k: _fmt(row[k]) for k in (
            *METRIC_NAMES, "TP", "FP", "FN")}} for name, row in result.by_source.items()]))
    if result.by_kind:
        print("\nBy thing / stuff (ground-truth entities)")
        print(format_table([{"kind": kind, **{k: _fmt(v) for k, v in row.items()}}
                            for kind, row in result.by_kind.items()]))
    if result.by_plurality:
        print("\nBy single / plural entity (phrase names one ground-truth mask / several)")
        print(format_table([{"entity": name, **{k: _fmt(v) for k, v in row.items()}}
                            for name, row in result.by_plurality.items()]))
    if result.captions:
        print("\nCaption metrics")
        print(format_pairs([(k, _fmt(v)) for k, v in result.captions.items()]))
    if result.problems:
        print(f"\n{len(result.problems)} problem(s):")
        for problem in result.problems[:10]:
            print(f"  {problem['image_id']}: {problem['message']}")
        if len(result.problems) > 10:
            print("  ... (all of them in --json)")
    if args.json:
        atomic_write_text(args.json, json.dumps(result.to_dict(), indent=2) + "\n")
    if args.details:
        atomic_write_text(args.details, json.dumps(result.details(), indent=1) + "\n")
    return 0
