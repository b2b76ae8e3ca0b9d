# -*- test-case-name: tests.test_luxi_contract -*-
"""
The LUXI calls as the tools send them: method name -> argument names.

The same calls are declared, documented, by
L{ganeti.protocols.luxi.ILuxiHandler}, which the master implements (a
contract test holds this table to it).  The table stands apart, as plain
data, because every ``gnt-*`` run reads it and importing
C{zope.interface} would add about 10 ms to each.
"""

#: method name -> argument names, in call order.
METHODS = {
    "SubmitJob": ("ops",),
    "SubmitJobToDrainedQueue": ("ops",),
    "SubmitManyJobs": ("jobs",),
    "WaitForJobChange": ("job_id", "fields", "prev_job_info",
                         "prev_log_serial", "timeout"),
    "WaitForJobEvents": ("job_ids", "after", "timeout"),
    "CancelJob": ("job_id", "kill"),
    "ArchiveJob": ("job_id",),
    "AutoArchiveJobs": ("age", "timeout"),
    "ChangeJobPriority": ("job_id", "priority"),
    "Query": ("what", "fields", "qfilter"),
    "QueryFields": ("what", "fields"),
    "QueryJobs": ("job_ids", "fields"),
    "QueryClusterInfo": (),
    "QueryConfigValues": ("fields",),
    "QueryTags": ("kind", "name"),
    "QueryNodeDrbd": ("node",),
    "QueryFilters": ("uuids", "fields"),
    "ReplaceFilter": ("uuid", "priority", "predicates", "action", "reason"),
    "DeleteFilter": ("uuid",),
    "SetDrainFlag": ("drain_flag",),
    "SetWatcherPause": ("until",),
    "RunWatcher": ("ignore_pause", "wait", "job_age"),
    "RenewCrypto": ("new_rapi_certificate", "rapi_certificate"),
}
