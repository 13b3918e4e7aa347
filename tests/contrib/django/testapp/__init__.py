"""A test app that declares jobs in a jobs.py module."""
