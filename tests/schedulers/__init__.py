# Makes the test modules here "schedulers.test_*": without it, pytest's default import mode
# imports test files by basename, and test_base.py / test_asyncio.py / test_gevent.py ... here
# collide with their namesakes in tests/executors, tests/jobstores and tests/triggers.
