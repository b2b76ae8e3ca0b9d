# -*- test-case-name: tests.test_osdef -*-
"""
Guest OS definitions (the ganeti-os-interface, API versions 10, 15, 20).

An OS definition is a directory in one of the node's OS search paths
holding ``ganeti_api_version``, the scripts ``create``, ``export``,
``import``, ``rename`` (and ``verify`` from API 20), and optionally
``variants.list`` (API 15+) and ``parameters.list`` (required from API 20).
Ganeti does not copy these directories between nodes; each node reports
what it has (``gnt-os diagnose``) and runs the scripts locally.

The scripts get all their input through the environment, which is built
from scratch (L{build_environment}), never inherited from the daemon, so
an install does not depend on how the daemon was started.  Their output
goes to a log file of its own in ``<log_dir>/os/`` (the operator's first
stop when an install fails), and a failure quotes the file's last lines.

Reading an OS definition means a few C{stat}s and reads of tiny local
files, done inline; running a script goes through
L{ganeti.process.run_command}, so the reactor never waits.
"""

import errno
import os
import stat
import time

from attrs import field, frozen
from twisted.internet.defer import fail, succeed

from ganeti import constants
from ganeti.errors import CommandTimedOut, OpExecError, OpPrereqError
from ganeti.process import run_command

#: API versions this implementation speaks, newest first.
SUPPORTED_API_VERSIONS = tuple(sorted(constants.OS_API_VERSIONS,
                                      reverse=True))
API_V15 = 15
API_V20 = 20

API_FILE = "ganeti_api_version"
VARIANTS_FILE = "variants.list"
PARAMETERS_FILE = "parameters.list"

SCRIPT_CREATE = "create"
SCRIPT_EXPORT = "export"
SCRIPT_IMPORT = "import"
SCRIPT_RENAME = "rename"
SCRIPT_VERIFY = "verify"
#: Scripts every OS must provide; L{SCRIPT_VERIFY} is added for API 20.
BASE_SCRIPTS = (SCRIPT_CREATE, SCRIPT_EXPORT, SCRIPT_IMPORT, SCRIPT_RENAME)

#: The only check ``verify`` knows (API 20).
VERIFY_PARAMETERS = "parameters"

#: C{PATH} given to OS scripts; without it nothing they call would be found.
OS_SCRIPT_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"

#: Lines of the log quoted in the error of a failed script.
LOG_TAIL_LINES = 20

#: Disk templates whose node path is a block device, and those whose path
#: is a file (DISK_<N>_BACKEND_TYPE ``block`` vs ``file:<driver>``).
BLOCK_TEMPLATES = frozenset(["blockdev", "drbd", "ext", "plain", "rbd"])
FILE_TEMPLATES = frozenset(["file", "gluster", "sharedfile"])

# Log file names start with the kind of operation, as in Ganeti.
_LOG_KINDS = {SCRIPT_CREATE: "add"}

# Runs the script with its standard streams on real files, so neither a
# disk image (import/export) nor a long install log passes through the
# daemon's memory.  Positional parameters: log, stdin, stdout ("" = the
# log), size file ("" = none), then the script and its arguments.
_WRAPPER = (
    '_log=$1 _in=$2 _out=$3 _size=$4; shift 4\n'
    'if [ -n "$_size" ]; then exec 3>"$_size"; fi\n'
    'if [ -n "$_out" ]; then exec "$@" <"$_in" >"$_out" 2>>"$_log"; fi\n'
    'exec "$@" <"$_in" >>"$_log" 2>&1\n'
)

#: The file descriptor an export script may write its expected size to.
EXP_SIZE_FD = 3


