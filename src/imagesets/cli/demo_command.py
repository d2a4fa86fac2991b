"""``imagesets demo``: the embedded samples, prepared and read back, offline."""

from __future__ import annotations

import argparse

from ..demo import run_demo


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="prepare and read the embedded sample datasets")
    p.add_argument("-o", "--output-dir", default=None,
                   help="keep the files the demo renders here (default: a temp folder)")
    p.set_defaults(func=lambda args: run_demo(args.output_dir) and 0)
