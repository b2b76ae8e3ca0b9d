# -*- test-case-name: tests.test_osdef -*-
"""
Guest OS definitions (the ganeti-os-interface, API versions 10, 15, 20):
finding, reading and checking them.

An OS definition is a directory in one of the node's OS search paths
holding ``ganeti_api_version``, the scripts ``create``, ``export``,
``import``, ``rename`` (and ``verify`` from API 20), and optionally
``variants.list`` (API 15+) and ``parameters.list`` (required from API 20).
Ganeti does not copy these directories between nodes; each node reports
what it has (``gnt-os diagnose``) and runs the scripts locally.

This module only reads definitions: the scripts' environment is built by
L{ganeti.osenv} and the scripts run through L{ganeti.osscripts}.  Reading
an OS definition means a few C{stat}s and reads of tiny local files, done
inline.
"""

import errno
import os
import stat

from attrs import field, frozen

from ganeti import constants
from ganeti.errors import OpExecError, OpPrereqError
from ganeti.scriptdir import (
    PARAMETERS_FILE, bad_name, check_file, find_directory, parse_parameters,
    read_lines, visible_entries)

#: API versions this implementation speaks, newest first.
SUPPORTED_API_VERSIONS = tuple(sorted(constants.OS_API_VERSIONS,
                                      reverse=True))
API_V15 = 15
API_V20 = 20

API_FILE = "ganeti_api_version"
VARIANTS_FILE = "variants.list"

SCRIPT_CREATE = "create"
SCRIPT_EXPORT = "export"
SCRIPT_IMPORT = "import"
SCRIPT_RENAME = "rename"
SCRIPT_VERIFY = "verify"
#: Scripts every OS must provide; L{SCRIPT_VERIFY} is added for API 20.
BASE_SCRIPTS = (SCRIPT_CREATE, SCRIPT_EXPORT, SCRIPT_IMPORT, SCRIPT_RENAME)


def _required_scripts(newest_version):
    """
    :return: the scripts an OS claiming API C{newest_version} must have.
    """
    return BASE_SCRIPTS + ((SCRIPT_VERIFY,) if newest_version >= API_V20
                           else ())


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

    @property
    def scripts(self):
        """
        The scripts the OS has (it was checked for them) and so may run.
        """
        return _required_scripts(max(self.api_versions))

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
    for script in _required_scripts(newest):
        error = check_file(path, script, executable=True)
        if error:
            return _invalid(name, path, error)
    parameters = []
    if newest >= API_V20:
        error = check_file(path, PARAMETERS_FILE, executable=False)
        if error:
            return _invalid(name, path, error)
        try:
            lines = read_lines(os.path.join(path, PARAMETERS_FILE))
        except OSError as e:
            return _invalid(name, path, (
                "Error while reading the OS parameters file at %s: %s"
                % (os.path.join(path, PARAMETERS_FILE), e.strerror)))
        parameters = parse_parameters(lines)
    variants = []
    if newest >= API_V15:
        variants_file = os.path.join(path, VARIANTS_FILE)
        try:
            lines = read_lines(variants_file)
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


def find_os(search_path, name):
    """
    Find an OS in the search path; the first directory holding it wins.

    :param search_path: the directories to search, in order.
    :param name: the OS name, with or without ``+variant``.
    :return: an L{OSDefinition}; invalid (with C{path} C{None}) if no
        search directory has it.
    """
    os_name, _ = split_name(name)
    if bad_name(os_name):
        return _invalid(os_name, None, "Invalid OS name %r" % (os_name,))
    directory = find_directory(search_path, os_name)
    if directory is not None:
        return load_os(os_name, directory)
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
    return [load_os(name, path) for name, path in visible_entries(search_path)]


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
