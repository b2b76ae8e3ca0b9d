# -*- test-case-name: tests.test_osdef -*-
"""
Tests for L{ganeti.osdef}: reading OS definitions, their environment, and
running their scripts.

OS definitions are built in temporary directories.  Most script runs use
L{ProcessClock}; L{RealScriptTests} runs real shell scripts that record
their environment, arguments and streams, to check what a real OS sees.
"""

import os
import stat

from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti.errors import OpExecError, OpPrereqError
from ganeti.osdef import (
    OSDefinition,
    check_parameters,
    check_variant,
    diagnose,
    find_os,
    load_os,
    split_name,
)
from ganeti.osenv import (
    OS_SCRIPT_PATH,
    build_environment,
    core_environment,
    script_environment,
)
from ganeti.osscripts import (
    log_file_name,
    read_expected_size,
    run_script,
    tail_file,
    verify_parameters,
)
from ganeti.testing.process import ProcessClock

# A script that records its environment, arguments and working directory
# next to itself, then prints a line to each output stream.
RECORDING_SCRIPT = """#!/bin/sh
here=$(dirname "$0")
name=$(basename "$0")
env > "$here/$name.env"
echo "$@" > "$here/$name.args"
pwd > "$here/$name.cwd"
echo "$name stdout line"
echo "$name stderr line" >&2
exit 0
"""


def make_os(top, name, api=(20,), variants=None, parameters=None,
            scripts=None, script_text=RECORDING_SCRIPT, skip=()):
    """
    Write an OS definition directory.

    :param api: the lines of ``ganeti_api_version`` (ints or raw text).
    :param variants: lines of ``variants.list``, or C{None} for no file.
    :param parameters: lines of ``parameters.list``; C{None} writes the
        file (empty) only for API 20.
    :param scripts: script names to write; default all five.
    :param skip: file names not to write.
    :return: the directory.
    """
    path = os.path.join(top, name)
    os.makedirs(path)
    if "ganeti_api_version" not in skip:
        with open(os.path.join(path, "ganeti_api_version"), "w") as f:
            f.write("".join("%s\n" % (v,) for v in api))
    if variants is not None:
        with open(os.path.join(path, "variants.list"), "w") as f:
            f.write("".join(line + "\n" for line in variants))
    if parameters is None and 20 in api:
        parameters = []
    if parameters is not None and "parameters.list" not in skip:
        with open(os.path.join(path, "parameters.list"), "w") as f:
            f.write("".join(line + "\n" for line in parameters))
    for script in scripts or ("create", "export", "import", "rename",
                              "verify"):
        if script in skip:
            continue
        full = os.path.join(path, script)
        with open(full, "w") as f:
            f.write(script_text)
        os.chmod(full, 0o755)
    return path


INSTANCE = {
    "name": "inst1.example.com", "os": "deb+bookworm",
    "uuid": "9b1f-inst", "ctime": 1700000000.5, "mtime": 1700000001.0,
    "primary_node": "node-uuid-1", "hypervisor": "kvm",
    "hvparams": {"disk_type": "paravirtual", "nic_type": "e1000",
                 "serial_console": True},
    "beparams": {"maxmem": 512, "vcpus": 2},
}

DISKS = [
    {"uuid": "d0-uuid", "dev_type": "file", "size": 1024, "mode": "rw",
     "logical_id": ["loop", "/srv/ganeti/file-storage/i/d0.file.disk0"],
     "path": "/srv/ganeti/file-storage/i/d0.file.disk0", "name": "root"},
    {"uuid": "d1-uuid", "dev_type": "plain", "size": 512, "mode": "ro",
     "logical_id": ["xenvg", "d1.disk1"], "path": "/dev/xenvg/d1.disk1",
     "uri": "kvm:/dev/xenvg/d1.disk1"},
]

NICS = [
    {"mac": "aa:00:00:11:22:33", "uuid": "n0-uuid", "name": "eth-a",
     "ip": "192.0.2.5", "nicparams": {"mode": "bridged", "link": "br0"},
     "netinfo": {"name": "net1", "uuid": "net-uuid", "network":
                 "192.0.2.0/24", "gateway": "192.0.2.1",
                 "network6": "2001:db8::/64", "gateway6": "2001:db8::1",
                 "mac_prefix": "aa:00:00", "tags": ["a", "b"]}},
    {"mac": "aa:00:00:44:55:66", "uuid": "n1-uuid",
     "nicparams": {"mode": "routed", "link": "100"}},
]


