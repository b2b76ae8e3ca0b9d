"""
Wire protocols: the master's LUXI commands and the node RPC commands.
"""
