# -*- test-case-name: tests.test_jobqueue -*-
"""
What a client may submit as a job, checked before the queue gives out an
id or writes anything.

Apart from L{ganeti.jobs.queue} because these checks are pure: they look
only at the submitted opcodes (and the ids handed out in the same
submission), never at the queue's state.
"""

from ganeti import errors, opcodes

#: Priorities a client may submit (low, normal, high).
SUBMIT_PRIORITIES = (10, 0, -10)


def validate_job(ops):
    """
    :param ops: a job as submitted: a list of opcode dicts.
    :return: the opcodes, validated (with their defaults).
    :raise OpPrereqError, OpCodeUnknown: for an empty job, a bad opcode
        or a priority a client may not ask for.
    """
    if not isinstance(ops, list) or not ops:
        raise errors.OpPrereqError("A job needs a non-empty list of opcodes",
                                   "wrong_input")
    validated = [opcodes.validate(op) for op in ops]
    for op in validated:
        if op["priority"] not in SUBMIT_PRIORITIES:
            raise errors.OpPrereqError(
                "Opcode priority %s is not one of the allowed values %s"
                % (op["priority"], ", ".join(map(str, SUBMIT_PRIORITIES))),
                "wrong_input")
    return validated


def resolve_dependencies(ops, job_id, submitted):
    """
    Turn the relative dependencies (negative job ids) of a job's opcodes
    into the ids of the jobs submitted before it, in place, as in Ganeti.

    :param job_id: the id the job gets.
    :param submitted: the ids given to the earlier jobs of the same
        submission, in order.
    :raise OpPrereqError: for a relative id reaching before the
        submission, or a job depending on itself.
    """
    for op in ops:
        resolved = []
        for dep_id, statuses in op.get("depends") or []:
            if dep_id < 0:
                if -dep_id > len(submitted):
                    raise errors.OpPrereqError(
                        "Unable to resolve relative job ID %s" % dep_id,
                        "wrong_input")
                dep_id = submitted[dep_id]
            elif dep_id == job_id:
                raise errors.OpPrereqError("Job can't depend on itself",
                                           "wrong_input")
            resolved.append([dep_id, statuses])
        if op.get("depends") is not None:
            op["depends"] = resolved
