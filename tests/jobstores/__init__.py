# Makes the test modules here "jobstores.test_*" (see tests/schedulers/__init__.py).
