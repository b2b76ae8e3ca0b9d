# -*- test-case-name: tests.test_daemon -*-
"""
Where every file of a node lives, all derived from one root directory.

Production nodes use ``/``; tests and the demo give each node its own root
(``--root DIR`` or ``GANETI_ROOT``) so several nodes fit on one machine.
"""

import os

ROOT_ENV = "GANETI_ROOT"

#: Where instance allocators are looked for: Ganeti's configure-time
#: directories, then Debian's versioned one, where ``ganeti-htools-3.0``
#: alone (without the ``ganeti`` package's symlinks) puts ``hail``.
IALLOCATOR_DIRS = ("/usr/lib/ganeti/iallocators",
                   "/usr/local/lib/ganeti/iallocators",
                   "/usr/lib/ganeti/3.0/usr/lib/ganeti/iallocators")


def default_root():
    """
    :return: the root named by ``GANETI_ROOT``, else ``/``.
    """
    return os.environ.get(ROOT_ENV) or "/"


class Paths:
    """
    The file layout of one node below C{root}.

    Attribute names follow Ganeti's ``pathutils`` where one exists.
    """

    def __init__(self, root=None):
        self.root = os.path.abspath(root or default_root())
        j = self._join
        self.data_dir = j("var/lib/ganeti")
        self.run_dir = j("var/run/ganeti")
        self.log_dir = j("var/log/ganeti")
        self.conf_dir = j("etc/ganeti")
        self.config_data = os.path.join(self.data_dir, "config.data")
        self.server_pem = os.path.join(self.data_dir, "server.pem")
        self.rapi_pem = os.path.join(self.data_dir, "rapi.pem")
        self.rapi_users = os.path.join(self.data_dir, "rapi", "users")
        self.rapi_tokens = os.path.join(self.data_dir, "rapi", "tokens")
        self.queue_dir = os.path.join(self.data_dir, "queue")
        self.queue_archive_dir = os.path.join(self.queue_dir, "archive")
        self.queue_serial = os.path.join(self.queue_dir, "serial")
        self.queue_drain = os.path.join(self.queue_dir, "drain")
        self.socket_dir = os.path.join(self.run_dir, "socket")
        self.master_socket = os.path.join(self.socket_dir, "ganeti-master")
        self.pid_file = os.path.join(self.run_dir, "ganeti.pid")
        self.daemon_log = os.path.join(self.log_dir, "ganeti.log")
        self.commands_log = os.path.join(self.log_dir, "commands.log")
        self.os_log_dir = os.path.join(self.log_dir, "os")
        #: Ganeti's LOG_ES_DIR: one log file per ExtStorage script run.
        self.extstorage_log_dir = os.path.join(self.log_dir, "extstorage")
        self.hooks_dir = os.path.join(self.conf_dir, "hooks")
        self.external_master_setup_script = os.path.join(
            self.conf_dir, "scripts", "master-ip-setup")
        self.os_search_path = [j("srv/ganeti/os")]
        #: Ganeti's ES_SEARCH_PATH: where ExtStorage providers live.
        self.extstorage_search_path = [j("srv/ganeti/extstorage")]
        self.iallocator_search_path = self._search_path(IALLOCATOR_DIRS)
        self.file_storage_dir = j("srv/ganeti/file-storage")
        self.shared_file_storage_dir = j("srv/ganeti/shared-file-storage")
        self.export_dir = j("srv/ganeti/export")
        self.etc_hosts = j("etc/hosts")
        #: root's keys, which ``gnt-cluster verify --verify-ssh-clutter``
        #: reads (a node below a private root keeps its own).
        self.authorized_keys = (os.path.expanduser("~root/.ssh/authorized_keys")
                                if self.root == "/"
                                else j("root/.ssh/authorized_keys"))
        #: Debian's daemon options file (``RAPI_ARGS=...``).
        self.daemon_defaults = j("etc/default/ganeti")

    def _join(self, relative):
        return os.path.join(self.root, relative)

    def _search_path(self, directories):
        """
        :return: C{directories} below the root, then (for a test or demo
            root) the system's own, so tools installed by packages such
            as htools' ``hail`` are found by every node.
        """
        below = [self._join(d.lstrip("/")) for d in directories]
        if self.root == "/":
            return below
        return below + [d for d in directories if d not in below]

    def ssconf(self, key):
        """
        :return: the path of the ssconf file for C{key}.
        """
        return os.path.join(self.data_dir, "ssconf_" + key)

    def job_file(self, job_id):
        """
        :return: the path of an unarchived job's file.
        """
        return os.path.join(self.queue_dir, "job-%d" % job_id)

    def archived_job_file(self, job_id):
        """
        :return: where an archived job lives (Ganeti's ``id // 10000`` dirs).
        """
        return os.path.join(self.queue_archive_dir, str(job_id // 10000),
                            "job-%d" % job_id)

    def cluster_dirs(self):
        """
        :return: the directories a cluster node needs, parents first.
        """
        return [self.data_dir, self.queue_dir, self.queue_archive_dir,
                self.socket_dir, self.log_dir, self.os_log_dir,
                self.conf_dir, os.path.dirname(self.rapi_users)]
