"""
Shared helpers for the tests: a master's pieces on a temporary root.
"""

import os

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import Clock

from ganeti import bootstrap, config as configmod, ssconf
from ganeti.master.core import MasterCore
from ganeti.paths import Paths

SETTINGS = {
    "cluster_name": "cluster1.example.com", "cluster_ip": "192.0.2.1",
    "node_name": "node1.example.com", "node_ip": "192.0.2.10",
    "master_netdev": "lo", "enabled_hypervisors": ["fake"],
    "enabled_disk_templates": ["file", "diskless"], "no_etc_hosts": True,
}

#: The environment for running the system Python with Debian's "ganeti"
#: packages (the official RAPI client): without this project's path,
#: which trial -j passes on as PYTHONPATH.
SYSTEM_PYTHON_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def make_paths(testcase):
    """:return: L{Paths} below a fresh temporary root with the cluster dirs."""
    paths = Paths(os.path.abspath(testcase.mktemp()))
    for directory in paths.cluster_dirs():
        os.makedirs(directory)
    return paths


def write_config(paths, **overrides):
    """Write a one-node config (and ssconf); :return: the L{ConfigData}."""
    cfg = bootstrap.build_config(dict(SETTINGS, **overrides), paths, now=1000.0)
    configmod.save(paths.config_data, cfg)
    ssconf.write(paths, ssconf.values(cfg))
    return cfg


class DeferredWrites:
    """
    A C{write} for the queue and the config writer whose writes land when
    the test says so, in order, as the master's thread pool's would some
    time later.
    """

    def __init__(self):
        self.pending = []

    def __call__(self, function, *args, **kwargs):
        d = Deferred()
        self.pending.append((function, args, kwargs, d))
        return d

    def land(self, count=1):
        for _ in range(count):
            function, args, kwargs, d = self.pending.pop(0)
            function(*args, **kwargs)
            d.callback(None)

    def land_all(self):
        while self.pending:
            self.land()

    def fail(self):
        _, _, _, d = self.pending.pop(0)
        d.errback(OSError(28, "No space left on device"))


class JobAssertions:
    """What a test says about a finished job (mixed into test cases)."""

    def assert_ok(self, job):
        """The job succeeded; :return: its last opcode's result."""
        self.assertEqual(job.status, "success", job.ops[-1].result)
        return job.ops[-1].result

    def assert_error(self, job, kind, text):
        """The job failed with C{kind} and a message containing C{text}."""
        self.assertEqual(job.status, "error")
        from ganeti import errors
        error = errors.from_wire(job.ops[-1].result)
        self.assertIsInstance(error, kind)
        self.assertIn(text, str(error))
        return error


@inlineCallbacks
def finished_job(queue, ops):
    """
    Submit C{ops} as one job and wait for its end (jobs that wait on a
    real reactor: qemu-img, TLS transfers).

    :return: (Deferred) the job.
    """
    job_id = queue.submit(list(ops))
    yield queue.when_finalized(job_id)
    return queue.get(job_id)


class Master(MasterCore):
    """
    The master's core (L{MasterCore}, as the daemon wires it) on a
    L{Clock}, below a temporary root that gets a one-node config unless
    C{paths} has one.

    :param start: start the queue (the daemon's service tree would).
    :param max_running: how many jobs may run at once.
    """

    def __init__(self, testcase, paths=None, clock=None, start=True,
                 max_running=20, rpc=None, write=None):
        paths = paths or make_paths(testcase)
        if not os.path.exists(paths.config_data):
            write_config(paths)
        self.clock = clock or Clock()
        MasterCore.__init__(self, paths, self.clock, rpc=rpc, write=write,
                            max_running=lambda: max_running)
        if start:
            self.queue.startService()


def local_cluster(testcase, clock=None, reactor=None, write=None, **kwargs):
    """
    A one-node master whose node RPC goes straight to a real node handler
    (fake hypervisor, real storage) below the same root.

    :param write: the master's file writer (see L{MasterCore}); by
        default files are written at once.

    :return: the L{Master}.
    """
    from ganeti.node.handler import NodeHandler
    from ganeti.testing.rpc import LocalRpc
    paths = make_paths(testcase)
    for key in ("file_storage_dir", "shared_file_storage_dir"):
        os.makedirs(getattr(paths, key), exist_ok=True)
    os.makedirs(os.path.join(paths.run_dir, "fake-hypervisor"), exist_ok=True)
    write_config(paths, **kwargs)
    clock = clock or Clock()
    handler = NodeHandler(paths, reactor or clock)
    return Master(testcase, paths=paths, clock=clock, write=write,
                  rpc=LocalRpc({SETTINGS["node_name"]: handler}))


def allow_file_storage(master, paths):
    """
    Let a node below C{paths} keep file disks in the cluster's file
    storage directories (its ``file-storage-paths``).
    """
    cluster = master.config.config.cluster
    with open(os.path.join(paths.conf_dir, "file-storage-paths"), "wb") as f:
        f.write(("%s\n%s\n" % (cluster.file_storage_dir,
                               cluster.shared_file_storage_dir)).encode())


#: The second node of L{two_node_cluster}.
NODE2_NAME = "node2.example.com"
NODE2_IP = "192.0.2.11"


def two_node_cluster(testcase, clock=None, reactor=None, **kwargs):
    """
    L{local_cluster} plus a second node, with its own root (so its own
    fake hypervisor state) and its own node handler, that reaches the
    first node's shared file storage directory, as a shared file system
    would let it.

    :return: the L{Master}; C{master.node_paths} maps each node's name to
        its L{Paths} and C{master.handlers} each name to its handler
        (set a name to None to make that node unreachable).
    """
    import attrs
    from ganeti.node.handler import NodeHandler
    from ganeti.objects import Node
    master = local_cluster(testcase, clock=clock, reactor=reactor, **kwargs)
    paths2 = make_paths(testcase)
    os.makedirs(os.path.join(paths2.run_dir, "fake-hypervisor"))
    for paths in (master.paths, paths2):
        allow_file_storage(master, paths)

    def add_node(cfg):
        first = cfg.nodes[cfg.cluster.master_node]
        node = Node(name=NODE2_NAME, uuid="node2-uuid", primary_ip=NODE2_IP,
                    secondary_ip=NODE2_IP, group=first.group,
                    master_candidate=True, ctime=1000.0, mtime=1000.0)
        return attrs.evolve(cfg, nodes=dict(cfg.nodes, **{node.uuid: node}))
    master.config.update(add_node)
    ssconf.write(paths2, ssconf.values(master.config.config))
    master.handlers = master.context.rpc.handlers
    master.handlers[NODE2_NAME] = NodeHandler(paths2, reactor or master.clock)
    master.node_paths = {SETTINGS["node_name"]: master.paths,
                         NODE2_NAME: paths2}
    return master
