# -*- test-case-name: tests.test_cleaner -*-
"""
What expires on a node, and its removal: Ganeti's ``ganeti-cleaner``.

Two passes, named as Ganeti's command names them:

 - C{master}: archived jobs (``queue/archive/<n>/job-<id>``) whose file
   is older than L{JOB_AGE}.  On the master this is the archive itself;
   on a master candidate, the copies the master replicated to it.
 - C{node}: what a node keeps for a while and then no longer needs:
   watcher files of node groups no longer watched here, OS script logs,
   leftover staging directories of exports and imports, and temporary
   files a crash left behind in the middle of an atomic write.

Ages are those of the files' modification times, as in Ganeti.  An
archived job's file keeps the time of the job's last write (archiving
renames it), so its age is the time since the job ended.

Only files are removed from the archive, never its ``<n>`` directories:
the master (and on a candidate the node's writer thread) may be about to
archive a job into one at the moment it empties, and one directory per
10,000 jobs costs nothing.  Unarchived jobs (``queue/job-<id>``) are
never looked at.

The running master reads archived jobs lazily, one file at a time, and
skips one that is gone (L{ganeti.jobs.queue.JobQueue.get} raises
C{JobLost}, which listings skip), so removing files under it is safe;
each removal is a single C{unlink} (or, for a staging directory, a tree
no one writes into any more).

Everything here blocks on the disk: the daemon runs it in a thread
(L{ganeti.cleaner_service}), the ``ganeti-cleaner`` command
(L{ganeti.cli.cleaner}) directly.  Standard library only, so the command
starts fast.
"""

import os
import re
import shutil

import attrs

#: Seconds in a day.
DAY = 24 * 3600

#: Archived jobs older than this go (Ganeti's ``REMOVE_AFTER``, 21 days).
JOB_AGE = 21 * DAY

#: Watcher state and instance-status files not rewritten for this long
#: belong to a group no longer watched here (Ganeti: 21 days).  The
#: watcher rewrites the files of the groups it watches every run.
WATCHER_FILE_AGE = 21 * DAY

#: OS script logs older than this go: by then the jobs that name them
#: have left the archive too.
OS_LOG_AGE = JOB_AGE

#: Staging directories of exports and imports untouched for this long
#: belong to runs that died: a running one writes its dumps there.  A
#: week, as Ganeti's expiry of the certificates of imports and exports.
STAGING_AGE = 7 * DAY

#: Temporary files of atomic writes older than this were left by a crash
#: (a write takes seconds at most).
TEMPORARY_AGE = DAY

#: How many logs of its own the ``ganeti-cleaner`` command keeps per mode
#: (Ganeti's C{KEEP_LOGS}).
KEEP_LOGS = 50

#: The two passes, by their command-line names.
MODES = ("master", "node")

_JOB_FILE = re.compile(r"^job-[0-9]+$")
_WATCHER_FILE = re.compile(r"^watcher\.[A-Za-z0-9-]+\.(data|instance-status)$")
_OS_LOG = re.compile(r"^.+\.log$")
# Named by ganeti.utils.io.atomic_write: ".<name>.<random>.tmp".
_TEMPORARY = re.compile(r"^\..+\.tmp$")


@attrs.define
class Report:
    """
    The outcome of one pass.

    :ivar removed: the paths removed, in the order they went.
    :ivar failed: ``(path, error message)`` of what could not be removed.
    """

    removed: list = attrs.Factory(list)
    failed: list = attrs.Factory(list)

    def extend(self, other):
        """Add C{other}'s outcome to this one."""
        self.removed.extend(other.removed)
        self.failed.extend(other.failed)


def in_cluster(paths):
    """:return: whether this node belongs to a cluster (knows its master)."""
    return os.path.exists(paths.ssconf("master_node"))


def _entries(directory):
    """:return: the entries of C{directory}, sorted; none if it is missing."""
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _mtime(entry):
    """:return: an entry's modification time, None if it is gone."""
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:
        return None


def _older(entry, limit):
    mtime = _mtime(entry)
    return mtime is not None and mtime < limit


def _is_file(entry):
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _is_dir(entry):
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _remove_file(path, report):
    try:
        os.unlink(path)
    except FileNotFoundError:
        # Removed meanwhile (by a second cleaner): the goal is reached.
        return
    except OSError as e:
        report.failed.append((path, e.strerror or str(e)))
        return
    report.removed.append(path)


