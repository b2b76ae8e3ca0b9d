# -*- test-case-name: tests.test_kvm_migration -*-
"""
Tests for L{ganeti.hypervisor.kvm.migration}: the test guest migrated
between two node roots on this host.
"""

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import TestCase

from ganeti.errors import HypervisorError
from ganeti.hypervisor.kvm.hypervisor import KvmHypervisor
from ganeti.testing.guest import connect_console
from tests.kvm_fixtures import (
    GuestFixture,
    free_port,
    process_gone,
    runtime_files,
    short_root,
)


class KvmMigrationGuestTests(GuestFixture, TestCase):
    """
    Real qemu running the test guest: live and failed migrations.
    """

    def target(self):
        """
        :return: a second L{KvmHypervisor} on its own node root, as the
            other end of a migration.
        """
        target = KvmHypervisor(short_root(self), reactor)

        @inlineCallbacks
        def stop_all():
            for name in (yield target.list_instances()):
                yield target.stop_instance(name, force=True)
        self.addCleanup(stop_all)
        return target

    @inlineCallbacks
    def assert_shell_answers(self, console):
        """
        The guest's shell still runs: it evaluates what the console sends.
        """
        console.transport.write(b"echo ALIVE-$((6*7))\n")
        yield console.wait_for("ALIVE-42", timeout=30)

    @inlineCallbacks
    def test_live_migration_keeps_guest(self):
        """
        A booted guest migrated live keeps running on the target: its shell
        answers on the target's serial console, and the source qemu and its
        files are gone.
        """
        yield self.boot()
        name = "inst1.example.com"
        old = yield self.hv.get_instance_info(name)
        target = self.target()
        instance = self.instance(migration_port=free_port())
        info = yield self.hv.migration_info(name)
        yield target.accept_instance(instance, info, [], "127.0.0.1")
        console = yield connect_console(reactor,
                                        target.layout.serial_socket(name))
        self.addCleanup(console.close)
        yield self.hv.migrate_instance(instance, "127.0.0.1", True)
        yield self.hv.finalize_migration_source(name, True)
        yield target.finalize_migration_target(instance, info, True)
        yield self.assert_shell_answers(console)
        self.assertTrue(process_gone(old["id"]))
        self.assertEqual(runtime_files(self.hv), [])
        self.assertEqual((yield target.list_instances()), [name])

    @inlineCallbacks
    def test_failed_migration_resumes_source(self):
        """
        A non-live migration to a port nobody listens on fails with
        L{HypervisorError}; finalizing the source as failed resumes the
        paused guest, whose shell answers again.
        """
        console = yield self.boot()
        name = "inst1.example.com"
        instance = self.instance(migration_port=free_port())
        try:
            yield self.hv.migrate_instance(instance, "127.0.0.1", False)
        except HypervisorError as e:
            self.assertIn(name, str(e))
        else:
            self.fail("migration to a closed port succeeded")
        yield self.hv.finalize_migration_source(name, False)
        status = yield self.hv._qmp(name, "query-status")
        self.assertEqual(status["status"], "running")
        yield self.assert_shell_answers(console)
