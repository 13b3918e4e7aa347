"""Tests of the ``quartzite`` command line, run as a real program in subprocesses."""
