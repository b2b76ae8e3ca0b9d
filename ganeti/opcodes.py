# -*- test-case-name: tests.test_opcodes -*-
"""
The opcode catalogue: every change to the cluster is one of these.

An opcode travels as a JSON object with ``OP_ID`` and its parameters, as in
Ganeti, so job files and ``gnt-debug submit-job`` inputs are portable.  This
module only describes and validates opcodes; what they do lives in
``ganeti.cmdlib``.
"""

from ganeti import errors, ht, netutils
from ganeti.utils import units

#: Job priorities as Ganeti names them (lower runs first).
PRIORITY = {"low": 10, "normal": 0, "high": -10}
PRIORITY_LOWEST = 19
PRIORITY_HIGHEST = -20

#: Statuses a job dependency may name.
FINALIZED_STATUSES = ("success", "error", "canceled")

_DEPENDS = ht.Check(
    "a list of [job id, [statuses]] pairs",
    lambda v: isinstance(v, list) and all(
        isinstance(d, (list, tuple)) and len(d) == 2
        and ht.TInt(d[0]) and ht.TListOf(ht.TElemOf(FINALIZED_STATUSES))(d[1])
        for d in v))

_REASON = ht.Check(
    "a list of [source, reason, timestamp] triples",
    lambda v: isinstance(v, list) and all(
        isinstance(r, (list, tuple)) and len(r) == 3 and ht.TString(r[0])
        and ht.TString(r[1]) and ht.TInt(r[2]) for r in v))

#: Parameters every opcode takes: (name, default, check).
COMMON_PARAMS = (
    ("dry_run", None, ht.TMaybe(ht.TBool)),
    ("debug_level", None, ht.TMaybe(ht.TNonNegativeInt)),
    ("priority", 0, ht.TIntInRange(PRIORITY_HIGHEST, PRIORITY_LOWEST)),
    ("depends", None, ht.TMaybe(_DEPENDS)),
    ("comment", None, ht.TMaybe(ht.TString)),
    ("reason", [], _REASON),
)

REQUIRED = object()

_STRINGS = ht.TListOf(ht.TNonEmptyString)
#: The disk and NIC changes of ``gnt-instance modify``, in Ganeti's two
#: forms, ``[action or index, params]`` and ``[action, identifier,
#: params]`` (a list may mix them here).
_MODIFICATION = ht.TOr(
    ht.TTuple(ht.TOr(ht.TElemOf(("add", "remove")), ht.TNonNegativeInt),
              ht.TDict),
    ht.TTuple(ht.TElemOf(("add", "remove", "modify")),
              ht.TMaybe(ht.TOr(ht.TInt, ht.TString)), ht.TDict))
_MODIFICATIONS = ht.Check(
    "a list of [action or index, parameters] or [action, identifier,"
    " parameters] items", ht.TListOf(_MODIFICATION))
_MAYBE_STR = ht.TMaybe(ht.TString)
_MAYBE_BOOL = ht.TMaybe(ht.TBool)
_MAYBE_DICT = ht.TMaybe(ht.TDict)
_EXPORT_MODE = ht.TElemOf(("local", "remote"))
_TAG_KIND = ht.TElemOf(("cluster", "node", "nodegroup", "instance", "network"))

#: Migration modes (Ganeti's C{HT_MIGRATION_MODES}).
MIGRATION_MODES = ("live", "non-live")
#: ``replace-disks`` modes (Ganeti's REPLACE_DISK_*): -p, -s, -n/-I, -a.
REPLACE_DISK_PRI = "replace_on_primary"
REPLACE_DISK_SEC = "replace_on_secondary"
REPLACE_DISK_CHG = "replace_new_secondary"
REPLACE_DISK_AUTO = "replace_auto"
REPLACE_MODES = (REPLACE_DISK_PRI, REPLACE_DISK_SEC, REPLACE_DISK_CHG,
                 REPLACE_DISK_AUTO)
#: What a node evacuation moves (Ganeti's C{NODE_EVAC_MODES}).
NODE_EVAC_PRI, NODE_EVAC_SEC, NODE_EVAC_ALL = (
    "primary-only", "secondary-only", "all")
NODE_EVAC_MODES = (NODE_EVAC_PRI, NODE_EVAC_SEC, NODE_EVAC_ALL)

#: A node group's allocation policies (Ganeti's C{VALID_ALLOC_POLICIES}).
#: The modes a NIC (or a network's connection to a group) may have.
NIC_MODES = ("bridged", "routed", "openvswitch")

ALLOC_POLICIES = ("preferred", "last_resort", "unallocable")

