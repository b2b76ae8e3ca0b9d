# -*- test-case-name: tests.test_hooks -*-
"""
The node's side of hooks: running the scripts of one hooks directory.

The master names the hooks path, the phase and the environment
(L{ganeti.cmdlib.hooks}); the node runs every script of
``<hooks dir>/<path>-<phase>.d`` whose name run-parts would accept, one
after the other in name order, and reports each one's outcome and
output.  A missing directory is the common case (Ganeti creates none)
and costs one C{stat}.

The node also runs hooks of its own around the master IP changes
(L{LocalHooks}), as Ganeti's node daemon does.
"""

import os
import stat

from twisted.internet.defer import inlineCallbacks, returnValue, succeed
from twisted.logger import Logger

from ganeti import errors, hooks
from ganeti.process import run_command

_log = Logger()


def _printable(data):
    """
    :return: a script's output as text for the job log: decoded, stripped,
        control characters other than newline and tab escaped (as Ganeti's
        C{SafeEncode} does).
    """
    text = data.decode("utf-8", "replace").strip()
    return "".join(c if c.isprintable() or c in "\n\t" else "\\x%02x" % ord(c)
                   for c in text)


def _runnable(path):
    """:return: whether C{path} is an executable regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and os.access(path, os.X_OK)


class HooksRunner:
    """
    Runs the hook scripts below one node's hooks directory.

    :param reactor: provides process spawning and time.
    :param base_dir: the hooks directory (L{ganeti.paths.Paths.hooks_dir}).
    :param data_dir: this node's data directory, passed to the scripts as
        C{GANETI_DATA_DIR} (each node of a test cluster has its own).
    :param timeout: seconds each script may run before it is terminated
        (``TERM``, then ``KILL`` five seconds later); it then counts as
        failed.
    """

    def __init__(self, reactor, base_dir, data_dir,
                 timeout=hooks.DEFAULT_SCRIPT_TIMEOUT):
        self._reactor = reactor
        self.base_dir = base_dir
        self.data_dir = data_dir
        self.timeout = timeout

    def run(self, hpath, phase, env):
        """
        Run the scripts of C{hpath}'s C{phase}.

        :param env: the scripts' environment (C{PATH} and ``GANETI_*``
            variables); nothing of the daemon's own is added.
        :return: a Deferred firing with one ``[script, HKR_*, output]``
            list per directory entry, in name order; the script is named
            relative to the hooks directory (``instance-start-pre.d/10-x``).
        :raise ProgrammerError: (at once) for a bad phase or path.
        """
        hooks.check_request(hpath, phase)
        subdir = hooks.hooks_subdir(hpath, phase)
        directory = os.path.join(self.base_dir, subdir)
        try:
            names = sorted(n for n in os.listdir(directory)
                           if not n.startswith("."))
        except FileNotFoundError:
            return succeed([])
        except OSError as e:
            # Not a directory, or unreadable: nothing runs, as in Ganeti.
            _log.warn("hooks directory {directory} skipped: {error}",
                      directory=directory, error=e.strerror)
            return succeed([])
        env = dict(env, GANETI_DATA_DIR=self.data_dir)
        return self._run_all(subdir, directory, names, env)

    @inlineCallbacks
    def _run_all(self, subdir, directory, names, env):
        results = []
        for name in names:
            path = os.path.join(directory, name)
            script = "%s/%s" % (subdir, name)
            if not (hooks.SCRIPT_NAME.match(name) and _runnable(path)):
                results.append([script, hooks.HKR_SKIP, ""])
                continue
            outcome = yield self._run_one(path, env)
            results.append([script] + outcome)
        returnValue(results)

    @inlineCallbacks
    def _run_one(self, path, env):
        """:return: (Deferred) ``[HKR_*, output]`` of one script."""
        try:
            result = yield run_command(self._reactor, [path], env=env,
                                       timeout=self.timeout, cwd="/")
        except errors.CommandError as e:
            # Could not start, or ran out of time (the child is gone).
            _log.warn("hook {path} failed: {error}", path=path, error=str(e))
            returnValue([hooks.HKR_FAIL,
                         "Hook script execution error: %s" % (e,)])
        output = _printable(result.stdout + result.stderr)
        returnValue([hooks.HKR_FAIL if result.failed else hooks.HKR_SUCCESS,
                     output])


class LocalHooks:
    """
    The hooks a node runs around one of its own actions (Ganeti's
    C{RunLocalHooks}): those of the master IP.  They run on this node
    only; a failed pre-phase script stops the action.

    :param runner: the node's L{HooksRunner}.
    :param node_name: this node's name, for the messages.
    :param variables: the action's variables (names without prefix).
    """

    def __init__(self, runner, opcode, hpath, cluster_name, master_name,
                 node_name, variables):
        self._runner = runner
        self._opcode = opcode
        self._hpath = hpath
        self._cluster = cluster_name
        self._master = master_name
        self._node = node_name
        self._pre = hooks.phase_variables(variables, hooks.PHASE_PRE)
        self._variables = variables

    @inlineCallbacks
    def run(self, phase):
        """
        :return: a Deferred firing once the phase's scripts ran.
        :raise HooksAbort: (through the Deferred) if a pre script failed.
        """
        variables = dict(self._pre)
        if phase == hooks.PHASE_POST:
            variables.update(hooks.phase_variables(self._variables, phase))
        env = hooks.script_environment(
            self._opcode, self._hpath, phase, hooks.HTYPE_CLUSTER,
            self._cluster, self._master, variables)
        results = yield self._runner.run(self._hpath, phase, env)
        hooks.evaluate(phase, [(self._node, None, results)],
                       lambda text: _log.warn("{text}", text=text))