@frozen
class OSDefinition:
    """
    What a node knows about one OS, valid or not.

    :ivar name: the OS name (without variant).
    :ivar path: its directory, or C{None} if it was not found.
    :ivar valid: whether it can be used.
    :ivar error: why it cannot be used (empty when valid).
    :ivar api_versions: the versions its ``ganeti_api_version`` lists.
    :ivar variants: the variants of ``variants.list`` (API 15+).
    :ivar parameters: ``(name, description)`` pairs of
        ``parameters.list`` (API 20).
    """

    name: str
    path: str | None
    valid: bool
    error: str = ""
    api_versions: tuple = field(default=(), converter=tuple)
    variants: tuple = field(default=(), converter=tuple)
    parameters: tuple = field(
        default=(), converter=lambda ps: tuple(tuple(p) for p in ps))

    @property
    def api_version(self):
        """
        The version used to talk to the scripts: the highest one both sides
        support (C{None} for an invalid definition).
        """
        common = set(self.api_versions) & set(SUPPORTED_API_VERSIONS)
        return max(common) if common else None

    @property
    def parameter_names(self):
        """
        The names of the OS parameters, in file order.
        """
        return tuple(name for name, _ in self.parameters)

    def script(self, name):
        """
        :return: the path of script C{name}.
        """
        return os.path.join(self.path, name)

    def require_valid(self):
        """
        :return: C{self}.
        :raise OpExecError: with L{error} if the definition is invalid.
        """
        if not self.valid:
            raise OpExecError(self.error)
        return self

    def to_dict(self):
        """
        :return: the JSON-able form used in RPC answers (``gnt-os``).
        """
        return {"name": self.name, "path": self.path, "valid": self.valid,
                "error": self.error, "api_versions": list(self.api_versions),
                "variants": list(self.variants),
                "parameters": [list(p) for p in self.parameters]}

    @classmethod
    def from_dict(cls, data):
        """
        :return: the definition whose L{to_dict} form is C{data}.
        """
        return cls(**data)


def split_name(name):
    """
    Split an OS name as users give it.

    :return: C{(os_name, variant)}; C{variant} is C{None} when C{name}
        has no ``+variant`` part (and C{""} for a name ending in ``+``).
    """
    os_name, plus, variant = name.partition("+")
    return os_name, (variant if plus else None)


def _invalid(name, path, error):
    return OSDefinition(name=name, path=path, valid=False, error=error)


def _read_api_versions(path):
    """
    :return: C{(versions, None)} or C{(None, error message)}.
    """
    api_file = os.path.join(path, API_FILE)
    try:
        st = os.stat(api_file)
    except OSError as e:
        return None, ("Required file '%s' not found under path %s: %s"
                      % (API_FILE, path, e.strerror))
    if not stat.S_ISREG(st.st_mode):
        return None, ("File '%s' in %s is not a regular file"
                      % (API_FILE, path))
    try:
        with open(api_file) as f:
            lines = f.read().splitlines()
    except OSError as e:
        return None, ("Error while reading the API version file at %s: %s"
                      % (api_file, e.strerror))
    try:
        versions = [int(line) for line in lines if line.strip()]
    except ValueError as e:
        return None, ("API version(s) can't be converted to integer: %s"
                      % (e,))
    if not versions:
        return None, "API version file %s lists no version" % (api_file,)
    return versions, None


def _check_file(path, filename, executable):
    """
    :return: C{None} if C{filename} is a regular file (and executable when
        asked), else the reason it is not.
    """
    full = os.path.join(path, filename)
    try:
        st = os.stat(full)
    except OSError as e:
        return ("File '%s' under path '%s' is missing (%s)"
                % (filename, path, e.strerror))
    if not stat.S_ISREG(st.st_mode):
        return ("File '%s' under path '%s' is not a regular file"
                % (filename, path))
    if executable and not st.st_mode & stat.S_IXUSR:
        return ("File '%s' under path '%s' is not executable"
                % (filename, path))
    return None


def _read_lines(filename):
    with open(filename) as f:
        return f.read().splitlines()


