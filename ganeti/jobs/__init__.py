# -*- test-case-name: tests.test_jobqueue -*-
"""The master's job queue: opcodes, their execution and the locks they take."""
