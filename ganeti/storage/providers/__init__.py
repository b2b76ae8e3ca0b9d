# -*- test-case-name: tests.test_extstorage -*-
"""
ExtStorage providers shipped with the package, ready to be installed on
the nodes (Ganeti never copies providers between nodes).

``filevol`` keeps each volume in a file of a directory every node shares
and maps it as a loop device; doc/extstorage-filevol.md tells how to use
it and how to write a provider of one's own from it.  Install it on each
node with::

    python3 -m ganeti.storage.providers [--dir /shared/volumes] \\
        [/srv/ganeti/extstorage]

or copy the directory L{example_dir} gives into the ExtStorage search
path by hand (``cp -r``).
"""

import argparse
import os
import shutil

#: The example provider's name (its directory's).
FILEVOL = "filevol"

#: The settings file the provider's scripts read, next to them.
SETTINGS_FILE = "settings"

#: Where providers go on a production node.
DEFAULT_TARGET = "/srv/ganeti/extstorage"


def example_dir(name=FILEVOL):
    """
    :return: the directory of a shipped provider.
    """
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), name)


def install(target_dir, name=FILEVOL, volume_dir=None):
    """
    Copy a shipped provider into an ExtStorage search directory, its
    scripts executable whatever the packaging did to their modes.

    :param target_dir: the search directory, e.g. a node's
        L{ganeti.paths.Paths.extstorage_search_path}'s first entry.
    :param volume_dir: written to the provider's settings file as the
        directory of its volumes (C{FILEVOL_DIR}); C{None} keeps the
        default.
    :return: the installed provider's directory.
    """
    source = example_dir(name)
    destination = os.path.join(target_dir, name)
    os.makedirs(target_dir, exist_ok=True)
    shutil.copytree(source, destination, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for entry in os.listdir(destination):
        path = os.path.join(destination, entry)
        executable = "." not in entry and entry != SETTINGS_FILE
        os.chmod(path, 0o755 if executable else 0o644)
    if volume_dir is not None:
        with open(os.path.join(destination, SETTINGS_FILE), "w") as f:
            f.write("FILEVOL_DIR=%s\n" % (volume_dir,))
    return destination


def main(argv=None):
    """``python3 -m ganeti.storage.providers``: install ``filevol``."""
    parser = argparse.ArgumentParser(
        prog="python3 -m ganeti.storage.providers",
        description="Install the filevol ExtStorage provider on this node.")
    parser.add_argument("target", nargs="?", default=DEFAULT_TARGET,
                        help="ExtStorage search directory (default %s)"
                        % DEFAULT_TARGET)
    parser.add_argument("--dir", dest="volume_dir", default=None,
                        help="shared directory of the volume files")
    args = parser.parse_args(argv)
    print(install(args.target, volume_dir=args.volume_dir))
    return 0
