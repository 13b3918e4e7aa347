"""``quartzite history``: the run records of a store, newest first.

Each occurrence of a job that a scheduler took (or that run-now asked for) has one record in its
store, finished with the outcome; see :mod:`quartzite.runs`. Records outlive their job, so the
history of a removed job can still be read.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import IO, Any

from ..runs import RunStatus
from ..util import UTC
from ._jobs import RUN_HEADERS, run_table_rows
from ._output import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CliError,
    Styler,
    format_local,
    parse_since,
    print_json,
    render_table,
    run_to_json,
)
from ._stores import add_store_options, open_scheduler

__all__ = ("add_history_parser",)

_STATUSES = [status.value for status in RunStatus]


def add_history_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Add ``history`` to the top-level parser's ``subparsers``."""
    parser = subparsers.add_parser(
        "history",
        parents=[parent],
        help="show the run records of a store (all jobs, or one)",
        description="Show the run records of a store, newest first: when each occurrence was "
        "due, its status, how long it took, which scheduler ran it and the first line of its "
        "error.",
    )
    parser.add_argument("job_id", nargs="?", metavar="ID", help="only this job's runs")
    parser.add_argument(
        "--status",
        action="append",
        choices=_STATUSES,
        metavar="STATUS",
        help=f"only runs with this status (repeatable): {', '.join(_STATUSES)}",
    )
    parser.add_argument(
        "--since",
        metavar="WHEN",
        help="only runs due since then: a duration back from now (1d, 2h30m, 15m, PT90M) or an "
        "ISO 8601 time",
    )
    parser.add_argument(
        "--limit", type=int, default=20, metavar="N", help="at most N runs (20; 0: all)"
    )
    parser.add_argument(
        "--traceback", action="store_true", help="print the full traceback of failed runs"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_store_options(parser)
    parser.set_defaults(handler=show_history)


def show_history(args: argparse.Namespace, out: IO[str]) -> int:
    """``history [ID] [--status S] [--since WHEN] [--limit N] [--traceback] [--json]``."""
    if args.limit < 0:
        raise CliError("--limit must not be negative", EXIT_USAGE)
    now = datetime.now(UTC)
    since = None
    if args.since is not None:
        try:
            since = parse_since(args.since, now)
        except (ValueError, LookupError) as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    styler = Styler.for_stream(out)
    with open_scheduler(args) as scheduler:
        runs = scheduler.get_job_runs(
            args.job_id, status=args.status, since=since, limit=args.limit or None
        )
        if args.job_id and not runs and scheduler.get_job(args.job_id) is None:
            # (records outlive their job: only an id that is neither is an error)
            raise CliError(f"no job and no run records with id {args.job_id!r}", EXIT_FAILURE)

    if args.json:
        # (every field, the traceback included: JSON is for scripts)
        print_json([run_to_json(run) for run in runs], out)
        return 0
    if not runs:
        print("No runs recorded.", file=out)
        return 0
    render_table(RUN_HEADERS, run_table_rows(runs, styler, now), styler, out)
    if args.traceback:
        for run in runs:
            if run.traceback:
                title = f"{run.job_id} at {format_local(run.scheduled_run_time)}"
                print(f"\n{styler(title, 'bold')}", file=out)
                print(run.traceback.rstrip(), file=out)
                if run.exception_type and run.exception_type not in run.traceback:
                    print(f"{run.exception_type}: {run.exception_message or ''}", file=out)
    return 0
