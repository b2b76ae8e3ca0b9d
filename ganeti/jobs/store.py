# -*- test-case-name: tests.test_jobqueue -*-
"""
How jobs reach the disk and the master candidates: the files
``queue/job-<id>``, ``queue/serial`` and the archive
``queue/archive/<id // 10000>/job-<id>``.

Apart from L{ganeti.jobs.queue} so that the queue reads as job states,
scheduling and acknowledgements, with the file layout, the order of
writes and the replication in one place.  Writes go through the queue's
C{write} (the daemon's thread pool); the reads here happen at start-up or
for one archived job, a few small local files.
"""

import json
import os

from twisted.internet.defer import Deferred, DeferredList
from twisted.logger import Logger
from twisted.python.failure import Failure

from ganeti.jobs.job import QueuedJob
from ganeti.utils.io import atomic_write, remove_file, sync_directory

_log = Logger()


def job_id_from_name(name):
    """
    :return: the id in a job file's name ``job-<id>``, or None if C{name}
        is not a job file's.
    """
    if name.startswith("job-") and name[4:].isdigit():
        return int(name[4:])
    return None


def encode(job):
    """:return: the content of C{job}'s file, as bytes."""
    return json.dumps(job.to_dict(), separators=(",", ":")).encode()


def read_job(path, archived=False):
    """
    :return: the L{QueuedJob} stored in C{path}, or None if there is no
        such file or it is corrupt (which is logged).
    """
    try:
        with open(path, "rb") as f:
            return QueuedJob.from_dict(json.loads(f.read()), archived)
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        _log.failure("job file {path} is corrupt; ignoring it", path=path)
        return None


