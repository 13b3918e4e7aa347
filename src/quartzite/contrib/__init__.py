"""Integrations of quartzite with frameworks; each one imports its framework only inside itself."""

__all__: list[str] = []
