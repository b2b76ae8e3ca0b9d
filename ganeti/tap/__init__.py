# -*- test-case-name: tests.test_tap -*-
"""
twistd entry points: options and service assembly for one node.
"""
