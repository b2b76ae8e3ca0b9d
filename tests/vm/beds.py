"""
One VM bed per test module, booted on first use and kept while that
module's tests run (trial has no class or module fixtures): the next
module's bed replaces it, and the last one is removed when the run ends.
Guests left idle under TCG still take CPU time from the ones in use.
"""

import atexit
import os
import shutil
import tempfile

from twisted.trial.unittest import SkipTest

from ganeti.testing import vmbed


#: The removal of the bed in use, if any (at most one).
_current = []


def module_bed(store, prefix, prepare=None, count=2):
    """
    :param store: the calling module's dict: it keeps the bed, or the
        error that building it raised (so later tests fail at once).
    :param prefix: the start of the bed's directory name.
    :param prepare: called with the bed once its cluster exists.
    :return: a bed of C{count} guests with a cluster on them.
    :raise SkipTest: where the bed cannot run, naming what is missing.
    """
    reason = vmbed.missing()
    if reason:
        raise SkipTest(reason)
    if "error" in store:
        raise store["error"]
    if "bed" not in store:
        if _current:
            # Trial runs a module's tests together: the previous module
            # is done with its bed.
            _current.pop()()
        os.makedirs(vmbed.CACHE_DIR, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix=prefix, dir=vmbed.CACHE_DIR)
        bed = vmbed.VmBed(os.path.join(workdir, "bed"), log=lambda _: None)

        def remove():
            atexit.unregister(remove)
            store.pop("bed", None)
            bed.down()
            shutil.rmtree(workdir, ignore_errors=True)
        atexit.register(remove)
        _current.append(remove)
        try:
            bed.up(count)
            bed.init_cluster()
            if prepare is not None:
                prepare(bed)
        except Exception as e:
            store["error"] = e
            raise
        store["bed"] = bed
    return store["bed"]


class GuestCommandsMixin:
    """
    The commands a VM bed test runs in its guests, for a test case with
    the bed in C{self.bed}: one failure message shape for all of them
    (the command's output, so a failed step explains itself).
    """

    def run_ok(self, index, command, timeout=600):
        """:return: the output of C{command} in guest C{index}; it succeeded."""
        result = self.bed[index].run(command, timeout=timeout)
        self.assertEqual(result.returncode, 0,
                         "%s\n%s" % (result.stdout[-3000:], result.stderr))
        return result.stdout

    def gnt(self, *argv, expect=0, timeout=600):
        """
        Run a ``gnt-*`` tool on the master (guest 1) and check its exit
        status.

        :return: its standard output and error, joined.
        """
        result = self.bed[1].run(list(argv), timeout=timeout)
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, expect, output)
        return output

    def device(self, name, disk=0):
        """
        Activate an instance's disks (``gnt-instance activate-disks``).

        :return: ``(guest index, path)`` of disk C{disk}: the guest that
            maps it and its block device there.
        """
        out = self.gnt("gnt-instance", "activate-disks", name)
        node, _, path = out.splitlines()[disk].split(":")
        [index] = [guest.index for guest in self.bed.guests
                   if guest.name == node]
        return index, path

    def fields(self, name, *fields):
        """:return: C{fields} of instance C{name} in ``gnt-instance list``."""
        out = self.gnt("gnt-instance", "list", "--no-headers",
                       "--separator=|", "-o", ",".join(fields), name)
        return out.strip().split("|")

    def power_off(self, index):
        """
        Power guest C{index} off hard (a crash); it is powered on again
        when the test ends (see L{power_on}).
        """
        self.assertNotEqual(index, 1, "node1 runs the master")
        self.addCleanup(self.power_on, index)
        self.bed[index].stop()
        self.assertFalse(self.bed[index].running())

    def power_on(self, index):
        """
        Power guest C{index} on and wait for its boot (node daemon up);
        then send it the config it missed while it was off (as in Ganeti,
        verify reports a master candidate's stale config.data until
        ``gnt-cluster redist-conf`` or the next config write).
        """
        guest = self.bed[index]
        if guest.running():
            return
        guest.start()
        guest.wait_ready()
        self.gnt("gnt-cluster", "redist-conf")

    def verify_findings(self):
        """
        :return: ``gnt-cluster verify``'s exit status and finding lines
            (with error codes: ``LEVEL:CODE:kind:name:message``).
        """
        result = self.bed[1].run(["gnt-cluster", "verify", "--error-codes"],
                                 timeout=300)
        return result.returncode, [
            line.split(" - ", 1)[1] for line in result.stdout.splitlines()
            if " - " in line and " - NOTICE:" not in line]
