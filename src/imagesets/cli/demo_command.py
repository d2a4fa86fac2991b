"""``imagesets demo``: the embedded samples, prepared and read back, offline."""

from __future__ import annotations

import argparse

from ..demo import run_demo


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="prepare and read the embedded sample datasets")
    p.add_argument("-o", "--output-dir", default=None,
                   help="folder for the demo's data home and the files it renders, kept "
                        "afterwards (default: ./imagesets-demo)")
    p.set_defaults(func=lambda args: run_demo(args.output_dir) and 0)
