"""A database router for the tests: sends the quartzite app to ``ROUTE_TO`` when it is set."""

from __future__ import annotations

from typing import Any

#: The alias the quartzite app is routed to (``None``: Django's default).
ROUTE_TO: str | None = None


class SwitchableRouter:
    """Routes the models of the ``quartzite`` app to :data:`ROUTE_TO`."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return ROUTE_TO if model._meta.app_label == "quartzite" else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return ROUTE_TO if model._meta.app_label == "quartzite" else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True
