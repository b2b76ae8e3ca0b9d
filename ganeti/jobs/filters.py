# -*- test-case-name: tests.test_filters -*-
"""
Job filter rules (Ganeti 2.13's "optables"): which queued jobs may start.

A rule lives in the cluster configuration (``filters``: uuid -> rule, with
Ganeti's keys ``uuid watermark priority predicates action reason_trail``)
so that it survives master failover like any other setting.  Rules are
checked in order of priority, then watermark, then uuid; the first rule
whose predicates all hold for a job and whose action is not ``CONTINUE``
*applies* to it:

- ``ACCEPT``: the job runs (when a slot is free);
- ``PAUSE``: the job stays queued while the rule exists;
- ``REJECT``: the job is cancelled;
- ``["RATE_LIMIT", n]``: the job runs only while fewer than ``n`` running
  jobs have this rule applying to them.

No applying rule means ``ACCEPT``.  Predicates are query-language filters
(L{ganeti.query}) over one of three views of a job:

- ``jobid``: the field ``id``; the value ``"watermark"`` stands for the
  rule's watermark (the highest job id when the rule was last written), so
  ``[">", "id", "watermark"]`` means "jobs submitted after this rule";
- ``opcode``: the fields of an opcode (``OP_ID``, dotted paths into
  nested parameters); holds if it holds for at least one opcode;
- ``reason``: ``source``, ``reason``, ``timestamp`` of a reason trail
  entry; holds if it holds for at least one entry of any opcode.

A field an opcode lacks, or a value of the wrong type, makes the predicate
false for that opcode rather than an error: rules are written before the
jobs they judge exist.
"""

import re

import attrs
from twisted.logger import Logger

from ganeti import errors, ht
from ganeti.query import (Field, FieldSet, QFT_NUMBER, QFT_OTHER, QFT_TEXT,
                          filter_fields)

_log = Logger()

ACCEPT = "ACCEPT"
PAUSE = "PAUSE"
REJECT = "REJECT"
CONTINUE = "CONTINUE"
RATE_LIMIT = "RATE_LIMIT"

#: Actions spelled as a bare string.
SIMPLE_ACTIONS = (ACCEPT, PAUSE, REJECT, CONTINUE)

#: What a predicate's ``jobid`` expression may write for the watermark.
WATERMARK = "watermark"

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                      r"-[0-9a-f]{12}$", re.IGNORECASE)


def _invalid(message):
    raise errors.OpPrereqError(message, "wrong_input")


# --- validation (what ReplaceFilter accepts) ----------------------------------

def check_uuid(uuid):
    """
    :raise OpPrereqError: unless C{uuid} is a UUID string.
    """
    if not (isinstance(uuid, str) and _UUID_RE.match(uuid)):
        _invalid("Unable to parse UUID %r" % (uuid,))
    return uuid.lower()


def check_priority(priority):
    """
    :raise OpPrereqError: unless C{priority} is a non-negative integer.
    """
    if not ht.TNonNegativeInt(priority):
        _invalid("Filter priority must be a non-negative integer, got %r"
                 % (priority,))
    return priority


def check_action(action):
    """
    :return: the action in its stored form: one of L{SIMPLE_ACTIONS} or
        ``["RATE_LIMIT", n]``.
    :raise OpPrereqError: for anything else.
    """
    if isinstance(action, str) and action in SIMPLE_ACTIONS:
        return action
    if isinstance(action, (list, tuple)) and action and action[0] == RATE_LIMIT:
        if len(action) != 2 or not ht.TPositiveInt(action[1]):
            _invalid("RATE_LIMIT argument must be a positive integer, got %r"
                     % (list(action[1:]),))
        return [RATE_LIMIT, action[1]]
    _invalid("Invalid filter action %r; expected one of %s or"
             " [\"RATE_LIMIT\", n]" % (action, ", ".join(SIMPLE_ACTIONS)))


_REASON_ENTRY = ht.TTuple(ht.TString, ht.TString, ht.TInt)


def check_reason_trail(trail):
    """
    :return: a copy of the trail as ``[source, reason, timestamp_ns]`` lists.
    :raise OpPrereqError: for anything else.
    """
    if not isinstance(trail, (list, tuple)):
        _invalid("Filter reason trail must be a list, got %r" % (trail,))
    for entry in trail:
        if not _REASON_ENTRY(entry):
            _invalid("Invalid reason trail entry %r; expected [source, reason,"
                     " timestamp]" % (entry,))
    return [list(entry) for entry in trail]


