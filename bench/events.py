#!/usr/bin/env python3
"""
Benchmark of the job event stream (``GET /2/jobs/events``) on a
throw-away one-node cluster: how soon a job's events reach a client of
the stream over HTTPS, and how long the replay of a full queue takes.
Prints one line per figure.  Run as root from the checkout after
./setup-venv.sh:  .venv/bin/python bench/events.py
"""

import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from common import NODE_IP, compile_tools, private_root, run  # noqa: E402


class Stream(threading.Thread):
    """Reads the event stream, noting when each job's end arrived."""

    def __init__(self, path="/2/jobs/events", headers=None):
        threading.Thread.__init__(self, daemon=True)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.connection = http.client.HTTPSConnection(NODE_IP, 5080,
                                                      context=context)
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()
        self.ended = {}
        self.count = 0
        self.changed = threading.Condition()

    def run(self):
        event = data = None
        for raw in self.response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif not line and event is not None:
                with self.changed:
                    self.count += 1
                    if (event == "status" and data["status"]
                            in ("success", "error", "canceled")):
                        self.ended[data["job_id"]] = time.perf_counter()
                    self.changed.notify_all()
                event = None

    def wait(self, condition, timeout=60):
        with self.changed:
            if not self.changed.wait_for(condition, timeout):
                sys.exit("the stream never showed what was expected")


def main():
    compile_tools()
    root, env = private_root("ganeti-bench-events-",
                             "127.0.100.3 bench-cluster.example.com")
    run(env, "gnt-cluster", "init", "--enabled-hypervisors=fake",
        "--enabled-disk-templates=diskless", "--master-netdev=lo",
        "--no-etc-hosts", "bench-cluster.example.com")
    os.environ.update(GANETI_ROOT=root,
                      GANETI_HOSTNAME=env["GANETI_HOSTNAME"])
    from ganeti.cli import base
    client = base.get_client()
    delay = {"OP_ID": "OP_TEST_DELAY", "duration": 0.001}
    try:
        stream = Stream()
        stream.start()
        latencies = []
        for _ in range(100):
            start = time.perf_counter()
            job_id = client.call("SubmitJob", [dict(delay)])
            stream.wait(lambda: job_id in stream.ended)
            latencies.append(stream.ended[job_id] - start)
        latencies.sort()
        print("job submitted (LUXI) to its end on the stream, 100 jobs one"
              " at a time: median %.1f ms, 90th percentile %.1f ms"
              % (statistics.median(latencies) * 1000,
                 latencies[89] * 1000))
        ops = os.path.join(root, "ops.json")
        with open(ops, "w") as f:
            json.dump([delay], f)
        before = stream.count
        start = time.perf_counter()
        run(env, "gnt-debug", "submit-job", "--job-repeat", "1000", ops)
        stream.wait(lambda: stream.count - before >= 4000)
        print("1000 jobs by submit-job --job-repeat: %d events followed in"
              " %.2f s" % (stream.count - before,
                           time.perf_counter() - start))
        start = time.perf_counter()
        replay = Stream()
        replay.start()
        jobs = len(run(env, "gnt-job", "list", "--no-headers").splitlines())
        replay.wait(lambda: len(replay.ended) >= jobs)
        print("replay of a queue of %d jobs to a new client: %d events in"
              " %.2f s" % (jobs, replay.count, time.perf_counter() - start))
    finally:
        run(env, "gnt-cluster", "destroy", "--yes-do-it", check=False)
        subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
