# -*- test-case-name: tests.test_hooks -*-
"""
What Ganeti's hooks interface (version 2) fixes, shared by both sides.

The master decides, for each opcode, on which nodes hooks run and with
what environment (L{ganeti.cmdlib.hooks}); each node runs the scripts of
``<hooks dir>/<path>-<phase>.d`` (L{ganeti.node.hooks}).  A node also runs
hooks of its own around the master IP changes.  Both read the answers the
same way: here.

A script's environment is built from scratch: C{PATH} and ``GANETI_*``
variables only, every value a string.  The post phase sees the variables
of the pre phase plus the logical unit's variables computed again after
it ran, under ``GANETI_POST_``.
"""

import re

from ganeti import errors

#: The interface version, passed as C{GANETI_HOOKS_VERSION}.
HOOKS_VERSION = 2

PHASE_PRE = "pre"
PHASE_POST = "post"
PHASES = (PHASE_PRE, PHASE_POST)

#: C{PATH} of every hook script.
HOOKS_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"

#: What happened to one script (Ganeti's C{HKR_*}): not run (a name or
#: file the rules leave out), failed (or could not start), succeeded.
HKR_SKIP = 0
HKR_FAIL = 1
HKR_SUCCESS = 2

#: The kinds of object an opcode acts on (C{GANETI_OBJECT_TYPE}).
HTYPE_CLUSTER = "CLUSTER"
HTYPE_NODE = "NODE"
HTYPE_INSTANCE = "INSTANCE"
HTYPE_GROUP = "GROUP"
HTYPE_NETWORK = "NETWORK"

#: The names of the scripts that run (as run-parts): anything else, such
#: as ``check.sh`` or ``.hidden``, is skipped.
SCRIPT_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")

#: Seconds one script may run before it is terminated.  Ganeti's node
#: daemon sets no limit of its own (only its 15 minutes RPC timeout ends
#: the wait); an hour is generous for a check and still ends a hang.
DEFAULT_SCRIPT_TIMEOUT = 3600

#: The opcode names the master IP hooks report: they run around a node
#: action, not around an opcode of their own.
FAKE_OP_MASTER_TURNUP = "OP_CLUSTER_IP_TURNUP"
FAKE_OP_MASTER_TURNDOWN = "OP_CLUSTER_IP_TURNDOWN"

#: The paths of the master IP hooks.
HPATH_MASTER_TURNUP = "master-ip-turnup"
HPATH_MASTER_TURNDOWN = "master-ip-turndown"

_HPATH = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def check_request(hpath, phase):
    """
    :raise ProgrammerError: for a phase that does not exist or a hooks
        path that could name something outside the hooks directory.
    """
    if phase not in PHASES:
        raise errors.ProgrammerError("Unknown hooks phase '%s'" % (phase,))
    if not isinstance(hpath, str) or not _HPATH.match(hpath):
        raise errors.ProgrammerError("Invalid hooks path %r" % (hpath,))


def hooks_subdir(hpath, phase):
    """:return: the directory of one phase's scripts, e.g. ``node-add-pre.d``."""
    return "%s-%s.d" % (hpath, phase)


def phase_variables(env, phase):
    """
    Name a logical unit's variables for C{phase}: ``GANETI_`` before,
    ``GANETI_POST_`` after.  Values become strings as Ganeti makes them
    (C{str()}: ``True``, ``None``, ``128``).

    :param env: variable name (without prefix) -> value.
    :return: a new dict.
    """
    prefix = "GANETI_" if phase == PHASE_PRE else "GANETI_POST_"
    return {prefix + key: str(value) for key, value in env.items()}


def script_environment(opcode, hpath, phase, htype, cluster_name,
                       master_name, variables):
    """
    The environment of the scripts of one phase, as the master sends it
    (the node adds its C{GANETI_DATA_DIR}).

    :param variables: the phase's L{phase_variables} (for the post
        phase, those of both phases).
    :return: a dict of C{str}.
    :raise ProgrammerError: if a logical unit's variable would replace
        one of the common ones.
    """
    env = {
        "PATH": HOOKS_PATH,
        "GANETI_HOOKS_VERSION": str(HOOKS_VERSION),
        "GANETI_HOOKS_PHASE": phase,
        "GANETI_HOOKS_PATH": hpath,
        "GANETI_OP_CODE": opcode,
    }
    if htype:
        env["GANETI_OBJECT_TYPE"] = htype
    if cluster_name is not None:
        env["GANETI_CLUSTER"] = cluster_name
    if master_name is not None:
        env["GANETI_MASTER"] = master_name
    clash = sorted(set(env) & set(variables))
    if clash:
        raise errors.ProgrammerError("Hooks variables defined twice: %s"
                                     % ", ".join(clash))
    env.update(variables)
    return env


def evaluate(phase, answers, warn):
    """
    Read the nodes' answers to one phase, as Ganeti's hooks master does.

    A node that did not answer only gets a warning (a node that is down
    vetoes nothing: put the scripts that must decide on the master).  A
    failed script vetoes the opcode in the pre phase; in the post phase it
    is a warning.

    :param answers: ``(node name, failure message or None, script
        results)`` triples, the results as the node's hooks runner gives
        them: ``[script, HKR_*, output]`` lists.
    :param warn: called with each warning's text.
    :raise HooksAbort: in the pre phase, naming every failed script.
    """
    vetoes = []
    for node, fail_msg, results in answers:
        if fail_msg:
            warn("Communication failure to node %s: %s" % (node, fail_msg))
            continue
        for script, status, output in results or []:
            if status != HKR_FAIL:
                continue
            if phase == PHASE_PRE:
                vetoes.append([node, script, output])
            else:
                warn("On %s script %s failed, output: %s"
                     % (node, script, output or "(no output)"))
    if vetoes:
        raise errors.HooksAbort(vetoes)
