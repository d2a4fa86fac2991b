"""Entry point: builds the parser from the command modules and turns errors into one line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
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


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 error, 130 interrupted).

    Ctrl-C is remembered as well as raised: a ``KeyboardInterrupt`` that a library swallowed
    (one raised inside a weakref callback is only printed) still ends the command with 130.
    A reader that closed the pipe (``imagesets list | head -1``) ends it quietly.
    """
    args = build_parser().parse_args(argv)
    interrupted: list[int] = []

    def on_interrupt(signum: int, frame: object) -> None:
        interrupted.append(signum)
        raise KeyboardInterrupt

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_interrupt) if in_main_thread else None
    try:
        code = int(args.func(args) or 0)
    except KeyboardInterrupt:
        interrupted.append(signal.SIGINT)
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except (ImagesetsError, OSError) as exc:
        if not interrupted:
            print(f"imagesets: error: {_one_line(str(exc))}", file=sys.stderr)
            return 1
    except Exception:
        if not interrupted:  # a Ctrl-C that a library turned into another error (an import
            raise            # interrupted half-way raises ImportError) still ends with 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
    if interrupted:
        print("imagesets: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
