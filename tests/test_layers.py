"""
Tests that the code keeps the layers of the design card (shared/DESIGN.md):
each layer imports only from layers below it, the master side and the node
side meet only in the protocol definitions, and the tools start without
the reactor or zope.interface.

Read from the source with C{ast}, so a violation fails here, naming the
module and the import, before it shows as an import cycle or a slow tool.
"""

import ast
import os

from twisted.trial.unittest import SynchronousTestCase

import ganeti

_ROOT = os.path.dirname(ganeti.__file__)

#: The layers above the logical units; nothing below them imports them.
_TOP = ("ganeti.master", "ganeti.rapi", "ganeti.cli", "ganeti.tap",
        "ganeti.roles")

#: The master's side of the node RPC and the node's side of it.
_MASTER_SIDE = ("ganeti.cmdlib", "ganeti.jobs", "ganeti.rpc", "ganeti.master",
                "ganeti.rapi")
_NODE_SIDE = ("ganeti.node", "ganeti.hypervisor", "ganeti.storage.",
              "ganeti.osdef", "ganeti.osenv", "ganeti.osscripts",
              "ganeti.scriptdir")

#: The one tool module that runs a reactor (see its docstring).
_REACTOR_TOOL = "ganeti.cli.failover_rpc"

#: What no tool loads when it starts: the reactor machinery costs ~0.3 s,
#: C{zope.interface} ~10 ms, on a run of ~0.05 s.
_HEAVY = ("twisted.internet", "zope.interface")


def _in(module, prefixes):
    return any(module == p.rstrip(".") or module.startswith(p.rstrip(".") + ".")
               for p in prefixes)


def _modules():
    """:return: ``{module name: source path}`` of the ganeti package."""
    found = {}
    for directory, subdirs, files in os.walk(_ROOT):
        subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, os.path.dirname(_ROOT))
                module = relative[:-3].replace(os.sep, ".")
                if module.endswith(".__init__"):
                    module = module[:-len(".__init__")]
                found[module] = path
    return found


def _imports(path, modules, at_import_only=False):
    """
    :param at_import_only: only the imports that run when the module is
        imported (not those inside functions).
    :return: the modules C{path} imports: ganeti's by module name
        (``from ganeti import x`` names C{ganeti.x}), others as written.
    """
    tree = ast.parse(open(path).read())
    nodes = []

    def collect(body):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            nodes.append(node)
            for field in ("body", "orelse", "finalbody", "handlers"):
                collect(getattr(node, field, None) or [])

    if at_import_only:
        collect(tree.body)
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = "%s.%s" % (node.module, alias.name)
                found.add(full if full in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


_MODULES = _modules()


class LayerTests(SynchronousTestCase):
    """The import rules of the design, checked on every module."""

    modules = _MODULES
    graph = {m: _imports(p, _MODULES) for m, p in _MODULES.items()}

    def violations(self, rule):
        return sorted("%s imports %s" % (m, d)
                      for m, deps in self.graph.items() for d in deps
                      if d.startswith("ganeti") and rule(m, d))

    def test_nothing_below_imports_the_top(self):
        """Logical units, jobs and everything below import no master, RAPI
        or CLI module."""
        self.assertEqual(self.violations(
            lambda m, d: not _in(m, _TOP) and _in(d, _TOP[:3])), [])

    def test_units_and_queue_apart(self):
        """The logical units import nothing of the job queue (they name
        their locks in L{ganeti.locking}), and the queue no logical unit:
        the master wires the two together."""
        self.assertEqual(self.violations(
            lambda m, d: (_in(m, ["ganeti.cmdlib"]) and _in(d, ["ganeti.jobs"]))
            or (_in(m, ["ganeti.jobs"]) and _in(d, ["ganeti.cmdlib"]))), [])

    def test_cli_only_in_cli(self):
        """Only the tools import the tools' modules."""
        self.assertEqual(self.violations(
            lambda m, d: _in(d, ["ganeti.cli"])
            and not _in(m, ["ganeti.cli"])), [])

    def test_master_and_node_sides_apart(self):
        """The master side and the node side share only protocols and the
        modules below both."""
        self.assertEqual(self.violations(
            lambda m, d: (_in(m, _MASTER_SIDE) and _in(d, _NODE_SIDE))
            or (_in(m, _NODE_SIDE) and _in(d, _MASTER_SIDE))), [])

    def test_no_package_cycle(self):
        """No two packages (or top-level modules) import each other, even
        through others."""
        def unit(module):
            return ".".join(module.split(".")[:2])
        units = {}
        for module, deps in self.graph.items():
            for dep in deps:
                if dep in self.modules and unit(dep) != unit(module):
                    units.setdefault(unit(module), set()).add(unit(dep))
        cycles = []
        for start in sorted(units):
            seen, todo = set(), list(units[start])
            while todo:
                current = todo.pop()
                if current == start:
                    cycles.append(start)
                    break
                if current not in seen:
                    seen.add(current)
                    todo.extend(units.get(current, ()))
        self.assertEqual(cycles, [])

    def test_tools_start_light(self):
        """Importing a tool's modules never loads Twisted's reactor
        machinery or C{zope.interface}, except the failover RPC."""
        loaded = {}

        def reach(module):
            if module not in loaded:
                loaded[module] = set()
                deps = _imports(self.modules[module], self.modules,
                                at_import_only=True)
                for dep in deps:
                    if dep in self.modules and dep != _REACTOR_TOOL:
                        loaded[module] |= reach(dep) | {dep}
                    elif dep.startswith(_HEAVY):
                        loaded[module].add(dep)
            return loaded[module]

        tools = [m for m in self.modules
                 if _in(m, ["ganeti.cli"]) and m != _REACTOR_TOOL]
        self.assertEqual(
            sorted("%s loads %s" % (tool, dep) for tool in tools
                   for dep in reach(tool) if dep.startswith(_HEAVY)),
            [])
