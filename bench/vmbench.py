"""
What the VM bed benchmarks share: a bed of their own with a cluster on it,
and commands run in its guests (a failed one ends the run with its output).
"""

import contextlib
import os
import shutil
import tempfile
import time

from ganeti.testing import vmbed


def run(guest, command, timeout=3600):
    """:return: the output of C{command} in C{guest}; exit if it failed."""
    result = guest.run(command, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit("%s failed on %s:\n%s%s" % (
            command, guest.name, result.stdout, result.stderr))
    return result.stdout


def timed(guest, command):
    """:return: ``(seconds, output)`` of L{run}."""
    started = time.monotonic()
    out = run(guest, command)
    return time.monotonic() - started, out


@contextlib.contextmanager
def cluster_bed(prefix, count):
    """
    A bed of C{count} guests in its own directory, with a cluster on
    them, removed afterwards; prints how long booting took.

    :return: (as a context) ``(bed, figures of init_cluster)``.
    """
    reason = vmbed.missing()
    if reason:
        raise SystemExit("the VM bed cannot run here: %s" % reason)
    os.makedirs(vmbed.CACHE_DIR, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=prefix, dir=vmbed.CACHE_DIR)
    bed = vmbed.VmBed(os.path.join(workdir, "bed"), log=lambda _: None)
    try:
        print("%d guests up: %.1f s" % (count, bed.up(count)))
        yield bed, bed.init_cluster()
    finally:
        bed.down()
        shutil.rmtree(workdir, ignore_errors=True)
