# -*- test-case-name: tests.test_hypervisor_fake,tests.test_hypervisor_kvm -*-
"""
Pick the hypervisor provider for a hypervisor name.

Providers keep per-instance state in memory (locks that keep a start and a
stop of one instance apart), so the node service should build each one
once and reuse it rather than call L{get_hypervisor} per request.
"""

from ganeti.errors import HypervisorError


def _fake():
    from ganeti.hypervisor.fake import FakeHypervisor
    return FakeHypervisor


def _kvm():
    from ganeti.hypervisor.kvm import KvmHypervisor
    return KvmHypervisor


# Imported on first use: a node that only runs fake instances need not
# load the kvm module.
_PROVIDERS = {"fake": _fake, "kvm": _kvm}

#: The hypervisor names this implementation can run (the config side
#: knows them as L{ganeti.constants.IMPLEMENTED_HYPERVISORS}).
SUPPORTED = tuple(sorted(_PROVIDERS))


def get_hypervisor(name, paths, reactor):
    """
    Build the provider for a hypervisor.

    :param name: a hypervisor name, e.g. ``"kvm"``.
    :param paths: the node's L{ganeti.paths.Paths}.
    :param reactor: the reactor the provider runs commands and timers on.
    :return: a new L{ganeti.hypervisor.interfaces.IHypervisor} provider.
    :raise HypervisorError: for a name that is unknown or not implemented
        (``xen-pvm``, ``xen-hvm``, ``lxc``, ``chroot`` are not yet).
    """
    try:
        factory = _PROVIDERS[name]()
    except KeyError:
        raise HypervisorError("Unknown or unsupported hypervisor '%s'"
                              " (supported: %s)"
                              % (name, ", ".join(SUPPORTED)))
    return factory(paths, reactor)