class JobFiles:
    """
    The queue's files, written in order and copied to the candidates.

    :param paths: the node's L{ganeti.paths.Paths}.
    :param write: ``write(function, *args, **kwargs) -> Deferred``, as
        the queue's.
    :ivar replicator: told of every job write and archive (the master's
        replicator), or None.
    """

    def __init__(self, paths, write):
        self._paths = paths
        self._write = write
        self.replicator = None
        # Key (a job id, or "serial") -> Deferred firing when its last
        # write so far has landed.
        self._tails = {}
        # Key -> the L{_Write} waiting for the previous one of that key.
        self._waiting = {}

    # --- reading ------------------------------------------------------------

    def read_serial(self):
        """:return: the last job id handed out (0 without ``queue/serial``)."""
        try:
            with open(self._paths.queue_serial) as f:
                return int(f.read().strip() or 0)
        except FileNotFoundError:
            return 0

    def unarchived_ids(self):
        """:return: the ids of the job files in the queue directory."""
        for name in os.listdir(self._paths.queue_dir):
            job_id = job_id_from_name(name)
            if job_id is not None:
                yield job_id

    def archived_ids(self):
        """:return: the ids of the job files in the archive."""
        try:
            subdirs = os.listdir(self._paths.queue_archive_dir)
        except FileNotFoundError:
            return
        for sub in subdirs:
            path = os.path.join(self._paths.queue_archive_dir, sub)
            for name in os.listdir(path):
                job_id = job_id_from_name(name)
                if job_id is not None:
                    yield job_id

    def read(self, job_id, archived=False):
        """:return: the job in its file (or its archived one), or None."""
        if archived:
            return read_job(self._paths.archived_job_file(job_id), True)
        return read_job(self._paths.job_file(job_id))

    # --- writing ------------------------------------------------------------

    def rewrite_now(self, job):
        """Rewrite a job at start-up (before the reactor serves anyone)."""
        data = encode(job)
        atomic_write(self._paths.job_file(job.id), data, flush_directory=False)
        self.replicate(job.id, data)

    def replicate(self, job_id, data):
        """:return: a Deferred firing once the candidates have the job."""
        if self.replicator is None:
            return None
        d = self.replicator.job_changed(job_id, data)
        if d is not None:
            d.addErrback(lambda f: _log.failure(
                "replicating job {job_id}", f, job_id=job_id))
        return d

    def write_new(self, job):
        """
        :return: a Deferred firing once a submitted job's file is written
            (not yet replicated, nor its name flushed: see
            L{flush_directory}).
        """
        return self._ordered_write(job.id, atomic_write,
                                   self._paths.job_file(job.id), encode(job),
                                   flush_directory=False)

    def write(self, job, fsync=True):
        """
        Write the job's current state, after any earlier write of the same
        job (so the newest state always lands last), then copy it to the
        candidates.

        :param fsync: flush the file to the disk.  Without it the new state
            survives a crash of the master (the kernel has it) but maybe not
            a power loss; always atomic either way.
        :return: a Deferred firing once this state is written, and for a
            final state also copied to the candidates.
        """
        data = encode(job)
        d = self._ordered_write(job.id, atomic_write,
                                self._paths.job_file(job.id), data,
                                fsync=fsync, flush_directory=False)
        result = Deferred()

        def landed(_):
            # Final states reach the candidates before anyone hears.
            replication = self.replicate(job.id, data)
            if replication is not None and job.finalized:
                replication.addBoth(lambda _: result.callback(None))
            else:
                result.callback(None)

        def failed(failure):
            _log.failure("could not write job {job_id}", failure,
                         job_id=job.id)
            result.errback(failure)
        d.addCallbacks(landed, failed)
        return result

    def write_serial(self, last_id):
        """:return: a Deferred firing once ``queue/serial`` says C{last_id}."""
        return self._ordered_write("serial", atomic_write,
                                   self._paths.queue_serial,
                                   b"%d\n" % last_id)

    def flush_directory(self):
        """
        :return: a Deferred firing once the queue directory is flushed, so
            that the names of the new job files are durable.
        """
        return self._write(sync_directory, self._paths.queue_dir)

    def remove(self, job_id):
        """:return: a Deferred firing once a job's file is removed."""
        return self._ordered_write(job_id, remove_file,
                                   self._paths.job_file(job_id))

    def archive(self, job_id):
        """
        Move a job's file into the archive, unless a write of it has not
        landed yet (it would land after the move).

        :return: whether it was moved.
        """
        if job_id in self._tails:
            return False
        target = self._paths.archived_job_file(job_id)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(self._paths.job_file(job_id), target)
        if self.replicator is not None:
            d = self.replicator.job_archived(job_id)
            if d is not None:
                d.addErrback(lambda f: _log.failure("replicating archive", f))
        return True

    def landed(self):
        """:return: a Deferred firing once every write in flight has landed."""
        return DeferredList(list(self._tails.values()))

    def _ordered_write(self, key, function, *args, **kwargs):
        """
        Run C{function} through C{write} once the previous write of C{key}
        has landed.

        A write still waiting for its turn is superseded by a newer one of
        the same kind (each holds a file's whole new content): the newer
        content is written once, flushed if either asked for it, and both
        callers hear when it lands.  A queue busier than its writer then
        writes a job's latest state rather than every state it passed.

        :return: a Deferred with the outcome of this write.
        """
        waiting = self._waiting.get(key)
        if waiting is not None and waiting.function is function:
            return waiting.supersede(args, kwargs)
        write = _Write(function, args, kwargs)
        previous = self._tails.get(key)
        link = Deferred()
        self._tails[key] = link

        def landed(outcome):
            if self._tails.get(key) is link:
                del self._tails[key]
            link.callback(None)
            write.landed(outcome)

        def start(_):
            if self._waiting.get(key) is write:
                del self._waiting[key]
            self._write(write.function, *write.args,
                        **write.kwargs).addBoth(landed)

        result = write.caller()
        if previous is None:
            start(None)
        else:
            self._waiting[key] = write
            previous.addCallback(start)
        return result


class _Write:
    """One write of a file, and the callers waiting for it to land."""

    def __init__(self, function, args, kwargs):
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self._callers = []

    def caller(self):
        """:return: a Deferred with this write's outcome."""
        d = Deferred()
        self._callers.append(d)
        return d

    def supersede(self, args, kwargs):
        """
        Write C{args} instead; a flush either write asked for is kept.

        :return: a Deferred with the outcome.
        """
        merged = dict(kwargs)
        for flag in ("fsync", "flush_directory"):
            if self.kwargs.get(flag, True) or kwargs.get(flag, True):
                merged.pop(flag, None)
        self.args, self.kwargs = args, merged
        return self.caller()

    def landed(self, outcome):
        for d in self._callers:
            if isinstance(outcome, Failure):
                d.errback(outcome)
            else:
                d.callback(outcome)