#: The parameters adding and modifying a node group share, as in Ganeti.
_GROUP_PARAMS = [
    ("alloc_policy", None, ht.TMaybe(ht.TElemOf(ALLOC_POLICIES))),
    ("ndparams", None, _MAYBE_DICT),
    ("diskparams", None, _MAYBE_DICT),
    ("ipolicy", None, _MAYBE_DICT),
    ("hv_state", None, _MAYBE_DICT),
    ("disk_state", None, _MAYBE_DICT),
]

#: The parameters instance and node migration share, as in Ganeti.
_MIGRATION_PARAMS = [
    ("mode", None, ht.TMaybe(ht.TElemOf(MIGRATION_MODES))),
    ("live", None, _MAYBE_BOOL),
    ("target_node", None, _MAYBE_STR),
    ("target_node_uuid", None, _MAYBE_STR),
    ("allow_runtime_changes", True, ht.TBool),
    ("ignore_ipolicy", False, ht.TBool),
    ("iallocator", None, _MAYBE_STR),
]


class OpDef:
    """
    How one opcode looks: its parameters and the field its summary shows.
    """

    def __init__(self, op_id, params=(), summary_field=None):
        self.op_id = op_id
        self.params = tuple(params) + COMMON_PARAMS
        self.summary_field = summary_field


