"""``quartzite.contrib.django``: the Django app (label ``quartzite``).

Add ``"quartzite.contrib.django"`` to ``INSTALLED_APPS``. This module imports nothing from Django
so that naming the app is cheap; the models, job stores and admin live in their own modules.
"""

__all__: list[str] = []
