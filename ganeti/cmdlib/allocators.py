# -*- test-case-name: tests.test_iallocator -*-
"""
Running instance allocators for the logical units: find the program in
the search path, gather what the nodes say, write the input document and
run the program without blocking the reactor.

The protocol itself (documents, requests, answer checks) is
L{ganeti.iallocator}, which needs no node and no process.
"""

import json
import os
import tempfile

from twisted.internet.defer import inlineCallbacks, returnValue

from ganeti import errors, iallocator
from ganeti.cmdlib.live import live_instances, live_node_info
from ganeti.process import DEFAULT_ENV, run_command

#: Seconds an allocator may think before it is stopped; hail answers in
#: well under one on clusters of hundreds of nodes.
TIMEOUT = 300


def find(paths, name):
    """
    :return: the allocator executable called C{name} in the search path.
    :raise OpPrereqError: (``environment_error``) for a name with a
        directory part or one found nowhere.
    """
    if not name or os.path.basename(name) != name:
        raise errors.OpPrereqError("Invalid iallocator name '%s'" % (name,),
                                   "wrong_input")
    for directory in paths.iallocator_search_path:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise errors.OpPrereqError(
        "Can't find allocator script '%s' in %s" % (
            name, ", ".join(paths.iallocator_search_path)),
        "environment_error")


@inlineCallbacks
def build_input(ctx, request):
    """
    Ask the nodes for their figures and running instances, then build the
    input document for C{request}.

    :return: (Deferred) the document as a dict.
    """
    cfg = ctx.config.config
    live = yield live_node_info(ctx, cfg, list(cfg.nodes.values()))
    running = yield live_instances(ctx, cfg)
    returnValue(iallocator.input_document(cfg, request, live, running))


@inlineCallbacks
def run(ctx, name, request, params=None, what="nodes"):
    """
    Run the allocator C{name} on C{request} and check its answer.

    :param params: extra ``--key=value`` options (the cluster's
        ``default_iallocator_params`` when None).
    :param what: what it computes, for the error when it cannot
        (L{iallocator.parse_answer}).
    :return: (Deferred) the answer's ``result``, its shape checked for
        the request's mode.
    :raise OpPrereqError: if the allocator is missing or cannot place.
    :raise OpExecError: if it fails or answers nonsense.
    """
    cfg = ctx.config.config
    script = find(ctx.paths, name)
    document = yield build_input(ctx, request)
    if params is None:
        params = cfg.cluster.default_iallocator_params
    stdout = yield run_script(ctx.reactor, script, json.dumps(document),
                              params, ctx.paths.run_dir)
    returnValue(iallocator.parse_answer(cfg, request, stdout, name, what))


@inlineCallbacks
def run_script(reactor, script, text, params, directory):
    """
    Run C{script} on a temporary file holding C{text}, as Ganeti does.

    :return: (Deferred) the script's standard output.
    :raise OpExecError: if it could not run or exited unsuccessfully.
    """
    fd, path = tempfile.mkstemp(prefix="ialloc-", suffix=".json",
                                dir=directory if os.path.isdir(directory)
                                else None)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        argv = [script, path] + ["--%s=%s" % item
                                 for item in sorted(params.items())]
        try:
            result = yield run_command(reactor, argv, timeout=TIMEOUT,
                                       env=DEFAULT_ENV)
        except errors.CommandError as e:
            raise errors.OpExecError("Can't run instance allocator: %s" % e)
    finally:
        os.unlink(path)
    if result.failed:
        raise errors.OpExecError("Instance allocator call failed: %s"
                                 % result.describe())
    returnValue(result.stdout)
