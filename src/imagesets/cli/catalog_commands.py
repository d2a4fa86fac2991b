"""``list``, ``info``, ``prepare``, ``remove``, ``download``: the catalog and registry verbs."""

from __future__ import annotations

import argparse
import functools
import json
import sys
import textwrap
from pathlib import Path

from .. import api
from ..catalog import DatasetEntry, Option, entries, get_entry
from ..errors import ImagesetsError
from ..tables import format_pairs, format_table


def dataset_argument(parser: argparse.ArgumentParser) -> None:
    """The DATASET positional argument, its help listing the catalog's datasets."""
    parser.add_argument("name", metavar="DATASET",
                        help=f"one of: {', '.join(e.name for e in entries())}")


def _usage(option: Option) -> str:
    if option.type is bool:
        return option.cli_flag
    metavar = option.metavar or ("{" + ",".join(option.choices) + "}" if option.choices
                                 else option.type.__name__.upper())
    return f"{option.cli_flag} {metavar}{' ...' if option.multiple else ''}"


def _notes(option: Option) -> str:
    default = option.default
    if isinstance(default, (list, tuple)):
        default = " ".join(map(str, default))
    notes = [f"default: {default}"] if default not in (None, False) else []
    notes += ["remembered"] if option.remembered else []
    notes += [] if option.changes_output else ["does not change the output"]
    return f" [{'; '.join(notes)}]" if notes else ""


def task_option_lines(entry: DatasetEntry, width: int = 92) -> list[str]:
    """One dataset's tasks and each task's options, as ``prepare --help`` and ``info`` list them."""
    lines = []
    for task in entry.tasks:
        star = "*" if task.name == entry.default_task else ""
        lines.append(textwrap.fill(f"--task {task.name}{star}: {task.description}", width,
                                   initial_indent="    ", subsequent_indent="      "))
        for option in task.options:
            lines.append(textwrap.fill(
                f"{_usage(option):<22} {option.help}{_notes(option)}", width,
                initial_indent="      ", subsequent_indent=" " * 29))
        if not task.options:
            lines.append("      (no options)")
    return lines


def options_epilog() -> str:
    """Every dataset's tasks and their options (the end of ``prepare --help``)."""
    lines = ["datasets, their tasks (* = default) and options:"]
    for entry in entries():
        lines += [f"  {entry.name}", *task_option_lines(entry)]
    return "\n".join(lines)