def load_os(name, path):
    """
    Read and check the OS definition in directory C{path}.

    :return: an L{OSDefinition}, invalid with the reason if a check fails.
    """
    if not os.path.isdir(path):
        return _invalid(name, path, "Directory for OS %s not found in"
                        " search path" % (name,))
    versions, error = _read_api_versions(path)
    if error:
        return _invalid(name, path, error)
    if not set(versions) & set(SUPPORTED_API_VERSIONS):
        return _invalid(name, path, (
            "API version mismatch for path '%s': found %s, want %s."
            % (path, versions, list(SUPPORTED_API_VERSIONS))))
    # As Ganeti, the newest version the OS claims decides which files it
    # must have, even if that version is newer than ours.
    newest = max(versions)
    scripts = BASE_SCRIPTS + ((SCRIPT_VERIFY,) if newest >= API_V20 else ())
    for script in scripts:
        error = _check_file(path, script, executable=True)
        if error:
            return _invalid(name, path, error)
    parameters = []
    if newest >= API_V20:
        error = _check_file(path, PARAMETERS_FILE, executable=False)
        if error:
            return _invalid(name, path, error)
        try:
            lines = _read_lines(os.path.join(path, PARAMETERS_FILE))
        except OSError as e:
            return _invalid(name, path, (
                "Error while reading the OS parameters file at %s: %s"
                % (os.path.join(path, PARAMETERS_FILE), e.strerror)))
        for line in lines:
            parts = line.split(None, 1)
            if parts:
                parameters.append((parts[0], parts[1].strip()
                                   if len(parts) > 1 else ""))
    variants = []
    if newest >= API_V15:
        variants_file = os.path.join(path, VARIANTS_FILE)
        try:
            lines = _read_lines(variants_file)
        except OSError as e:
            # The file is optional; anything but its absence is an error.
            if e.errno != errno.ENOENT:
                return _invalid(name, path, (
                    "Error while reading the OS variants file at %s: %s"
                    % (variants_file, e.strerror)))
            lines = []
        variants = [line.strip() for line in lines
                    if line.strip() and not line.strip().startswith("#")]
    return OSDefinition(name=name, path=path, valid=True,
                        api_versions=versions, variants=variants,
                        parameters=parameters)


def _bad_name(name):
    return (not name or "/" in name or name in (".", "..")
            or name.startswith("."))


def find_os(search_path, name):
    """
    Find an OS in the search path; the first directory holding it wins.

    :param search_path: the directories to search, in order.
    :param name: the OS name, with or without ``+variant``.
    :return: an L{OSDefinition}; invalid (with C{path} C{None}) if no
        search directory has it.
    """
    os_name, _ = split_name(name)
    if _bad_name(os_name):
        return _invalid(os_name, None, "Invalid OS name %r" % (os_name,))
    for directory in search_path:
        candidate = os.path.join(directory, os_name)
        if os.path.isdir(candidate):
            return load_os(os_name, candidate)
    return _invalid(os_name, None, "Directory for OS %s not found in search"
                    " path" % (os_name,))


def diagnose(search_path):
    """
    Examine every entry of every search directory (``gnt-os diagnose``).

    An OS present in several directories is reported once, from the first,
    since that is the one L{find_os} uses.  Hidden entries are skipped.

    :return: a list of L{OSDefinition}, in search path order, each
        directory's entries sorted by name.
    """
    seen = set()
    result = []
    for directory in search_path:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if name.startswith(".") or name in seen:
                continue
            seen.add(name)
            result.append(load_os(name, os.path.join(directory, name)))
    return result


def check_variant(os_def, name):
    """
    Check the variant in a user-given OS name, as the master does before
    an install (unless told to force it).

    :raise OpPrereqError: if the OS has variants and C{name} names none or
        an unknown one, or has none and C{name} names one.
    """
    variant = split_name(name)[1]
    if not os_def.variants:
        if variant:
            raise OpPrereqError("OS '%s' does not support variants ('%s'"
                                " passed)" % (os_def.name, variant),
                                "wrong_input")
        return
    if not variant:
        raise OpPrereqError("OS name '%s' must include a variant" % (name,),
                            "wrong_input")
    if variant not in os_def.variants:
        raise OpPrereqError("OS '%s' does not support variant '%s'"
                            % (os_def.name, variant), "wrong_input")


