"""Hypothesis profiles for the trigger tests.

``HYPOTHESIS_PROFILE=ci`` (the default) keeps the property tests to a few seconds and makes them
deterministic; ``HYPOTHESIS_PROFILE=thorough`` runs many more examples (minutes). Note that
hypothesis settings profiles are global: the one loaded here applies to the whole session.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
