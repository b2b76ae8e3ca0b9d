# -*- test-case-name: tests -*-
"""
Ganeti, the cluster virtualization manager, rebuilt on Twisted.

The package root stays import-free on purpose: the ``gnt-*`` tools import
pieces of it on every invocation, and their start-up time is a feature.
"""

__version__ = "3.0.2"
