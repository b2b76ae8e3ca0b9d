"""
Multi-host cluster tests on one machine.

L{tests.cluster.bed} builds the hosts (network, mount and UTS namespaces
with a real sshd each); the tests here skip when the machine cannot build
them (not root, missing tools).
"""
