"""Several scheduler processes on one shared store: chaos, wake-up and concurrent-start tests.

The tests start real scheduler processes (``worker.py``) on a fresh table or set of Redis keys,
and judge the cluster from outside: from the run records in the store, and from a ledger file
that the job functions (``jobs.py``) append to in whichever process runs them.
"""