def check_parameters(os_def, osparams):
    """
    :raise OpPrereqError: if C{osparams} names a parameter the OS does not
        declare (API 20 only; older OSes have no parameters to check).
    """
    if os_def.api_version is None or max(os_def.api_versions) < API_V20:
        return
    unknown = sorted(set(osparams) - set(os_def.parameter_names))
    if unknown:
        raise OpPrereqError("The following parameters are not supported by"
                            " the OS %s: %s" % (os_def.name,
                                                ", ".join(unknown)),
                            "wrong_input")


def _get(obj, key, default=None):
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def core_environment(os_def, variant, osparams, debug=0):
    """
    The variables every script gets, ``verify`` nothing more.

    :param variant: the requested variant; with API 15+ an OS that has
        variants gets its first one when none was asked for.  API 10
        scripts get an empty C{OS_VARIANT} (as Ganeti passes it).
    :param osparams: OS parameters, passed as ``OSP_<NAME>`` (upper case,
        ``-`` as ``_``) to API 20 scripts only: older APIs have no
        parameters.
    :return: a dict of C{str}.
    """
    api = os_def.require_valid().api_version
    env = {
        "OS_API_VERSION": "%d" % (api,),
        "OS_NAME": os_def.name,
        "DEBUG_LEVEL": "%d" % (debug,),
        "PATH": OS_SCRIPT_PATH,
    }
    if api >= API_V15 and os_def.variants:
        env["OS_VARIANT"] = variant or os_def.variants[0]
    else:
        env["OS_VARIANT"] = ""
    if api >= API_V20:
        for name, value in (osparams or {}).items():
            env["OSP_%s" % (name.upper().replace("-", "_"),)] = str(value)
    return env


def _disk_environment(env, index, disk, hvparams):
    prefix = "DISK_%d_" % (index,)
    env[prefix + "ACCESS"] = str(_get(disk, "mode", "rw"))
    env[prefix + "UUID"] = str(_get(disk, "uuid", ""))
    env[prefix + "SIZE"] = str(_get(disk, "size", 0))
    if _get(disk, "path"):
        env[prefix + "PATH"] = str(_get(disk, "path"))
    if _get(disk, "uri"):
        env[prefix + "URI"] = str(_get(disk, "uri"))
    if _get(disk, "name"):
        env[prefix + "NAME"] = str(_get(disk, "name"))
    if "disk_type" in hvparams:
        env[prefix + "FRONTEND_TYPE"] = str(hvparams["disk_type"])
    dev_type = _get(disk, "dev_type")
    if dev_type in BLOCK_TEMPLATES:
        env[prefix + "BACKEND_TYPE"] = "block"
    elif dev_type in FILE_TEMPLATES:
        # The file driver is the first element of the logical_id; a disk
        # described without it uses the default driver.
        logical_id = list(_get(disk, "logical_id", None) or ["loop"])
        env[prefix + "BACKEND_TYPE"] = "file:%s" % (logical_id[0],)


def _network_environment(env, prefix, network):
    env[prefix + "NETWORK_NAME"] = str(_get(network, "name", ""))
    env[prefix + "NETWORK_UUID"] = str(_get(network, "uuid", ""))
    env[prefix + "NETWORK_TAGS"] = " ".join(_get(network, "tags", None) or [])
    for key, var in (("network", "SUBNET"), ("gateway", "GATEWAY"),
                     ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                     ("mac_prefix", "MAC_PREFIX"), ("family", "FAMILY")):
        if _get(network, key):
            env[prefix + "NETWORK_" + var] = str(_get(network, key))


