#!/usr/bin/env python3
"""
Benchmark of the RAPI on a throw-away one-node cluster with 50, then
1,000 fake instances: request latency and throughput with concurrent
keep-alive clients.  Prints one line per figure.  Run as root from the
checkout after ./setup-venv.sh:  .venv/bin/python bench/rapi.py

Throughput is measured with client *processes* (Python threads would share
one interpreter lock and measure the client), and with ``wrk`` too when it
is installed (``apt-get install wrk``): the server has one reactor thread,
so on a 2-core machine the client's own CPU use decides how much is left
for the server.
"""

import http.client
import json
import multiprocessing
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from common import compile_tools, private_root, run  # noqa: E402
from instances import add_many  # noqa: E402

ADDRESS = "127.0.101.9"
PORT = 5080


class Target:
    """Where the RAPI under test listens, and the headers every request
    carries (e.g. credentials for a RAPI that requires them)."""

    def __init__(self, address=ADDRESS, port=PORT, headers=None):
        self.address = address
        self.port = port
        self.headers = dict(headers or {})


OURS = Target()


def basic_auth(user, password):
    """:return: the headers of an HTTP basic authentication."""
    import base64
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def connection(target=OURS):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(target.address, target.port,
                                       context=context, timeout=30)


def get(conn, path, target=OURS):
    conn.request("GET", path, headers=target.headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        sys.exit("GET %s: %d %s" % (path, response.status, data[:200]))
    return data


def latency(path, count=101, target=OURS):
    conn = connection(target)
    get(conn, path, target)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        get(conn, path, target)
        times.append(time.perf_counter() - start)
    conn.close()
    return statistics.median(times)


def new_connection_latency(path, resume, count=101, target=OURS):
    """
    :return: the median time of one request on a new TLS connection
        (``Connection: close``), the previous connection's session offered
        for resumption or not, and how many connections resumed one.
    """
    import socket
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n"
               % (path, target.address, "".join(
                   "%s: %s\r\n" % h for h in target.headers.items()))
               ).encode()
    session, times, reused = None, [], 0
    for _ in range(count + 1):
        start = time.perf_counter()
        with context.wrap_socket(
                socket.create_connection((target.address, target.port)),
                session=session if resume else None) as tls:
            tls.sendall(request)
            answer = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                answer += chunk
            if not answer.startswith(b"HTTP/1.1 200"):
                sys.exit("GET %s: %r" % (path, answer[:200]))
            times.append(time.perf_counter() - start)
            reused += tls.session_reused  # never the first
            session = tls.session
    return statistics.median(times[1:]), reused


def print_new_connection_figures(target=OURS):
    """The two figures of L{new_connection_latency}, in one wording."""
    for resume, how in [(False, "full handshake"),
                        (True, "previous session offered")]:
        median, reused = new_connection_latency("/2/info", resume,
                                                target=target)
        print("GET /2/info on a new TLS connection, %s: median %.1f ms"
              " (%d of 101 resumed)" % (how, median * 1000, reused))


def _count_requests(args):
    path, deadline, target = args
    conn = connection(target)
    count = 0
    while time.time() < deadline:
        get(conn, path, target)
        count += 1
    conn.close()
    return count


def throughput(path, clients=16, seconds=5.0, target=OURS):
    """Requests/s of C{clients} processes, one keep-alive connection each."""
    with multiprocessing.Pool(clients) as pool:
        start = time.time()
        deadline = start + seconds
        counts = pool.map(_count_requests, [(path, deadline, target)] * clients)
        return sum(counts) / (time.time() - start)


def wrk_throughput(path, clients=16, seconds=5, target=OURS):
    """:return: wrk's requests/s, or None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    headers = []
    for name, value in target.headers.items():
        headers += ["-H", "%s: %s" % (name, value)]
    out = subprocess.run(["wrk", "-t2", "-c%d" % clients, "-d%ds" % seconds]
                         + headers + ["https://%s:%d%s" % (target.address,
                                                            target.port, path)],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def tag_job_latency(auth, count=20, target=OURS):
    """
    :param auth: the headers of a user with write access.
    :return: the median seconds from submitting a cluster tag-add job to
        seeing it succeed, polling its status over the same connection.
    """
    conn = connection(target)
    times = []
    for i in range(count):
        start = time.perf_counter()
        conn.request("PUT", "/2/tags?tag=t%d" % i,
                     headers=dict(target.headers, **auth))
        job_id = json.loads(conn.getresponse().read())
        while True:
            conn.request("GET", "/2/jobs/%d" % int(job_id),
                         headers=target.headers)
            status = json.loads(conn.getresponse().read())["status"]
            if status == "success":
                break
            if status in ("error", "canceled"):
                sys.exit("tag add job %s: %s" % (job_id, status))
        times.append(time.perf_counter() - start)
    conn.close()
    return statistics.median(times)


def main():
    compile_tools()
    root, env = private_root("gnt-rb-", "127.0.100.4 bench-rapi.example.com")
    run(env, "gnt-cluster", "init", "--enabled-hypervisors=fake",
        "--enabled-disk-templates=diskless", "--master-netdev=lo",
        "--no-etc-hosts", "bench-rapi.example.com")
    try:
        add_many(root, 50, "inst")
        print("GET /2/info, 50 instances: median %.1f ms"
              % (latency("/2/info") * 1000))
        print("GET /2/instances?bulk=1, 50 instances: median %.1f ms"
              % (latency("/2/instances?bulk=1") * 1000))
        print_new_connection_figures()
        # The same with Ganeti's kind of certificate (RSA 2048), given to
        # the running RAPI as an operator would.
        from ganeti import crypto
        rsa_pem = os.path.join(root, "rsa.pem")
        with open(rsa_pem, "wb") as f:
            f.write(crypto.generate_self_signed_pem("bench-rapi.example.com"))
        run(env, "gnt-cluster", "renew-crypto", "--force",
            "--rapi-certificate", rsa_pem)
        median, _ = new_connection_latency("/2/info", False)
        print("GET /2/info on a new TLS connection, full handshake, RSA-2048"
              " certificate: median %.1f ms" % (median * 1000))
        print("GET /2/info, 16 keep-alive client processes: %.0f requests/s"
              % throughput("/2/info"))
        rate = wrk_throughput("/2/info")
        if rate is not None:
            print("GET /2/info, wrk with 16 keep-alive connections: %.0f"
                  " requests/s" % rate)
        print("GET /2/instances?bulk=1, 8 client processes: %.0f requests/s"
              % throughput("/2/instances?bulk=1", clients=8))
        users = os.path.join(root, "var/lib/ganeti/rapi/users")
        with open(users, "w") as f:
            f.write("admin secret write\n")
        print("RAPI tag add job, submission to success seen: median %.1f ms"
              % (tag_job_latency(basic_auth("admin", "secret")) * 1000))
        add_many(root, 950, "more")
        print("GET /2/instances?bulk=1, 1000 instances: median %.1f ms"
              % (latency("/2/instances?bulk=1", count=21) * 1000))
        print("GET /2/instances, 1000 instances: median %.1f ms"
              % (latency("/2/instances", count=21) * 1000))
    finally:
        run(env, "ganeti-daemon", "stop", check=False)
        from ganeti import bootstrap, config
        from ganeti.paths import Paths
        paths = Paths(root)
        bootstrap.destroy_cluster(paths, config.load(paths.config_data))
        subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
