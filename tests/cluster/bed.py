# -*- test-case-name: tests.cluster.test_bed -*-
"""
A test bed of several Linux "hosts" on one machine, for cluster tests.

Cluster code has to be tested where it really runs: several nodes with
their own names, their own ``/var/lib/ganeti`` and a real sshd between them
(``gnt-node add`` over ssh, config replication, master failover).  Virtual
machines would make that slow, so each host here is a set of namespaces:

  - a network namespace whose ``eth0`` is one end of a veth pair, the other
    end sitting on a bridge that only the bed's hosts share.  Addresses come
    from the RFC 2544 benchmark range (``198.18.<k>.0/24``) and the bridge
    has no address of its own, so nothing leaves the bed;
  - a UTS namespace for the hostname (``node1.cluster.test``, ...);
  - a private mount namespace in which per-host directories are bind-mounted
    over Ganeti's directories, ``/etc/hosts``, ``/etc/hostname`` and root's
    ``~/.ssh``.

A "holder" process (``sleep infinity`` under ``unshare``) keeps the UTS and
mount namespaces alive between commands; commands enter all three with
``nsenter``.  Every host runs Debian's ``sshd`` on its address; root's key of
every host is authorized on every host and ``known_hosts`` is pre-filled, so
``ssh root@node2.cluster.test`` from node1 works without a prompt.

This is blocking fixture code (``subprocess``, ``time.sleep``); it is never
imported by the daemons.  Processes are found through pid files and the
namespaces they live in, never by name.  A state file in L{STATE_DIR}
records every resource a bed creates so that a later bed can remove what a
crashed run left behind, and nothing else.
"""

import atexit
import functools
import json
import os
import pwd
import random
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

#: Where beds record what they created (a tmpfs: gone after a reboot, as are
#: the network namespaces it describes).
STATE_DIR = "/run/ganeti-testbed"

#: Every bridge, veth and network namespace name starts with this followed by
#: the bed's random id, so a bed only ever removes names it made.
PREFIX = "gbr"

#: The DNS domain of the hosts; the cluster name is C{cluster.<domain>}.
DOMAIN = "cluster.test"

#: Directories every host gets a private copy of (bind mounts).  The runtime
#: directory is added below under both spellings when C{/var/run} is not a
#: link to C{/run}.
GANETI_DIRS = ("/etc/ganeti", "/var/lib/ganeti", "/var/run/ganeti",
               "/var/log/ganeti", "/srv/ganeti")

#: Where tools are looked up besides C{$PATH} (root's sbin dirs are not on
#: every PATH).
_EXTRA_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: How long to wait for sshd to write its pid file, and for killed
#: processes to go away.
_START_TIMEOUT = 10.0
_STOP_GRACE = 2.0


def _private_files():
    """
    Files every host gets a private copy of: its names, and Debian's
    daemon options if the machine has Ganeti's packages installed (a bind
    mount needs the file to exist).
    """
    files = ["/etc/hosts", "/etc/hostname"]
    if os.path.exists("/etc/default/ganeti"):
        files.append("/etc/default/ganeti")
    return tuple(files)


class BedError(Exception):
    """
    Building or using the bed failed; the message holds the failing
    command and its output.
    """


def _which(name):
    """
    :return: the absolute path of tool C{name}, or C{None}.
    """
    path = os.environ.get("PATH", "") + ":" + _EXTRA_PATH
    return shutil.which(name, path=path)


_TOOLS = ("ip", "unshare", "nsenter", "mount", "sshd", "ssh", "ssh-keygen")


def _tools():
    """
    :return: a dict of the tools the bed needs, name -> path (or C{None}).
    """
    return {name: _which(name) for name in _TOOLS}


