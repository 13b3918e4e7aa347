"""Management commands of the Django app."""

__all__: list[str] = []
