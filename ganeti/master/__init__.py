# -*- test-case-name: tests.test_daemon -*-
"""
The master role: job queue, locks, config writer and the LUXI socket.
"""
