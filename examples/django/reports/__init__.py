"""An app of the example project whose jobs.py declares two jobs."""
