# -*- test-case-name: tests.test_luxi,tests.test_noderpc -*-
"""
Wire protocols: the master's LUXI commands and the node RPC commands.
"""
