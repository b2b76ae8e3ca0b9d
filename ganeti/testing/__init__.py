# -*- test-case-name: tests.test_process -*-
"""
Test doubles shipped with the package.

They live here rather than under ``tests/`` because the tests of every
layer (and of code built on this package) need the same honest stand-ins:
each double is held to the real thing's behaviour by a few tests that run
both.  See L{ganeti.testing.process.ProcessClock} for child processes.
"""
