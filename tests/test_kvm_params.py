# -*- test-case-name: tests.test_kvm_params -*-
"""
Tests for L{ganeti.hypervisor.kvm.params}.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from ganeti import constants
from ganeti.errors import HypervisorError
from ganeti.hypervisor.kvm.params import check_hvparams, validate_hvparams


class KvmParameterTests(SynchronousTestCase):
    """
    Tests for L{check_hvparams} and L{validate_hvparams}.
    """

    def assert_invalid(self, text, **hvparams):
        error = self.assertRaises(HypervisorError, check_hvparams, hvparams)
        self.assertIn(text, str(error))

    def test_defaults_valid(self):
        """
        The cluster defaults pass the syntax check.
        """
        check_hvparams({})
        check_hvparams(dict(constants.HV_DEFAULTS["kvm"]))

    def test_invalid_values(self):
        """
        Values outside a parameter's set are refused, naming it.
        """
        self.assert_invalid("nic_type", nic_type="virtio")
        self.assert_invalid("boot_order", boot_order="usb")
        self.assert_invalid("disk_type", disk_type="nvme")
        self.assert_invalid("disk_cache", disk_cache="unsafe")
        self.assert_invalid("kvm_flag", kvm_flag="maybe")
        self.assert_invalid("serial console speed", serial_speed=12345)
        self.assert_invalid("virtio_net_queues", virtio_net_queues=33)
        self.assert_invalid("cpu_mask", cpu_mask="0-")

    def test_types(self):
        """
        Values of the wrong type are refused.
        """
        self.assert_invalid("acpi", acpi="yes")
        self.assert_invalid("serial_speed", serial_speed="38400")
        self.assert_invalid("cpu_cores", cpu_cores=True)

    def test_unknown(self):
        """
        Unknown parameter names are refused.
        """
        self.assert_invalid("xen_cmd", xen_cmd="xl")

    def test_combinations(self):
        """
        Ganeti's cross-parameter rules hold.
        """
        self.assert_invalid("cdrom", boot_order="cdrom")
        self.assert_invalid("security domain", security_model="user")
        self.assert_invalid("security domain", security_domain="nobody")
        self.assert_invalid("vnc_x509_path", vnc_x509_verify=True)
        self.assert_invalid("disk_aio", disk_aio="native")
        self.assert_invalid("vnc_bind_address",
                            vnc_bind_address="not an address")
        self.assert_invalid("only one", vnc_bind_address="127.0.0.1",
                            spice_bind="127.0.0.1")

    def test_node_checks(self):
        """
        The node-side check wants an executable qemu and existing files,
        and refuses features not implemented yet.
        """
        kernel = os.path.abspath(self.mktemp())
        with open(kernel, "wb"):
            pass
        good = {"kvm_path": "/bin/sh", "kernel_path": kernel}
        validate_hvparams(good)
        for bad, text in [({"kvm_path": kernel}, "KVM binary"),
                          ({"kernel_path": kernel + "-missing"},
                           "kernel_path"),
                          ({"cpu_mask": "0-1"}, "not supported"),
                          ({"use_chroot": True}, "not supported")]:
            error = self.assertRaises(HypervisorError, validate_hvparams,
                                      dict(good, **bad))
            self.assertIn(text, str(error))
