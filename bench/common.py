"""
Helpers shared by the benchmarks: running the tools and timing them.
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BIN = os.path.join(TOP, ".venv", "bin")
#: The address of the benchmarks' node (see L{private_root}).
NODE_IP = "127.0.101.9"


def run(env, *argv, check=True):
    """Run a tool of the venv; :return: its stdout (exit on failure)."""
    result = subprocess.run([os.path.join(BIN, argv[0])] + list(argv[1:]),
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if check and result.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(argv), result.returncode,
                                         result.stderr))
    return result.stdout


def timed(env, *argv):
    """:return: the wall time of one successful tool run, in seconds."""
    start = time.perf_counter()
    run(env, *argv)
    return time.perf_counter() - start


def compile_tools():
    """The tools start from bytecode, which this environment may not cache."""
    subprocess.run([os.path.join(BIN, "python"), "-m", "compileall", "-q",
                    os.path.join(TOP, "ganeti")],
                   stdout=subprocess.DEVNULL, check=True)


def private_root(prefix, cluster_line):
    """
    A temporary root with its own etc/hosts: the cluster name and a node
    name of its own, so its node service (and its RAPI, bound there by
    etc/default/ganeti) does not collide with another cluster on this
    machine.

    :return: ``(root, env)``.
    """
    import tempfile
    root = tempfile.mkdtemp(prefix=prefix)
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc/hosts"), "w") as f:
        f.write(cluster_line + "\n%s bench-node.example.com\n" % NODE_IP)
    # The RAPI listens on every address by default; binding the node's
    # own keeps a benchmark clear of a demo cluster's port 5080.
    os.makedirs(os.path.join(root, "etc/default"))
    with open(os.path.join(root, "etc/default/ganeti"), "w") as f:
        f.write('RAPI_ARGS="-b %s"\n' % NODE_IP)
    env = dict(os.environ, GANETI_ROOT=root,
               GANETI_HOSTNAME="bench-node.example.com")
    return root, env
