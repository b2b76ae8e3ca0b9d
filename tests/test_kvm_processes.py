# -*- test-case-name: tests.test_kvm_processes -*-
"""
Tests for L{ganeti.hypervisor.kvm.processes}.
"""

import os
import signal
import subprocess
import sys

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from ganeti.hypervisor.kvm.processes import ProcessHandle


class ProcessHandleTests(SynchronousTestCase):
    """
    Tests for L{ProcessHandle} on a plain clock, where exits are polled.
    """

    def setUp(self):
        # A stand-in for a qemu: a process that is not going anywhere.
        self.child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"])
        self.addCleanup(self.child.wait)
        self.addCleanup(self.child.kill)
        self.clock = Clock()
        self.handle = ProcessHandle(self.clock, self.child.pid)
        self.addCleanup(self.handle.close)

    def test_timeout(self):
        """
        Waiting on a live process gives C{False} after the timeout.
        """
        d = self.handle.wait(5)
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertIs(self.successResultOf(d), False)
        self.assertFalse(self.handle.exited())

    def test_exit(self):
        """
        A killed process is noticed at the next poll, before the timeout.
        """
        d = self.handle.wait(5)
        self.handle.send_signal(signal.SIGKILL)
        # Wait (without reaping) until the kernel has really ended it.
        os.waitid(os.P_PID, self.child.pid, os.WEXITED | os.WNOWAIT)
        self.clock.advance(0.1)
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertIs(self.successResultOf(self.handle.wait(5)), True)
