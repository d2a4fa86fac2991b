"""Entry point: builds the parser from the command modules and turns errors into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import ImagesetsError
from . import catalog_commands, demo_command, evaluate_command, panocaps_commands

HOME_HELP = ("data home (default: $IMAGESETS_HOME or the platform's user data folder); "
             "accepted before or after the command")
COMMAND_MODULES = (catalog_commands, demo_command, evaluate_command, panocaps_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagesets", description="One catalog and one API for vision datasets.")
    parser.add_argument("--home", help=HOME_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    _accept_home_anywhere(parser)
    return parser


def _accept_home_anywhere(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand (at any depth) its own ``--home``, so it may follow the verb."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in set(action.choices.values()):
                if "--home" not in subparser._option_string_actions:
                    subparser.add_argument("--home", default=argparse.SUPPRESS, help=HOME_HELP)
                _accept_home_anywhere(subparser)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ImagesetsError as exc:
        print(f"imagesets: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"imagesets: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("imagesets: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
