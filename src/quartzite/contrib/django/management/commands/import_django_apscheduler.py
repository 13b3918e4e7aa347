"""``manage.py import_django_apscheduler``: copy a django-apscheduler database into quartzite's
tables (see :mod:`quartzite.contrib.django._legacy`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

__all__ = ("Command",)


class Command(BaseCommand):
    help = (
        "Copy django-apscheduler's jobs and run history (tables django_apscheduler_djangojob and "
        "django_apscheduler_djangojobexecution) into quartzite's tables. Jobs pickled by "
        "APScheduler 3 are read with their classes renamed from apscheduler.* to quartzite.* and "
        "stored with the store's serializer; jobs that cannot be read are kept in the "
        "quarantine. The old tables are only read. Running it again copies nothing twice (jobs "
        "are replaced by the same jobs: run it before starting quartzite's schedulers)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--database",
            default=None,
            help="the alias of quartzite's tables (default: settings.QUARTZITE_DATABASE, else "
            "the alias the routers choose for quartzite's models)",
        )
        parser.add_argument(
            "--source-database",
            default=None,
            help="the alias of django-apscheduler's tables (default: the same as --database)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="read and check everything, write nothing, and say what would be copied",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from ..._legacy import import_legacy

        dry_run = bool(options["dry_run"])
        try:
            report, target, source = import_legacy(
                options["database"], options["source_database"], dry_run=dry_run
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        prefix = "Dry run: nothing written. " if dry_run else ""
        self.stdout.write(f"{prefix}From django-apscheduler on {source!r} to {target!r}:")
        for line in report.lines(dry_run):
            self.stdout.write(line)