def check_predicates(predicates):
    """
    Check predicates by compiling them (unknown predicate names, malformed
    expressions and fields a ``jobid`` or ``reason`` expression cannot
    have are refused here, not found later by the scheduler).

    :return: a copy of the predicates.
    :raise OpPrereqError: naming the offending predicate.
    """
    if not isinstance(predicates, (list, tuple)):
        _invalid("Filter predicates must be a list, got %r" % (predicates,))
    for predicate in predicates:
        _compile_predicate(predicate, 0)
    return [list(predicate) for predicate in predicates]


def make_rule(uuid, watermark, priority, predicates, action, reason_trail):
    """
    :return: a checked rule in its configuration form.
    :raise OpPrereqError: for any invalid part; the message says which.
    """
    return {
        "uuid": check_uuid(uuid),
        "watermark": watermark,
        "priority": check_priority(priority),
        "predicates": check_predicates(predicates),
        "action": check_action(action),
        "reason_trail": check_reason_trail(reason_trail),
    }


def with_rule(config, rule):
    """:return: C{config} with C{rule} added or replaced."""
    return attrs.evolve(config, filters=dict(config.filters,
                                             **{rule["uuid"]: rule}))


def without_rule(config, uuid):
    """
    :return: C{config} without the rule C{uuid}.
    :raise OpPrereqError: (``noent``) if there is no such rule.
    """
    if uuid not in config.filters:
        raise errors.OpPrereqError("Filter rule with UUID %s does not exist"
                                   % (uuid,), "noent")
    rest = dict(config.filters)
    del rest[uuid]
    return attrs.evolve(config, filters=rest)


# --- predicates ---------------------------------------------------------------

class _NoSuchField(Exception):
    """An opcode lacks a field the expression reads."""


def _dotted_getter(name):
    """:return: a getter following ``a.b.c`` into an opcode's parameters."""
    def get(ctx, op):
        value = op
        for key in name.split("."):
            if not isinstance(value, dict) or key not in value:
                raise _NoSuchField(name)
            value = value[key]
        return value
    return get


_JOBID_FIELDS = FieldSet([
    Field("id", "ID", QFT_NUMBER, "Job ID", lambda ctx, job: job.id)])

_REASON_FIELDS = FieldSet([
    Field("source", "Source", QFT_TEXT, "Reason source",
          lambda ctx, entry: entry[0]),
    Field("reason", "Reason", QFT_TEXT, "Reason text",
          lambda ctx, entry: entry[1]),
    Field("timestamp", "Timestamp", QFT_NUMBER, "Reason timestamp (ns)",
          lambda ctx, entry: entry[2]),
])


def _with_watermark(expr, watermark):
    """:return: C{expr} with every ``"watermark"`` value made a number."""
    if not isinstance(expr, list) or not expr:
        return expr
    if expr[0] in ("&", "|", "!"):
        return [expr[0]] + [_with_watermark(e, watermark) for e in expr[1:]]
    return [watermark if i == 2 and value == WATERMARK else value
            for i, value in enumerate(expr)]


def _holds(test, item):
    """
    :return: C{test} on C{item}; a missing field or a comparison of
        different types is simply "no match".
    """
    try:
        return test(None, item)
    except (_NoSuchField, errors.ParameterError):
        return False


def _compile_expression(fieldset, expr, name):
    if not isinstance(expr, list):
        _invalid("The '%s' predicate needs a filter expression (a list),"
                 " got %r" % (name, expr))
    try:
        return fieldset.compile_filter(expr)
    except (errors.ParseError, errors.ParameterError) as err:
        _invalid("Invalid expression in '%s' predicate: %s" % (name, err))


def _compile_predicate(predicate, watermark):
    """
    :return: C{matches(job) -> bool} for one ``[name, expression]``.
    :raise OpPrereqError: for an unknown name or a bad expression.
    """
    if not (isinstance(predicate, (list, tuple)) and predicate
            and isinstance(predicate[0], str)):
        _invalid("Malformed filter predicate %r: must be a list whose first"
                 " element names the predicate" % (predicate,))
    name = predicate[0]
    if name not in _PREDICATES:
        _invalid("Unknown filter predicate '%s'; expected one of %s"
                 % (name, ", ".join(sorted(_PREDICATES))))
    if len(predicate) != 2:
        _invalid("Filter predicate '%s' takes exactly one expression, got %r"
                 % (name, list(predicate[1:])))
    return _PREDICATES[name](predicate[1], watermark)


