# -*- test-case-name: tests.test_noderpc -*-
"""
The node RPC command set (master to node), described once as plain data.

Bound to AMP by L{ganeti.protocols.jsonamp}; the master side calls it
through L{ganeti.rpc}, the node side answers in L{ganeti.node.service}.
Names follow Ganeti's node daemon procedures where one exists.
"""

#: Default TCP port of the node service (Ganeti's ganeti-noded).
DEFAULT_PORT = 1811

#: method name -> argument names, in call order.
METHODS = {
    "version": (),
    "master_node_name": (),
    "node_info": ("hypervisors",),
    "test_delay": ("duration",),
}
