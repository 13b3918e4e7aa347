"""The admin of the Django app: jobs (readable state, run now, pause, resume), run history and
the quarantine.

"Run now" hands the run to the schedulers through the store (a ``pending`` run record that the
next claim of any scheduler takes, as ``scheduler.run_job_now`` does): no job code runs in the
web process. The action then waits, up to ``APSCHEDULER_RUN_NOW_TIMEOUT`` seconds, for each
record to finish and reports the outcome.
"""

from __future__ import annotations

import pickle
import time
from datetime import datetime, timezone
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Avg, Max
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..._schedule import first_run_time
from ...jobstores.base import JobLookupError
from ...serializers import resolve_serializer
from . import _wakeup
from .jobstores import DjangoJobStore, DjangoMemoryJobStore
from .models import DjangoJob, DjangoJobExecution, DjangoJobQuarantine
from .util import get_django_internal_datetime, get_local_dt_format

__all__ = ("DjangoJobAdmin", "DjangoJobExecutionAdmin", "DjangoJobQuarantineAdmin")

#: Seconds between two looks at the records "run now" waits for.
_POLL = 0.1
_FINAL = {
    DjangoJobExecution.SUCCESS,
    DjangoJobExecution.ERROR,
    DjangoJobExecution.MISSED,
    DjangoJobExecution.MAX_INSTANCES,
    DjangoJobExecution.INTERRUPTED,
    DjangoJobExecution.TIMEOUT,
}


def _readable_state(job_state: Any) -> dict[str, Any] | None:
    """The job's state dict, whichever built-in serializer wrote it (``None``: unreadable)."""
    data = bytes(job_state or b"")
    if not data:
        return None
    for name in ("json", "pickle") if data[:1] == b"{" else ("pickle", "json"):
        try:
            return resolve_serializer(name, pickle.HIGHEST_PROTOCOL).deserialize(data)
        except Exception:
            continue
    return None


