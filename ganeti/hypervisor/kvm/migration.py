# -*- test-case-name: tests.test_kvm_migration -*-
"""
Live and non-live migration between the qemus of two nodes.

The source hands over its runtime file (L{QemuMigration.migration_info}),
so the target builds the virtual hardware the guest has, whatever the
configuration says by now: the same parameters, device ids and PCI slots
(L{_with_runtime_ids}).  The target's qemu then waits with ``-incoming``
on the ``migration_port``, and the source sends the guest there (QMP
``migrate``); both ends are finalized once the master knows the outcome.
"""

import json

from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import deferLater
from twisted.logger import Logger

from ganeti.errors import HypervisorError
from ganeti.hypervisor.kvm.command import command_option
from ganeti.hypervisor.kvm.instances import QemuInstances, per_instance
from ganeti.hypervisor.kvm.params import fill_hvparams
from ganeti.hypervisor.qmp import QmpError
from ganeti.utils.io import read_file

_log = Logger()

#: How often to ask qemu how a migration is going (QMP has no event for
#: every state, and asking is cheap).
MIGRATION_POLL_INTERVAL = 0.25
#: Migration states that end a transfer badly (QMP ``query-migrate``).
_MIGRATION_FAILED = ("failed", "cancelled")
#: Run states in which a received guest is waiting to be resumed.
_RESUMABLE = ("paused", "postmigrate")


def _with_runtime_ids(block_devices, runtime_disks):
    """
    :return: a migration target's disks (paths of this node) with the
        ids and PCI slots the source's runtime gives them, matched by
        uuid, so the target builds the devices the guest knows.
    """
    ids = {disk.get("uuid"): {key: disk[key] for key in
                              ("qdev", "drive", "node", "pci") if key in disk}
           for disk in runtime_disks}
    return [dict(ids.get(device.get("uuid"), {}), **device)
            for device in block_devices]


def _migration_uri(instance, address):
    """
    :return: the ``tcp:`` URI qemu migrates an instance through: the
        target's address and the ``migration_port`` parameter.
    """
    port = fill_hvparams(instance.get("hvparams"))["migration_port"]
    if ":" in address:
        address = "[%s]" % address
    return "tcp:%s:%d" % (address, port)


