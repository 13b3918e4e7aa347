"""The ``quartzite`` command line (also ``python -m quartzite``).

Commands:

* ``quartzite run CONFIG.toml``: run a scheduler as a service (``--check``: only validate);
* ``quartzite jobs {list,show,pause,resume,remove,run-now}``: inspect and steer the jobs of a
  store named by ``--store URL``, ``--config FILE`` or ``--django-settings MODULE``;
* ``quartzite history [ID]``: the run records of a store;
* ``quartzite cron EXPR``: check a cron expression and print its next fire times.

Exit status: 0 on success, 1 on failure (unknown job, unreachable store, failed run), 2 on bad
usage (unknown option, malformed configuration file or cron expression). Errors are printed on
stderr as one line starting with ``quartzite: error:``. See docs/cli.rst.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import IO, NoReturn

from ..jobstores.base import UnreadableJobError
from ._cron import add_cron_parser
from ._history import add_history_parser
from ._jobs import add_jobs_parser
from ._output import EXIT_FAILURE, EXIT_USAGE, CliError, one_line
from ._run import add_run_parser
from ._stores import unreadable

__all__ = ("build_parser", "main")

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (a :class:`CliError` of status 2)."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see '{self.prog} --help')", EXIT_USAGE)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quartzite")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line."""
    parser = _Parser(
        prog="quartzite",
        description="Run quartzite schedulers as services, and inspect and steer the jobs and "
        "the run history of any job store.",
    )
    parser.add_argument("--version", action="version", version=f"quartzite {_version()}")
    # Options every command takes, after its name too (so defaults must not override).
    common = _Parser(add_help=False)
    common.add_argument(
        "--path",
        action="append",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="look for the job functions' modules in DIR too (repeatable; the current "
        "directory is always searched)",
    )
    common.add_argument(
        "--log-level",
        type=str.upper,
        choices=_LOG_LEVELS,
        default=argparse.SUPPRESS,
        help="log to stderr from this level on (run: INFO; other commands: no logging)",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    add_run_parser(subparsers, common)
    add_jobs_parser(subparsers, common)
    add_history_parser(subparsers, common)
    add_cron_parser(subparsers, common)
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    level = getattr(args, "log_level", None)
    if level is None and args.command != "run":
        # The commands report what went wrong themselves; the library's log lines (a store
        # retrying a connection ...) would only repeat it.
        logging.getLogger("quartzite").addHandler(logging.NullHandler())
        logging.getLogger("quartzite").propagate = False
        return
    if level is None:
        # run --check only reports; run logs what the service does
        level = "WARNING" if getattr(args, "check", False) else "INFO"
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    """Run the command line with ``argv`` (``sys.argv[1:]`` by default); return the exit status.

    :param out: where the commands print (stdout by default); errors always go to stderr
    """
    out = out or sys.stdout
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
        _setup_logging(args)
        # Jobs name their functions by module: find them as ``python -m`` would (the current
        # directory first), and in the directories given with --path.
        for directory in reversed([os.getcwd(), *getattr(args, "path", [])]):
            if directory not in sys.path:
                sys.path.insert(0, directory)
        status: int = args.handler(args, out)
        return status
    except (CliError, UnreadableJobError) as caught:
        error = unreadable(caught) if isinstance(caught, UnreadableJobError) else caught
        print(f"quartzite: error: {error.line}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("quartzite: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a command that stopped reading (head ...)
        return EXIT_FAILURE
    except Exception as exc:  # anything unforeseen still ends in one readable line
        message = one_line(str(exc)) or "no details"
        print(f"quartzite: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return EXIT_FAILURE
