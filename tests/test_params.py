"""
Tests for L{ganeti.params}: what an operator's ``-H``/``-B``/``--net``
values turn into, and which value is in force for an instance.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti import constants, errors, params
from ganeti.objects import Cluster


class ForceTypesTests(SynchronousTestCase):
    """Tests for L{params.force_types} and L{params.merge_params}."""

    def test_strings_take_the_default_type(self):
        """``key=value`` strings become booleans and numbers."""
        result = params.force_types(
            {"acpi": "false", "cdrom_image_path": 3},
            constants.HV_DEFAULTS["kvm"], "hypervisor")
        self.assertEqual(result, {"acpi": False, "cdrom_image_path": "3"})

    def test_legacy_memory_sets_both(self):
        """``-B memory=`` sets maxmem and minmem, as in Ganeti."""
        result = params.force_types({"memory": "512"}, constants.BE_DEFAULTS,
                                    "backend")
        self.assertEqual(result, {"maxmem": 512, "minmem": 512})

    def test_unknown_and_bad_values(self):
        """An unknown name or an unconvertible value is refused by name."""
        exc = self.assertRaises(errors.OpPrereqError, params.force_types,
                                {"nosuch": 1}, constants.BE_DEFAULTS,
                                "backend")
        self.assertIn("Unknown backend parameter 'nosuch'", str(exc))
        exc = self.assertRaises(errors.OpPrereqError, params.force_types,
                                {"maxmem": "lots"}, constants.BE_DEFAULTS,
                                "backend")
        self.assertIn("'maxmem': expected an integer", str(exc))

    def test_none_resets(self):
        """A None value in a change puts the default back."""
        defaults = constants.BE_DEFAULTS
        merged = params.merge_params({"maxmem": 4096}, {"maxmem": None},
                                     defaults, "backend")
        self.assertEqual(merged["maxmem"], defaults["maxmem"])


def _cluster(**settings):
    """:return: a L{Cluster} with C{settings} and dummy identity fields."""
    return Cluster(cluster_name="c.example.com", uuid="u", master_node="n",
                   master_ip="192.0.2.1", master_netdev="lo", **settings)


class FillTests(SynchronousTestCase):
    """Tests for the C{fill_*params} helpers."""

    def test_instance_over_os_over_cluster(self):
        """Own values win over the OS's, which win over the cluster's."""
        cluster = _cluster(
            hvparams={"kvm": {"acpi": False, "boot_order": "cdrom"}},
            os_hvp={"debootstrap": {"kvm": {"boot_order": "network"}}})
        filled = params.fill_hvparams(cluster, "kvm", "debootstrap+default",
                                      {"kernel_path": ""})
        self.assertEqual((filled["acpi"], filled["boot_order"],
                          filled["kernel_path"]), (False, "network", ""))
        self.assertEqual(filled["serial_speed"],
                         constants.HV_DEFAULTS["kvm"]["serial_speed"])

    def test_backend_and_nic_defaults(self):
        """The cluster's default group of be/nic params fills the gaps."""
        cluster = _cluster(beparams={"default": {"vcpus": 2}},
                           nicparams={"default": {"link": "br9"}})
        self.assertEqual(params.fill_beparams(cluster, {"maxmem": 256}),
                         dict(constants.BE_DEFAULTS, vcpus=2, maxmem=256))
        self.assertEqual(params.fill_nicparams(cluster)["link"], "br9")


class HypervisorTests(SynchronousTestCase):
    """What a cluster may enable: known names it can also run."""

    def test_runnable(self):
        """fake and kvm pass."""
        params.check_hypervisors(["kvm", "fake"])

    def test_known_but_not_here(self):
        """A Ganeti hypervisor without a provider here is refused by name."""
        e = self.assertRaises(errors.OpPrereqError, params.check_hypervisors,
                              ["kvm", "lxc"])
        self.assertEqual(str(e), "Hypervisor lxc is not available in this"
                         " implementation, which runs fake, kvm; choose with"
                         " --enabled-hypervisors")

    def test_default_explained(self):
        """Ganeti's default xen-pvm is refused, saying it was the default."""
        e = self.assertRaises(errors.OpPrereqError, params.check_hypervisors,
                              ["xen-pvm"], defaulted=True)
        self.assertIn("xen-pvm (Ganeti's default when no hypervisor is"
                      " given) is not available", str(e))
