# -*- test-case-name: tests.test_rapi -*-
"""
Ganeti's Remote API (RAPI) version 2, served by twisted.web inside the
master daemon.

The RAPI never touches the configuration or the job queue itself: every
request becomes a call on a LUXI-like handler object, so the same checks
and the same job queue serve ``gnt-*`` tools and HTTP clients alike.
"""

#: The HTTP Basic auth realm; also part of the ``{HA1}`` password hash, so
#: it must stay exactly Ganeti's or existing users files stop working.
REALM = "Ganeti Remote API"

#: Ganeti's default RAPI port (``constants.DEFAULT_RAPI_PORT``).
DEFAULT_PORT = 5080

#: User options from the users file.
ACCESS_READ = "read"
ACCESS_WRITE = "write"