def _nic_environment(env, index, nic, hvparams):
    prefix = "NIC_%d_" % (index,)
    nicparams = _get(nic, "nicparams", None) or {}
    mode = nicparams.get("mode", _get(nic, "mode", ""))
    link = nicparams.get("link", _get(nic, "link", ""))
    env[prefix + "MAC"] = str(_get(nic, "mac", ""))
    env[prefix + "UUID"] = str(_get(nic, "uuid", ""))
    if _get(nic, "name"):
        env[prefix + "NAME"] = str(_get(nic, "name"))
    if _get(nic, "ip"):
        env[prefix + "IP"] = str(_get(nic, "ip"))
    env[prefix + "MODE"] = str(mode)
    if mode == "bridged":
        env[prefix + "BRIDGE"] = str(link)
    if link:
        env[prefix + "LINK"] = str(link)
    if _get(nic, "netinfo"):
        _network_environment(env, prefix, _get(nic, "netinfo"))
    if "nic_type" in hvparams:
        env[prefix + "FRONTEND_TYPE"] = str(hvparams["nic_type"])


def build_environment(os_def, variant, instance, disks, nics, osparams,
                      hypervisor, debug=0):
    """
    Build the complete environment of an OS script for one instance.

    :param os_def: a valid L{OSDefinition}.
    :param variant: the OS variant (see L{core_environment}).
    :param instance: an L{ganeti.objects.Instance} or a dict with at
        least C{name}; C{os}, C{uuid}, C{ctime}, C{mtime},
        C{primary_node}, C{secondary_nodes}, C{hvparams} and
        C{beparams} (filled with cluster defaults) are used if present.
    :param disks: the instance's disks in order, dicts (or objects) with
        C{uuid}, C{size}, C{mode}, C{dev_type}, C{logical_id}, optional
        C{name}, and C{path} / C{uri} where the disk is reachable on this
        node (as returned by L{ganeti.storage.interfaces.IBlockStorage}).
    :param nics: the NICs in order, with C{mac}, C{uuid}, optional
        C{name}, C{ip}, C{nicparams} (C{mode}, C{link}) and C{netinfo}
        (the network: C{name}, C{uuid}, C{network}, C{gateway},
        C{network6}, C{gateway6}, C{mac_prefix}, C{tags}, C{family}).
    :param osparams: the OS parameters (API 20 only).
    :param hypervisor: the instance's hypervisor name.
    :param debug: 0 or 1, passed as C{DEBUG_LEVEL}.
    :return: a dict of C{str}: every variable of the ganeti-os-interface
        for the OS's API version, plus C{PATH}; nothing inherited.
    """
    env = core_environment(os_def, variant, osparams, debug)
    name = _get(instance, "name")
    env["INSTANCE_NAME"] = str(name)
    full_os = _get(instance, "os") or (
        os_def.name + ("+" + variant if variant else ""))
    env["INSTANCE_OS"] = str(full_os)
    for key in ("uuid", "ctime", "mtime", "primary_node"):
        value = _get(instance, key)
        if value is not None:
            env["INSTANCE_%s" % (key.upper(),)] = str(value)
    env["INSTANCE_SECONDARY_NODES"] = " ".join(
        _get(instance, "secondary_nodes", None) or [])
    env["HYPERVISOR"] = str(hypervisor or _get(instance, "hypervisor", ""))
    hvparams = dict(_get(instance, "hvparams", None) or {})
    beparams = dict(_get(instance, "beparams", None) or {})
    env["DISK_COUNT"] = "%d" % (len(disks),)
    for index, disk in enumerate(disks):
        _disk_environment(env, index, disk, hvparams)
    env["NIC_COUNT"] = "%d" % (len(nics),)
    for index, nic in enumerate(nics):
        _nic_environment(env, index, nic, hvparams)
    # Ganeti also exports the instance's parameters; the debootstrap OS,
    # for one, reads INSTANCE_HV_serial_console.
    for source, kind in ((beparams, "BE"), (hvparams, "HV")):
        for key, value in source.items():
            env["INSTANCE_%s_%s" % (kind, key)] = str(value)
    return env