def add_option_flags(parser: argparse.ArgumentParser) -> list[str]:
    """One flag per declared option name across the catalog (left out: not in the args).

    The API checks the values against the task's own declaration (types, choices)."""
    declared: dict[str, list[Option]] = {}
    for entry in entries():
        for task in entry.tasks:
            for option in task.options:
                declared.setdefault(option.name, []).append(option)
    group = parser.add_argument_group("task options (see the list below for which task takes "
                                      "which)")
    for name, options in declared.items():
        option = options[0]
        kwargs: dict = {"dest": name, "default": argparse.SUPPRESS, "help": option.help}
        if option.type is bool:
            kwargs["action"] = "store_true"
        else:
            if len({o.choices for o in options}) == 1 and option.choices:
                kwargs["choices"] = option.choices
            else:
                kwargs["metavar"] = option.metavar or option.type.__name__.upper()
            if option.type in (int, float):
                kwargs["type"] = option.type
            if option.multiple:
                kwargs["nargs"] = "+"
        group.add_argument(option.cli_flag, *option.aliases, **kwargs)
    return list(declared)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("list", help="list the datasets in the catalog")
    p.set_defaults(func=run_list)

    p = commands.add_parser("info", help="show a dataset's catalog entry and prepared tasks")
    dataset_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run_info)

    p = commands.add_parser(
        "prepare", help="build a dataset task's metadata",
        description="Build a dataset task's metadata (reused while its files and the options "
                    "that change the output stay the same).",
        epilog=options_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    dataset_argument(p)
    p.add_argument("--task", default=None, help="task to prepare (default: the dataset's default)")
    p.add_argument("--data-dir", default=None,
                   help="folder holding the dataset's files (remembered)")
    p.add_argument("--force", action="store_true",
                   help="rebuild even if the prepared metadata is up to date")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run_prepare, option_names=add_option_flags(p))

    p = commands.add_parser("remove", help="forget a prepared dataset and delete its metadata")
    dataset_argument(p)
    p.add_argument("--task", default=None)
    p.add_argument("--delete-data", action="store_true",
                   help="also delete the files imagesets downloaded for it (whole dataset "
                        "only; files you provided are never deleted)")
    p.add_argument("--yes", action="store_true",
                   help="with --delete-data: delete without asking")
    p.set_defaults(func=run_remove)

    p = commands.add_parser("download", help="download a dataset's files")
    dataset_argument(p)
    p.add_argument("--data-dir", default=None, help="where to put the files (remembered)")
    p.add_argument("--what", nargs="+", default=None, help="which parts to download")
    p.add_argument("--workers", type=int, default=None, help="files downloaded in parallel")
    p.add_argument("--n-jobs", dest="workers", type=int, help=argparse.SUPPRESS)
    p.add_argument("--endpoint", default=None, help="mirror / endpoint URL override")
    p.add_argument("--verify", action="store_true",
                   help="rehash files already present instead of trusting the manifest")
    p.add_argument("--allow-unverified", action="store_true",
                   help="accept files that can only be checked by size (exit 0)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run_download)


def prepare_options(args: argparse.Namespace) -> dict:
    """The task options given on the command line (only those that were given)."""
    return {name: getattr(args, name) for name in args.option_names if hasattr(args, name)}


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
    print(f"\nOptions (imagesets prepare {summary['name']} --task TASK ...; * = default task):")
    print("\n".join(task_option_lines(get_entry(args.name))))
    if summary["prepared"]:
        print("\nPrepared:")
        print(format_table([{"task": t, "metadata_file": r["metadata_file"],
                             "created": r["created"],
                             "parameters": json.dumps(r["parameters"], sort_keys=True)}
                            for t, r in summary["prepared"].items()]))
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


def _confirm_deletion(files: list[Path], yes: bool) -> bool:
    """List what --delete-data deletes; ask on a terminal unless --yes; refuse otherwise."""
    total = sum(f.stat().st_size for f in files)
    size = f"{total / 1e6:,.1f} MB" if total >= 100_000 else f"{total / 1e3:,.1f} kB"
    print(f"--delete-data deletes {len(files)} downloaded file(s), {size}:")
    for path in files:
        print(f"  {path}")
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ImagesetsError("not deleting: no terminal to ask on; rerun with --yes to delete "
                             "the files listed above")
    return input("Delete them? [y/N] ").strip().lower() in ("y", "yes")


def run_remove(args: argparse.Namespace) -> int:
    confirm = functools.partial(_confirm_deletion, yes=args.yes)
    removed = api.remove(args.name, task=args.task, delete_data=args.delete_data,
                         home=args.home, confirm=confirm)
    if not removed:
        print(f"nothing prepared for {args.name}")
    for record in removed:
        print(f"removed {record.dataset}/{record.task} ({record.metadata_file})")
    if args.delete_data:
        print("deleted the files listed above; other files were left in place")
    return 0


def run_download(args: argparse.Namespace) -> int:
    options = {k: v for k, v in (("what", args.what), ("workers", args.workers),
                                 ("endpoint", args.endpoint)) if v is not None}
    options.update({k: True for k in ("verify", "allow_unverified") if getattr(args, k)})
    folder = api.download(args.name, data_dir=args.data_dir, verbose=not args.quiet,
                          home=args.home, **options)
    print(f"{args.name}: files in {folder}")
    return 0
