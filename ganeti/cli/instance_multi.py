# -*- test-case-name: tests.test_cli_instance -*-
"""
The ``gnt-instance`` commands that act on many instances at once.

``startup``, ``shutdown``, ``reboot`` and ``reinstall`` choose their
instances with Ganeti's selection options (L{SELECTION_OPTS}: by name,
all, by primary and/or secondary node, by instance or node tags), ask
before touching more than one and submit one job per instance.
``batch-create`` creates the instances of a definition file with one
multi-allocation job, and ``change-group`` follows the jobs that move an
instance to another node group.  Both print what Ganeti's tool prints
while the handed-back jobs run.
"""

from ganeti import errors
from ganeti.cli import base, jobs, parsing
from ganeti.cli.options import opt

# How the arguments select instances (the C{multi_mode} option).
BY_NAME = "instances"
ALL = "cluster"
BY_NODE = "nodes"
BY_PRIMARY = "nodes-pri"
BY_SECONDARY = "nodes-sec"
BY_TAGS = "instances-by-tags"
BY_NODE_TAGS = "nodes-by-tags"
BY_PRIMARY_TAGS = "nodes-pri-by-tags"
BY_SECONDARY_TAGS = "nodes-sec-by-tags"

#: Node selections -> (by tags, take primaries, take secondaries).
_NODE_SELECTIONS = {
    BY_NODE: (False, True, True),
    BY_PRIMARY: (False, True, False),
    BY_SECONDARY: (False, False, True),
    BY_NODE_TAGS: (True, True, True),
    BY_PRIMARY_TAGS: (True, True, False),
    BY_SECONDARY_TAGS: (True, False, True),
}


def _selection(flag, mode, helptext):
    return opt(flag, dest="multi_mode", action="store_const", const=mode,
               help=helptext)


#: The selection options; as in Ganeti, the last one given wins.
SELECTION_OPTS = [
    _selection("--instance", BY_NAME, "Filter by instance name [default]"),
    _selection("--all", ALL, "Select all instances in the cluster"),
    _selection("--node", BY_NODE, "Filter by nodes (primary and secondary)"),
    _selection("--primary", BY_PRIMARY, "Filter by nodes (primary only)"),
    _selection("--secondary", BY_SECONDARY, "Filter by nodes (secondary"
               " only)"),
    _selection("--tags", BY_TAGS, "Filter by instance tag"),
    _selection("--node-tags", BY_NODE_TAGS, "Filter by node tag"),
    _selection("--pri-node-tags", BY_PRIMARY_TAGS,
               "Filter by primary node tag"),
    _selection("--sec-node-tags", BY_SECONDARY_TAGS,
               "Filter by secondary node tag"),
]

FORCE_MULTIPLE_OPT = opt("--force-multiple", action="store_true",
                         default=False,
                         help="Do not ask for confirmation when more than one"
                              " instance is affected")


def _wrong(message):
    return errors.OpPrereqError(message, "wrong_input")


def _rows(what, fields, names=None):
    """
    :param names: the wanted names (the master fails on an unknown one),
        or None for every item.
    :return: the items' values, one list per item.
    """
    from ganeti.query import lang
    qfilter = lang.make_simple_filter("name", names) if names else None
    result = base.get_client().call("Query", what, fields, qfilter)
    return [[cell[1] for cell in row] for row in result["data"]]


def _unique(names):
    """:return: C{names} without repetitions, in their first order."""
    seen = set()
    return [n for n in names if not (n in seen or seen.add(n))]


def select_instances(mode, args):
    """
    The instances a selection option and the arguments name, asking the
    master for instances or nodes (with their tags) as needed.

    Ganeti lists an instance once per selected node it uses (twice, with
    ``--node``, when both its nodes are named); here each comes once.

    :param mode: one of the selections (L{SELECTION_OPTS}), None for
        L{BY_NAME}.
    :param args: instance names, node names or tags, by C{mode}.
    :return: the instance names, in selection order.
    :raise OpPrereqError: (``wrong_input``) for arguments the selection
        cannot take; (``noent``) for an unknown instance or node name.
    """
    mode = mode or BY_NAME
    if mode == ALL:
        if args:
            raise _wrong("Cluster filter mode takes no arguments")
        return [row[0] for row in _rows("instance", ["name"])]
    if mode == BY_NAME:
        if not args:
            raise _wrong("No instance names passed")
        return _unique(row[0] for row in _rows("instance", ["name"], args))
    if mode == BY_TAGS:
        if not args:
            raise _wrong("No instance tags passed")
        return [name for name, tags in _rows("instance", ["name", "tags"])
                if set(tags).intersection(args)]
    by_tags, primaries, secondaries = _NODE_SELECTIONS[mode]
    fields = ["name", "pinst_list", "sinst_list"]
    if by_tags:
        if not args:
            raise _wrong("No node tags passed")
        nodes = [row for row in _rows("node", fields + ["tags"])
                 if set(row[3]).intersection(args)]
    else:
        if not args:
            raise _wrong("No node names passed")
        nodes = _rows("node", fields, args)
    names = []
    if primaries:
        names.extend(name for row in nodes for name in row[1])
    if secondaries:
        names.extend(name for row in nodes for name in row[2])
    return _unique(names)


