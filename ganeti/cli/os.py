# -*- test-case-name: tests.test_cli_os -*-
"""
``gnt-os``: the operating system definitions known to the nodes.
"""

from ganeti.cli import base, jobs, options, parsing
from ganeti.cli.options import Args, Command, opt


def _names(name, variants):
    if not variants:
        return [name]
    return ["%s+%s" % (name, variant) for variant in variants]


def list_os(opts, args):
    """``gnt-os list``: valid, visible OSes with their variants."""
    result = jobs.submit_opcode({"OP_ID": "OP_OS_DIAGNOSE",
                                 "output_fields": ["name", "variants", "valid",
                                                   "hidden", "blacklisted"]},
                                opts)
    if not opts.no_headers:
        base.to_stdout("Name")
    for name, variants, valid, hidden, blacklisted in sorted(result):
        if valid and not hidden and not blacklisted:
            for full in _names(name, variants):
                base.to_stdout(full)
    return 0


def _status(valid, message):
    return "valid" if valid else "invalid - %s" % message


def diagnose(opts, args):
    """``gnt-os diagnose``: per OS, per node, what is found."""
    result = jobs.submit_opcode({"OP_ID": "OP_OS_DIAGNOSE",
                                 "output_fields": ["name", "valid", "variants",
                                                   "node_status", "hidden",
                                                   "blacklisted"]}, opts)
    has_bad = False
    for name, valid, variants, node_status, hidden, blacklisted in sorted(result):
        lines = []
        statuses = []
        for node in sorted(node_status):
            path, ok, message, node_variants, params, api = node_status[node][0]
            text = "%s (path: %s)" % (_status(ok, message), path)
            text += (" [API versions: %s]" % ", ".join(map(str, api))
                     if api else " [no API versions declared]")
            if api and max(api) >= 15:
                text += (" [variants: %s]" % ", ".join(node_variants)
                         if node_variants else " [no variants]")
            if api and max(api) >= 20:
                text += (" [parameters: %s]" % ", ".join(p[0] for p in params)
                         if params else " [no parameters]")
            lines.append("  Node: %s, status: %s" % (node, text))
            statuses.append(ok)
        if all(statuses) and valid:
            status = "valid"
        elif not any(statuses):
            status = "invalid"
            has_bad = True
        else:
            status = "partial valid"
            has_bad = True
        header = "OS: %s [global status: %s]" % (name, status)
        if hidden:
            header += " [hidden]"
        if blacklisted:
            header += " [blacklisted]"
        base.to_stdout(header)
        if variants:
            base.to_stdout("  Variants: [%s]" % ", ".join(variants))
        for line in lines:
            base.to_stdout(line)
        base.to_stdout("")
    return 1 if has_bad else 0


def show_info(opts, args):
    """``gnt-os info``."""
    fields = ["name", "valid", "hidden", "blacklisted", "variants",
              "api_versions", "parameters", "os_hvp", "osparams"]
    result = jobs.submit_opcode({"OP_ID": "OP_OS_DIAGNOSE",
                                 "output_fields": fields,
                                 "names": list(args)}, opts)
    for row in sorted(result):
        v = dict(zip(fields, row))
        base.to_stdout("%s:" % v["name"])
        base.to_stdout("  - valid: %s" % v["valid"])
        base.to_stdout("  - hidden: %s" % v["hidden"])
        base.to_stdout("  - blacklisted: %s" % v["blacklisted"])
        if v["valid"]:
            base.to_stdout("  - API versions:")
            for version in v["api_versions"]:
                base.to_stdout("    - %s" % version)
            base.to_stdout("  - variants:")
            for variant in v["variants"]:
                base.to_stdout("    - %s" % variant)
            base.to_stdout("  - parameters:")
            for name, doc in v["parameters"]:
                base.to_stdout("    - %s: %s" % (name, doc))
        base.to_stdout("")
    return 0


def modify(opts, args):
    """``gnt-os modify``: OS-specific parameters and visibility."""
    name = args[0]
    op = {"OP_ID": "OP_CLUSTER_SET_PARAMS"}
    if opts.osparams:
        op["osparams"] = {name: parsing.parse_key_values(opts.osparams, "-O")}
    if opts.hvparams:
        hv, params = parsing.parse_ident_key_values(opts.hvparams, "-H")
        op["os_hvp"] = {name: {hv: params or {}}}
    for key, option in (("hidden", "--hidden"),
                        ("blacklisted", "--blacklisted")):
        flag = parsing.parse_optional_bool(getattr(opts, key), option)
        if flag is not None:
            op[key + "_os"] = [["add" if flag else "remove", name]]
    if len(op) == 1:
        base.to_stderr("At least one of OS parameters or hypervisor parameters"
                       " must be passed")
        return 1
    jobs.submit_opcode(op, opts)
    return 0


COMMANDS = {
    "list": Command(list_os, Args(0, 0), [options.NOHDR_OPT], "",
                    "Lists all valid operating systems on the cluster"),
    "diagnose": Command(diagnose, Args(0, 0), [], "",
                        "Diagnose all operating systems"),
    "info": Command(show_info, Args(0, None), [], "[os...]",
                    "Show detailed information about operating systems"),
    "modify": Command(modify, Args(1, 1), options.JOB_OPTS + [
        opt("-H", "--hypervisor-parameters", dest="hvparams", default=None,
            help="OS-specific hypervisor parameters"),
        opt("-O", "--os-parameters", dest="osparams", default=None,
            help="OS parameters"),
        opt("--hidden", default=None, help="Sets the hidden flag (yes|no)"),
        opt("--blacklisted", default=None,
            help="Sets the blacklisted flag (yes|no)")],
        "[-H hv:k=v] [-O k=v] <os>", "Modify the OS parameters"),
}

ALIASES = {"show": "info"}


def main():
    """Entry point of ``gnt-os``."""
    base.run(COMMANDS, ALIASES)
