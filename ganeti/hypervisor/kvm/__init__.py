# -*- test-case-name: tests.test_hypervisor_kvm -*-
"""
The ``kvm`` hypervisor: one daemonised qemu process per instance.

The package is split by concern; L{KvmHypervisor} puts the pieces
together:

  - L{params <ganeti.hypervisor.kvm.params>}: the parameters and their
    checks;
  - L{command <ganeti.hypervisor.kvm.command>}: the qemu command line
    (pure);
  - L{runtime <ganeti.hypervisor.kvm.runtime>}: the files a node finds
    its qemus by;
  - L{processes <ganeti.hypervisor.kvm.processes>}: watching qemus that
    are not our children;
  - L{network <ganeti.hypervisor.kvm.network>}: tap devices;
  - L{instances <ganeti.hypervisor.kvm.instances>}: starting, stopping,
    the per-instance lock;
  - L{hotplug <ganeti.hypervisor.kvm.hotplug>} and
    L{migration <ganeti.hypervisor.kvm.migration>};
  - L{hypervisor <ganeti.hypervisor.kvm.hypervisor>}: L{KvmHypervisor}.
"""

from ganeti.hypervisor.kvm.hypervisor import KvmHypervisor

__all__ = ["KvmHypervisor"]
