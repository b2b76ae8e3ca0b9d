# -*- test-case-name: tests.test_noderpc -*-
"""
The node RPC command set (master to node), described once as plain data.

Bound to AMP by L{ganeti.protocols.jsonamp}; the master side calls it
through L{ganeti.rpc}, the node side answers in L{ganeti.node.service}.
Names follow Ganeti's node daemon procedures where one exists.
"""

#: Default TCP port of the node service (Ganeti's ganeti-noded).
DEFAULT_PORT = 1811

#: Files of the master every node keeps a copy of, so that it can take
#: the master role (``upload_ancillary_file``): the L{ganeti.paths.Paths}
#: attribute -> file mode.
ANCILLARY_FILES = {"rapi_pem": 0o400, "rapi_users": 0o640,
                   "rapi_tokens": 0o640}

#: method name -> argument names, in call order.  Trailing arguments
#: with a default in the node's handler may be left out by callers.
METHODS = {
    "version": (),
    "master_node_name": (),
    "node_info": ("hypervisors",),
    "test_delay": ("duration",),
    "hooks_runner": ("hpath", "phase", "env"),
    "hypervisor_check": ("hypervisor", "hvparams"),
    "instance_info": ("name", "hypervisor"),
    "all_instances_info": ("hypervisors",),
    "instance_start": ("instance", "block_devices", "startup_paused"),
    "instance_shutdown": ("name", "hypervisor", "timeout", "force"),
    "instance_reboot": ("name", "hypervisor"),
    "instance_resize_disk": ("name", "hypervisor", "index", "size"),
    "instance_console": ("instance",),
    # Not Ganeti's: a console relayed to the browser (ganeti.console).
    "console_open": ("instance", "kind", "address"),
    "hotplug_supported": ("instance",),
    "hotplug_device": ("instance", "action", "dev_type", "device", "extra",
                       "seq"),
    "migration_info": ("name", "hypervisor"),
    "accept_instance": ("instance", "info", "block_devices", "target_address"),
    "instance_migrate": ("instance", "target_address", "live"),
    "instance_finalize_migration_dst": ("instance", "info", "success"),
    "instance_finalize_migration_src": ("name", "hypervisor", "success"),
    "instance_os_add": ("instance", "block_devices", "reinstall", "debug"),
    "instance_run_rename": ("instance", "block_devices", "old_name", "debug"),
    "instance_export_disk": ("instance", "block_devices", "index", "staging",
                             "debug"),
    "instance_import_disk": ("instance", "block_devices", "index", "dump",
                             "debug"),
    "export_list": (),
    "export_info": ("path",),
    "export_remove": ("name",),
    "export_finalize": ("name", "staging", "config"),
    "transfer_receive": ("staging", "file_name", "address"),
    "transfer_send": ("path", "host", "port"),
    "disk_receive": ("disk", "address", "transfer_id"),
    "disk_receive_stop": ("transfer_ids",),
    "disk_send": ("disk", "host", "port", "compress", "transfer_id"),
    "disk_transfer_status": ("transfer_ids",),
    "os_check": ("name", "osparams"),
    "os_diagnose": (),
    "extstorage_diagnose": (),
    "blockdev_create": ("disk", "instance_name", "excl_stor"),
    "blockdev_remove": ("disk",),
    "blockdev_grow": ("disk", "amount", "dryrun", "excl_stor",
                      "backingstore"),
    "blockdev_snapshot": ("disk", "snap_name", "snap_size"),
    "blockdev_rename": ("devlist",),
    "lvm_vg_space": ("vg_name", "excl_stor"),
    "blockdev_get_size": ("disk",),
    "blockdev_get_spindles": ("disk",),
    "blockdev_assemble_all": ("disks", "instance_name", "as_primary",
                              "exclusive"),
    "blockdev_open": ("disks", "exclusive"),
    "blockdev_shutdown_all": ("disks",),
    "blockdev_close_all": ("disks",),
    "drbd_status": ("disks",),
    "drbd_open": ("disks", "force"),
    "drbd_disconnect_net": ("disks",),
    "drbd_attach_net": ("disks", "multimaster"),
    "drbd_replace_children": ("disk", "new_children", "old_suffix"),
    "drbd_minors": (),
    "blockdev_find_all": ("disks",),
    "blockdev_exists_all": ("disks",),
    "file_storage_dir_rename": ("old_dir", "new_dir"),
    "write_ssconf_files": ("values",),
    "upload_config": ("data", "serial"),
    "jobqueue_update": ("job_id", "data"),
    "upload_ancillary_file": ("key", "data"),
    "jobqueue_archive": ("job_id",),
    "node_leave_cluster": (),
    "node_start_master": (),
    "node_stop_master": (),
    "node_activate_master_ip": (),
    "node_deactivate_master_ip": (),
    "node_verify": ("hypervisors", "storage_dirs", "ssh_clutter_nodes",
                    "lvm", "drbd"),
    "storage_list": ("storage_type", "name"),
    "storage_modify": ("storage_type", "name", "changes"),
    "storage_execute": ("storage_type", "name", "operation"),
    "node_volumes": (),
}

#: Seconds a method may take before the master gives up on a node
#: (Ganeti's timeout classes); methods not listed get the client default.
TIMEOUTS = {
    "version": 10,
    "node_verify": 30,
    "all_instances_info": 30,
    "instance_os_add": 4 * 3600,
    "instance_run_rename": 3600,
    "blockdev_create": 3600,
    "blockdev_grow": 3600,
    "blockdev_remove": 900,
    "blockdev_snapshot": 900,
    "blockdev_rename": 900,
    "lvm_vg_space": 300,
    "blockdev_assemble_all": 900,
    "drbd_replace_children": 900,
    "instance_start": 900,
    # A hot-removed device waits for the guest to let go of it.
    "hotplug_device": 300,
    "accept_instance": 900,
    # The whole memory transfer happens within this one call.
    "instance_migrate": 4 * 3600,
    "instance_finalize_migration_dst": 300,
    "instance_finalize_migration_src": 300,
    "blockdev_exists_all": 300,
    "storage_list": 300,
    "storage_modify": 300,
    "storage_execute": 300,
    "node_volumes": 300,
    "os_diagnose": 300,
    "extstorage_diagnose": 300,
    "blockdev_open": 900,
    # A whole disk goes through these.
    "instance_export_disk": 24 * 3600,
    "instance_import_disk": 24 * 3600,
    "transfer_send": 24 * 3600,
    "disk_send": 24 * 3600,
    "disk_receive": 900,
    "disk_transfer_status": 30,
    "disk_receive_stop": 60,
    "export_remove": 900,
    "export_finalize": 900,
    "os_check": 300,
    # Scripts run one after the other, each within the node's own limit
    # (an hour by default); the master waits for them all.
    "hooks_runner": 4 * 3600,
}
