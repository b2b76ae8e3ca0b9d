# -*- test-case-name: tests.test_rapi -*-
"""
The RAPI route table: which handler, and which access, serves each path
and HTTP method.

Paths go through a table of regular expressions, as Ganeti's
``rapi/connector.py`` does; a tree of child resources would need a class
per path level and would make "unknown path" (404) and "known path, wrong
method" (405) hard to tell apart.  The table is the one place that knows
every resource family, so the handler modules never import each other.
"""

import re

from ganeti.rapi import (
    ACCESS_READ, ACCESS_WRITE, cluster, events, filters, groups, instances,
    jobs, metrics, networks, nodes, query)
from ganeti.rapi import consoles
from ganeti.rapi import whoami
from ganeti.rapi.context import HttpError, object_tag_op, object_tags

#: Anonymous access (every GET unless ``--require-authentication``).
ANONYMOUS = None


def _not_backed(what):
    """
    A Ganeti resource this project cannot back yet: a clear 501, never a
    fake success.
    """
    def refuse(ctx):
        raise HttpError(501, "%s: not supported by this cluster yet" % what)
    return refuse


def _tag_methods(what, kind, label):
    """
    The methods of ``/2/<coll>/<name>/tags``.

    :param what: the query resource holding the object's ``tags`` field.
    :param kind: the object kind of the tag opcodes.
    :param label: the object in a 404's text.
    """
    return {"GET": (ANONYMOUS, object_tags(what, label)),
            "PUT": (ACCESS_WRITE, object_tag_op(kind, "OP_TAGS_SET", "add")),
            "DELETE": (ACCESS_WRITE,
                       object_tag_op(kind, "OP_TAGS_DEL", "delete"))}


_ITEM = r"([^/]+)"
#: Job ids and disk indices: ASCII digits (``\d`` takes any script's).
_NUMBER = r"([0-9]+)"
_NODE = r"/2/nodes/" + _ITEM
_INSTANCE = r"/2/instances/" + _ITEM
_GROUP = r"/2/groups/" + _ITEM
_NETWORK = r"/2/networks/" + _ITEM
_QUERY = r"/2/query/(%s)" % "|".join(query.QUERY_RESOURCES)

