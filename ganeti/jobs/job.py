# -*- test-case-name: tests.test_jobqueue -*-
"""
A job and its opcodes as the queue keeps them, and as they are stored.

Jobs change state many times, so unlike config objects they are mutable;
only the queue mutates them, and it saves the job after every change.
The stored form is Ganeti's job file JSON.
"""

from ganeti import opcodes

QUEUED = "queued"
WAITING = "waiting"
CANCELING = "canceling"
RUNNING = "running"
CANCELED = "canceled"
SUCCESS = "success"
ERROR = "error"

FINALIZED = frozenset([CANCELED, SUCCESS, ERROR])
ALL_STATUSES = (QUEUED, WAITING, CANCELING, RUNNING, CANCELED, SUCCESS, ERROR)

#: Log entry types.
LOG_MESSAGE = "message"


def split_time(seconds):
    """:return: Ganeti's ``[seconds, microseconds]`` timestamp pair."""
    whole = int(seconds)
    return [whole, int(round((seconds - whole) * 1000000))]


def join_time(pair):
    """:return: float seconds from a ``[seconds, microseconds]`` pair."""
    if pair is None:
        return None
    return pair[0] + pair[1] / 1000000.0


def job_status(op_statuses):
    """
    A job's status from its opcodes' as Ganeti derives it: the first
    failed or cancelled opcode decides, else the first one that is
    waiting or running, else queued (or success when all are).

    :param op_statuses: the opcodes' statuses, in order.
    """
    current = QUEUED
    all_success = True
    for status in op_statuses:
        if status in (ERROR, CANCELING, CANCELED):
            return status
        if status != SUCCESS:
            all_success = False
            if status in (WAITING, RUNNING) and current == QUEUED:
                current = status
    return SUCCESS if all_success else current


class QueuedOpCode:
    """One opcode of a job and what became of it."""

    __slots__ = ("input", "status", "result", "log", "priority",
                 "start_timestamp", "exec_timestamp", "end_timestamp")

    def __init__(self, op):
        self.input = op
        self.status = QUEUED
        self.result = None
        self.log = []
        self.priority = op.get("priority", 0)
        self.start_timestamp = None
        self.exec_timestamp = None
        self.end_timestamp = None

    def to_dict(self):
        """:return: the stored form."""
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data):
        """:return: an opcode from its stored form."""
        op = cls(data["input"])
        for name in cls.__slots__[1:]:
            if name in data:
                setattr(op, name, data[name])
        return op


class QueuedJob:
    """
    A job: opcodes run in order, plus timestamps.

    :ivar archived: True when read from the archive (not stored).
    """

    __slots__ = ("id", "ops", "received_timestamp", "start_timestamp",
                 "end_timestamp", "archived", "log_serial")

    def __init__(self, job_id, ops, received):
        self.id = job_id
        self.ops = [QueuedOpCode(op) for op in ops]
        self.received_timestamp = received
        self.start_timestamp = None
        self.end_timestamp = None
        self.archived = False
        self.log_serial = 0

    def to_dict(self):
        """:return: the stored form (Ganeti's job file)."""
        return {
            "id": self.id,
            "ops": [op.to_dict() for op in self.ops],
            "received_timestamp": self.received_timestamp,
            "start_timestamp": self.start_timestamp,
            "end_timestamp": self.end_timestamp,
        }

    @classmethod
    def from_dict(cls, data, archived=False):
        """:return: a job from its stored form."""
        job = cls(int(data["id"]), [], data.get("received_timestamp"))
        job.ops = [QueuedOpCode.from_dict(op) for op in data["ops"]]
        job.start_timestamp = data.get("start_timestamp")
        job.end_timestamp = data.get("end_timestamp")
        job.archived = archived
        job.log_serial = max([entry[0] for op in job.ops for entry in op.log],
                             default=0)
        return job

    @property
    def status(self):
        """
        The job's status, derived from its opcodes' (L{job_status}).
        """
        return job_status(op.status for op in self.ops)

    @property
    def finalized(self):
        """True once the job can change no more."""
        return self.status in FINALIZED

    @property
    def priority(self):
        """The most urgent priority of the unfinished opcodes (else 0)."""
        return min((op.priority for op in self.ops if op.status not in FINALIZED),
                   default=0)

    def pending_ops(self):
        """:return: the opcodes not yet finished, in order."""
        return [op for op in self.ops if op.status not in FINALIZED]

    def finish_pending(self, status, result, now, rest_result=None):
        """
        Give every unfinished opcode a final C{status}: the first gets
        C{result}, the following ones C{rest_result} (default: the same).

        Ganeti marks all opcodes after a failed one as failed too, so a job
        never has a finished opcode after an unfinished one.
        """
        for index, op in enumerate(self.pending_ops()):
            op.status = status
            op.result = result if index == 0 or rest_result is None else rest_result
            op.end_timestamp = now
        self.end_timestamp = now

    def add_log(self, op, message, now, log_type=LOG_MESSAGE):
        """
        Append a feedback message to C{op}'s log.

        :return: the new log entry ``[serial, timestamp, type, message]``.
        """
        self.log_serial += 1
        entry = [self.log_serial, now, log_type, message]
        op.log.append(entry)
        return entry

    def log_entries(self, after_serial=0):
        """:return: all log entries with a serial above C{after_serial}."""
        return [entry for op in self.ops for entry in op.log
                if entry[0] > after_serial]

    def summary(self):
        """:return: one summary word per opcode, e.g. ``TEST_DELAY(1.0)``."""
        return [opcodes.summary(op.input) for op in self.ops]

    def field(self, name):
        """
        The value of one query field (``gnt-job list -o``).

        :raise KeyError: for an unknown field.
        """
        return _FIELD_GETTERS[name](self)


_FIELD_GETTERS = {
    "id": lambda j: j.id,
    "status": lambda j: j.status,
    "priority": lambda j: j.priority,
    "archived": lambda j: j.archived,
    "ops": lambda j: [op.input for op in j.ops],
    "opresult": lambda j: [op.result for op in j.ops],
    "opstatus": lambda j: [op.status for op in j.ops],
    "oplog": lambda j: [op.log for op in j.ops],
    "opstart": lambda j: [op.start_timestamp for op in j.ops],
    "opexec": lambda j: [op.exec_timestamp for op in j.ops],
    "opend": lambda j: [op.end_timestamp for op in j.ops],
    "oppriority": lambda j: [op.priority for op in j.ops],
    "summary": lambda j: j.summary(),
    "received_ts": lambda j: j.received_timestamp,
    "start_ts": lambda j: j.start_timestamp,
    "end_ts": lambda j: j.end_timestamp,
}

#: Every job field name.
FIELDS = tuple(_FIELD_GETTERS)