def _acts_on_many(opts, names):
    """
    :return: whether the command counts as acting on many instances (a
        selection other than by name, or several names), and so asks with
        L{base.confirm_operation}.
    :raise OpPrereqError: if nothing is selected.
    """
    if not names:
        raise _wrong("Selection filter does not match any instances")
    return (opts.multi_mode or BY_NAME) != BY_NAME or len(names) > 1


def _run_jobs(opts, names, make_op, many):
    """
    Submit one job per instance and wait for them (or, with
    ``--submit``, print their ids).

    :return: the exit code: 1 if any job failed or was not submitted.
    """
    executor = jobs.JobExecutor(verbose=many, opts=opts)
    for name in names:
        executor.queue_job(name, make_op(name))
    results = executor.wait_or_show(not opts.submit)
    return 0 if all(ok for ok, _ in results) else 1


def many_ops(operation, make_op):
    """
    A command acting on the selected instances, one job each.

    :param operation: the word the confirmation uses (``startup``).
    :param make_op: ``(instance name, options) -> opcode``.
    :return: the command's function.
    """
    def command(opts, args):
        names = select_instances(opts.multi_mode, args)
        if not names and opts.multi_mode == ALL:
            # Ganeti's words, whatever the command.
            base.to_stdout("Cluster is empty, no instances to shutdown")
            return 0
        many = _acts_on_many(opts, names)
        if (many and not opts.force_multiple
                and not base.confirm_operation(names, "instances", operation)):
            return 1
        return _run_jobs(opts, names, lambda name: make_op(name, opts), many)
    command.__doc__ = "``gnt-instance %s``." % operation
    return command


def _startup_op(name, opts):
    return {"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": name,
            "force": opts.force, "ignore_offline_nodes": opts.ignore_offline,
            "hvparams": parsing.parse_key_values(opts.hvparams, "-H"),
            "beparams": parsing.parse_key_values(opts.beparams, "-B"),
            "no_remember": opts.no_remember,
            "startup_paused": opts.startup_paused}


def _shutdown_op(name, opts):
    return {"OP_ID": "OP_INSTANCE_SHUTDOWN", "instance_name": name,
            "force": opts.force, "ignore_offline_nodes": opts.ignore_offline,
            "timeout": opts.timeout, "no_remember": opts.no_remember}


def _reboot_op(name, opts):
    return {"OP_ID": "OP_INSTANCE_REBOOT", "instance_name": name,
            "reboot_type": opts.reboot_type,
            "ignore_secondaries": opts.ignore_secondaries,
            "shutdown_timeout": opts.shutdown_timeout}


startup = many_ops("startup", _startup_op)
shutdown = many_ops("shutdown", _shutdown_op)
reboot = many_ops("reboot", _reboot_op)


def _os_names(name, variants):
    """:return: an OS's names as ``reinstall --select-os`` offers them."""
    if not variants:
        return [name]
    return ["%s+%s" % (name, variant) for variant in variants]


def _choose_os(opts):
    """
    ``--select-os``: list the valid OS definitions and ask for one.

    :return: the OS name, or None if the user gave up.
    """
    # Not sent with --submit: the answer is needed now.
    [result] = jobs.poll_job(jobs.submit_job([{
        "OP_ID": "OP_OS_DIAGNOSE", "output_fields": ["name", "variants"],
        "names": []}], opts))
    if not result:
        base.to_stdout("Can't get the OS list")
        return None
    base.to_stdout("Available OS templates:")
    choices = []
    for name, variants in result:
        for entry in _os_names(name, variants):
            base.to_stdout("%3s: %s" % (len(choices), entry))
            choices.append((str(len(choices)), entry, entry))
    choices.append(("x", None, "Exit gnt-instance reinstall"))
    selected = base.ask_user("Enter OS template number (or x to abort):",
                             choices)
    if selected is None:
        base.to_stderr("User aborted reinstall, exiting")
    return selected


