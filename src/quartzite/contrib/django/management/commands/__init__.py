"""``runscheduler``."""

__all__: list[str] = []