@admin.register(DjangoJob)
class DjangoJobAdmin(admin.ModelAdmin):
    """Jobs: what each one runs, when, how long it takes and how its last run went."""

    search_fields = ["id"]
    list_display = [
        "id",
        "function",
        "trigger",
        "local_run_time",
        "paused",
        "average_duration",
        "last_status",
    ]
    actions = ["run_selected_jobs", "pause_selected_jobs", "resume_selected_jobs"]
    readonly_fields = ["state_text"]

    def __init__(self, model: Any, admin_site: Any) -> None:
        super().__init__(model, admin_site)
        self._django_jobstore = DjangoJobStore()
        self._memory_jobstore = DjangoMemoryJobStore()
        # Read once, when the admin is built (as django-apscheduler did).
        self._job_execution_timeout = getattr(settings, "APSCHEDULER_RUN_NOW_TIMEOUT", 15)
        self.avg_duration_qs: Any = []
        self._last_status: dict[str, str] = {}

    def get_queryset(self, request: Any) -> Any:
        queryset = super().get_queryset(request)
        executions = DjangoJobExecution.objects.filter(
            job_id__in=queryset.values_list("id", flat=True)
        )
        self.avg_duration_qs = (
            executions.order_by("job_id")
            .values_list("job_id")
            .annotate(avg_duration=Avg("duration"))
        )
        latest = executions.order_by().values("job_id").annotate(latest=Max("run_time"))
        last = {}
        for item in latest:
            found = (
                DjangoJobExecution.objects.filter(job_id=item["job_id"], run_time=item["latest"])
                .values_list("status", flat=True)
                .first()
            )
            last[item["job_id"]] = found
        self._last_status = last
        return queryset

    @admin.display(description=gettext_lazy("Function"))
    def function(self, obj: DjangoJob) -> str:
        state = _readable_state(obj.job_state)
        if state is None:
            return "(unreadable)"
        args = ", ".join(
            [repr(arg) for arg in state.get("args") or ()]
            + [f"{key}={value!r}" for key, value in (state.get("kwargs") or {}).items()]
        )
        return f"{state.get('func')}({args})"

    @admin.display(description=gettext_lazy("Trigger"))
    def trigger(self, obj: DjangoJob) -> str:
        state = _readable_state(obj.job_state)
        if state is None:
            return "(unreadable)"
        trigger = state.get("trigger")
        try:
            return str(trigger)
        except Exception:
            return type(trigger).__name__

    @admin.display(description=gettext_lazy("Next run time"), ordering="next_run_time")
    def local_run_time(self, obj: DjangoJob) -> str:
        if obj.next_run_time is None:
            return "(paused)"
        return get_local_dt_format(obj.next_run_time)

    @admin.display(description=gettext_lazy("Paused"), boolean=True)
    def paused(self, obj: DjangoJob) -> bool:
        return obj.next_run_time is None

    @admin.display(description=gettext_lazy("Average Duration (sec)"))
    def average_duration(self, obj: DjangoJob) -> Any:
        for job_id, average in self.avg_duration_qs:
            if job_id == obj.id:
                return average
        return "None"

    @admin.display(description=gettext_lazy("Last status"))
    def last_status(self, obj: DjangoJob) -> str:
        return self._last_status.get(obj.id) or "-"

    @admin.display(description=gettext_lazy("State"))
    def state_text(self, obj: DjangoJob) -> str:
        state = _readable_state(obj.job_state)
        if state is None:
            return "(unreadable)"
        return "\n".join(
            f"{key}: {value!r}" for key, value in sorted(state.items()) if key != "version"
        )

    # -- actions

    @admin.action(description=gettext_lazy("Run the selected django jobs"))
    def run_selected_jobs(self, request: Any, queryset: Any) -> None:
        """Ask the schedulers to run each selected job once now, and report how it went."""
        store = self._django_jobstore
        waiting: dict[str, Any] = {}  # job id -> run time of its pending record
        for item in queryset:
            if store.lookup_job(item.id) is None:
                text = format_html(
                    _("Could not find job {} in the database! Skipping execution..."), item.id
                )
                self.message_user(request, text, messages.WARNING)
                continue
            try:
                record = store.request_run(item.id, datetime.now(timezone.utc))
            except JobLookupError:
                continue
            # The form the execution rows hold: naive local time when USE_TZ is off.
            waiting[item.id] = get_django_internal_datetime(record.scheduled_run_time)
        if not waiting:
            return

        timeout = self._job_execution_timeout
        deadline = time.monotonic() + timeout
        statuses: dict[str, Any] = {}
        while True:
            for job_id, run_time in waiting.items():
                if statuses.get(job_id, (None,))[0] not in _FINAL:
                    row = (
                        DjangoJobExecution.objects.db_manager(store.database)
                        .filter(job_id=job_id, run_time=run_time)
                        .values_list("status", "exception")
                        .first()
                    )
                    statuses[job_id] = row or (None, None)
            if (
                all(value[0] in _FINAL for value in statuses.values())
                or time.monotonic() >= deadline
            ):
                break
            _wakeup.wake_local()  # a scheduler of this process may be sleeping
            time.sleep(_POLL)
        self._report(request, waiting, statuses, timeout)

    def _report(
        self, request: Any, waiting: dict[str, Any], statuses: dict[str, Any], timeout: Any
    ) -> None:
        running = [job_id for job_id in waiting if statuses[job_id][0] == DjangoJobExecution.SENT]
        unclaimed = [
            job_id
            for job_id in waiting
            if statuses[job_id][0] in (None, DjangoJobExecution.PENDING)
        ]
        for job_id in waiting:
            status, exception = statuses[job_id]
            if status == DjangoJobExecution.ERROR:
                text = format_html(_("Job '{}' failed: {}"), job_id, exception or "")
                self.message_user(request, text, messages.ERROR)
            elif status in _FINAL and status != DjangoJobExecution.SUCCESS:
                text = format_html(_("Job '{}' did not run: {}"), job_id, status)
                self.message_user(request, text, messages.WARNING)
        if unclaimed:
            text = format_html(
                _(
                    "No scheduler picked up job(s) {} within {} seconds: is a scheduler running "
                    "(manage.py runscheduler)? The request stays queued and runs when a scheduler "
                    "takes it."
                ),
                ",".join(unclaimed),
                timeout,
            )
            self.message_user(request, text, messages.ERROR)
        if running:
            text = format_html(
                _(
                    "Maximum runtime of {} seconds exceeded! Not all jobs could be completed "
                    "successfully. Pending jobs: {}"
                ),
                timeout,
                ",".join(running),
            )
            self.message_user(request, text, messages.ERROR)
        for job_id in waiting:
            if statuses[job_id][0] == DjangoJobExecution.SUCCESS:
                self.message_user(
                    request, format_html(_("Executed job '{}'!"), job_id), messages.INFO
                )

    @admin.action(description=gettext_lazy("Pause the selected jobs"))
    def pause_selected_jobs(self, request: Any, queryset: Any) -> None:
        """Pause through the store, so running schedulers see the change."""
        store = self._django_jobstore
        for item in queryset:
            job = store.lookup_job(item.id)
            if job is not None:
                job._modify(next_run_time=None)
                store.update_job(job)
        self.message_user(request, _("Paused the selected jobs."), messages.INFO)

    @admin.action(description=gettext_lazy("Resume the selected jobs"))
    def resume_selected_jobs(self, request: Any, queryset: Any) -> None:
        """Resume through the store: the next run time is computed from the trigger, now."""
        store = self._django_jobstore
        for item in queryset:
            job = store.lookup_job(item.id)
            if job is None:
                continue
            next_run_time = first_run_time(job.trigger, datetime.now(timezone.utc))
            if next_run_time is None:
                store.remove_job(job.id)
                text = format_html(_("Job '{}' has no further run time; it was removed."), job.id)
                self.message_user(request, text, messages.WARNING)
                continue
            job._modify(next_run_time=next_run_time)
            store.update_job(job)
        self.message_user(request, _("Resumed the selected jobs."), messages.INFO)