def _remove_tree(path, report):
    try:
        shutil.rmtree(path)
    except OSError as e:
        if os.path.lexists(path):
            report.failed.append((path, e.strerror or str(e)))
            return
    report.removed.append(path)


def _old_files(directory, pattern, limit, report):
    """Remove the files of C{directory} matching C{pattern} older than C{limit}."""
    for entry in _entries(directory):
        if (pattern.match(entry.name) and _is_file(entry)
                and _older(entry, limit)):
            _remove_file(entry.path, report)


# --- master -----------------------------------------------------------------


def prune_archive(paths, now, age=JOB_AGE):
    """
    Remove the archived jobs whose file is older than C{age}.

    :param paths: the node's L{ganeti.paths.Paths}.
    :param now: the current time (seconds since the epoch).
    :return: a L{Report}.
    """
    report = Report()
    limit = now - age
    for sub in _entries(paths.queue_archive_dir):
        if sub.name.isdigit() and _is_dir(sub):
            _old_files(sub.path, _JOB_FILE, limit, report)
    return report


def clean_master(paths, now):
    """
    The C{master} pass: prune this node's job archive, if the node is in
    a cluster (on a master candidate, the master's copies).

    :return: a L{Report}.
    """
    if not in_cluster(paths):
        return Report()
    return prune_archive(paths, now)


# --- node -------------------------------------------------------------------


def _stale_staging(directory, limit):
    """
    :return: whether nothing in a staging directory (nor the directory
        itself) changed since C{limit}; its dumps lie flat in it.
    """
    try:
        times = [os.lstat(directory).st_mtime]
    except FileNotFoundError:
        return False
    times.extend(t for t in map(_mtime, _entries(directory)) if t is not None)
    return max(times) < limit


def prune_staging(paths, now, age=STAGING_AGE):
    """
    Remove the hidden directories of the export directory (staging of
    exports, ``.export-*``, and imports, ``.import-*``, and replaced
    exports, ``.old-*``) in which nothing changed for C{age}.

    :return: a L{Report}.
    """
    report = Report()
    limit = now - age
    for entry in _entries(paths.export_dir):
        if (entry.name.startswith(".") and _is_dir(entry)
                and _stale_staging(entry.path, limit)):
            _remove_tree(entry.path, report)
    return report


def temporary_dirs(paths):
    """:return: the directories whose files are written atomically."""
    return [paths.data_dir, paths.queue_dir,
            os.path.dirname(paths.rapi_users), paths.conf_dir]


def clean_node(paths, now, archive=False):
    """
    The C{node} pass.

    :param archive: also prune the job archive (L{prune_archive}): the
        node daemon does so on nodes that are not the master, whose
        archive is pruned by the master's own pass.
    :return: a L{Report}.
    """
    report = Report()
    _old_files(paths.data_dir, _WATCHER_FILE, now - WATCHER_FILE_AGE, report)
    _old_files(paths.os_log_dir, _OS_LOG, now - OS_LOG_AGE, report)
    report.extend(prune_staging(paths, now))
    for directory in temporary_dirs(paths):
        _old_files(directory, _TEMPORARY, now - TEMPORARY_AGE, report)
    if archive and in_cluster(paths):
        report.extend(prune_archive(paths, now))
    return report


def clean(mode, paths, now):
    """
    :param mode: ``master`` or ``node`` (see L{MODES}).
    :return: the L{Report} of that pass, as ``ganeti-cleaner MODE`` runs it.
    """
    if mode == "master":
        return clean_master(paths, now)
    if mode == "node":
        return clean_node(paths, now)
    raise ValueError("unknown cleaner mode %r" % (mode,))


# --- the command's own logs ---------------------------------------------------


def log_dir(paths, mode):
    """
    :return: where ``ganeti-cleaner MODE`` keeps its logs (Ganeti's
        ``cleaner`` and ``master-cleaner`` directories).
    """
    return os.path.join(paths.log_dir,
                        "master-cleaner" if mode == "master" else "cleaner")


def prune_logs(directory, keep=KEEP_LOGS):
    """
    Keep the newest C{keep} files of a cleaner log directory (their names
    start with the time of their run, so they sort by age).

    :return: a L{Report}.
    """
    report = Report()
    files = [entry for entry in _entries(directory) if _is_file(entry)]
    for entry in files[:max(len(files) - keep, 0)]:
        _remove_file(entry.path, report)
    return report