_CATALOGUE = [
    OpDef("OP_TEST_DELAY", [
        ("duration", REQUIRED, ht.TNumber),
        ("on_master", True, ht.TBool),
        ("on_nodes", [], _STRINGS),
        ("on_node_uuids", None, ht.TMaybe(_STRINGS)),
        ("repeat", 0, ht.TNonNegativeInt),
        ("interruptible", False, ht.TBool),
        ("no_locks", True, ht.TBool),
    ], summary_field="duration"),
    OpDef("OP_TEST_JQUEUE", [
        ("notify_waitlock", False, ht.TBool),
        ("notify_exec", False, ht.TBool),
        ("log_messages", [], ht.TListOf(ht.TString)),
        ("fail", False, ht.TBool),
    ]),
    OpDef("OP_TEST_ALLOCATOR", [
        ("direction", REQUIRED, ht.TElemOf(("in", "out"))),
        ("mode", REQUIRED, ht.TNonEmptyString),
        ("name", REQUIRED, ht.TString),
        ("nics", None, ht.TMaybe(ht.TListOf(ht.TDict))),
        ("disks", None, ht.TMaybe(ht.TListOf(ht.TDict))),
        ("hypervisor", None, _MAYBE_STR),
        ("iallocator", None, _MAYBE_STR),
        ("tags", [], _STRINGS),
        ("memory", None, ht.TMaybe(ht.TNonNegativeInt)),
        ("vcpus", None, ht.TMaybe(ht.TNonNegativeInt)),
        ("os", None, _MAYBE_STR),
        ("disk_template", None, _MAYBE_STR),
        ("instances", None, ht.TMaybe(_STRINGS)),
        ("evac_mode", None, _MAYBE_STR),
        ("target_groups", None, ht.TMaybe(_STRINGS)),
        ("spindle_use", 1, ht.TNonNegativeInt),
        ("count", 1, ht.TNonNegativeInt),
        ("group_name", None, _MAYBE_STR),
    ], summary_field="iallocator"),
    OpDef("OP_TEST_DUMMY", [
        ("result", None, ht.TAny),
        ("messages", None, ht.TAny),
        ("fail", None, ht.TAny),
        ("submit_jobs", None, ht.TAny),
    ]),
    OpDef("OP_CLUSTER_POST_INIT"),
    OpDef("OP_CLUSTER_DESTROY"),
    OpDef("OP_CLUSTER_QUERY"),
    OpDef("OP_CLUSTER_CONFIG_QUERY", [("output_fields", REQUIRED, _STRINGS)]),
    OpDef("OP_CLUSTER_REDIST_CONF"),
    OpDef("OP_CLUSTER_RENAME", [("name", REQUIRED, ht.TNonEmptyString)],
          summary_field="name"),
    OpDef("OP_CLUSTER_VERIFY", [
        ("debug_simulate_errors", False, ht.TBool),
        ("error_codes", False, ht.TBool),
        ("skip_checks", [], _STRINGS),
        ("ignore_errors", [], _STRINGS),
        ("verbose", False, ht.TBool),
        ("group_name", None, _MAYBE_STR),
        ("verify_clutter", False, ht.TBool),
    ]),
    OpDef("OP_CLUSTER_VERIFY_CONFIG", [
        ("debug_simulate_errors", False, ht.TBool),
        ("error_codes", False, ht.TBool),
        ("ignore_errors", [], _STRINGS),
        ("verbose", False, ht.TBool),
    ]),
    OpDef("OP_CLUSTER_VERIFY_GROUP", [
        ("group_name", REQUIRED, ht.TNonEmptyString),
        ("debug_simulate_errors", False, ht.TBool),
        ("error_codes", False, ht.TBool),
        ("skip_checks", [], _STRINGS),
        ("ignore_errors", [], _STRINGS),
        ("verbose", False, ht.TBool),
        ("verify_clutter", False, ht.TBool),
    ], summary_field="group_name"),
    OpDef("OP_CLUSTER_VERIFY_DISKS", [
        ("group_name", None, _MAYBE_STR),
        ("is_strict", True, ht.TBool),
    ]),
    OpDef("OP_GROUP_VERIFY_DISKS", [
        ("group_name", REQUIRED, ht.TNonEmptyString),
        ("is_strict", True, ht.TBool),
    ], summary_field="group_name"),
    OpDef("OP_CLUSTER_REPAIR_DISK_SIZES", [("instances", [], _STRINGS)]),
    OpDef("OP_CLUSTER_ACTIVATE_MASTER_IP"),
    OpDef("OP_CLUSTER_DEACTIVATE_MASTER_IP"),
    OpDef("OP_CLUSTER_SET_PARAMS", [
        ("force", False, ht.TBool),
        ("vg_name", None, _MAYBE_STR),
        ("enabled_hypervisors", None, ht.TMaybe(_STRINGS)),
        ("hvparams", None, _MAYBE_DICT),
        ("beparams", None, _MAYBE_DICT),
        ("os_hvp", None, _MAYBE_DICT),
        ("osparams", None, _MAYBE_DICT),
        ("diskparams", None, _MAYBE_DICT),
        ("nicparams", None, _MAYBE_DICT),
        ("ndparams", None, _MAYBE_DICT),
        ("ipolicy", None, _MAYBE_DICT),
        ("candidate_pool_size", None, ht.TMaybe(ht.TPositiveInt)),
        ("max_running_jobs", None, ht.TMaybe(ht.TPositiveInt)),
        ("max_tracked_jobs", None, ht.TMaybe(ht.TPositiveInt)),
        ("uid_pool", None, ht.TMaybe(ht.TList)),
        ("add_uids", None, ht.TMaybe(ht.TList)),
        ("remove_uids", None, ht.TMaybe(ht.TList)),
        ("maintain_node_health", None, _MAYBE_BOOL),
        ("prealloc_wipe_disks", None, _MAYBE_BOOL),
        ("drbd_helper", None, _MAYBE_STR),
        ("default_iallocator", None, _MAYBE_STR),
        ("default_iallocator_params", None, _MAYBE_DICT),
        ("mac_prefix", None, _MAYBE_STR),
        ("master_netdev", None, _MAYBE_STR),
        ("master_netmask", None, ht.TMaybe(ht.TNonNegativeInt)),
        ("reserved_lvs", None, ht.TMaybe(ht.TListOf(ht.TString))),
        ("hidden_os", None, ht.TMaybe(ht.TList)),
        ("blacklisted_os", None, ht.TMaybe(ht.TList)),
        ("use_external_mip_script", None, _MAYBE_BOOL),
        ("enabled_disk_templates", None, ht.TMaybe(_STRINGS)),
        ("modify_etc_hosts", None, _MAYBE_BOOL),
        ("file_storage_dir", None, _MAYBE_STR),
        ("shared_file_storage_dir", None, _MAYBE_STR),
        ("install_image", None, _MAYBE_STR),
        ("zeroing_image", None, _MAYBE_STR),
        ("compression_tools", None, ht.TMaybe(_STRINGS)),
        ("enabled_user_shutdown", None, _MAYBE_BOOL),
    ]),
    OpDef("OP_TAGS_GET", [
        ("kind", REQUIRED, _TAG_KIND),
        ("use_locking", False, ht.TBool),
        ("name", None, _MAYBE_STR),
    ], summary_field="name"),
    OpDef("OP_TAGS_SEARCH", [("pattern", REQUIRED, ht.TNonEmptyString)],
          summary_field="pattern"),
    OpDef("OP_TAGS_SET", [
        ("kind", REQUIRED, _TAG_KIND),
        ("tags", REQUIRED, _STRINGS),
        ("name", None, _MAYBE_STR),
    ]),
    OpDef("OP_TAGS_DEL", [
        ("kind", REQUIRED, _TAG_KIND),
        ("tags", REQUIRED, _STRINGS),
        ("name", None, _MAYBE_STR),
    ]),
    OpDef("OP_QUERY", [
        ("what", REQUIRED, ht.TNonEmptyString),
        ("use_locking", False, ht.TBool),
        ("fields", REQUIRED, _STRINGS),
        ("qfilter", None, ht.TMaybe(ht.TList)),
    ], summary_field="what"),
    OpDef("OP_QUERY_FIELDS", [
        ("what", REQUIRED, ht.TNonEmptyString),
        ("fields", None, ht.TMaybe(_STRINGS)),
    ], summary_field="what"),
    OpDef("OP_OS_DIAGNOSE", [
        ("output_fields", REQUIRED, _STRINGS),
        ("names", [], _STRINGS),
    ]),
    OpDef("OP_EXT_STORAGE_DIAGNOSE", [
        ("output_fields", REQUIRED, _STRINGS),
        ("names", [], _STRINGS),
    ]),
    OpDef("OP_NODE_QUERY_STORAGE", [
        ("output_fields", REQUIRED, _STRINGS),
        ("storage_type", None, _MAYBE_STR),
        ("nodes", [], _STRINGS),
        ("name", None, _MAYBE_STR),
    ]),
    OpDef("OP_NODE_QUERYVOLS", [
        ("output_fields", REQUIRED, _STRINGS),
        ("nodes", [], _STRINGS),
    ]),
    OpDef("OP_NODE_MODIFY_STORAGE", [
        ("node_name", REQUIRED, ht.TNonEmptyString),
        ("node_uuid", None, _MAYBE_STR),
        ("storage_type", REQUIRED, ht.TNonEmptyString),
        ("name", None, _MAYBE_STR),
        ("changes", REQUIRED, ht.TDict),
    ], summary_field="node_name"),
    OpDef("OP_REPAIR_NODE_STORAGE", [
        ("node_name", REQUIRED, ht.TNonEmptyString),
        ("node_uuid", None, _MAYBE_STR),
        ("storage_type", REQUIRED, ht.TNonEmptyString),
        ("name", None, _MAYBE_STR),
        ("ignore_consistency", False, ht.TBool),
    ], summary_field="node_name"),
    OpDef("OP_INSTANCE_CREATE", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("force_variant", False, ht.TBool),
        ("wait_for_sync", True, ht.TBool),
        ("name_check", False, ht.TBool),
        ("ignore_ipolicy", False, ht.TBool),
        ("opportunistic_locking", False, ht.TBool),
        ("beparams", {}, ht.TDict),
        ("disks", REQUIRED, ht.TListOf(ht.TDict)),
        ("disk_template", None, _MAYBE_STR),
        ("group_name", None, _MAYBE_STR),
        ("file_driver", None, _MAYBE_STR),
        ("file_storage_dir", None, _MAYBE_STR),
        ("hvparams", {}, ht.TDict),
        ("hypervisor", None, _MAYBE_STR),
        ("iallocator", None, _MAYBE_STR),
        ("identify_defaults", False, ht.TBool),
        ("ip_check", False, ht.TBool),
        ("conflicts_check", True, ht.TBool),
        ("mode", "create", ht.TElemOf(("create", "import", "remote-import"))),
        ("nics", REQUIRED, ht.TListOf(ht.TDict)),
        ("no_install", None, _MAYBE_BOOL),
        ("osparams", {}, ht.TDict),
        ("osparams_private", None, _MAYBE_DICT),
        ("osparams_secret", None, _MAYBE_DICT),
        ("os_type", None, _MAYBE_STR),
        ("pnode", None, _MAYBE_STR),
        ("pnode_uuid", None, _MAYBE_STR),
        ("snode", None, _MAYBE_STR),
        ("snode_uuid", None, _MAYBE_STR),
        ("src_node", None, _MAYBE_STR),
        ("src_path", None, _MAYBE_STR),
        ("compress", "none", ht.TString),
        ("start", True, ht.TBool),
        ("forthcoming", False, ht.TBool),
        ("commit", False, ht.TBool),
        ("tags", [], _STRINGS),
        ("instance_communication", False, ht.TBool),
        ("helper_startup_timeout", None, ht.TMaybe(ht.TInt)),
        ("helper_shutdown_timeout", None, ht.TMaybe(ht.TInt)),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_REMOVE", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("shutdown_timeout", 120, ht.TNonNegativeInt),
        ("ignore_failures", False, ht.TBool),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_STARTUP", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("force", False, ht.TBool),
        ("ignore_offline_nodes", False, ht.TBool),
        ("hvparams", {}, ht.TDict),
        ("beparams", {}, ht.TDict),
        ("no_remember", False, ht.TBool),
        ("startup_paused", False, ht.TBool),
        ("shutdown_timeout", 120, ht.TNonNegativeInt),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_SHUTDOWN", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("force", False, ht.TBool),
        ("ignore_offline_nodes", False, ht.TBool),
        ("timeout", 120, ht.TNonNegativeInt),
        ("no_remember", False, ht.TBool),
        ("admin_state_source", None, _MAYBE_STR),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_REBOOT", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("shutdown_timeout", 120, ht.TNonNegativeInt),
        ("ignore_secondaries", False, ht.TBool),
        ("reboot_type", REQUIRED, ht.TElemOf(("soft", "hard", "full"))),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_REINSTALL", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("force_variant", False, ht.TBool),
        ("os_type", None, _MAYBE_STR),
        ("osparams", None, _MAYBE_DICT),
        ("osparams_private", None, _MAYBE_DICT),
        ("osparams_secret", None, _MAYBE_DICT),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_RENAME", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("new_name", REQUIRED, ht.TNonEmptyString),
        ("name_check", False, ht.TBool),
        ("ip_check", False, ht.TBool),
    ]),
    OpDef("OP_INSTANCE_CONSOLE", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_ACTIVATE_DISKS", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("ignore_size", False, ht.TBool),
        ("wait_for_sync", False, ht.TBool),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_DEACTIVATE_DISKS", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("force", False, ht.TBool),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_RECREATE_DISKS", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("disks", [], ht.TList),
        ("nodes", [], _STRINGS),
        ("node_uuids", None, ht.TMaybe(_STRINGS)),
        ("iallocator", None, _MAYBE_STR),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_GROW_DISK", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("wait_for_sync", True, ht.TBool),
        ("disk", REQUIRED, ht.TNonNegativeInt),
        ("amount", REQUIRED, ht.TNonNegativeInt),
        ("absolute", False, ht.TBool),
        ("ignore_ipolicy", False, ht.TBool),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_SET_PARAMS", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("force", False, ht.TBool),
        ("force_variant", False, ht.TBool),
        ("ignore_ipolicy", False, ht.TBool),
        ("nics", [], _MODIFICATIONS),
        ("disks", [], _MODIFICATIONS),
        ("beparams", {}, ht.TDict),
        ("runtime_mem", None, ht.TMaybe(ht.TPositiveInt)),
        ("hvparams", {}, ht.TDict),
        ("disk_template", None, _MAYBE_STR),
        ("ext_params", {}, ht.TDict),
        ("file_driver", None, _MAYBE_STR),
        ("file_storage_dir", None, _MAYBE_STR),
        ("pnode", None, _MAYBE_STR),
        ("pnode_uuid", None, _MAYBE_STR),
        ("remote_node", None, _MAYBE_STR),
        ("remote_node_uuid", None, _MAYBE_STR),
        ("iallocator", None, _MAYBE_STR),
        ("os_name", None, _MAYBE_STR),
        ("osparams", {}, ht.TDict),
        ("osparams_private", None, _MAYBE_DICT),
        ("wait_for_sync", True, ht.TBool),
        ("offline", None, _MAYBE_BOOL),
        ("conflicts_check", True, ht.TBool),
        ("hotplug", True, ht.TBool),
        ("hotplug_if_possible", False, ht.TBool),
        ("instance_communication", None, _MAYBE_BOOL),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_FAILOVER", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("shutdown_timeout", 120, ht.TNonNegativeInt),
        ("ignore_consistency", False, ht.TBool),
        ("target_node", None, _MAYBE_STR),
        ("target_node_uuid", None, _MAYBE_STR),
        ("ignore_ipolicy", False, ht.TBool),
        ("cleanup", False, ht.TBool),
        ("iallocator", None, _MAYBE_STR),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_MIGRATE", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
    ] + _MIGRATION_PARAMS + [
        ("cleanup", False, ht.TBool),
        ("allow_failover", False, ht.TBool),
        ("ignore_hvversions", False, ht.TBool),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_REPLACE_DISKS", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("early_release", False, ht.TBool),
        ("ignore_ipolicy", False, ht.TBool),
        ("mode", REQUIRED, ht.TElemOf(REPLACE_MODES)),
        ("disks", [], ht.TListOf(ht.TNonNegativeInt)),
        ("remote_node", None, _MAYBE_STR),
        ("remote_node_uuid", None, _MAYBE_STR),
        ("iallocator", None, _MAYBE_STR),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_MOVE", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("shutdown_timeout", 120, ht.TNonNegativeInt),
        ("ignore_ipolicy", False, ht.TBool),
        ("target_node", REQUIRED, ht.TNonEmptyString),
        ("target_node_uuid", None, _MAYBE_STR),
        ("compress", "none", ht.TString),
        ("ignore_consistency", False, ht.TBool),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_MULTI_ALLOC", [
        ("opportunistic_locking", False, ht.TBool),
        ("iallocator", None, _MAYBE_STR),
        ("instances", [], ht.TListOf(ht.TDict)),
    ]),
    OpDef("OP_INSTANCE_CHANGE_GROUP", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("early_release", False, ht.TBool),
        ("iallocator", None, _MAYBE_STR),
        ("target_groups", None, ht.TMaybe(_STRINGS)),
    ], summary_field="instance_name"),
    OpDef("OP_INSTANCE_QUERY_DATA", [
        ("use_locking", False, ht.TBool),
        ("instances", [], _STRINGS),
        ("static", False, ht.TBool),
    ]),
    OpDef("OP_NODE_ADD", [
        ("node_name", REQUIRED, ht.TNonEmptyString),
        ("hv_state", None, _MAYBE_DICT),
        ("disk_state", None, _MAYBE_DICT),
        ("primary_ip", None, _MAYBE_STR),
        ("secondary_ip", None, _MAYBE_STR),
        ("readd", False, ht.TBool),
        ("group", None, _MAYBE_STR),
        ("master_capable", None, _MAYBE_BOOL),
        ("vm_capable", None, _MAYBE_BOOL),
        ("ndparams", None, _MAYBE_DICT),
        ("node_setup", False, ht.TBool),
    ], summary_field="node_name"),
    OpDef("OP_NODE_REMOVE", [
        ("node_name", REQUIRED, ht.TNonEmptyString),
        ("node_uuid", None, _MAYBE_STR),
    ], summary_field="node_name"),
    OpDef("OP_NODE_SET_PARAMS", [
        ("node_name", REQUIRED, ht.TNonEmptyString),
        ("node_uuid", None, _MAYBE_STR),
        ("force", False, ht.TBool),
        ("hv_state", None, _MAYBE_DICT),
        ("disk_state", None, _MAYBE_DICT),
        ("master_candidate", None, _MAYBE_BOOL),
        ("offline", None, _MAYBE_BOOL),
        ("drained", None, _MAYBE_BOOL),
        ("auto_promote", False, ht.TBool),
        ("master_capable", None, _MAYBE_BOOL),
        ("vm_capable", None, _MAYBE_BOOL),
        ("secondary_ip", None, _MAYBE_STR),
        ("ndparams", None, _MAYBE_DICT),
        ("powered", None, _MAYBE_BOOL),
    ], summary_field="node_name"),
    OpDef("OP_NODE_MIGRATE", [
        ("node_name", REQUIRED, ht.TNonEmptyString),
        ("node_uuid", None, _MAYBE_STR),
    ] + _MIGRATION_PARAMS, summary_field="node_name"),
    OpDef("OP_NODE_EVACUATE", [
        ("early_release", False, ht.TBool),
        ("node_name", REQUIRED, ht.TNonEmptyString),
        ("node_uuid", None, _MAYBE_STR),
        ("remote_node", None, _MAYBE_STR),
        ("remote_node_uuid", None, _MAYBE_STR),
        ("iallocator", None, _MAYBE_STR),
        ("mode", REQUIRED, ht.TElemOf(NODE_EVAC_MODES)),
        ("ignore_soft_errors", None, _MAYBE_BOOL),
    ], summary_field="node_name"),
    OpDef("OP_GROUP_ADD", [("group_name", REQUIRED, ht.TNonEmptyString)]
          + _GROUP_PARAMS, summary_field="group_name"),
    OpDef("OP_GROUP_SET_PARAMS", [("group_name", REQUIRED, ht.TNonEmptyString)]
          + _GROUP_PARAMS, summary_field="group_name"),
    OpDef("OP_GROUP_REMOVE", [("group_name", REQUIRED, ht.TNonEmptyString)],
          summary_field="group_name"),
    OpDef("OP_GROUP_RENAME", [
        ("group_name", REQUIRED, ht.TNonEmptyString),
        ("new_name", REQUIRED, ht.TNonEmptyString),
    ]),
    OpDef("OP_GROUP_ASSIGN_NODES", [
        ("group_name", REQUIRED, ht.TNonEmptyString),
        ("force", False, ht.TBool),
        ("nodes", REQUIRED, _STRINGS),
        ("node_uuids", None, ht.TMaybe(_STRINGS)),
    ], summary_field="group_name"),
    OpDef("OP_GROUP_EVACUATE", [
        ("group_name", REQUIRED, ht.TNonEmptyString),
        ("early_release", False, ht.TBool),
        ("iallocator", None, _MAYBE_STR),
        ("target_groups", None, ht.TMaybe(_STRINGS)),
        ("sequential", False, ht.TBool),
        ("force_failover", False, ht.TBool),
    ], summary_field="group_name"),
    OpDef("OP_NETWORK_ADD", [
        ("network_name", REQUIRED, ht.TNonEmptyString),
        ("network", REQUIRED, ht.TNonEmptyString),
        ("gateway", None, _MAYBE_STR),
        ("network6", None, _MAYBE_STR),
        ("gateway6", None, _MAYBE_STR),
        ("mac_prefix", None, _MAYBE_STR),
        ("add_reserved_ips", None, ht.TMaybe(_STRINGS)),
        ("conflicts_check", True, ht.TBool),
        ("tags", [], _STRINGS),
    ], summary_field="network_name"),
    OpDef("OP_NETWORK_REMOVE", [
        ("network_name", REQUIRED, ht.TNonEmptyString),
        ("force", False, ht.TBool),
    ], summary_field="network_name"),
    OpDef("OP_NETWORK_RENAME", [
        ("network_name", REQUIRED, ht.TNonEmptyString),
        ("new_name", REQUIRED, ht.TNonEmptyString),
    ], summary_field="network_name"),
    OpDef("OP_NETWORK_SET_PARAMS", [
        ("network_name", REQUIRED, ht.TNonEmptyString),
        ("gateway", None, _MAYBE_STR),
        ("network6", None, _MAYBE_STR),
        ("gateway6", None, _MAYBE_STR),
        ("mac_prefix", None, _MAYBE_STR),
        ("add_reserved_ips", None, ht.TMaybe(_STRINGS)),
        ("remove_reserved_ips", None, ht.TMaybe(_STRINGS)),
    ], summary_field="network_name"),
    OpDef("OP_NETWORK_CONNECT", [
        ("group_name", REQUIRED, ht.TNonEmptyString),
        ("network_name", REQUIRED, ht.TNonEmptyString),
        ("network_mode", REQUIRED, ht.TElemOf(NIC_MODES)),
        ("network_link", REQUIRED, ht.TString),
        ("network_vlan", "", ht.TString),
        ("conflicts_check", True, ht.TBool),
    ], summary_field="network_name"),
    OpDef("OP_NETWORK_DISCONNECT", [
        ("group_name", REQUIRED, ht.TNonEmptyString),
        ("network_name", REQUIRED, ht.TNonEmptyString),
    ], summary_field="network_name"),
    OpDef("OP_BACKUP_PREPARE", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("mode", REQUIRED, _EXPORT_MODE),
    ], summary_field="instance_name"),
    OpDef("OP_BACKUP_EXPORT", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
        ("compress", "none", ht.TString),
        ("shutdown_timeout", 120, ht.TNonNegativeInt),
        # A node name for local exports, per-disk destinations for remote.
        ("target_node", REQUIRED, ht.Check(
            "a node name or a list", lambda v: isinstance(v, (str, list)))),
        ("target_node_uuid", None, _MAYBE_STR),
        ("shutdown", True, ht.TBool),
        ("remove_instance", False, ht.TBool),
        ("ignore_remove_failures", False, ht.TBool),
        ("mode", "local", _EXPORT_MODE),
        ("x509_key_name", None, ht.TMaybe(ht.TList)),
        ("destination_x509_ca", None, _MAYBE_STR),
        ("zero_free_space", False, ht.TBool),
        ("zeroing_timeout_fixed", None, ht.TMaybe(ht.TInt)),
        ("zeroing_timeout_per_mib", None, ht.TMaybe(ht.TNumber)),
        ("long_sleep", False, ht.TBool),
    ], summary_field="instance_name"),
    OpDef("OP_BACKUP_REMOVE", [
        ("instance_name", REQUIRED, ht.TNonEmptyString),
        ("instance_uuid", None, _MAYBE_STR),
    ], summary_field="instance_name"),
]