def expected_environment(api, variant):
    """
    :return: the environment of an install of L{INSTANCE} with L{DISKS}
        and L{NICS} and OS parameter C{dhcp=yes} for OS API C{api}.
    """
    env = {
        "OS_API_VERSION": str(api), "OS_NAME": "deb",
        "OS_VARIANT": variant, "DEBUG_LEVEL": "1",
        "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
        "INSTANCE_NAME": "inst1.example.com", "INSTANCE_OS": "deb+bookworm",
        "INSTANCE_UUID": "9b1f-inst", "INSTANCE_CTIME": "1700000000.5",
        "INSTANCE_MTIME": "1700000001.0",
        "INSTANCE_PRIMARY_NODE": "node-uuid-1",
        "INSTANCE_SECONDARY_NODES": "", "HYPERVISOR": "kvm",
        "DISK_COUNT": "2",
        "DISK_0_ACCESS": "rw", "DISK_0_UUID": "d0-uuid",
        "DISK_0_SIZE": "1024",
        "DISK_0_PATH": "/srv/ganeti/file-storage/i/d0.file.disk0",
        "DISK_0_NAME": "root", "DISK_0_FRONTEND_TYPE": "paravirtual",
        "DISK_0_BACKEND_TYPE": "file:loop",
        "DISK_1_ACCESS": "ro", "DISK_1_UUID": "d1-uuid",
        "DISK_1_SIZE": "512", "DISK_1_PATH": "/dev/xenvg/d1.disk1",
        "DISK_1_URI": "kvm:/dev/xenvg/d1.disk1",
        "DISK_1_FRONTEND_TYPE": "paravirtual",
        "DISK_1_BACKEND_TYPE": "block",
        "NIC_COUNT": "2",
        "NIC_0_MAC": "aa:00:00:11:22:33", "NIC_0_UUID": "n0-uuid",
        "NIC_0_NAME": "eth-a", "NIC_0_IP": "192.0.2.5",
        "NIC_0_MODE": "bridged", "NIC_0_BRIDGE": "br0", "NIC_0_LINK": "br0",
        "NIC_0_FRONTEND_TYPE": "e1000",
        "NIC_0_NETWORK_NAME": "net1", "NIC_0_NETWORK_UUID": "net-uuid",
        "NIC_0_NETWORK_TAGS": "a b", "NIC_0_NETWORK_SUBNET": "192.0.2.0/24",
        "NIC_0_NETWORK_GATEWAY": "192.0.2.1",
        "NIC_0_NETWORK_SUBNET6": "2001:db8::/64",
        "NIC_0_NETWORK_GATEWAY6": "2001:db8::1",
        "NIC_0_NETWORK_MAC_PREFIX": "aa:00:00",
        "NIC_1_MAC": "aa:00:00:44:55:66", "NIC_1_UUID": "n1-uuid",
        "NIC_1_MODE": "routed", "NIC_1_LINK": "100",
        "NIC_1_FRONTEND_TYPE": "e1000",
        "INSTANCE_BE_maxmem": "512", "INSTANCE_BE_vcpus": "2",
        "INSTANCE_HV_disk_type": "paravirtual", "INSTANCE_HV_nic_type":
        "e1000", "INSTANCE_HV_serial_console": "True",
    }
    if api >= 20:
        env["OSP_DHCP"] = "yes"
        env["OSP_ROOT_SIZE"] = "8"
    return env


class NameTests(SynchronousTestCase):
    """
    Tests for L{split_name}.
    """

    def test_variant(self):
        """
        ``name+variant`` splits at the first ``+``.
        """
        self.assertEqual(split_name("debootstrap+default"),
                         ("debootstrap", "default"))

    def test_no_variant(self):
        """
        Without ``+`` there is no variant; a trailing ``+`` gives an empty
        one.
        """
        self.assertEqual(split_name("debootstrap"), ("debootstrap", None))
        self.assertEqual(split_name("debootstrap+"), ("debootstrap", ""))


