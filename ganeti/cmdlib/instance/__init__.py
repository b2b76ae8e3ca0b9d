# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Instance logical units, one module per kind of work: L{base} (what they
share, and the builders of NICs and disks), L{create}, L{operations}
(remove, start, stop, reboot, reinstall, rename, console), L{disks},
L{set_params} (with L{hotplug}), L{moves} (failover, migrate),
L{move} (moves by copying the disks), L{multi_alloc}, L{change_group}
and L{query}.

The master decides and records; every change on a node is a node RPC
(disks, OS scripts, the hypervisor).
"""