def reinstall(opts, args):
    """
    ``gnt-instance reinstall``: one instance asks unless ``-f``; several
    ask with the list unless ``--force-multiple`` (``-f`` is not enough,
    as in Ganeti).
    """
    names = select_instances(opts.multi_mode, args)
    many = _acts_on_many(opts, names)
    if opts.select_os:
        os_name = _choose_os(opts)
        if os_name is None:
            return 1
    else:
        os_name = opts.os
    what = ("keep the same OS" if os_name is None
            else "change the OS to '%s'" % os_name)
    if many:
        if not (opts.force_multiple or base.confirm_operation(
                names, "instances", "reinstall",
                extra="Note: this will remove *all* data for the below"
                      " instances! It will %s.\n" % what)):
            return 1
    elif not (opts.force or opts.force_multiple or base.ask_user(
            "This will reinstall the instance '%s' (and %s) which removes"
            " all data. Continue?" % (names[0], what))):
        return 1
    osparams = (parsing.parse_key_values(opts.osparams, "-O")
                if opts.osparams else None)
    return _run_jobs(opts, names, lambda name: {
        "OP_ID": "OP_INSTANCE_REINSTALL", "instance_name": name,
        "os_type": os_name, "force_variant": opts.force_variant,
        "osparams": osparams}, many)


def _creations(path):
    """
    Read a ``batch-create`` definition file: a JSON list of instance
    creation parameters.

    :return: the OP_INSTANCE_CREATE opcodes, or None after saying on
        stderr why the file is unusable.
    :raise OpPrereqError: for an unknown or invalid parameter.
    """
    import json
    from ganeti import opcodes
    try:
        with open(path) as f:
            definitions = json.load(f)
    except (OSError, ValueError) as e:
        base.to_stderr("Can't parse the instance definition file: %s" % e)
        return None
    if not (isinstance(definitions, list)
            and all(isinstance(d, dict) for d in definitions)):
        base.to_stderr("The instance definition file is not List of"
                       " Dictionary")
        return None
    known = {name for name, _, _ in
             opcodes.OPCODES["OP_INSTANCE_CREATE"].params}
    ops = []
    for index, definition in enumerate(definitions):
        unknown = sorted(set(definition) - known)
        if unknown:
            raise _wrong("Unknown fields in definition %s: %s"
                         % (index, ", ".join(unknown)))
        op = dict(definition, OP_ID="OP_INSTANCE_CREATE")
        # Checked here, so a typo fails before any job; the master checks
        # again and fills in the defaults.
        opcodes.validate(op)
        ops.append(op)
    return ops


def _follow(opts, result, success, failure):
    """
    Wait for the jobs a job handed back and say how they went.

    :param success: what to print when all succeeded.
    :param failure: the text for failures, with ``%d`` for their count.
    :return: the exit code.
    """
    if result is None:
        return 0
    failed = jobs.count_failed(jobs.follow_handed_back(result, opts))
    if failed:
        base.to_stdout(failure % failed)
        return 1
    base.to_stdout(success)
    return 0


def batch_create(opts, args):
    """
    ``gnt-instance batch-create``: one OP_INSTANCE_MULTI_ALLOC for the
    file's instances (placed together by ``--iallocator`` or the nodes
    they name), then follow the creation job of each.
    """
    ops = _creations(args[0])
    if ops is None:
        return 1
    result = jobs.submit_opcode({"OP_ID": "OP_INSTANCE_MULTI_ALLOC",
                                 "iallocator": opts.iallocator,
                                 "instances": ops}, opts)
    return _follow(opts, result, "All instances created successfully.",
                   "There were %d errors during the creation.")


def change_group(opts, args):
    """
    ``gnt-instance change-group``: the allocator plans the move to another
    node group; follow the jobs it planned.
    """
    name = args[0]
    result = jobs.submit_opcode({
        "OP_ID": "OP_INSTANCE_CHANGE_GROUP", "instance_name": name,
        "iallocator": opts.iallocator, "target_groups": opts.to,
        "early_release": opts.early_release}, opts)
    return _follow(opts, result,
                   "Instance '%s' changed group successfully." % name,
                   "There were %%d errors while changing group of instance"
                   " '%s'." % name)
