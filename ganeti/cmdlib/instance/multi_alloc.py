# -*- test-case-name: tests.test_iallocator -*-
"""
``OP_INSTANCE_MULTI_ALLOC``: place several new instances with one
allocator run (Ganeti's ``multi-allocate`` request), then create each in
a job of its own.
"""

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import constants, errors, iallocator, opcodes
from ganeti import params as paramsmod
from ganeti.cmdlib import allocators
from ganeti.cmdlib.base import LogicalUnit
from ganeti.params import fill_beparams, fill_nicparams


def _wrong(message):
    return errors.OpPrereqError(message, "wrong_input")


def allocation_request(cluster, op):
    """
    What the allocator needs to know of one instance to create, from its
    (checked) creation opcode, cluster defaults filled in.
    """
    beparams = fill_beparams(cluster, paramsmod.force_types(
        op["beparams"], constants.BE_DEFAULTS, "backend"))
    nics = []
    for spec in op["nics"]:
        filled = fill_nicparams(cluster, {k: spec[k] for k in ("mode", "link")
                                          if k in spec})
        nics.append({"mac": spec.get("mac", "auto"), "ip": spec.get("ip"),
                     "mode": filled["mode"], "link": filled["link"]})
    return iallocator.allocate_request(
        op["instance_name"],
        op["disk_template"] or cluster.enabled_disk_templates[0],
        [{"size": d["size"], "mode": d.get("mode", "rw")} for d in op["disks"]],
        nics, beparams["vcpus"], beparams["maxmem"], op["os_type"],
        op["hypervisor"] or cluster.default_hypervisor, tags=op["tags"],
        spindle_use=beparams["spindle_use"], group_name=op["group_name"])


class LUInstanceMultiAlloc(LogicalUnit):
    """
    Either every instance names its node (then no allocator runs) or none
    does and the allocator places them all.  Without opportunistic
    locking an instance the allocator cannot place fails the whole
    request, as in Ganeti; with it the others are still created.
    """

    def check_prereq(self):
        cfg, cluster = self.cfg, self.cfg.cluster
        ops = []
        for op in self.op["instances"]:
            if op.get("OP_ID", "OP_INSTANCE_CREATE") != "OP_INSTANCE_CREATE":
                raise _wrong("Only instance creations can be allocated, not"
                             " %s" % op["OP_ID"])
            ops.append(opcodes.validate(dict(op, OP_ID="OP_INSTANCE_CREATE")))
        if not ops:
            raise _wrong("No instances to allocate")
        names = [op["instance_name"] for op in ops]
        if len(set(names)) != len(names):
            raise _wrong("Duplicate instance names in the request")
        for name in names:
            if cfg.instance_by_name(name) is not None:
                raise errors.OpPrereqError("Instance '%s' is already in the"
                                           " cluster" % name, "already_exists")
        placed = [bool(op["pnode"]) for op in ops]
        if any(placed) and not all(placed):
            raise _wrong("There are instance objects providing pnode/snode"
                         " while others do not")
        self.allocator = iallocator.choose(cluster, self.op["iallocator"],
                                           *[op["pnode"] for op in ops])
        if self.allocator is None and not all(placed):
            raise _wrong("No iallocator or nodes on the instances given and"
                         " no cluster-wide default iallocator found; please"
                         " specify either an iallocator or nodes on the"
                         " instances or set a cluster-wide default"
                         " iallocator")
        self.ops = ops

    @inlineCallbacks
    def execute(self):
        if self.allocator is None:
            returnValue({"jobs": [[op] for op in self.ops],
                         "allocatable": [op["instance_name"] for op in self.ops],
                         "failed": []})
        cluster = self.cfg.cluster
        request = {"type": iallocator.MODE_MULTI_ALLOC,
                   "instances": [allocation_request(cluster, op)
                                 for op in self.ops]}
        allocated, failed = yield allocators.run(self.ctx, self.allocator,
                                                 request)
        if failed and not self.op["opportunistic_locking"]:
            raise errors.OpPrereqError(
                "Can't allocate all requested instances: %s could not be"
                " placed" % ", ".join(failed), "insufficient_resources")
        by_name = {op["instance_name"]: op for op in self.ops}
        jobs = []
        for name, nodes in allocated:
            self.log_info("Instance %s goes to %s" % (name, ", ".join(nodes)))
            jobs.append([dict(by_name[name], pnode=nodes[0],
                              snode=nodes[1] if len(nodes) > 1 else None,
                              iallocator=None)])
        returnValue({"jobs": jobs,
                     "allocatable": [name for name, _ in allocated],
                     "failed": list(failed)})