def script_environment(env, script, disk_index=None, reinstall=False,
                       old_name=None):
    """
    Add the variables one script gets on top of L{build_environment}'s.

    :param script: C{"create"}, C{"import"}, C{"export"} or C{"rename"}.
    :param disk_index: for import/export, the disk being transferred
        (its C{DISK_<N>_PATH}/C{URI} become C{IMPORT_}/C{EXPORT_} aliases).
    :param reinstall: for create, sets C{INSTANCE_REINSTALL=1}.
    :param old_name: for rename, C{OLD_INSTANCE_NAME}.
    :return: a new dict.
    """
    env = dict(env)
    if script == SCRIPT_CREATE and reinstall:
        env["INSTANCE_REINSTALL"] = "1"
    elif script in (SCRIPT_IMPORT, SCRIPT_EXPORT):
        if disk_index is None:
            raise ValueError("%s needs a disk index" % (script,))
        prefix = script.upper()
        path = env.get("DISK_%d_PATH" % (disk_index,))
        uri = env.get("DISK_%d_URI" % (disk_index,))
        if path:
            env[prefix + "_DEVICE"] = path
            env[prefix + "_DISK_PATH"] = path
        if uri:
            env[prefix + "_DISK_URI"] = uri
        env[prefix + "_INDEX"] = str(disk_index)
    elif script == SCRIPT_RENAME:
        if old_name is None:
            raise ValueError("rename needs the old instance name")
        env["OLD_INSTANCE_NAME"] = old_name
    return env


def _log_component(text):
    return str(text).replace("/", "_") or "_"


def log_file_name(script, os_name, instance_name, timestamp):
    """
    :return: ``<op>-<os>-<instance>-<timestamp>.log``, C{op} being ``add``
        for create and the script name otherwise (Ganeti's names), the
        timestamp as ``YYYY-MM-DD_HH_MM_SS`` (local time).
    """
    stamp = time.strftime("%Y-%m-%d_%H_%M_%S", time.localtime(timestamp))
    return "%s-%s-%s-%s.log" % (_LOG_KINDS.get(script, script),
                                _log_component(os_name),
                                _log_component(instance_name), stamp)


def _create_log(log_dir, base):
    """
    Create a new, empty log file; a second run in the same second gets a
    numbered name instead of mixing its output into the first one's.

    :return: the path.
    """
    os.makedirs(log_dir, mode=0o750, exist_ok=True)
    stem = base[:-len(".log")]
    for attempt in range(1000):
        name = base if not attempt else "%s-%d.log" % (stem, attempt)
        path = os.path.join(log_dir, name)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o640))
        except FileExistsError:
            continue
        return path
    raise OpExecError("Can't create a log file for %s in %s"
                      % (base, log_dir))


def tail_file(path, lines=LOG_TAIL_LINES, max_bytes=64 * 1024):
    """
    :return: the last C{lines} lines of a (log) file, as text; C{[]} if it
        cannot be read.
    """
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]