#: OP_ID -> OpDef
OPCODES = {d.op_id: d for d in _CATALOGUE}


def _invalid(op_id, name, check, value, absent=False):
    got = "nothing" if absent else "%s %r" % (type(value).__name__, value)
    return errors.OpPrereqError(
        "Parameter '%s.%s' fails validation: expected %s, got %s"
        % (op_id, name, check.description, got), "wrong_input")


#: Opcodes whose ``disks`` give sizes, which an operator or a script may
#: write with a unit (``"1G"``); validation turns them into MiB, so the
#: logical units only ever see numbers.
_DISK_SIZE_OPCODES = frozenset(["OP_INSTANCE_CREATE", "OP_INSTANCE_SET_PARAMS",
                                "OP_INSTANCE_RECREATE_DISKS",
                                "OP_TEST_ALLOCATOR"])


def _sizes_in_mib(op_id, disks):
    """
    :param disks: disk specifications (dicts), or modifications whose last
        element is one (``[action, index, params]``).
    :return: a copy of C{disks} with every size text turned into MiB.
    :raise OpPrereqError: naming the size that is no size.
    """
    if disks is None:
        return None
    result = []
    for item in disks:
        wrapped = isinstance(item, list) and item and isinstance(item[-1], dict)
        spec = item[-1] if wrapped else item
        if isinstance(spec, dict) and isinstance(spec.get("size"), str):
            try:
                spec = dict(spec, size=units.parse_unit(spec["size"]))
            except errors.UnitParseError as e:
                raise errors.OpPrereqError(
                    "Parameter '%s.disks' has an invalid size %r: %s"
                    % (op_id, spec["size"], e), "wrong_input")
            item = item[:-1] + [spec] if wrapped else spec
        result.append(item)
    return result


