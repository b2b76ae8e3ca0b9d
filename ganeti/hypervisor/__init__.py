# -*- test-case-name: tests.test_hypervisor_fake,tests.test_hypervisor_kvm -*-
"""
Node-side hypervisors: start, stop and inspect instances on this node.

Every provider implements L{interfaces.IHypervisor} and passes the shared
contract tests in ``tests/hypervisor_mixin.py``:

  - L{fake.FakeHypervisor} (``fake``) keeps one state file per "running"
    instance and runs nothing, for dry clusters and tests;
  - L{kvm.KvmHypervisor} (``kvm``) runs one daemonised qemu per instance,
    controlled through QMP (L{qmp}), and adopts the qemus a previous node
    daemon left running.

L{registry.get_hypervisor} picks the provider for a hypervisor name.
"""
