"""The master's job queue: opcodes, their execution and the locks they take."""