class LoadTests(SynchronousTestCase):
    """
    Tests for L{find_os}, L{load_os} and L{diagnose}: which directories
    are valid OS definitions, and what is read from them.
    """

    def setUp(self):
        self.top = os.path.abspath(self.mktemp())
        os.makedirs(self.top)

    def test_api20(self):
        """
        An API 20 OS with variants and parameters is valid; comments and
        blank lines of ``variants.list`` are skipped; parameter lines split
        at the first run of blanks.
        """
        path = make_os(self.top, "deb", api=(20, 15, 10),
                       variants=["# comment", "", "bookworm", "trixie"],
                       parameters=["dhcp  Whether to use DHCP",
                                   "root_size\tThe size, in GiB", "", "bare"])
        os_def = find_os([self.top], "deb+trixie")
        self.assertEqual(os_def, OSDefinition(
            name="deb", path=path, valid=True, error="",
            api_versions=(20, 15, 10), variants=("bookworm", "trixie"),
            parameters=(("dhcp", "Whether to use DHCP"),
                        ("root_size", "The size, in GiB"), ("bare", ""))))
        self.assertEqual(os_def.api_version, 20)
        self.assertEqual(os_def.parameter_names, ("dhcp", "root_size", "bare"))
        self.assertEqual(os_def.script("create"),
                         os.path.join(path, "create"))
        self.assertIs(os_def.require_valid(), os_def)

    def test_api15_no_verify_needed(self):
        """
        API 15 needs neither ``verify`` nor ``parameters.list``; variants
        are read.
        """
        make_os(self.top, "old", api=(15,), variants=["v1"],
                scripts=("create", "export", "import", "rename"))
        os_def = find_os([self.top], "old")
        self.assertTrue(os_def.valid, os_def.error)
        self.assertEqual((os_def.api_version, os_def.variants,
                          os_def.parameters), (15, ("v1",), ()))

    def test_api10_ignores_variants(self):
        """
        API 10 predates variants: ``variants.list`` is not read.
        """
        make_os(self.top, "older", api=(10,), variants=["v1"],
                scripts=("create", "export", "import", "rename"))
        os_def = find_os([self.top], "older")
        self.assertTrue(os_def.valid, os_def.error)
        self.assertEqual((os_def.api_version, os_def.variants), (10, ()))

    def test_highest_common_version(self):
        """
        An OS that also speaks a newer, unknown API is used at the newest
        version both sides know.
        """
        make_os(self.top, "future", api=(25, 15), parameters=[])
        os_def = find_os([self.top], "future")
        self.assertTrue(os_def.valid, os_def.error)
        self.assertEqual(os_def.api_version, 15)

    def assertInvalid(self, name, *fragments):
        """
        Assert that OS C{name} is invalid, its error containing every
        fragment, and that L{OSDefinition.require_valid} raises.

        :return: the definition.
        """
        os_def = find_os([self.top], name)
        self.assertFalse(os_def.valid)
        for fragment in fragments:
            self.assertIn(fragment, os_def.error)
        self.assertRaises(OpExecError, os_def.require_valid)
        return os_def

    def test_missing_api_file(self):
        """
        Without ``ganeti_api_version`` the OS is invalid.
        """
        make_os(self.top, "x", skip=("ganeti_api_version",))
        self.assertInvalid("x", "Required file 'ganeti_api_version' not"
                           " found")

    def test_api_file_not_regular(self):
        """
        A directory named ``ganeti_api_version`` does not count.
        """
        path = make_os(self.top, "x", skip=("ganeti_api_version",))
        os.mkdir(os.path.join(path, "ganeti_api_version"))
        self.assertInvalid("x", "is not a regular file")

    def test_unparsable_api_version(self):
        """
        A version that is not an integer makes the OS invalid.
        """
        make_os(self.top, "x", api=("twenty",))
        self.assertInvalid("x", "can't be converted to integer")

    def test_unsupported_version(self):
        """
        An OS speaking only versions we do not is invalid.
        """
        make_os(self.top, "x", api=(5,))
        self.assertInvalid("x", "API version mismatch", "found [5]",
                           "want [20, 15, 10]")

    def test_missing_script(self):
        """
        Each of create, export, import and rename is required.
        """
        make_os(self.top, "x", api=(10,),
                scripts=("create", "export", "import"))
        self.assertInvalid("x", "File 'rename' under path", "is missing")

    def test_missing_verify_api20(self):
        """
        API 20 requires ``verify``.
        """
        make_os(self.top, "x", skip=("verify",))
        self.assertInvalid("x", "File 'verify' under path")

    def test_missing_parameters_api20(self):
        """
        API 20 requires ``parameters.list``.
        """
        make_os(self.top, "x", skip=("parameters.list",))
        self.assertInvalid("x", "File 'parameters.list' under path")

    def test_not_executable(self):
        """
        A script without the owner's execute bit makes the OS invalid.
        """
        path = make_os(self.top, "x")
        os.chmod(os.path.join(path, "create"), 0o644)
        self.assertInvalid("x", "File 'create' under path", "not executable")

    def test_not_found(self):
        """
        An OS in no search directory is invalid, without a path.
        """
        os_def = self.assertInvalid("nope+v", "Directory for OS nope not"
                                    " found in search path")
        self.assertEqual((os_def.name, os_def.path), ("nope", None))

    def test_bad_names(self):
        """
        Names that would leave the search directory are refused.
        """
        for name in ("../x", "a/b", "..", ".hidden", ""):
            self.assertFalse(find_os([self.top], name).valid, name)

    def test_first_search_directory_wins(self):
        """
        The first search directory holding the OS decides, even if its
        copy is invalid.
        """
        first = os.path.join(self.top, "first")
        second = os.path.join(self.top, "second")
        make_os(first, "x", api=(5,))
        make_os(second, "x")
        self.assertFalse(find_os([first, second], "x").valid)
        self.assertTrue(find_os([second, first], "x").valid)
        self.assertTrue(find_os([os.path.join(self.top, "none"), second],
                                "x").valid)

    def test_load_os_missing_directory(self):
        """
        L{load_os} on a missing directory gives an invalid definition.
        """
        self.assertFalse(load_os("x", os.path.join(self.top, "x")).valid)

    def test_diagnose(self):
        """
        L{diagnose} reports every visible entry of every search directory
        once (first directory wins), sorted, invalid ones included.
        """
        first = os.path.join(self.top, "first")
        second = os.path.join(self.top, "second")
        make_os(first, "b")
        make_os(first, "a", api=(5,))
        make_os(first, ".hidden")
        make_os(second, "a")
        make_os(second, "c", api=(15,))
        with open(os.path.join(second, "README"), "w") as f:
            f.write("not an OS\n")
        result = diagnose([first, os.path.join(self.top, "missing"), second])
        self.assertEqual(
            [(d.name, d.path, d.valid) for d in result],
            [("a", os.path.join(first, "a"), False),
             ("b", os.path.join(first, "b"), True),
             ("README", os.path.join(second, "README"), False),
             ("c", os.path.join(second, "c"), True)])

    def test_dict_round_trip(self):
        """
        A definition survives its JSON-able form (for RPC answers).
        """
        make_os(self.top, "deb", variants=["a"], parameters=["p doc"])
        os_def = find_os([self.top], "deb")
        self.assertEqual(OSDefinition.from_dict(os_def.to_dict()), os_def)