class QemuMigration(QemuInstances):
    """
    L{QemuInstances} that can send and receive running guests.
    """

    @per_instance(locked=False)
    def migration_info(self, name):
        """
        :return: (via a Deferred) the saved runtime (JSON text) of a
            running instance: the target builds the same virtual machine
            from it, whatever the configuration says by now.
        """
        if self.layout.alive_pid(name) is None:
            raise HypervisorError("Instance %s is not running" % (name,))
        try:
            return read_file(self.layout.runtime_file(name)).decode("utf-8")
        except OSError as e:
            raise HypervisorError("Cannot read the runtime of %s: %s"
                                  % (name, e))

    @per_instance
    def accept_instance(self, instance, info, block_devices, target_address):
        """
        Start qemu with the source's virtual hardware, waiting for the
        guest on ``tcp:<target_address>:<migration_port>``.
        """
        try:
            runtime = json.loads(info)
            spec = dict(instance, hvparams=runtime["hvparams"],
                        beparams=runtime["beparams"],
                        nics=[{k: v for k, v in nic.items() if k != "tap"}
                              for nic in runtime["nics"]],
                        network_port=runtime.get("network_port"))
            block_devices = _with_runtime_ids(block_devices, runtime["disks"])
            accel = command_option(runtime["argv"], "-accel") or \
                self.accelerator(runtime["hvparams"])
        except (ValueError, KeyError, TypeError) as e:
            raise HypervisorError("Invalid migration info for %s: %s"
                                  % (instance["name"], e))
        return self._launch(spec, block_devices, accel, False,
                            _migration_uri(instance, target_address))

    @per_instance
    @inlineCallbacks
    def migrate_instance(self, instance, target_address, live):
        """
        Send the guest to the accepting qemu (QMP ``migrate``) with the
        bandwidth and downtime limits of the parameters, and wait until
        qemu says the transfer is complete.  A non-live migration pauses
        the guest first.
        """
        name = instance["name"]
        if self.layout.alive_pid(name) is None:
            raise HypervisorError("Instance %s is not running" % (name,))
        hvp = fill_hvparams(instance.get("hvparams"))
        try:
            yield self._qmp(name, "migrate-set-parameters", {
                "max-bandwidth": hvp["migration_bandwidth"] * 1024 * 1024,
                "downtime-limit": hvp["migration_downtime"]})
            capabilities = [c for c in hvp["migration_caps"].split(":") if c]
            if capabilities:
                yield self._qmp(name, "migrate-set-capabilities", {
                    "capabilities": [{"capability": c, "state": True}
                                     for c in capabilities]})
            if not live:
                yield self._qmp(name, "stop")
            yield self._qmp(name, "migrate",
                            {"uri": _migration_uri(instance, target_address)})
            yield self._wait_for_migration(name)
        except QmpError as e:
            raise HypervisorError("Failed to migrate instance %s: %s"
                                  % (name, e))
        _log.info("kvm instance {name} sent to {target}", name=name,
                  target=target_address)

    @inlineCallbacks
    def _wait_for_migration(self, name):
        """
        Poll QMP ``query-migrate`` until the transfer has ended.

        :raise HypervisorError: if qemu reports it failed or was cancelled.
        """
        while True:
            status = yield self._qmp(name, "query-migrate")
            state = status.get("status")
            if state == "completed":
                return
            if state in _MIGRATION_FAILED:
                raise HypervisorError(
                    "Migration of instance %s %s: %s"
                    % (name, state, status.get("error-desc", "no details")))
            yield deferLater(self._reactor, MIGRATION_POLL_INTERVAL,
                             lambda: None)

    @per_instance
    def finalize_migration_target(self, instance, info, success):
        """
        On success, make sure the received guest runs (``cont`` if the
        migration left it paused); otherwise kill the waiting qemu.
        """
        if not success:
            return self._kill_and_clean(instance["name"])
        return self._resume_received(instance["name"])

    @inlineCallbacks
    def _resume_received(self, name):
        if self.layout.alive_pid(name) is None:
            raise HypervisorError("Instance %s is not running after its"
                                  " migration" % (name,))
        try:
            state = yield self._settled_state(name)
            if state in _RESUMABLE:
                yield self._qmp(name, "cont")
        except QmpError as e:
            raise HypervisorError("Cannot resume migrated instance %s: %s"
                                  % (name, e))

    @inlineCallbacks
    def _settled_state(self, name):
        """
        :return: (via a Deferred) the run state of a received guest once
            qemu has loaded it (it says ``inmigrate`` until then).
        :raise HypervisorError: if that takes longer than a start may.
        """
        deadline = self._reactor.seconds() + self._start_timeout
        while True:
            status = yield self._qmp(name, "query-status")
            state = status.get("status")
            if state != "inmigrate":
                return state
            if self._reactor.seconds() >= deadline:
                raise HypervisorError("Instance %s did not arrive within %d"
                                      " seconds" % (name, self._start_timeout))
            yield deferLater(self._reactor, MIGRATION_POLL_INTERVAL,
                             lambda: None)

    @per_instance
    def finalize_migration_source(self, name, success):
        """
        On success the old qemu (paused by qemu at the end of the
        transfer) is killed and its files removed; otherwise the guest is
        resumed if the migration had paused it.
        """
        if success:
            return self._kill_and_clean(name)
        return self._resume_kept(name)

    @inlineCallbacks
    def _resume_kept(self, name):
        if self.layout.alive_pid(name) is None:
            raise HypervisorError("Instance %s is not running" % (name,))
        try:
            status = yield self._qmp(name, "query-status")
            if status.get("status") in _RESUMABLE:
                yield self._qmp(name, "cont")
        except QmpError as e:
            raise HypervisorError("Cannot resume instance %s: %s"
                                  % (name, e))