def _jobid_predicate(expr, watermark):
    test = _compile_expression(_JOBID_FIELDS,
                               _with_watermark(expr, watermark), "jobid")
    return lambda job: _holds(test, job)


def _opcode_predicate(expr, watermark):
    names = sorted(n for n in filter_fields(expr) if isinstance(n, str))
    fields = FieldSet([Field(n, n, QFT_OTHER, "", _dotted_getter(n))
                       for n in names])
    test = _compile_expression(fields, expr, "opcode")
    return lambda job: any(_holds(test, op.input) for op in job.ops)


def _reason_predicate(expr, watermark):
    test = _compile_expression(_REASON_FIELDS, expr, "reason")
    return lambda job: any(_holds(test, entry) for op in job.ops
                           for entry in op.input.get("reason") or ())


_PREDICATES = {
    "jobid": _jobid_predicate,
    "opcode": _opcode_predicate,
    "reason": _reason_predicate,
}


# --- compiled rules and one scheduling pass ---------------------------------------

@attrs.frozen
class Rule:
    """
    A rule ready to judge jobs.

    :ivar action: one of the action names (``RATE_LIMIT`` without its
        number, which is in C{limit}).
    """

    uuid: str
    priority: int
    watermark: int
    action: str
    limit: int
    _tests: tuple

    def matches(self, job):
        """:return: whether every predicate holds for C{job}."""
        return all(test(job) for test in self._tests)

    @property
    def order(self):
        """Sort key: Ganeti's evaluation order."""
        return (self.priority, self.watermark, self.uuid)


def compile_rule(data):
    """
    :param data: a rule in its configuration form.
    :return: the L{Rule}.
    :raise OpPrereqError: if the rule is invalid.
    """
    watermark = data.get("watermark")
    if not ht.TInt(watermark):
        _invalid("Filter watermark must be an integer, got %r" % (watermark,))
    action = check_action(data.get("action"))
    limit = action[1] if isinstance(action, list) else 0
    predicates = data.get("predicates")
    check_predicates(predicates)
    return Rule(uuid=str(data.get("uuid")),
                priority=check_priority(data.get("priority")),
                watermark=watermark,
                action=RATE_LIMIT if limit else action, limit=limit,
                tests=tuple(_compile_predicate(p, watermark)
                            for p in predicates))


def compile_rules(rules):
    """
    :param rules: the configuration's ``filters`` (uuid -> rule).
    :return: the valid rules in evaluation order.  An invalid rule (only
        a hand-edited configuration has one) is logged and skipped: it must
        not stop the whole queue.
    """
    compiled = []
    for uuid, data in rules.items():
        try:
            compiled.append(compile_rule(dict(data, uuid=uuid)))
        except errors.OpPrereqError as err:
            _log.error("ignoring invalid job filter rule {uuid}: {err}",
                       uuid=uuid, err=err)
    return sorted(compiled, key=lambda rule: rule.order)


class Admission:
    """
    The rules as one scheduling pass sees them: which rule applies to a
    job, and how many rate-limit slots are still free.

    :param rules: compiled rules in evaluation order.
    :param running: the jobs running (or waiting for locks) now; they
        occupy the slots of the rate-limit rules applying to them, even if
        they started before the rule existed.
    """

    def __init__(self, rules, running):
        self._rules = rules
        self._slots = {r.uuid: r.limit for r in rules if r.action == RATE_LIMIT}
        #: Whether any rule could cancel a job.
        self.may_reject = any(r.action == REJECT for r in rules)
        for job in running:
            rule = self.applying_rule(job)
            if rule is not None and rule.action == RATE_LIMIT:
                self._slots[rule.uuid] -= 1

    def applying_rule(self, job):
        """:return: the first matching rule that is not CONTINUE, or None."""
        for rule in self._rules:
            if rule.action != CONTINUE and rule.matches(job):
                return rule
        return None

    def decide(self, job, may_start):
        """
        Judge one queued job; a job told to start takes its rate-limit slot.

        :param may_start: whether the queue has a free slot at all.
        :return: ``(verdict, rule)``: L{ACCEPT} (start it now), L{PAUSE}
            (leave it queued) or L{REJECT} (cancel it), and the applying
            rule or None.
        """
        rule = self.applying_rule(job)
        if rule is None or rule.action == ACCEPT:
            return (ACCEPT if may_start else PAUSE), rule
        if rule.action == RATE_LIMIT:
            if may_start and self._slots[rule.uuid] > 0:
                self._slots[rule.uuid] -= 1
                return ACCEPT, rule
            return PAUSE, rule
        return rule.action, rule
