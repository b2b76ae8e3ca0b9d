"""
Cluster scenarios written once and run on both test beds: the namespace
bed (``tests/cluster``: hosts sharing this machine's kernel) and the VM
bed (``tests/vm``: qemu guests with their own kernels).  What a scenario
asserts is what an operator sees from the tools, so it must hold on both.
"""

#: Instance names the scenarios use (the VM bed's cluster is shared by
#: several tests, so each scenario removes what it made).
MOVED = "scenario-move.example.com"


class TwoNodeScenarios:
    """
    Mixed into a test case that provides a cluster of at least two nodes
    (node 1 the master, with the ``file`` template enabled) through:

      - C{gnt(index, *argv)}: run a tool as root on node C{index} and
        return its L{subprocess.CompletedProcess};
      - C{node_name(index)}: that node's name in the cluster.
    """

    def gnt_ok(self, index, *argv):
        """:return: the output of a tool that must succeed."""
        result = self.gnt(index, *argv)
        self.assertEqual(result.returncode, 0, "%s exited %d:\n%s%s" % (
            " ".join(argv), result.returncode, result.stdout, result.stderr))
        return result.stdout

    def test_nodes_listed(self):
        """Every node is listed, the master first, online."""
        rows = [line.split() for line in self.gnt_ok(
            1, "gnt-node", "list", "--no-headers", "-o",
            "name,offline").splitlines()]
        self.assertEqual(rows[0], [self.node_name(1), "N"])
        self.assertIn([self.node_name(2), "N"], rows)

    def test_file_instance_move(self):
        """
        A running instance with a ``file`` disk moves to node 2 and runs
        there; its removal leaves no instance behind.
        """
        self.gnt_ok(1, "gnt-instance", "add", "-t", "file", "--disk",
                    "0:size=16m", "-o", "none", "--no-install",
                    "--no-name-check", "--no-ip-check",
                    "-n", self.node_name(1), MOVED)
        try:
            self.gnt_ok(1, "gnt-instance", "startup", MOVED)
            self.gnt_ok(1, "gnt-instance", "move", "-f", "-n",
                        self.node_name(2), MOVED)
            self.assertEqual(self.gnt_ok(
                1, "gnt-instance", "list", "--no-headers", "-o",
                "pnode,status", MOVED).split(), [self.node_name(2), "running"])
        finally:
            self.gnt(1, "gnt-instance", "remove", "-f", MOVED)
        self.assertNotIn(MOVED, self.gnt_ok(1, "gnt-instance", "list",
                                            "--no-headers", "-o", "name"))
