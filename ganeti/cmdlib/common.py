# -*- test-case-name: tests.test_cmdlib_instance -*-
"""
Helpers shared by logical units: name lookups and node RPC calls that turn
node failures into opcode errors.
"""

from twisted.internet.defer import fail

from ganeti import errors


def get_instance(cfg, name):
    """
    :return: the instance called C{name}.
    :raise OpPrereqError: (``noent``) if there is none.
    """
    instance = cfg.instance_by_name(name)
    if instance is None:
        raise errors.OpPrereqError("Instance '%s' not known" % name, "noent")
    return instance


def get_node(cfg, name):
    """
    :return: the node called C{name}.
    :raise OpPrereqError: (``noent``) if there is none.
    """
    node = cfg.node_by_name(name)
    if node is None:
        raise errors.OpPrereqError("Node '%s' is unknown" % name, "noent")
    return node


def complete_console(console, node_name):
    """
    An ``ssh`` console runs its command on the instance's node; the node
    leaves the host out since it may not know the name the cluster uses.
    """
    if console.get("kind") == "ssh" and not console.get("host"):
        console = dict(console, host=node_name)
    return console


def node_address(node):
    """:return: ``(name, address)`` for node RPC."""
    return (node.name, node.primary_ip)


def call_node(ctx, node, method, *args, what=None, timeout=None,
              prereq=False):
    """
    Call one node; :return: a Deferred firing with its answer.

    :param prereq: the call checks a prerequisite, so a refusal is an
        OpPrereqError (nothing was changed), not an execution error.
    :raise OpExecError: (through the Deferred) naming the node and C{what}.
    """
    if node.offline:
        d = fail(errors.OpExecError("Node %s is offline" % node.name))
    else:
        d = ctx.rpc.call([node_address(node)], method, *args, timeout=timeout)
        d.addCallback(lambda results: results[node.name].raise_on_failure(
            what or "Call %s failed" % method))
    if prereq:
        def refused(failure):
            failure.trap(errors.OpExecError)
            raise errors.OpPrereqError(str(failure.value), "environment_error")
        d.addErrback(refused)
    return d