#: (path regex, Ganeti resource name, {method: (access, function)}).
ROUTES = [
    (r"/", "R_root", {"GET": (ANONYMOUS, cluster.get_root)}),
    (r"/2", "R_2", {"GET": (ANONYMOUS, cluster.get_root)}),
    (r"/version", "R_version", {"GET": (ANONYMOUS, cluster.get_version)}),
    # Not Ganeti's: the Prometheus metrics, read like any /2/ resource.
    (r"/metrics", "R_metrics", {"GET": (ANONYMOUS, metrics.get_metrics)}),
    (r"/2/info", "R_2_info", {"GET": (ANONYMOUS, cluster.get_info)}),
    # Not Ganeti's: the credentials' own access, for the web view.
    (r"/2/whoami", "R_2_whoami", {"GET": (ACCESS_READ, whoami.get_whoami)}),
    (r"/2/features", "R_2_features",
     {"GET": (ANONYMOUS, cluster.get_features)}),
    (r"/2/os", "R_2_os", {"GET": (ANONYMOUS, cluster.get_os)}),
    (r"/2/tags", "R_2_tags",
     {"GET": (ANONYMOUS, cluster.get_cluster_tags),
      "PUT": (ACCESS_WRITE, cluster.put_cluster_tags),
      "DELETE": (ACCESS_WRITE, cluster.delete_cluster_tags)}),
    (r"/2/redistribute-config", "R_2_redist_config",
     {"PUT": (ACCESS_WRITE, cluster.put_redistribute_config)}),
    (r"/2/modify", "R_2_cluster_modify",
     {"PUT": (ACCESS_WRITE, cluster.put_cluster_modify)}),

    (r"/2/nodes", "R_2_nodes", {"GET": (ANONYMOUS, nodes.get_nodes)}),
    (_NODE, "R_2_nodes_name", {"GET": (ANONYMOUS, nodes.get_node)}),
    (_NODE + "/role", "R_2_nodes_name_role",
     {"GET": (ANONYMOUS, nodes.get_node_role),
      "PUT": (ACCESS_WRITE, nodes.put_node_role)}),
    (_NODE + "/modify", "R_2_nodes_name_modify",
     {"POST": (ACCESS_WRITE, nodes.post_node_modify)}),
    # Listing storage runs a job, so Ganeti wants write access.
    (_NODE + "/storage", "R_2_nodes_name_storage",
     {"GET": (ACCESS_WRITE, nodes.get_node_storage)}),
    (_NODE + "/storage/modify", "R_2_nodes_name_storage_modify",
     {"PUT": (ACCESS_WRITE, nodes.put_node_storage_modify)}),
    (_NODE + "/storage/repair", "R_2_nodes_name_storage_repair",
     {"PUT": (ACCESS_WRITE, nodes.put_node_storage_repair)}),
    (_NODE + "/evacuate", "R_2_nodes_name_evacuate",
     {"POST": (ACCESS_WRITE, nodes.post_node_evacuate)}),
    (_NODE + "/migrate", "R_2_nodes_name_migrate",
     {"POST": (ACCESS_WRITE, nodes.post_node_migrate)}),
    (_NODE + "/powercycle", "R_2_nodes_name_powercycle",
     {"POST": (ACCESS_WRITE, _not_backed("Node power-cycling"))}),
    (_NODE + "/tags", "R_2_nodes_name_tags",
     _tag_methods("node", "node", "Node")),

    (r"/2/instances", "R_2_instances",
     {"GET": (ANONYMOUS, instances.get_instances),
      "POST": (ACCESS_WRITE, instances.post_instances)}),
    (r"/2/instances-multi-alloc", "R_2_instances_multi_alloc",
     {"POST": (ACCESS_WRITE, instances.post_instances_multi_alloc)}),
    (_INSTANCE, "R_2_instances_name",
     {"GET": (ANONYMOUS, instances.get_instance),
      "DELETE": (ACCESS_WRITE, instances.delete_instance)}),
    (_INSTANCE + "/info", "R_2_instances_name_info",
     {"GET": (ANONYMOUS, instances.get_instance_info)}),
    (_INSTANCE + "/replace-disks", "R_2_instances_name_replace_disks",
     {"POST": (ACCESS_WRITE, instances.post_instance_replace_disks)}),
    (_INSTANCE + "/prepare-export", "R_2_instances_name_prepare_export",
     {"PUT": (ACCESS_WRITE, instances.put_instance_prepare_export)}),
    (_INSTANCE + "/export", "R_2_instances_name_export",
     {"PUT": (ACCESS_WRITE, instances.put_instance_export),
      "DELETE": (ACCESS_WRITE, instances.delete_instance_export)}),
    (_INSTANCE + "/migrate", "R_2_instances_name_migrate",
     {"PUT": (ACCESS_WRITE, instances.put_instance_migrate)}),
    (_INSTANCE + "/failover", "R_2_instances_name_failover",
     {"PUT": (ACCESS_WRITE, instances.put_instance_failover)}),
    (_INSTANCE + "/startup", "R_2_instances_name_startup",
     {"PUT": (ACCESS_WRITE, instances.put_instance_startup)}),
    (_INSTANCE + "/shutdown", "R_2_instances_name_shutdown",
     {"PUT": (ACCESS_WRITE, instances.put_instance_shutdown)}),
    # Ganeti's reboot is POST; PUT is accepted too, like its siblings.
    (_INSTANCE + "/reboot", "R_2_instances_name_reboot",
     {"POST": (ACCESS_WRITE, instances.post_instance_reboot),
      "PUT": (ACCESS_WRITE, instances.post_instance_reboot)}),
    (_INSTANCE + "/tags", "R_2_instances_name_tags",
     _tag_methods("instance", "instance", "Instance")),
    (_INSTANCE + "/reinstall", "R_2_instances_name_reinstall",
     {"POST": (ACCESS_WRITE, instances.post_instance_reinstall)}),
    (_INSTANCE + "/rename", "R_2_instances_name_rename",
     {"PUT": (ACCESS_WRITE, instances.put_instance_rename)}),
    (_INSTANCE + "/modify", "R_2_instances_name_modify",
     {"PUT": (ACCESS_WRITE, instances.put_instance_modify)}),
    (_INSTANCE + "/activate-disks", "R_2_instances_name_activate_disks",
     {"PUT": (ACCESS_WRITE, instances.put_instance_activate_disks)}),
    (_INSTANCE + "/deactivate-disks", "R_2_instances_name_deactivate_disks",
     {"PUT": (ACCESS_WRITE, instances.put_instance_deactivate_disks)}),
    (_INSTANCE + "/disk/" + _NUMBER + "/grow",
     "R_2_instances_name_disk_grow",
     {"POST": (ACCESS_WRITE, instances.post_instance_grow_disk)}),
    (_INSTANCE + "/recreate-disks", "R_2_instances_name_recreate_disks",
     {"POST": (ACCESS_WRITE, instances.post_instance_recreate_disks)}),
    # Ganeti wants an authenticated user for the console.
    (_INSTANCE + "/console", "R_2_instances_name_console",
     {"GET": (ACCESS_READ, instances.get_instance_console)}),
    # Not Ganeti's: a one-time token for the console in the browser.
    (_INSTANCE + "/console-token", "R_2_instances_name_console_token",
     {"POST": (ACCESS_WRITE, consoles.post_console_token)}),

    (r"/2/groups", "R_2_groups",
     {"GET": (ANONYMOUS, groups.get_groups),
      "POST": (ACCESS_WRITE, groups.post_groups)}),
    (_GROUP, "R_2_groups_name",
     {"GET": (ANONYMOUS, groups.get_group),
      "DELETE": (ACCESS_WRITE, groups.delete_group)}),
    (_GROUP + "/tags", "R_2_groups_name_tags",
     _tag_methods("group", "nodegroup", "Group")),
    (_GROUP + "/modify", "R_2_groups_name_modify",
     {"PUT": (ACCESS_WRITE, groups.put_group_modify)}),
    (_GROUP + "/rename", "R_2_groups_name_rename",
     {"PUT": (ACCESS_WRITE, groups.put_group_rename)}),
    (_GROUP + "/assign-nodes", "R_2_groups_name_assign_nodes",
     {"PUT": (ACCESS_WRITE, groups.put_group_assign_nodes)}),

    (r"/2/jobs", "R_2_jobs", {"GET": (ANONYMOUS, jobs.get_jobs)}),
    # Not Ganeti's: the job event stream (server-sent events).
    (r"/2/jobs/events", "R_2_jobs_events",
     {"GET": (ANONYMOUS, events.get_job_events)}),
    # As in Ganeti, a job id that is not a number is an unknown path (404).
    (r"/2/jobs/" + _NUMBER, "R_2_jobs_id",
     {"GET": (ANONYMOUS, jobs.get_job),
      "DELETE": (ACCESS_WRITE, jobs.delete_job)}),
    # Waiting holds a master call open for seconds, so Ganeti wants write.
    (r"/2/jobs/" + _NUMBER + "/wait", "R_2_jobs_id_wait",
     {"GET": (ACCESS_WRITE, jobs.get_job_wait)}),

    (_QUERY, "R_2_query",
     {"GET": (ACCESS_READ, query.get_query),
      "PUT": (ACCESS_READ, query.put_query)}),
    (_QUERY + "/fields", "R_2_query_fields",
     {"GET": (ANONYMOUS, query.get_query_fields)}),

    (r"/2/networks", "R_2_networks",
     {"GET": (ANONYMOUS, networks.get_networks),
      "POST": (ACCESS_WRITE, networks.post_networks)}),
    (_NETWORK, "R_2_networks_name",
     {"GET": (ANONYMOUS, networks.get_network),
      "DELETE": (ACCESS_WRITE, networks.delete_network)}),
    (_NETWORK + "/modify", "R_2_networks_name_modify",
     {"PUT": (ACCESS_WRITE, networks.put_network_modify)}),
    (_NETWORK + "/connect", "R_2_networks_name_connect",
     {"PUT": (ACCESS_WRITE, networks.put_network_connect)}),
    (_NETWORK + "/disconnect", "R_2_networks_name_disconnect",
     {"PUT": (ACCESS_WRITE, networks.put_network_disconnect)}),
    (_NETWORK + "/rename", "R_2_networks_name_rename",
     {"PUT": (ACCESS_WRITE, networks.put_network_rename)}),
    (_NETWORK + "/tags", "R_2_networks_name_tags",
     _tag_methods("network", "network", "Network")),

    (r"/2/filters", "R_2_filters",
     {"GET": (ANONYMOUS, filters.get_filters),
      "POST": (ACCESS_WRITE, filters.post_filters)}),
    (r"/2/filters/" + _ITEM, "R_2_filters_uuid",
     {"GET": (ANONYMOUS, filters.get_filter),
      "PUT": (ACCESS_WRITE, filters.put_filter),
      "DELETE": (ACCESS_WRITE, filters.delete_filter)}),
]

_COMPILED = [(re.compile(pattern), name, methods)
             for pattern, name, methods in ROUTES]


def match_route(path):
    """
    :param path: the decoded, unquoted request path.
    :return: ``(resource_name, methods, items)`` or None.
    """
    for regex, name, methods in _COMPILED:
        # The whole path: "$" would also match before a final newline.
        m = regex.fullmatch(path)
        if m:
            return name, methods, m.groups()
    return None
