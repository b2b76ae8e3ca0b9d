# -*- test-case-name: tests.test_cli_cluster -*-
"""
The ``gnt-*`` command-line tools.

Everything under this package must import quickly: no reactor, no
``twisted.python.usage``, nothing the tools do not need on their path.
"""
