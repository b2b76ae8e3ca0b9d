# -*- test-case-name: tests.test_cli_node -*-
"""
The ``list-tags``, ``add-tags`` and ``remove-tags`` subcommands that every
tool with taggable objects has (Ganeti's ``cli.ListTags``, ``AddTags``,
``RemoveTags``), built once per object kind.
"""

from ganeti import errors
from ganeti.cli import base, jobs, options
from ganeti.cli.options import Args, Command, opt

TAGS_SOURCE_OPT = opt("--from", dest="tags_source", default=None,
                      help="File with tag names")


def tag_commands(kind, noun=None):
    """
    :param kind: the tag opcodes' object kind (``cluster``, ``instance``,
        ``node``, ``nodegroup``).
    :param noun: how usage lines name the object (``"instance"``); None for
        the cluster, whose commands take no object name.
    :return: the three subcommands, for a tool's C{COMMANDS}.
    """
    def split(args):
        """:return: the opcode's target fields and the tag arguments."""
        if noun is None:
            return {"kind": kind}, list(args)
        return {"kind": kind, "name": args[0]}, list(args[1:])

    def list_tags(opts, args):
        target, _ = split(args)
        for tag in jobs.submit_opcode(dict(target, OP_ID="OP_TAGS_GET"), opts):
            base.to_stdout(tag)
        return 0

    def changer(op_id):
        def change(opts, args):
            target, tags = split(args)
            if opts.tags_source:
                with open(opts.tags_source) as f:
                    tags.extend(line.strip() for line in f if line.strip())
            if not tags:
                raise errors.OpPrereqError("No tags to be added/removed",
                                           "wrong_input")
            jobs.submit_opcode(dict(target, OP_ID=op_id, tags=tags), opts)
            return 0
        return change

    if noun is None:
        name_args, name_usage, the_object = Args(0, 0), "", "the cluster"
        more_args = Args(0, None)
    else:
        name_args, name_usage = Args(1, 1), "<%s_name>" % noun
        more_args, the_object = Args(1, None), "the given %s" % noun
    change_opts = [TAGS_SOURCE_OPT] + options.JOB_OPTS
    change_usage = (name_usage + " tag...").strip()
    return {
        "list-tags": Command(list_tags, name_args, [], name_usage,
                             "List the tags of %s" % the_object),
        "add-tags": Command(changer("OP_TAGS_SET"), more_args, change_opts,
                            change_usage, "Add tags to %s" % the_object),
        "remove-tags": Command(changer("OP_TAGS_DEL"), more_args, change_opts,
                               change_usage, "Remove tags from %s" % the_object),
    }
