# -*- test-case-name: tests.test_luxi -*-
"""
The master daemon's command set (LUXI), described once as plain data.

The daemon binds this table to ``twisted.protocols.amp`` Commands
(L{ganeti.protocols.jsonamp}); the ``gnt-*`` tools speak the same AMP boxes
with a small blocking client (L{ganeti.cli.client}) so they never import
the reactor.  Method and argument names follow Ganeti's LUXI; values are
encoded by L{ganeti.protocols.boxes}.
"""

#: method name -> argument names, in call order.
METHODS = {
    "SubmitJob": ("ops",),
    "SubmitJobToDrainedQueue": ("ops",),
    "SubmitManyJobs": ("jobs",),
    "WaitForJobChange": ("job_id", "fields", "prev_job_info",
                         "prev_log_serial", "timeout"),
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
    "QueryFilters": ("uuids", "fields"),
    "ReplaceFilter": ("uuid", "priority", "predicates", "action", "reason"),
    "DeleteFilter": ("uuid",),
    "SetDrainFlag": ("drain_flag",),
    "SetWatcherPause": ("until",),
    "RunWatcher": ("ignore_pause", "wait", "job_age"),
    "RenewCrypto": ("new_rapi_certificate", "rapi_certificate"),
}
