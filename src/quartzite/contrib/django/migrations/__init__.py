"""Migrations of the Django app (label ``quartzite``)."""

__all__: list[str] = []
