# -*- test-case-name: tests.test_config -*-
"""
Which logical unit runs which opcode.
"""

from ganeti import errors
from ganeti.cmdlib import (
    backup, cluster, cluster_disks, extstorage, group, network, node, tags,
    test, verify)
from ganeti.cmdlib.instance import (
    change_group, create, disks, move, moves, multi_alloc, operations,
    query, replace_disks, set_params)

LOGICAL_UNITS = {
    "OP_TEST_DELAY": test.LUTestDelay,
    "OP_TEST_JQUEUE": test.LUTestJqueue,
    "OP_TEST_DUMMY": test.LUTestDummy,
    "OP_TEST_ALLOCATOR": test.LUTestAllocator,
    "OP_CLUSTER_POST_INIT": cluster.LUClusterPostInit,
    "OP_CLUSTER_QUERY": cluster.LUClusterQuery,
    "OP_CLUSTER_CONFIG_QUERY": cluster.LUClusterConfigQuery,
    "OP_CLUSTER_VERIFY": verify.LUClusterVerify,
    "OP_CLUSTER_VERIFY_CONFIG": verify.LUClusterVerifyConfig,
    "OP_CLUSTER_VERIFY_GROUP": verify.LUClusterVerifyGroup,
    "OP_CLUSTER_SET_PARAMS": cluster.LUClusterSetParams,
    "OP_CLUSTER_REDIST_CONF": cluster.LUClusterRedistConf,
    "OP_CLUSTER_RENAME": cluster.LUClusterRename,
    "OP_CLUSTER_DESTROY": cluster.LUClusterDestroy,
    "OP_CLUSTER_VERIFY_DISKS": cluster_disks.LUClusterVerifyDisks,
    "OP_GROUP_VERIFY_DISKS": cluster_disks.LUGroupVerifyDisks,
    "OP_CLUSTER_REPAIR_DISK_SIZES": cluster_disks.LUClusterRepairDiskSizes,
    "OP_CLUSTER_ACTIVATE_MASTER_IP": cluster.LUClusterActivateMasterIp,
    "OP_CLUSTER_DEACTIVATE_MASTER_IP": cluster.LUClusterDeactivateMasterIp,
    "OP_INSTANCE_CREATE": create.LUInstanceCreate,
    "OP_INSTANCE_REMOVE": operations.LUInstanceRemove,
    "OP_INSTANCE_STARTUP": operations.LUInstanceStartup,
    "OP_INSTANCE_SHUTDOWN": operations.LUInstanceShutdown,
    "OP_INSTANCE_REBOOT": operations.LUInstanceReboot,
    "OP_INSTANCE_REINSTALL": operations.LUInstanceReinstall,
    "OP_INSTANCE_RENAME": operations.LUInstanceRename,
    "OP_INSTANCE_SET_PARAMS": set_params.LUInstanceSetParams,
    "OP_INSTANCE_GROW_DISK": disks.LUInstanceGrowDisk,
    "OP_INSTANCE_ACTIVATE_DISKS": disks.LUInstanceActivateDisks,
    "OP_INSTANCE_DEACTIVATE_DISKS": disks.LUInstanceDeactivateDisks,
    "OP_INSTANCE_RECREATE_DISKS": disks.LUInstanceRecreateDisks,
    "OP_INSTANCE_CONSOLE": operations.LUInstanceConsole,
    "OP_INSTANCE_FAILOVER": moves.LUInstanceFailover,
    "OP_INSTANCE_MIGRATE": moves.LUInstanceMigrate,
    "OP_INSTANCE_MOVE": move.LUInstanceMove,
    "OP_INSTANCE_REPLACE_DISKS": replace_disks.LUInstanceReplaceDisks,
    "OP_INSTANCE_QUERY_DATA": query.LUInstanceQueryData,
    "OP_INSTANCE_MULTI_ALLOC": multi_alloc.LUInstanceMultiAlloc,
    "OP_INSTANCE_CHANGE_GROUP": change_group.LUInstanceChangeGroup,
    "OP_OS_DIAGNOSE": node.LUOsDiagnose,
    "OP_EXT_STORAGE_DIAGNOSE": extstorage.LUExtStorageDiagnose,
    "OP_NODE_ADD": node.LUNodeAdd,
    "OP_NODE_REMOVE": node.LUNodeRemove,
    "OP_NODE_SET_PARAMS": node.LUNodeSetParams,
    "OP_NODE_QUERY_STORAGE": node.LUNodeQueryStorage,
    "OP_NODE_QUERYVOLS": node.LUNodeQueryvols,
    "OP_NODE_MIGRATE": node.LUNodeMigrate,
    "OP_NODE_EVACUATE": node.LUNodeEvacuate,
    "OP_NODE_MODIFY_STORAGE": node.LUNodeModifyStorage,
    "OP_REPAIR_NODE_STORAGE": node.LURepairNodeStorage,
    "OP_GROUP_ADD": group.LUGroupAdd,
    "OP_GROUP_REMOVE": group.LUGroupRemove,
    "OP_GROUP_RENAME": group.LUGroupRename,
    "OP_GROUP_SET_PARAMS": group.LUGroupSetParams,
    "OP_GROUP_ASSIGN_NODES": group.LUGroupAssignNodes,
    "OP_GROUP_EVACUATE": group.LUGroupEvacuate,
    "OP_NETWORK_ADD": network.LUNetworkAdd,
    "OP_NETWORK_REMOVE": network.LUNetworkRemove,
    "OP_NETWORK_RENAME": network.LUNetworkRename,
    "OP_NETWORK_SET_PARAMS": network.LUNetworkSetParams,
    "OP_NETWORK_CONNECT": network.LUNetworkConnect,
    "OP_NETWORK_DISCONNECT": network.LUNetworkDisconnect,
    "OP_TAGS_GET": tags.LUTagsGet,
    "OP_TAGS_SEARCH": tags.LUTagsSearch,
    "OP_TAGS_SET": tags.LUTagsSet,
    "OP_TAGS_DEL": tags.LUTagsDel,
    "OP_BACKUP_PREPARE": backup.LUBackupPrepare,
    "OP_BACKUP_EXPORT": backup.LUBackupExport,
    "OP_BACKUP_REMOVE": backup.LUBackupRemove,
}


def make_lu_factory(context):
    """
    :return: ``make_lu(op, feedback)`` for the job runner.
    """
    def make_lu(op, feedback):
        cls = LOGICAL_UNITS.get(op["OP_ID"])
        if cls is None:
            raise errors.OpCodeUnknown("Opcode %s is not implemented" % op["OP_ID"])
        return cls(context, op, feedback)
    return make_lu
