# -*- test-case-name: tests.test_noderpc -*-
"""
The node role: what every node does when the master asks (RPC responders).
"""
