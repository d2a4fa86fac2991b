"""``list``, ``info``, ``prepare``, ``remove``, ``download``: the catalog and registry verbs."""

from __future__ import annotations

import argparse
import json

from .. import api
from ..catalog import get_entry
from ..tables import format_pairs, format_table


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("list", help="list the datasets in the catalog")
    p.set_defaults(func=run_list)

    p = commands.add_parser("info", help="show a dataset's catalog entry and prepared tasks")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run_info)

    p = commands.add_parser("prepare", help="build a dataset task's metadata")
    p.add_argument("name")
    p.add_argument("--task", default=None, help="task to prepare (default: the dataset's default)")
    p.add_argument("--data-dir", default=None, help="folder holding the dataset's files")
    p.add_argument("--sets", nargs="+", default=None, help="only these sets (e.g. val)")
    p.add_argument("--force", action="store_true", help="rebuild even if already prepared")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel workers for tasks that process images (default: all cores)")
    p.add_argument("--engine", choices=("local", "ray"), default=None,
                   help="run image work in local processes (default) or as Ray tasks")
    p.add_argument("--ray-address", default=None,
                   help="with --engine ray: an existing cluster (e.g. auto, ray://head:10001)")
    p.add_argument("--output-dir", default=None,
                   help="where tasks that write images put them (default: the data dir)")
    p.add_argument("--quality", type=int, default=None, help="JPEG quality of written images")
    p.add_argument("--images-dir", default=None,
                   help="where the images are, for datasets that ship annotations only")
    p.add_argument("--subject", default=None, help="LAION-fMRI betas: the subject (sub-01)")
    p.add_argument("--sessions", nargs="+", default=None,
                   help="LAION-fMRI betas: only these sessions (default: all)")
    p.add_argument("--exclude-corrupt", action="store_true",
                   help="leave unreadable images out (recorded in the metadata) instead of "
                        "stopping")
    p.set_defaults(func=run_prepare)

    p = commands.add_parser("remove", help="forget a prepared dataset and delete its metadata")
    p.add_argument("name")
    p.add_argument("--task", default=None)
    p.add_argument("--delete-data", action="store_true",
                   help="also delete the dataset's data folder (whole dataset only)")
    p.set_defaults(func=run_remove)

    p = commands.add_parser("download", help="download a dataset's files")
    p.add_argument("name")
    p.add_argument("--data-dir", default=None, help="where to put the files")
    p.add_argument("--what", nargs="+", default=None, help="which parts to download")
    p.add_argument("--n-jobs", type=int, default=None, help="files downloaded in parallel")
    p.add_argument("--endpoint", default=None, help="mirror / endpoint URL override")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run_download)


def prepare_options(args: argparse.Namespace) -> dict:
    """Dataset options given on the command line (only those that were set)."""
    given = {"sets": args.sets, "workers": args.workers, "engine": args.engine,
             "address": args.ray_address, "output_dir": args.output_dir,
             "quality": args.quality, "exclude_corrupt": True if args.exclude_corrupt else None,
             "images_dir": args.images_dir, "subject": args.subject, "sessions": args.sessions}
    return {key: value for key, value in given.items() if value is not None}


def run_list(args: argparse.Namespace) -> int:
    print(format_table(api.list_datasets(args.home)))
    print("(* = default task)")
    return 0


def run_info(args: argparse.Namespace) -> int:
    summary = api.info(args.name, args.home)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    pairs = [(k, summary[k] or "-") for k in ("name", "title", "description", "size",
                                              "homepage", "license", "data_dir")]
    pairs += [("keywords", ", ".join(summary["keywords"])),
              ("downloadable", "yes" if summary["downloadable"] else "no"),
              ("sets", ", ".join(summary["sets"])), ("fields", ", ".join(summary["fields"]))]
    print(format_pairs(pairs))
    print("\nTasks:")
    print(format_table([{"task": t, "default": "*" if t == summary["default_task"] else "",
                         "prepared": "yes" if t in summary["prepared"] else "",
                         "description": d} for t, d in summary["tasks"].items()]))
    if summary["prepared"]:
        print("\nPrepared:")
        print(format_table([{"task": t, "metadata_file": r["metadata_file"],
                             "created": r["created"]} for t, r in summary["prepared"].items()]))
    print("\nSetup:\n" + summary["setup"])
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    entry = get_entry(args.name)
    function = api.process if args.force else api.load
    dataset = function(entry.name, task=args.task, data_dir=args.data_dir,
                       verbose=not args.quiet, home=args.home, **prepare_options(args))
    task = entry.resolve_task(args.task)
    sizes = ", ".join(f"{s}: {len(dataset[s]):,}" for s in dataset.sets)
    print(f"{entry.name}/{task} ready ({sizes})")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    removed = api.remove(args.name, task=args.task, delete_data=args.delete_data, home=args.home)
    if not removed:
        print(f"nothing prepared for {args.name}")
    for record in removed:
        print(f"removed {record.dataset}/{record.task} ({record.metadata_file})")
    return 0


def run_download(args: argparse.Namespace) -> int:
    options = {k: v for k, v in (("what", args.what), ("n_jobs", args.n_jobs),
                                 ("endpoint", args.endpoint)) if v is not None}
    folder = api.download(args.name, data_dir=args.data_dir, verbose=not args.quiet,
                          home=args.home, **options)
    print(f"{args.name}: files in {folder}")
    return 0