@functools.lru_cache(maxsize=1)
def bed_available():
    """
    Tell whether this machine can build a bed, so tests can skip cleanly.

    Creating (and deleting) a throw-away network namespace is the only test
    that catches containers which forbid it.  The answer is cached.

    :return: C{None} when a bed can be built, else the reason it cannot.
    """
    if os.geteuid() != 0:
        return "the cluster test bed needs root (namespaces, bridges, sshd)"
    tools = _tools()
    missing = sorted(name for name, path in tools.items() if path is None)
    if missing:
        return ("the cluster test bed needs %s (tests/install-deps.sh "
                "installs them)" % ", ".join(missing))
    ip = tools["ip"]
    probe = "%sprobe%06x" % (PREFIX, random.getrandbits(24))
    # The bridge and veth are made inside the throw-away namespace, so the
    # probe never touches this machine's own interfaces.
    steps = [("create a network namespace", [ip, "netns", "add", probe]),
             ("create a bridge", [ip, "-n", probe, "link", "add", "b0",
                                  "type", "bridge"]),
             ("create a veth pair", [ip, "-n", probe, "link", "add", "v0",
                                     "type", "veth", "peer", "name", "v1"]),
             ("create UTS and mount namespaces",
              [tools["unshare"], "--uts", "--mount", "--propagation",
               "private", "true"])]
    try:
        for what, argv in steps:
            result = subprocess.run(argv, capture_output=True, text=True,
                                    stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                return "cannot %s: %s" % (
                    what, result.stderr.strip() or
                    "exit %d" % result.returncode)
    finally:
        subprocess.run([ip, "netns", "del", probe], capture_output=True)
    return None


def _run(argv, check=True, **kwargs):
    """
    Run a command in the machine's own namespaces.

    :return: the L{subprocess.CompletedProcess} (text output captured).
    :raise BedError: when C{check} and the command fails.
    """
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise BedError("%s failed (exit %d): %s" % (
            shlex.join(argv), result.returncode,
            (result.stderr or result.stdout).strip()))
    return result


def _proc_stat(pid):
    """
    :return: C{(state, start_time)} of process C{pid} from C{/proc}, or
        C{None} when there is no such process.  The start time (clock ticks
        since boot) tells a process from a later one that reused its pid.
    """
    try:
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])


def _start_time(pid):
    """
    :return: the start time of process C{pid}, or C{None}.
    """
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _alive(pid, start):
    """
    :return: whether process C{pid} still runs and is the one that started
        at C{start} (a zombie counts as gone).
    """
    stat = _proc_stat(pid)
    return stat is not None and stat[1] == start and stat[0] not in "ZX"