def run_script(reactor, os_def, script, env, log_dir, instance_name,
               timeout, stdin_path=None, stdout_path=None, args=(),
               size_path=None):
    """
    Run one OS script with a clean environment, logging its output.

    The script runs in the OS directory (scripts source their helpers by
    relative path), with exactly C{env} as its environment.

    :param reactor: an L{IReactorProcess} and L{IReactorTime}.
    :param os_def: a valid L{OSDefinition}.
    :param script: C{"create"}, C{"import"}, C{"export"}, C{"rename"} or
        C{"verify"}.
    :param env: the environment, from L{build_environment} and
        L{script_environment}.
    :param log_dir: where the log goes (``<log_dir>/os`` of the node).
    :param instance_name: the instance, as it should appear in the log
        file name (for a rename, Ganeti uses ``old-new``).
    :param timeout: seconds before the script is terminated.
    :param stdin_path: file for standard input (import: the dump);
        C{/dev/null} if C{None}.
    :param stdout_path: file for standard output (export: the dump); the
        log if C{None}.  Standard error always goes to the log.
    :param args: arguments for the script.
    :param size_path: for export: a file the script may write its
        expected dump size to, through descriptor C{EXP_SIZE_FD} (added
        to C{env}).
    :return: a Deferred firing with the log file's path; failing with
        L{OpExecError} naming the log file and quoting its last lines.
    """
    try:
        os_def.require_valid()
        scripts = BASE_SCRIPTS + (
            (SCRIPT_VERIFY,) if max(os_def.api_versions) >= API_V20 else ())
        if script not in scripts:
            raise OpExecError("OS %s has no %r script (API %s)"
                              % (os_def.name, script, os_def.api_version))
        os_name = env.get("INSTANCE_OS") or os_def.name
        log_path = _create_log(log_dir, log_file_name(
            script, os_name, instance_name, reactor.seconds()))
    except Exception:
        return fail()
    env = dict(env)
    if size_path:
        env["EXP_SIZE_FD"] = str(EXP_SIZE_FD)
    argv = (["/bin/sh", "-c", _WRAPPER, "ganeti-os-" + script, log_path,
             stdin_path or os.devnull, stdout_path or "", size_path or "",
             os_def.script(script)] + list(args))
    d = run_command(reactor, argv, timeout=timeout, env=env,
                    cwd=os_def.path)

    def failed_message(reason):
        lines = tail_file(log_path)
        return ("OS %s script failed (%s), last lines in the log file %s:"
                "\n%s" % (script, reason, log_path, "\n".join(lines)))

    def finished(result):
        if result.failed:
            raise OpExecError(failed_message(_exit_reason(result)))
        return log_path

    def timed_out(failure):
        failure.trap(CommandTimedOut)
        raise OpExecError(failed_message(
            "timed out after %g seconds" % (timeout,)))

    return d.addCallbacks(finished, timed_out)


def _exit_reason(result):
    """
    :return: how a script ended, e.g. ``"exit code 1"``; the command line
        is left out since it is the wrapper shell's, not the script's.
    """
    if result.signal is not None:
        return "killed by signal %d" % (result.signal,)
    return "exit code %d" % (result.exit_code,)


def read_expected_size(size_path):
    """
    :return: the byte count an export script wrote to C{EXP_SIZE_FD}, or
        C{None} if it wrote none.
    """
    try:
        with open(size_path) as f:
            text = f.read().strip()
        return int(text.splitlines()[0]) if text else None
    except (OSError, ValueError):
        return None


def verify_parameters(reactor, os_def, osparams, variant="", timeout=60):
    """
    Validate OS parameters with the OS's ``verify parameters`` (API 20).

    Unknown parameter names are refused before the script runs.  The
    script gets only L{core_environment}'s variables.

    :return: a Deferred firing with C{True} once the script accepted the
        parameters, or C{False} straight away for an OS older than API 20
        (which has no parameters to verify); failing with
        L{OpPrereqError} for unknown names, L{OpExecError} with the
        script's output if it refused them.
    """
    try:
        os_def.require_valid()
        if max(os_def.api_versions) < API_V20:
            return succeed(False)
        check_parameters(os_def, osparams)
        env = core_environment(os_def, variant, osparams)
    except Exception:
        return fail()
    argv = [os_def.script(SCRIPT_VERIFY), VERIFY_PARAMETERS]
    d = run_command(reactor, argv, timeout=timeout, env=env,
                    cwd=os_def.path)

    def finished(result):
        if result.failed:
            output = (result.stdout + result.stderr).decode(
                "utf-8", "replace").strip()
            raise OpExecError("OS validation script failed (%s), output: %s"
                              % (result.describe(), output))
        return True

    def timed_out(failure):
        failure.trap(CommandTimedOut)
        raise OpExecError("OS validation script of %s timed out after %g"
                          " seconds" % (os_def.name, timeout))

    return d.addCallbacks(finished, timed_out)