class CheckTests(SynchronousTestCase):
    """
    Tests for L{check_variant} and L{check_parameters}.
    """

    def setUp(self):
        self.with_variants = OSDefinition(
            "deb", "/x", True, api_versions=[20], variants=["a", "b"],
            parameters=[("dhcp", "")])
        self.plain = OSDefinition("plain", "/y", True, api_versions=[20])

    def test_variant_ok(self):
        """
        A listed variant passes.
        """
        check_variant(self.with_variants, "deb+b")

    def test_variant_missing(self):
        """
        An OS with variants needs one in the name.
        """
        e = self.assertRaises(OpPrereqError, check_variant,
                              self.with_variants, "deb")
        self.assertIn("must include a variant", str(e))

    def test_variant_unknown(self):
        """
        An unlisted variant is refused.
        """
        e = self.assertRaises(OpPrereqError, check_variant,
                              self.with_variants, "deb+c")
        self.assertIn("does not support variant 'c'", str(e))

    def test_variant_unsupported(self):
        """
        An OS without variants refuses a name with one.
        """
        check_variant(self.plain, "plain")
        e = self.assertRaises(OpPrereqError, check_variant, self.plain,
                              "plain+x")
        self.assertIn("does not support variants", str(e))

    def test_parameters(self):
        """
        Undeclared OS parameters are refused for API 20; older OSes have
        nothing to check.
        """
        check_parameters(self.with_variants, {"dhcp": "yes"})
        e = self.assertRaises(OpPrereqError, check_parameters,
                              self.with_variants, {"dhcp": 1, "zz": 2,
                                                   "aa": 3})
        self.assertIn("not supported by the OS deb: aa, zz", str(e))
        old = OSDefinition("o", "/o", True, api_versions=[15])
        check_parameters(old, {"anything": 1})


