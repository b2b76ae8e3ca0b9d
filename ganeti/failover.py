# -*- test-case-name: tests.cluster.test_multinode -*-
"""
Moving the master role to another node (``gnt-cluster master-failover``),
run on the node that is to become master.

A strict majority of the nodes must agree on who the master is now
(unless voting is skipped), the old master gives up its role (master
service and IP), the configuration names the new master and reaches
every node, and the new master starts; its job queue continues from the
replicated job files.
"""

import attrs
from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import config as configmod
from ganeti import errors, netutils, ssconf


@inlineCallbacks
def _answers(reactor, ip, tries=3):
    """:return: (Deferred) True if C{ip} answers a ping within C{tries} s."""
    from ganeti.process import run_command
    for _ in range(tries):
        result = yield run_command(reactor, ["ping", "-c", "1", "-W", "1", ip],
                                   timeout=5)
        if result.exit_code != 0:
            returnValue(False)
    returnValue(True)


@inlineCallbacks
def master_failover(reactor, paths, rpc, no_voting=False, report=print):
    """
    :param rpc: an L{ganeti.rpc.INodeRpc} usable from this node.
    :return: (Deferred) the name of the old master.
    :raise OpPrereqError: when this node may not become master, or the
        nodes do not agree.
    """
    my_name = netutils.local_node_name(paths)
    # Only candidates hold the configuration and the queue; ssconf, which
    # every node has, says who they are.
    if my_name not in (ssconf.read(paths, "master_candidates") or "").split():
        raise errors.OpPrereqError(
            "This node is not a master candidate; only candidates have the"
            " configuration and the job queue", "wrong_state")
    cfg = configmod.load(paths.config_data)
    me = cfg.node_by_name(my_name)
    if me is None:
        raise errors.OpPrereqError("This node is not part of the cluster",
                                   "wrong_state")
    old = cfg.master_node
    if old.uuid == me.uuid:
        raise errors.OpPrereqError("This node is already the master",
                                   "wrong_input")
    if not me.master_candidate:
        raise errors.OpPrereqError(
            "This node is not a master candidate; only candidates have the"
            " configuration and the job queue", "wrong_state")
    others = [n for n in cfg.nodes.values() if not n.offline]
    addresses = [(n.name, n.primary_ip) for n in others]
    if not no_voting:
        votes = yield rpc.call(addresses, "master_node_name", timeout=10)
        agreeing = [name for name, result in votes.items()
                    if result.ok and result.payload == old.name]
        if len(agreeing) * 2 <= len(cfg.nodes):
            raise errors.OpPrereqError(
                "Cluster is inconsistent, most nodes did not respond or did"
                " not agree that %s is the master (%d of %d agree); use"
                " --no-voting if you are sure" % (old.name, len(agreeing),
                                                  len(cfg.nodes)),
                "wrong_state")
    stopped = yield rpc.call([(old.name, old.primary_ip)], "node_stop_master",
                             timeout=60)
    if not stopped[old.name].ok:
        report("Warning: could not stop the master role on %s: %s"
               % (old.name, stopped[old.name].fail_msg))
    still_up = yield _answers(reactor, cfg.cluster.master_ip)
    if still_up:
        report("Warning: the master IP %s still answers; the old master %s may"
               " still hold it, please disable it there by hand"
               % (cfg.cluster.master_ip, old.name))
    now = reactor.seconds()
    nodes = dict(cfg.nodes)
    nodes[me.uuid] = attrs.evolve(me, master_candidate=True)
    new = configmod.touched(
        cfg, now, nodes=nodes,
        cluster=configmod.touched(cfg.cluster, now, master_node=me.uuid))
    configmod.save(paths.config_data, new)
    values = ssconf.values(new)
    ssconf.write(paths, values)
    rest = [(n.name, n.primary_ip) for n in others if n.uuid != me.uuid]
    yield rpc.call(rest, "write_ssconf_files", values, timeout=30)
    candidates = [(n.name, n.primary_ip) for n in others
                  if n.master_candidate and n.uuid != me.uuid]
    yield rpc.call(candidates, "upload_config",
                   configmod.dump(new).decode("utf-8"), new.serial_no, timeout=30)
    started = yield rpc.call([(me.name, me.primary_ip)], "node_start_master",
                             timeout=60)
    started[me.name].raise_on_failure("Could not start the master role")
    returnValue(old.name)
