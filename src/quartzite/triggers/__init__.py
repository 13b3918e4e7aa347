"""Triggers: the arithmetic of when a job runs (date, interval, calendar interval, cron, and
their combinations).

Nothing is re-exported here: import each trigger from its module, as APScheduler's layout has it.
"""

__all__: tuple[str, ...] = ()
