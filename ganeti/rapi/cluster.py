# -*- test-case-name: tests.test_rapi -*-
"""
RAPI handlers for the cluster as a whole: the root and version, ``info``,
``features``, ``os``, the cluster's tags, ``modify`` and
``redistribute-config``.

These are the resources without an item in their path; the per-object
families live in their own modules.
"""

from twisted.internet import defer

from ganeti.rapi.context import (
    HttpError, body_op, dry_run, query_rows, submit_op, tag_op)

#: ``/2/features``.
FEATURES = ["instance-create-reqv1", "instance-reinstall-reqv1",
            "node-migrate-reqv1", "node-evac-res1"]

OS_BULK_FIELDS = ["name", "valid", "variants", "parameters", "api_versions",
                  "blacklisted", "hidden", "trusted"]


def get_root(ctx):
    return None


def get_version(ctx):
    return 2


def get_info(ctx):
    return defer.maybeDeferred(ctx.handler.QueryClusterInfo)


def get_features(ctx):
    return list(FEATURES)


def get_os(ctx):
    """
    Valid, visible OS names expanded by variants (Ganeti's
    ``CalculateOSNames``), or with ``bulk=1`` dicts.
    """
    bulk = ctx.bool_arg("bulk")

    def shape(rows):
        rows.sort(key=lambda r: r["name"] or "")
        if bulk:
            return rows
        names = []
        for r in rows:
            if not r["valid"] or r["hidden"] or r["blacklisted"]:
                continue
            if r["variants"]:
                names.extend("%s+%s" % (r["name"], v) for v in r["variants"])
            else:
                names.append(r["name"])
        return names
    return query_rows(ctx, "os", OS_BULK_FIELDS).addCallback(shape)


def get_cluster_tags(ctx):
    return defer.maybeDeferred(ctx.handler.QueryTags, "cluster", "")


def put_cluster_tags(ctx):
    return tag_op(ctx, "OP_TAGS_SET", "add")


def delete_cluster_tags(ctx):
    return tag_op(ctx, "OP_TAGS_DEL", "delete")


def put_cluster_modify(ctx):
    body = ctx.body_dict()
    if "compression_tools" in body:
        # Ganeti keeps the list of programs run on nodes out of RAPI reach.
        raise HttpError(403, "Modifying compression_tools is not allowed"
                        " through RAPI")
    return submit_op(ctx, "OP_CLUSTER_SET_PARAMS", body, dry_run(ctx))


put_redistribute_config = body_op("OP_CLUSTER_REDIST_CONF")