_COLOURS = {
    DjangoJobExecution.SUCCESS: "green",
    DjangoJobExecution.SENT: "blue",
    DjangoJobExecution.PENDING: "gray",
    DjangoJobExecution.MAX_INSTANCES: "orange",
    DjangoJobExecution.MISSED: "orange",
    DjangoJobExecution.ERROR: "red",
    DjangoJobExecution.INTERRUPTED: "red",
    DjangoJobExecution.TIMEOUT: "red",
}


@admin.register(DjangoJobExecution)
class DjangoJobExecutionAdmin(admin.ModelAdmin):
    """The run history: one row per occurrence, kept after its job is removed."""

    # "job_display" instead of the FK "job", whose column would show an orphan as "-".
    list_display = ["id", "job_display", "html_status", "local_run_time", "duration_text"]
    list_filter = ["job__id", "run_time", "status"]
    search_fields = ["job_id", "status", "exception"]
    list_select_related = ["job"]

    @admin.display(description=gettext_lazy("Job"), ordering="job_id")
    def job_display(self, obj: DjangoJobExecution) -> str:
        try:
            job = obj.job
        except DjangoJob.DoesNotExist:
            job = None
        return str(job) if job is not None else f"{obj.job_id} (removed)"

    @admin.display(description=gettext_lazy("Status"), ordering="status")
    def html_status(self, obj: DjangoJobExecution) -> str:
        colour = _COLOURS.get(obj.status)
        if colour is None:
            return format_html("<p>{}</p>", obj.status)
        return format_html('<p style="color: {}">{}</p>', colour, obj.status)

    @admin.display(description=gettext_lazy("Run time"), ordering="run_time")
    def local_run_time(self, obj: DjangoJobExecution) -> str:
        return get_local_dt_format(obj.run_time)

    @admin.display(description=gettext_lazy("Duration (sec)"))
    def duration_text(self, obj: DjangoJobExecution) -> Any:
        return obj.duration or "N/A"


@admin.register(DjangoJobQuarantine)
class DjangoJobQuarantineAdmin(admin.ModelAdmin):
    """Jobs that could not be restored, kept with the error; "restore" puts them back."""

    list_display = ["job_id", "error", "quarantined_at"]
    search_fields = ["job_id", "error"]
    readonly_fields = ["job_id", "next_run_time", "error", "quarantined_at"]
    exclude = ["job_state"]
    actions = ["restore_selected_jobs"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    @admin.action(description=gettext_lazy("Restore the selected jobs"))
    def restore_selected_jobs(self, request: Any, queryset: Any) -> None:
        store = DjangoJobStore()
        for item in queryset:
            try:
                store.restore_quarantined_job(item.job_id)
            except KeyError as exc:
                self.message_user(request, format_html("{}", exc), messages.ERROR)
            else:
                text = format_html(_("Restored job '{}'."), item.job_id)
                self.message_user(request, text, messages.INFO)
