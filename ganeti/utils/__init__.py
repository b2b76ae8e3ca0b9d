# -*- test-case-name: tests.test_io -*-
"""
Small helpers with no Twisted dependency, shared by daemons and tools.

L{ganeti.utils.io} holds the file helpers (atomic writes, directories).
"""
