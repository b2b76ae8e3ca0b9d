# -*- test-case-name: tests.test_metrics -*-
"""
Native Prometheus metrics: the master's (on the RAPI port, ``/metrics``)
and every node's (plain HTTP on Ganeti's monitoring port, 1815).

Each master and node owns its own L{prometheus_client.CollectorRegistry}
rather than the library's global one, so several masters or nodes in one
process (the tests) count apart.  L{master} and L{node} define what is
measured; L{http} serves it.
"""

#: Ganeti's monitoring daemon port (``ganeti-mond``): where a node serves
#: its metrics.
DEFAULT_NODE_PORT = 1815
