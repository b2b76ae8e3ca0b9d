"""
The RAPI fuzz of ``tests/test_rapi_fuzz.py`` as a script: the same
seeded requests against the real RAPI over real TLS in this process, and
the figures per category (requests, 2xx, 4xx, 5xx, 501, drops, hangs,
refused requests that changed the master's state, error answers not in
Ganeti's JSON form).  The trial test asserts the bad figures are zero;
this prints them, and the failing requests with ``-v``.

    .venv/bin/python bench/rapi_fuzz.py [-v] [CATEGORY...]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests import test_rapi_fuzz as fuzz  # noqa: E402

COLUMNS = ["requests", "2xx", "4xx", "5xx", "501", "drops", "hangs",
           "state_changes", "non_json_errors"]
#: Column headings: refused requests that changed state, error answers
#: whose body is not Ganeti's JSON error.
HEADINGS = ["requests", "2xx", "4xx", "5xx", "501", "drops", "hangs",
            "changed", "non-JSON"]


def main(reactor, argv):
    from twisted.internet import defer
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list the failing requests")
    parser.add_argument("category", nargs="*",
                        help="only these categories (default: all)")
    args = parser.parse_args(argv)
    categories = [c for c in fuzz.CATEGORIES
                  if not args.category or c[0] in args.category]
    start = time.perf_counter()
    requests = fuzz.generate_requests(categories)
    generated = time.perf_counter()
    temporary = fuzz.TemporaryPaths()
    target = fuzz.FuzzTarget(temporary, reactor)

    @defer.inlineCallbacks
    def run():
        outcomes = yield fuzz.run_fuzz(target, requests)
        yield target.close()
        temporary.cleanup()
        sent = time.perf_counter()
        print("%-16s" % "category" + "".join("%9s" % h for h in HEADINGS))
        for name, _, _ in categories:
            counts = fuzz.figures([o for o in outcomes
                                   if o.request.category == name])
            print("%-16s" % name + "".join("%9d" % counts[c]
                                           for c in COLUMNS))
        counts = fuzz.figures(outcomes)
        print("%-16s" % "total" + "".join("%9d" % counts[c] for c in COLUMNS))
        print("generated in %.1f s, sent in %.1f s" % (
            generated - start, sent - generated))
        if args.verbose:
            for o in fuzz.failures(outcomes):
                print("%s -> %s %s %r" % (o.request.describe(), o.kind,
                                          o.status, o.body[:200]))
    return run()


if __name__ == "__main__":
    from twisted.internet.task import react
    react(main, (sys.argv[1:],))