class EnvironmentTests(SynchronousTestCase):
    """
    Tests for L{build_environment}, L{core_environment} and
    L{script_environment}: exactly the variables of the interface.
    """

    def make(self, api, variants=("bookworm", "trixie")):
        """
        :return: a valid definition speaking the versions C{api}.
        """
        return OSDefinition("deb", "/os/deb", True, api_versions=api,
                            variants=variants,
                            parameters=[("dhcp", ""), ("root-size", "")])

    def build(self, os_def, variant="bookworm"):
        """
        :return: the environment for L{INSTANCE}, L{DISKS} and L{NICS}.
        """
        return build_environment(
            os_def, variant, INSTANCE, DISKS, NICS,
            {"dhcp": "yes", "root-size": 8}, "kvm", debug=1)

    def test_api20(self):
        """
        API 20 gets every variable, OS parameters as ``OSP_<NAME>``.
        """
        self.assertEqual(self.build(self.make([20, 15, 10])),
                         expected_environment(20, "bookworm"))

    def test_api15(self):
        """
        API 15 gets the variant but no OS parameters.
        """
        self.assertEqual(self.build(self.make([15])),
                         expected_environment(15, "bookworm"))

    def test_api10(self):
        """
        API 10 gets an empty variant and no OS parameters.
        """
        self.assertEqual(self.build(self.make([10], variants=())),
                         expected_environment(10, ""))

    def test_default_variant(self):
        """
        Without a requested variant the OS's first one is used.
        """
        env = self.build(self.make([20]), variant="")
        self.assertEqual(env["OS_VARIANT"], "bookworm")

    def test_disk_without_logical_id(self):
        """
        A file disk described without its C{logical_id} is taken to use
        the default ``loop`` driver.
        """
        disk = {k: v for k, v in DISKS[0].items() if k != "logical_id"}
        env = build_environment(self.make([20]), None, {"name": "i"},
                                [disk], [], {}, "kvm")
        self.assertEqual(env["DISK_0_BACKEND_TYPE"], "file:loop")
        self.assertEqual(env["OS_VARIANT"], "bookworm")

    def test_no_variants(self):
        """
        An OS without variants gets an empty OS_VARIANT whatever is asked.
        """
        env = self.build(self.make([20], variants=()), variant="x")
        self.assertEqual(env["OS_VARIANT"], "")

    def test_minimal_instance(self):
        """
        An instance given by name only, without disks or NICs, still gets
        the counts and names, and C{INSTANCE_OS} from the definition.
        """
        env = build_environment(self.make([20]), "trixie",
                                {"name": "i1"}, [], [], {}, "fake")
        self.assertEqual(env, {
            "OS_API_VERSION": "20", "OS_NAME": "deb", "OS_VARIANT": "trixie",
            "DEBUG_LEVEL": "0", "PATH": OS_SCRIPT_PATH,
            "INSTANCE_NAME": "i1", "INSTANCE_OS": "deb+trixie",
            "INSTANCE_SECONDARY_NODES": "", "HYPERVISOR": "fake",
            "DISK_COUNT": "0", "NIC_COUNT": "0"})

    def test_objects(self):
        """
        Config objects are accepted as well as dicts.
        """
        from ganeti import objects
        instance = objects.Instance(
            name="i1", uuid="u1", primary_node="n1", os="deb+trixie",
            hypervisor="kvm", disk_template="plain")
        disk = objects.Disk(uuid="d", dev_type="plain", size=10,
                            logical_id=["vg", "lv"])
        nic = objects.NIC(mac="aa:00:00:00:00:01", uuid="nu",
                          nicparams={"mode": "openvswitch", "link": "sw"})
        env = build_environment(self.make([20]), "trixie", instance,
                                [disk], [nic], {}, None)
        self.assertEqual(env["HYPERVISOR"], "kvm")
        self.assertEqual(env["DISK_0_BACKEND_TYPE"], "block")
        self.assertNotIn("DISK_0_PATH", env)
        self.assertEqual((env["NIC_0_MODE"], env["NIC_0_LINK"]),
                         ("openvswitch", "sw"))
        self.assertNotIn("NIC_0_BRIDGE", env)

    def test_core(self):
        """
        C{verify} gets only the core variables.
        """
        self.assertEqual(
            core_environment(self.make([20]), "", {"dhcp": "no"}),
            {"OS_API_VERSION": "20", "OS_NAME": "deb",
             "OS_VARIANT": "bookworm", "DEBUG_LEVEL": "0",
             "PATH": OS_SCRIPT_PATH, "OSP_DHCP": "no"})

    def test_invalid_os(self):
        """
        No environment is built for an invalid OS.
        """
        self.assertRaises(OpExecError, core_environment,
                          OSDefinition("x", None, False, "broken"), "", {})

    def test_script_variables(self):
        """
        Each script gets its own extra variables.
        """
        env = self.build(self.make([20]))
        self.assertEqual(
            set(script_environment(env, "create", reinstall=True).items())
            - set(env.items()), {("INSTANCE_REINSTALL", "1")})
        self.assertEqual(script_environment(env, "create"), env)
        self.assertEqual(
            set(script_environment(env, "import", disk_index=1).items())
            - set(env.items()),
            {("IMPORT_INDEX", "1"), ("IMPORT_DEVICE", "/dev/xenvg/d1.disk1"),
             ("IMPORT_DISK_PATH", "/dev/xenvg/d1.disk1"),
             ("IMPORT_DISK_URI", "kvm:/dev/xenvg/d1.disk1")})
        self.assertEqual(
            set(script_environment(env, "export", disk_index=0).items())
            - set(env.items()),
            {("EXPORT_INDEX", "0"),
             ("EXPORT_DEVICE", DISKS[0]["path"]),
             ("EXPORT_DISK_PATH", DISKS[0]["path"])})
        self.assertEqual(
            set(script_environment(env, "rename", old_name="old").items())
            - set(env.items()), {("OLD_INSTANCE_NAME", "old")})
        self.assertRaises(ValueError, script_environment, env, "import")
        self.assertRaises(ValueError, script_environment, env, "rename")


