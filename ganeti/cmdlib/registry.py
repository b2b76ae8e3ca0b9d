# -*- test-case-name: tests.test_cmdlib -*-
"""
Which logical unit runs which opcode.
"""

from ganeti import errors
from ganeti.cmdlib import cluster, tags, test, verify

LOGICAL_UNITS = {
    "OP_TEST_DELAY": test.LUTestDelay,
    "OP_TEST_JQUEUE": test.LUTestJqueue,
    "OP_TEST_DUMMY": test.LUTestDummy,
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
    "OP_TAGS_GET": tags.LUTagsGet,
    "OP_TAGS_SEARCH": tags.LUTagsSearch,
    "OP_TAGS_SET": tags.LUTagsSet,
    "OP_TAGS_DEL": tags.LUTagsDel,
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