def _ns_id(path):
    """
    :return: C{(st_dev, st_ino)} of a namespace file (C{/proc/PID/ns/net},
        C{/run/netns/NAME}), or C{None} when it cannot be read.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _namespace_pids(namespaces):
    """
    List the processes living in any of the given namespaces.

    :param namespaces: C{(kind, ns_id)} pairs, C{kind} being C{"net"} or
        C{"mnt"} and C{ns_id} as returned by L{_ns_id}.
    :return: the pids, never including this process.
    """
    namespaces = [(kind, ns) for kind, ns in namespaces if ns is not None]
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for kind, ns in namespaces:
            if _ns_id("/proc/%s/ns/%s" % (entry, kind)) == ns:
                found.append(int(entry))
                break
    return found


def _signal(pid, sig):
    """
    Send C{sig} to C{pid}, ignoring a process that is already gone.
    """
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _stop(processes, grace=_STOP_GRACE):
    """
    Stop processes: SIGTERM, then SIGKILL for those still there after
    C{grace} seconds.

    :param processes: C{(pid, start_time)} pairs; a pid whose start time
        differs was reused by another process and is left alone.
    """
    processes = [(pid, start) for pid, start in processes
                 if _alive(pid, start)]
    for pid, _ in processes:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while processes and time.monotonic() < deadline:
        processes = [(p, s) for p, s in processes if _alive(p, s)]
        if processes:
            time.sleep(0.01)
    for pid, _ in processes:
        _signal(pid, signal.SIGKILL)


def _read_pid(path):
    """
    :return: the pid written in pid file C{path}, or C{None}.
    """
    try:
        with open(path) as pidfile:
            return int(pidfile.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _links():
    """
    :return: the names of the network interfaces of this namespace.
    """
    result = _run([_which("ip"), "-o", "link", "show"], check=False)
    names = []
    for line in result.stdout.splitlines():
        # "7: gbr12ab34v1@if2: <BROADCAST,..." -> "gbr12ab34v1"
        parts = line.split(":", 2)
        if len(parts) == 3:
            names.append(parts[1].strip().split("@")[0])
    return names


def _netns_names():
    """
    :return: the names of the named network namespaces (C{ip netns}).
    """
    try:
        return os.listdir("/run/netns")
    except OSError:
        return []


def _destroy(state, children=()):
    """
    Remove everything a bed's state says it created; every step tolerates
    resources that are already gone, so this is safe to repeat.

    Order matters: processes first (sshd by its pid file, then whatever else
    still lives in the hosts' namespaces, then the holders), then links and
    namespaces, then files.

    :param state: the bed's state (see L{Bed._state}).
    :param children: L{subprocess.Popen} objects of this process to reap.
    """
    ip = _which("ip")
    hosts = state.get("hosts", [])
    for _ in range(3):
        # Repeat in case something forked while it was being stopped.
        victims = []
        for host in hosts:
            sshd = _read_pid(host["sshd_pidfile"])
            net = _ns_id("/run/netns/" + host["netns"])
            holder = host.get("holder")
            mnt = None
            if holder and _alive(*holder):
                mnt = _ns_id("/proc/%d/ns/mnt" % holder[0])
            if sshd is not None and _ns_id("/proc/%d/ns/net" % sshd) == net:
                victims.append((sshd, _start_time(sshd)))
            for pid in _namespace_pids([("net", net), ("mnt", mnt)]):
                if not holder or pid != holder[0]:
                    victims.append((pid, _start_time(pid)))
        victims = [(p, s) for p, s in victims if s is not None]
        if not victims:
            break
        _stop(victims)
    _stop([tuple(host["holder"]) for host in hosts if host.get("holder")])
    for child in children:
        try:
            child.wait(timeout=_STOP_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    prefix = state["prefix"]
    links = _links()
    for name in [h["veth"] for h in hosts] + [state["bridge"]]:
        if name in links:
            _run([ip, "link", "del", name], check=False)
    for name in _links():
        # Anything else carrying this bed's unique prefix is ours too.
        if name.startswith(prefix):
            _run([ip, "link", "del", name], check=False)
    recorded = {h["netns"] for h in hosts}
    for name in _netns_names():
        if name in recorded or name.startswith(prefix):
            _run([ip, "netns", "del", name], check=False)
    if state.get("remove_workdir") and state.get("workdir"):
        shutil.rmtree(state["workdir"], ignore_errors=True)
    try:
        os.unlink(os.path.join(STATE_DIR, prefix + ".json"))
    except FileNotFoundError:
        pass


def _load_states():
    """
    :return: C{(path, state)} for every readable bed state file.
    """
    try:
        names = sorted(os.listdir(STATE_DIR))
    except OSError:
        return []
    states = []
    for name in names:
        if not (name.startswith(PREFIX) and name.endswith(".json")):
            continue
        path = os.path.join(STATE_DIR, name)
        try:
            with open(path) as f:
                states.append((path, json.load(f)))
        except (OSError, ValueError):
            continue
    return states


def cleanup_stale():
    """
    Remove what beds of dead processes left behind (a crashed or killed
    test run never reached its teardown).

    Only resources recorded in a state file, or named with that bed's own
    unique prefix, are touched; beds of live processes are left alone.

    :return: the prefixes of the beds that were cleaned up.
    """
    cleaned = []
    for _, state in _load_states():
        if _alive(state.get("owner_pid", 0), state.get("owner_start")):
            continue
        _destroy(state)
        cleaned.append(state["prefix"])
    return cleaned


class Host:
    """
    One host of a L{Bed}.

    :ivar index: 1-based number of the host.
    :ivar name: fully qualified host name, e.g. C{node1.cluster.test}.
    :ivar short_name: e.g. C{node1}.
    :ivar ip: the IPv4 address of its C{eth0}.
    :ivar netns: the name of its network namespace (C{ip netns}).
    :ivar root: the real directory holding its private files.
    :ivar root_paths: in-host path -> real path of every private directory
        or file (C{/etc/ganeti}, C{/var/lib/ganeti}, C{/etc/hosts}, ...).
    :ivar holder_pid: the pid whose namespaces commands enter.
    """

    def __init__(self, bed, index):
        self._bed = bed
        self.index = index
        self.short_name = "node%d" % index
        self.name = "%s.%s" % (self.short_name, bed.domain)
        self.ip = "%s.%d" % (bed.net_prefix, 10 + index)
        self.netns = "%s-%s" % (bed.prefix, self.short_name)
        self.veth = "%sv%d" % (bed.prefix, index)
        self.root = os.path.join(bed.workdir, self.short_name)
        self.holder_pid = None
        self._sshd = None
        self.holder_pidfile = os.path.join(self.root, "holder.pid")
        self.ssh_dir = os.path.join(self.root, "sshd")
        self.sshd_pidfile = os.path.join(self.ssh_dir, "sshd.pid")
        self.sshd_log = os.path.join(self.ssh_dir, "sshd.log")
        self.root_paths = {}
        for path in _private_dirs():
            self.root_paths[path] = os.path.join(self.root, path.lstrip("/"))
        if os.path.realpath("/var/run") != "/var/run":
            # /var/run/ganeti and /run/ganeti are one directory.
            real = os.path.realpath("/var/run") + "/ganeti"
            self.root_paths[real] = self.root_paths["/var/run/ganeti"]
        for path in _private_files():
            self.root_paths[path] = os.path.join(self.root, path.lstrip("/"))

    def __repr__(self):
        return "<Host %s %s>" % (self.name, self.ip)

    def spawn_args(self, argv, cwd=None):
        """
        Prefix a command so that it runs inside this host, e.g. for
        Twisted's C{reactor.spawnProcess(proto, args[0], args)}.

        :param cwd: the working directory inside the host, an absolute path
            (entering a mount namespace otherwise leaves the command in
            C{/}).
        :return: the new argv; its first element is an absolute path.
        """
        if self.holder_pid is None:
            raise BedError("%s is not running" % (self.name,))
        prefix = [_which("nsenter"), "--target=%d" % self.holder_pid,
                  "--mount", "--uts", "--net"]
        if cwd is not None:
            # nsenter opens the directory before it switches namespaces (in
            # util-linux 2.38); through the holder's root it is the host's.
            prefix.append("--wd=/proc/%d/root%s" % (
                self.holder_pid, os.path.join("/", cwd)))
        return prefix + ["--"] + list(argv)

    def run(self, argv, check=False, **kwargs):
        """
        Run a command inside this host and wait for it.

        Unlike L{subprocess.run}, stdin defaults to C{/dev/null} (an ssh
        must not eat the test runner's terminal), output is captured as text
        unless C{stdout}/C{stderr} are given, and C{timeout} defaults to 60 s
        so that a hung command fails the test instead of hanging it.

        :param kwargs: passed to L{subprocess.run}; C{cwd} is the directory
            inside the host.
        :return: the L{subprocess.CompletedProcess}.
        """
        cwd = kwargs.pop("cwd", None)
        if "input" not in kwargs:
            kwargs.setdefault("stdin", subprocess.DEVNULL)
        if not {"stdout", "stderr", "capture_output"} & set(kwargs):
            kwargs["capture_output"] = True
        if not {"encoding", "errors", "universal_newlines"} & set(kwargs):
            kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", 60)
        return subprocess.run(self.spawn_args(argv, cwd), check=check,
                              **kwargs)

    def popen(self, argv, **kwargs):
        """
        Start a command inside this host without waiting for it.

        The caller owns the L{subprocess.Popen}; whatever still runs in the
        host at teardown is stopped anyway.  stdin defaults to C{/dev/null}.

        :param kwargs: passed to L{subprocess.Popen}; C{cwd} is the
            directory inside the host.
        """
        cwd = kwargs.pop("cwd", None)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.spawn_args(argv, cwd), **kwargs)

    def ssh_args(self, target, argv, connect_timeout=5):
        """
        :param target: a L{Host} or a name/address to log in to as root.
        :param argv: the remote command, quoted for the remote shell here.
        :return: the argv of an ssh from this host (to pass to L{run}) that
            never prompts and gives up connecting after C{connect_timeout}
            seconds.
        """
        if isinstance(target, Host):
            target = target.name
        return ["ssh", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=%d" % connect_timeout,
                "root@%s" % (target,), "--", shlex.join(argv)]

    def ssh(self, target, argv, connect_timeout=5, **kwargs):
        """
        Run C{argv} as root on C{target} over ssh from this host.

        :return: the L{subprocess.CompletedProcess} of the ssh (see L{run}).
        """
        return self.run(self.ssh_args(target, argv, connect_timeout),
                        **kwargs)

    def real_path(self, path):
        """
        :return: where in-host C{path} is on the real filesystem: below
            L{root} for the private directories, else through the holder's
            C{/proc/PID/root} (which resolves in its mount namespace).
        """
        path = os.path.normpath(path)
        for inside in sorted(self.root_paths, key=len, reverse=True):
            if path == inside or path.startswith(inside + "/"):
                return self.root_paths[inside] + path[len(inside):]
        if self.holder_pid is None:
            raise BedError("%s is not running" % (self.name,))
        return "/proc/%d/root%s" % (self.holder_pid, path)

    def owns_pid(self, pid):
        """
        :return: whether process C{pid} runs inside this host (its network
            or mount namespace).
        """
        mine = [(_ns_id("/run/netns/" + self.netns), "net")]
        if self.holder_pid is not None:
            mine.append((_ns_id("/proc/%d/ns/mnt" % self.holder_pid), "mnt"))
        return any(ns is not None and
                   _ns_id("/proc/%d/ns/%s" % (pid, kind)) == ns
                   for ns, kind in mine)

    def pidfile_kill(self, path, sig=signal.SIGTERM):
        """
        Signal the process named by a pid file of this host.

        A pid that does not belong to a process of this host (stale file,
        reused pid) is not signalled.

        :param path: the pid file, as seen inside the host (e.g.
            C{/var/run/ganeti/ganeti.pid}) or a real path.
        :return: the pid signalled, or C{None}.
        """
        pid = _read_pid(self.real_path(path))
        if pid is None or not self.owns_pid(pid):
            return None
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return None
        return pid

    def cut_link(self):
        """
        Take this host's C{eth0} down: from now on its peers' packets go
        nowhere (their connections time out) until L{restore_link}.
        """
        self._bed._ip("-n", self.netns, "link", "set", "eth0", "down")

    def restore_link(self):
        """
        Bring C{eth0} back up after L{cut_link}; addresses and the subnet
        route come back with it.
        """
        self._bed._ip("-n", self.netns, "link", "set", "eth0", "up")


def _private_dirs():
    """
    :return: the in-host directories that are private to each host.
    """
    return GANETI_DIRS + (os.path.join(pwd.getpwuid(0).pw_dir, ".ssh"),)


class Bed:
    """
    Several hosts on one private bridge; see the module docstring.

    Use as a context manager (or call L{start} and L{teardown})::

        with Bed(3) as bed:
            node1, node2, node3 = bed.hosts
            node1.ssh(node2, ["hostname"]).stdout

    L{teardown} also runs at interpreter exit if it was forgotten.

    :ivar hosts: the L{Host}s, C{node1} first.
    :ivar prefix: the unique prefix of the bed's interface and namespace
        names (also the bridge's name).
    :ivar net_prefix: the first three octets of the subnet, e.g.
        C{"198.18.42"}; hosts are C{.11}, C{.12}, ...
    :ivar cluster_name: C{cluster.<domain>}, listed in every C{/etc/hosts}.
    :ivar cluster_ip: its address, C{<net_prefix>.2}, not assigned to any
        host (a master adds it).
    :ivar workdir: the real directory holding all hosts' files.
    """

    prefixlen = 24

    def __init__(self, count=3, workdir=None, domain=DOMAIN, sshd=True):
        """
        :param count: the number of hosts.
        :param workdir: a directory for the hosts' files; it is kept after
            teardown (for the logs).  By default a temporary one is made and
            removed.
        :param domain: the hosts' DNS domain.
        :param sshd: whether to start an sshd on every host.
        """
        if count < 1:
            raise ValueError("a bed needs at least one host")
        self.count = count
        self.domain = domain
        self.sshd = sshd
        self._given_workdir = workdir
        self.hosts = []
        self._children = []
        self._state = None
        self._started = False
        self._torn_down = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.teardown()
        return False

    def __getitem__(self, name):
        """
        :return: the L{Host} with this short or full name, or this index
            into L{hosts}.
        """
        if isinstance(name, int):
            return self.hosts[name]
        for host in self.hosts:
            if name in (host.name, host.short_name):
                return host
        raise KeyError(name)

    @property
    def bridge(self):
        """
        The name of the bridge joining the hosts.
        """
        return self.prefix

    @property
    def subnet(self):
        """
        The hosts' subnet in CIDR notation.
        """
        return "%s.0/%d" % (self.net_prefix, self.prefixlen)

    def _ip(self, *args):
        """
        Run C{ip} with C{args} in the machine's namespaces.

        :raise BedError: when it fails.
        """
        return _run([self._tools["ip"]] + list(args))

    def start(self):
        """
        Build the bed: bridge, hosts, keys, sshds.

        On any failure everything built so far is removed before the error
        propagates.

        :return: C{self}.
        :raise BedError: when the machine cannot host a bed, or a step
            fails.
        """
        if self._started:
            raise BedError("a bed starts only once")
        reason = bed_available()
        if reason is not None:
            raise BedError(reason)
        self._started = True
        self._tools = _tools()
        cleanup_stale()
        self._choose_names()
        atexit.register(self.teardown)
        try:
            self._save_state()
            self._make_files()
            self._make_bridge()
            for host in self.hosts:
                self._make_host(host)
            if self.sshd:
                self._start_sshds()
        except BaseException:
            self.teardown()
            raise
        return self

    def _choose_names(self):
        """
        Pick a random id and /24 not used by a live bed nor by this
        machine's interfaces, then plan the hosts.
        """
        used = {s.get("net_prefix") for _, s in _load_states()}
        addresses = _run([self._tools["ip"], "-4", "-o", "addr", "show"],
                         check=False).stdout
        links = set(_links()) | set(_netns_names())
        while True:
            prefix = "%s%06x" % (PREFIX, random.getrandbits(24))
            net_prefix = "198.18.%d" % random.randrange(256)
            if (net_prefix not in used and net_prefix + "." not in addresses
                    and not any(n.startswith(prefix) for n in links)):
                break
        self.prefix = prefix
        self.net_prefix = net_prefix
        self.cluster_name = "cluster.%s" % (self.domain,)
        self.cluster_ip = "%s.2" % (net_prefix,)
        if self._given_workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="ganeti-bed-%s-" % prefix)
        else:
            self.workdir = os.path.abspath(self._given_workdir)
            os.makedirs(self.workdir, exist_ok=True)
        self.hosts = [Host(self, i) for i in range(1, self.count + 1)]
        self._state = {
            "prefix": prefix,
            "net_prefix": net_prefix,
            "owner_pid": os.getpid(),
            "owner_start": _start_time(os.getpid()),
            "bridge": prefix,
            "workdir": self.workdir,
            "remove_workdir": self._given_workdir is None,
            "hosts": [{"name": h.name, "netns": h.netns, "veth": h.veth,
                       "sshd_pidfile": h.sshd_pidfile, "holder": None}
                      for h in self.hosts],
        }

    def _save_state(self):
        """
        Write the state file (atomically) so that a later run can clean up
        after this one if it dies before its teardown.
        """
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
        path = os.path.join(STATE_DIR, self.prefix + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(self._state, f, indent=1)
        os.replace(path + ".tmp", path)

    def _make_files(self):
        """
        Create every host's private directories and files, and the mount
        points they go on (the mount points stay behind, empty, on the real
        filesystem: removing one would also remove the mounts of a
        concurrently running bed).
        """
        hosts_file = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost",
                      "%s\t%s %s" % (self.cluster_ip, self.cluster_name,
                                     self.cluster_name.split(".")[0])]
        for host in self.hosts:
            hosts_file.append("%s\t%s %s" % (host.ip, host.name,
                                             host.short_name))
        for host in self.hosts:
            for inside, real in host.root_paths.items():
                if inside in _private_files():
                    os.makedirs(os.path.dirname(real), exist_ok=True)
                    # Empty unless written below: e.g. the machine's own
                    # /etc/default/ganeti must not configure the hosts.
                    open(real, "w").close()
                    continue
                os.makedirs(real, mode=0o700 if inside.endswith("/.ssh")
                            else 0o755, exist_ok=True)
                os.makedirs(os.path.realpath(inside), exist_ok=True)
            with open(host.root_paths["/etc/hosts"], "w") as f:
                f.write("\n".join(hosts_file) + "\n")
            with open(host.root_paths["/etc/hostname"], "w") as f:
                f.write(host.name + "\n")
            os.makedirs(host.ssh_dir, mode=0o700, exist_ok=True)
        # sshd's privilege separation directory (Debian's init script makes
        # it at boot; here sshd was never started by init).
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)

    def _make_bridge(self):
        """
        Create the bridge, without an address: the machine itself takes no
        part in the bed's traffic.
        """
        self._ip("link", "add", "name", self.bridge, "type", "bridge")
        # Bridged frames must not go through this machine's firewall
        # (br_netfilter); older kernels may not know the option.
        _run([self._tools["ip"], "link", "set", self.bridge, "type", "bridge",
              "nf_call_iptables", "0", "nf_call_ip6tables", "0",
              "nf_call_arptables", "0"], check=False)
        _disable_ipv6(self.bridge)
        self._ip("link", "set", self.bridge, "up")

    def _make_host(self, host):
        """
        Create one host: network namespace and veth, holder, mounts,
        hostname, address, root's ssh key.
        """
        self._ip("netns", "add", host.netns)
        self._ip("link", "add", host.veth, "type", "veth",
                 "peer", "name", "eth0", "netns", host.netns)
        _disable_ipv6(host.veth)
        self._ip("link", "set", host.veth, "master", self.bridge, "up")
        self._start_holder(host)
        mounts = []
        done = set()
        for inside, real in sorted(host.root_paths.items()):
            target = os.path.realpath(inside)
            if target not in done:
                done.add(target)
                mounts.append("mount --bind %s %s" % (shlex.quote(real),
                                                      shlex.quote(target)))
        script = "\n".join(["set -e"] + mounts + [
            "echo %s > /proc/sys/kernel/hostname" % shlex.quote(host.name),
            # No IPv6 chatter (router solicitations, DAD) on the wire.
            "echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6 || true",
            "%s link set lo up" % self._tools["ip"],
            "%s addr add %s/%d dev eth0" % (self._tools["ip"], host.ip,
                                            self.prefixlen),
            "%s link set eth0 up" % self._tools["ip"],
        ])
        result = host.run(["/bin/sh", "-c", script])
        if result.returncode != 0:
            raise BedError("setting up %s failed: %s" % (
                host.name, result.stderr.strip()))
        _run([self._tools["ssh-keygen"], "-q", "-t", "ed25519", "-N", "",
              "-C", "root@" + host.name,
              "-f", os.path.join(host.root_paths[_ssh_dir()], "id_ed25519")])

    def _start_holder(self, host):
        """
        Start the process whose UTS and mount namespaces (and network
        namespace, entered first) make up the host; record its pid.

        The holder prints a line once C{unshare} made the namespaces, so no
        command can race into the machine's own namespaces.
        """
        proc = subprocess.Popen(
            [self._tools["nsenter"], "--net=/run/netns/" + host.netns, "--",
             self._tools["unshare"], "--uts", "--mount",
             "--propagation", "private", "--",
             "/bin/sh", "-c",
             "echo ready && exec sleep infinity </dev/null >/dev/null 2>&1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        self._children.append(proc)
        ready = proc.stdout.readline().strip()
        proc.stdout.close()
        if ready != "ready":
            error = proc.stderr.read().strip()
            proc.wait()
            raise BedError("the namespace holder of %s failed: %s" % (
                host.name, error or "exit %s" % proc.returncode))
        proc.stderr.close()
        host.holder_pid = proc.pid
        with open(host.holder_pidfile, "w") as f:
            f.write("%d\n" % proc.pid)
        self._record(host, "holder", [proc.pid, _start_time(proc.pid)])

    def _record(self, host, key, value):
        """
        Record a new resource of C{host} in the state file.
        """
        self._state["hosts"][host.index - 1][key] = value
        self._save_state()

    def _start_sshds(self):
        """
        Authorize every root key everywhere, pre-fill C{known_hosts}, and
        start one sshd per host; return once all of them listen.
        """
        keygen = self._tools["ssh-keygen"]
        authorized, known = [], []
        for host in self.hosts:
            key = os.path.join(host.ssh_dir, "ssh_host_ed25519_key")
            _run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", host.name,
                  "-f", key])
            with open(key + ".pub") as f:
                kind, blob = f.read().split()[:2]
            known.append("%s,%s,%s %s %s" % (host.name, host.short_name,
                                             host.ip, kind, blob))
            with open(os.path.join(host.root_paths[_ssh_dir()],
                                   "id_ed25519.pub")) as f:
                authorized.append(f.read().strip())
        for host in self.hosts:
            ssh_dir = host.root_paths[_ssh_dir()]
            for name, lines in (("authorized_keys", authorized),
                                ("known_hosts", known),
                                ("config", _SSH_CONFIG)):
                path = os.path.join(ssh_dir, name)
                with open(path, "w") as f:
                    f.write("\n".join(lines) + "\n")
                os.chmod(path, 0o600)
            config = os.path.join(host.ssh_dir, "sshd_config")
            with open(config, "w") as f:
                f.write(_SSHD_CONFIG % {
                    "ip": host.ip, "dir": host.ssh_dir,
                    "pidfile": host.sshd_pidfile,
                    "use_pam": "yes" if _root_locked() else "no"})
            log = open(host.sshd_log, "ab")
            with log:
                proc = host.popen([self._tools["sshd"], "-D", "-f", config,
                                   "-E", host.sshd_log],
                                  stdout=log, stderr=log,
                                  start_new_session=True)
            self._children.append(proc)
            host._sshd = proc
        deadline = time.monotonic() + _START_TIMEOUT
        for host in self.hosts:
            proc = host._sshd
            while _read_pid(host.sshd_pidfile) != proc.pid:
                if proc.poll() is not None or time.monotonic() > deadline:
                    with open(host.sshd_log, errors="replace") as f:
                        log = f.read().strip()
                    raise BedError("sshd of %s did not start: %s" % (
                        host.name, log or "exit %s" % proc.returncode))
                time.sleep(0.01)

    def teardown(self):
        """
        Stop every process of the bed's hosts, remove the veths, bridge and
        namespaces, the temporary workdir and the state file.

        Safe to call more than once, and a no-op in a forked child (which
        must not tear down its parent's bed).
        """
        if self._torn_down or not self._started:
            return
        if self._state is not None and self._state["owner_pid"] != os.getpid():
            return
        self._torn_down = True
        atexit.unregister(self.teardown)
        if self._state is not None:
            _destroy(self._state, self._children)
        for host in self.hosts:
            host.holder_pid = None


def _ssh_dir():
    """
    :return: root's C{~/.ssh} (a key of L{Host.root_paths}).
    """
    return os.path.join(pwd.getpwuid(0).pw_dir, ".ssh")


def _root_locked():
    """
    :return: whether root's password is locked (C{!} in C{/etc/shadow}).
        sshd without PAM refuses even key logins for such an account, so
        the bed then lets PAM decide.
    """
    try:
        with open("/etc/shadow") as f:
            for line in f:
                fields = line.split(":")
                if fields[0] == "root":
                    return fields[1].startswith("!")
    except OSError:
        pass
    return False


def _disable_ipv6(interface):
    """
    Turn IPv6 off on one of the machine's interfaces so that it sends
    nothing on its own (best effort: IPv6 may be absent).
    """
    try:
        with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % interface,
                  "w") as f:
            f.write("1\n")
    except OSError:
        pass


#: root's ssh client settings on every host: never prompt, fail fast.
_SSH_CONFIG = [
    "Host *",
    "    BatchMode yes",
    "    ConnectTimeout 5",
    "    StrictHostKeyChecking yes",
    "    HashKnownHosts no",
]

#: sshd settings of every host; C{%(use_pam)s} see L{_root_locked}.
_SSHD_CONFIG = """\
# Written by tests/cluster/bed.py.
ListenAddress %(ip)s:22
HostKey %(dir)s/ssh_host_ed25519_key
PidFile %(pidfile)s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM %(use_pam)s
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
"""


if __name__ == "__main__":
    # python -m tests.cluster.bed: remove leftovers of crashed runs.
    for name in cleanup_stale():
        print("removed leftovers of bed %s" % (name,))