class RunScriptTests(SynchronousTestCase):
    """
    Tests for L{run_script} and L{verify_parameters} on L{ProcessClock}.
    """

    def setUp(self):
        self.top = os.path.abspath(self.mktemp())
        self.os_path = make_os(self.top, "deb", variants=["a"],
                               parameters=["dhcp x"])
        self.os_def = find_os([self.top], "deb")
        self.log_dir = os.path.join(self.top, "log", "os")
        self.clock = ProcessClock()
        self.clock.advance(1700000000)
        self.env = {"INSTANCE_OS": "deb+a", "PATH": OS_SCRIPT_PATH}

    def run_os(self, script="create", **kwargs):
        """
        Start C{script} of the test OS on the fake reactor.
        """
        return run_script(self.clock, self.os_def, script, self.env,
                          self.log_dir, "inst1", timeout=30, **kwargs)

    def log_path(self, script="add"):
        """
        :return: the log file a run at the fake time must use.
        """
        return os.path.join(self.log_dir, log_file_name(
            script, "deb+a", "inst1", 1700000000))

    def test_command_line(self):
        """
        The script runs through a small shell wrapper that points its
        streams at the log (or given files); the environment is exactly the
        one given; the working directory is the OS directory.  Success
        gives the log path.
        """
        d = self.run_os()
        [proc] = self.clock.processes
        log = self.log_path()
        self.assertEqual(proc.argv[:2], ["/bin/sh", "-c"])
        self.assertEqual(proc.argv[3:], [
            "ganeti-os-create", log, os.devnull, "", "",
            os.path.join(self.os_path, "create")])
        self.assertEqual(proc.env, self.env)
        self.assertEqual(proc.path, self.os_path)
        self.assertTrue(os.path.isfile(log))
        self.assertTrue(os.path.basename(log).startswith("add-deb+a-inst1-"))
        proc.exit(0)
        self.assertEqual(self.successResultOf(d), log)

    def test_streams_and_size(self):
        """
        Standard input/output files, arguments and the export size file
        are passed to the wrapper; C{EXP_SIZE_FD} is set.
        """
        self.run_os("export", stdin_path="/in", stdout_path="/out",
                    size_path="/size", args=["x"])
        [proc] = self.clock.processes
        self.assertEqual(proc.argv[3:], [
            "ganeti-os-export", self.log_path("export"), "/in", "/out",
            "/size", os.path.join(self.os_path, "export"), "x"])
        self.assertEqual(proc.env["EXP_SIZE_FD"], "3")

    def test_second_log_same_second(self):
        """
        Two runs in the same second get two log files.
        """
        self.run_os()
        self.run_os()
        logs = [p.argv[4] for p in self.clock.processes]
        self.assertEqual(logs, [self.log_path(),
                                self.log_path()[:-4] + "-1.log"])

    def test_failure_quotes_log(self):
        """
        A failed script fails with L{OpExecError} naming the log file and
        quoting its last 20 lines.
        """
        d = self.run_os()
        log = self.log_path()
        with open(log, "w") as f:
            f.write("".join("line %d\n" % i for i in range(30)))
        self.clock.processes[0].exit(2)
        error = self.failureResultOf(d, OpExecError).value
        message = str(error)
        self.assertIn("OS create script failed (exit code 2)", message)
        self.assertIn(log, message)
        self.assertIn("line 29", message)
        self.assertIn("line 10", message)
        self.assertNotIn("line 9\n", message)

    def test_timeout(self):
        """
        A script running past its timeout is terminated and reported.
        """
        d = self.run_os()
        self.clock.advance(30)
        proc = self.clock.processes[0]
        self.assertEqual(proc.signals, ["TERM"])
        proc.die(15)
        self.assertIn("timed out after 30 seconds",
                      str(self.failureResultOf(d, OpExecError).value))

    def test_unknown_script(self):
        """
        Only the interface's scripts can be run; nothing is started.
        """
        self.failureResultOf(self.run_os("evil"), OpExecError)
        old = OSDefinition("o", self.os_path, True, api_versions=[15])
        self.failureResultOf(
            run_script(self.clock, old, "verify", {}, self.log_dir, "i", 5),
            OpExecError)
        self.assertEqual(self.clock.processes, [])

    def test_invalid_os(self):
        """
        An invalid OS runs nothing.
        """
        broken = OSDefinition("x", None, False, "broken")
        f = self.failureResultOf(run_script(self.clock, broken, "create",
                                            {}, self.log_dir, "i", 5),
                                 OpExecError)
        self.assertEqual(str(f.value), "broken")

    def test_verify_parameters(self):
        """
        ``verify parameters`` runs with the core environment in the OS
        directory; success fires C{True}.
        """
        d = verify_parameters(self.clock, self.os_def, {"dhcp": "yes"})
        [proc] = self.clock.processes
        self.assertEqual(proc.argv, [os.path.join(self.os_path, "verify"),
                                     "parameters"])
        self.assertEqual(proc.env, core_environment(self.os_def, "",
                                                    {"dhcp": "yes"}))
        self.assertEqual(proc.path, self.os_path)
        proc.exit(0)
        self.assertIs(self.successResultOf(d), True)

    def test_verify_refuses(self):
        """
        A refusing ``verify`` fails with its output.
        """
        d = verify_parameters(self.clock, self.os_def, {"dhcp": "maybe"})
        proc = self.clock.processes[0]
        proc.feed_stderr(b"Invalid value 'maybe' for dhcp\n")
        proc.exit(1)
        message = str(self.failureResultOf(d, OpExecError).value)
        self.assertIn("OS validation script failed", message)
        self.assertIn("Invalid value 'maybe' for dhcp", message)

    def test_verify_unknown_parameter(self):
        """
        Undeclared parameters are refused before anything runs.
        """
        self.failureResultOf(
            verify_parameters(self.clock, self.os_def, {"nope": 1}),
            OpPrereqError)
        self.assertEqual(self.clock.processes, [])

    def test_verify_old_api(self):
        """
        An OS older than API 20 has nothing to verify: C{False}, no run.
        """
        old = OSDefinition("o", self.os_path, True, api_versions=[15, 10])
        self.assertIs(self.successResultOf(
            verify_parameters(self.clock, old, {"x": 1})), False)
        self.assertEqual(self.clock.processes, [])

    def test_tail_missing(self):
        """
        L{tail_file} of a missing file is empty.
        """
        self.assertEqual(tail_file(os.path.join(self.top, "none")), [])


