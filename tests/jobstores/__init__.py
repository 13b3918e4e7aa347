# Makes the test modules here "jobstores.test_*" (see tests/schedulers/__init__.py), and the job
# functions importable as "jobstores.jobfuncs:NAME".
