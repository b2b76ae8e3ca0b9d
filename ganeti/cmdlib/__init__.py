# -*- test-case-name: tests.test_config -*-
"""
Logical units: what each opcode does, one module per object kind.

L{registry} maps ``OP_ID`` to the unit class; the master hands that map to
the job runner, so the job queue never imports this package.
"""