class RealScriptTests(TestCase):
    """
    Real OS scripts: what they see and where their output goes.
    """

    def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor
        self.top = os.path.realpath(self.mktemp())
        self.os_path = make_os(self.top, "deb", api=(20, 15),
                               variants=["a"], parameters=["dhcp x"])
        self.os_def = find_os([self.top], "deb")
        self.log_dir = os.path.join(self.top, "log")

    def recorded(self, script, what):
        """
        :return: what the recording C{script} wrote to its C{.what} file.
        """
        with open(os.path.join(self.os_path, "%s.%s" % (script, what))) as f:
            return f.read()

    def recorded_env(self, script):
        """
        :return: the environment the recording C{script} saw.
        """
        env = dict(line.split("=", 1) for line in
                   self.recorded(script, "env").splitlines())
        # The shell running the script sets PWD itself.
        env.pop("PWD", None)
        return env

    async def test_create_environment_and_log(self):
        """
        A real create script sees exactly the built environment, runs in
        the OS directory, and both its output streams land in the log.
        """
        env = build_environment(self.os_def, "a", INSTANCE, DISKS, NICS,
                                {"dhcp": "yes"}, "kvm")
        env = script_environment(env, "create", reinstall=True)
        log = await run_script(self.reactor, self.os_def, "create", env,
                               self.log_dir, "inst1.example.com", 10)
        self.assertEqual(self.recorded_env("create"), env)
        self.assertEqual(self.recorded("create", "cwd").strip(),
                         self.os_path)
        self.assertEqual(os.path.dirname(log), self.log_dir)
        self.assertTrue(os.path.basename(log).startswith(
            "add-deb+bookworm-inst1.example.com-"))
        with open(log) as f:
            self.assertEqual(sorted(f.read().splitlines()),
                             ["create stderr line", "create stdout line"])

    async def test_failure(self):
        """
        A real failing script: the error names the log and quotes it.
        """
        with open(os.path.join(self.os_path, "rename"), "w") as f:
            f.write("#!/bin/sh\necho 'cannot rename' >&2\nexit 3\n")
        env = script_environment({"PATH": OS_SCRIPT_PATH}, "rename",
                                 old_name="old")
        with self.assertRaises(OpExecError) as caught:
            await run_script(self.reactor, self.os_def, "rename", env,
                             self.log_dir, "old-new", 10)
        message = str(caught.exception)
        self.assertIn("OS rename script failed (exit code 3)", message)
        self.assertIn(os.path.join(self.log_dir, "rename-deb-old-new-"),
                      message)
        self.assertTrue(message.endswith("\ncannot rename"))

    async def test_export_import_streams(self):
        """
        Export writes its dump to the given file and may announce its size
        on C{EXP_SIZE_FD}; import reads the dump from its standard input.
        Arguments reach the script.
        """
        with open(os.path.join(self.os_path, "export"), "w") as f:
            f.write('#!/bin/sh\necho "dump of $EXPORT_INDEX"\n'
                    'echo 12 >&$EXP_SIZE_FD\necho noise >&2\n')
        with open(os.path.join(self.os_path, "import"), "w") as f:
            f.write('#!/bin/sh\ncat > "$IMPORT_DEVICE"\necho "$@" >&2\n')
        dump = os.path.join(self.top, "dump")
        size = os.path.join(self.top, "size")
        target = os.path.join(self.top, "disk0")
        env = {"PATH": OS_SCRIPT_PATH, "DISK_0_PATH": target}
        log = await run_script(
            self.reactor, self.os_def, "export",
            script_environment(env, "export", disk_index=0), self.log_dir,
            "i", 10, stdout_path=dump, size_path=size)
        with open(dump) as f:
            self.assertEqual(f.read(), "dump of 0\n")
        self.assertEqual(read_expected_size(size), 12)
        with open(log) as f:
            self.assertEqual(f.read(), "noise\n")
        log = await run_script(
            self.reactor, self.os_def, "import",
            script_environment(env, "import", disk_index=0), self.log_dir,
            "i", 10, stdin_path=dump, args=["--x"])
        with open(target) as f:
            self.assertEqual(f.read(), "dump of 0\n")
        with open(log) as f:
            self.assertEqual(f.read(), "--x\n")

    async def test_verify_real(self):
        """
        A real ``verify`` accepting or refusing C{OSP_DHCP}.
        """
        with open(os.path.join(self.os_path, "verify"), "w") as f:
            f.write('#!/bin/sh\ncase "$1:$OSP_DHCP" in\n'
                    '  parameters:yes|parameters:no) exit 0;;\n'
                    '  *) echo "bad dhcp $OSP_DHCP" >&2; exit 1;;\nesac\n')
        os.chmod(os.path.join(self.os_path, "verify"),
                 stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP)
        self.assertIs(await verify_parameters(self.reactor, self.os_def,
                                              {"dhcp": "yes"}), True)
        with self.assertRaises(OpExecError) as caught:
            await verify_parameters(self.reactor, self.os_def,
                                    {"dhcp": "maybe"})
        self.assertIn("bad dhcp maybe", str(caught.exception))

    def test_read_expected_size_missing(self):
        """
        No size file, or an empty one, means no announced size.
        """
        self.assertIsNone(read_expected_size(os.path.join(self.top, "x")))