#: The parameter naming a new host in the opcodes that create or rename
#: one.  Names already in the config are never checked again, so an
#: instance stored under an odd name stays removable.
_NEW_HOST_NAME = {"OP_INSTANCE_CREATE": "instance_name",
                  "OP_INSTANCE_RENAME": "new_name",
                  "OP_NODE_ADD": "node_name",
                  "OP_CLUSTER_RENAME": "name"}


def _normalize_names(op_id, result):
    """Normalise the new host names of C{result} in place."""
    name = _NEW_HOST_NAME.get(op_id)
    if name is not None:
        result[name] = netutils.normalize_hostname(result[name])
    elif op_id == "OP_INSTANCE_MULTI_ALLOC":
        result["instances"] = [
            dict(inst, instance_name=netutils.normalize_hostname(
                inst["instance_name"]))
            if isinstance(inst.get("instance_name"), str) else inst
            for inst in result["instances"]]


def validate(data):
    """
    Check a submitted opcode and fill in its defaults.

    :param data: the opcode as a JSON object.
    :return: a new dict with every parameter of the opcode set.
    :raise OpCodeUnknown: for a missing or unknown ``OP_ID``.
    :raise OpPrereqError: naming the first bad parameter and its type.
    """
    if not isinstance(data, dict):
        raise errors.OpPrereqError(
            "An opcode must be a JSON object, got %s" % type(data).__name__,
            "wrong_input")
    op_id = data.get("OP_ID")
    opdef = OPCODES.get(op_id)
    if opdef is None:
        raise errors.OpCodeUnknown("Unknown opcode %s" % (op_id,))
    known = {name for name, _, _ in opdef.params}
    unknown = sorted(set(data) - known - {"OP_ID"})
    if unknown:
        raise errors.OpPrereqError(
            "Opcode %s has unknown parameter(s): %s" % (op_id, ", ".join(unknown)),
            "wrong_input")
    result = {"OP_ID": op_id}
    for name, default, check in opdef.params:
        if name not in data:
            if default is REQUIRED:
                raise _invalid(op_id, name, check, None, absent=True)
            # Defaults are copied so no two opcodes share a mutable value.
            result[name] = list(default) if isinstance(default, list) else default
            continue
        value = data[name]
        if not check(value):
            raise _invalid(op_id, name, check, value)
        result[name] = value
    if op_id in _DISK_SIZE_OPCODES:
        result["disks"] = _sizes_in_mib(op_id, result["disks"])
    _normalize_names(op_id, result)
    return result


def summary(op):
    """
    :param op: a validated opcode dict.
    :return: Ganeti's one-word description, e.g. ``TEST_DELAY(1.0)``.
    """
    op_id = op["OP_ID"]
    text = op_id[3:] if op_id.startswith("OP_") else op_id
    opdef = OPCODES.get(op_id)
    field = opdef.summary_field if opdef else None
    if field and op.get(field) is not None:
        value = op[field]
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        text = "%s(%s)" % (text, value)
    return text
