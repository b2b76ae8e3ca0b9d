"""
Hostile requests against the real RAPI: a property-based fuzz.

Hypothesis generates requests (seeded, so every run sends the same ones)
in the categories of L{CATEGORIES}: malformed JSON, wrong types in the
bodies of instance creation and modification, bodies of 1 to 20 MB,
content types, unknown paths, path traversal, very long names, non-ASCII,
NUL and invalid UTF-8, odd methods, malformed credentials, junk query
arguments, tags and job ids.  Each request goes as raw bytes over real
TLS to the RAPI site listening on the loopback, in front of the real
master (L{tests.util.local_cluster}, on a L{Clock}, so no job progresses
behind the fuzz's back).

Each answer is classified: a complete HTTP answer with its status, a
dropped connection (closed before a complete answer) or a hung request
(no complete answer within L{TIMEOUT}).  Around every request the master's
configuration and job list are compared, so a request refused with a 4xx
or 5xx that still changed something is caught.  ``bench/rapi_fuzz.py``
runs the same requests and prints the figures.
"""

import base64
import json
import os
import re
import shutil
import tempfile

import attrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from twisted.internet import defer, task
from twisted.internet.endpoints import SSL4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import CertificateOptions
from twisted.trial import unittest

from ganeti import crypto
from ganeti.master.luxi import LuxiHandler
from ganeti.rapi import server
from tests.util import SETTINGS, local_cluster

#: Seconds without a complete answer after which a request counts as hung.
TIMEOUT = 20.0

INSTANCE = "inst1.example.com"
NODE = SETTINGS["node_name"]
GROUP = "default"

#: Users of the fuzzed RAPI, and their Basic credentials.
USERS = "admin adminpw write\nreader readpw read\n"
ADMIN = b"Basic " + base64.b64encode(b"admin:adminpw")


@attrs.frozen
class Request:
    """
    One request as it goes on the wire.

    :ivar category: the L{CATEGORIES} name that made it.
    :ivar method: the method token (bytes, possibly garbage).
    :ivar target: the request target (bytes, possibly garbage).
    :ivar headers: ``(name, value)`` byte pairs besides Host, Connection
        and Content-Length.
    :ivar body: the body bytes.
    :ivar length: the Content-Length header to send, None for the body's
        length (none at all without a body), -1 for none.
    """

    category: str
    method: bytes
    target: bytes
    headers: tuple = ()
    body: bytes = b""
    length: object = None

    def to_bytes(self):
        """:return: the whole request as bytes."""
        lines = [self.method + b" " + self.target + b" HTTP/1.1",
                 b"Host: rapi.example.com", b"Connection: close"]
        lines.extend(name + b": " + value for name, value in self.headers)
        length = self.length
        if length is None and self.body:
            length = len(self.body)
        if length is not None and length >= 0:
            lines.append(b"Content-Length: %d" % length)
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body

    def describe(self, limit=160):
        """:return: a short text naming the request, for failure reports."""
        text = "%s %r %r headers=%r body=%d bytes" % (
            self.category, self.method[:40], self.target[:limit],
            [(name, value[:limit]) for name, value in self.headers
             if value != ADMIN], len(self.body))
        if self.body and len(self.body) < limit:
            text += " %r" % (self.body,)
        return text


def _json_headers(*extra):
    return ((b"Content-Type", b"application/json"),) + tuple(extra)


def _admin(*extra):
    return _json_headers((b"Authorization", ADMIN), *extra)


# --- values -----------------------------------------------------------------

#: Any JSON value, small.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() |
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: (st.lists(children, max_size=4) |
                      st.dictionaries(st.text(max_size=10), children,
                                      max_size=4)),
    max_leaves=8)

#: Text with the awkward characters: NUL, controls, non-ASCII, astral.
nasty_text = st.text(
    alphabet=st.sampled_from("\x00\x01\n\r\t %/?#&=.:;\\\"'<>{}[]"
                             "aZ09-_éß€\u202e\ufeff\U0001f600"),
    max_size=30)


def _quote_bytes(data):
    """Percent-encode every byte of C{data} that is not plain."""
    return re.sub(rb"[^A-Za-z0-9._~-]",
                  lambda m: b"%%%02X" % m.group(0)[0], data)


#: Write resources that read a JSON body: (method, path).
BODY_RESOURCES = [
    (b"POST", b"/2/instances"),
    (b"PUT", b"/2/instances/%s/modify" % INSTANCE.encode()),
    (b"POST", b"/2/instances-multi-alloc"),
    (b"PUT", b"/2/instances/%s/shutdown" % INSTANCE.encode()),
    (b"POST", b"/2/instances/%s/reinstall" % INSTANCE.encode()),
    (b"PUT", b"/2/instances/%s/rename" % INSTANCE.encode()),
    (b"PUT", b"/2/instances/%s/migrate" % INSTANCE.encode()),
    (b"POST", b"/2/instances/%s/disk/0/grow" % INSTANCE.encode()),
    (b"POST", b"/2/groups"),
    (b"PUT", b"/2/groups/%s/modify" % GROUP.encode()),
    (b"PUT", b"/2/groups/%s/assign-nodes" % GROUP.encode()),
    (b"POST", b"/2/nodes/%s/modify" % NODE.encode()),
    (b"PUT", b"/2/nodes/%s/role" % NODE.encode()),
    (b"POST", b"/2/nodes/%s/evacuate" % NODE.encode()),
    (b"PUT", b"/2/modify"),
    (b"PUT", b"/2/query/instance"),
    (b"POST", b"/2/filters"),
    (b"GET", b"/2/jobs/1/wait"),
]

#: Read resources anybody may GET.
READ_PATHS = [b"/", b"/version", b"/2", b"/2/info", b"/2/features", b"/2/os",
              b"/2/tags", b"/2/nodes", b"/2/instances", b"/2/groups",
              b"/2/jobs", b"/2/filters",
              b"/2/instances/" + INSTANCE.encode(),
              b"/2/nodes/" + NODE.encode(), b"/2/groups/" + GROUP.encode(),
              b"/2/query/instance/fields", b"/2/jobs/1"]


# --- categories -------------------------------------------------------------

@st.composite
def malformed_json(draw):
    """Bodies that are not JSON, or JSON that breaks parsers."""
    method, path = draw(st.sampled_from(BODY_RESOURCES))
    valid = json.dumps(draw(json_values)).encode()
    body = draw(st.one_of(
        st.binary(min_size=1, max_size=200),
        st.just(valid[:max(1, len(valid) // 2)]),
        st.just(valid + b" " + draw(st.binary(min_size=1, max_size=8))),
        st.integers(10, 200000).map(lambda n: b"[" * n),
        st.integers(10, 200000).map(lambda n: b'{"a":' * n),
        st.integers(4000, 20000).map(lambda n: b"1" * n),
        st.sampled_from([b"NaN", b"-Infinity", b'{"a": NaN}',
                         b"\xef\xbb\xbf{}",
                         b'{"a": "\\ud800"}', b'"\\u0000"', b"{'a': 1}",
                         b"[1,]", b"{,}", b"nul", b"tru", b"\x00",
                         b'{"__version__": 1, "name": "\xff\xfe"}']),
        st.text(max_size=40).map(lambda t: t.encode("utf-16"))))
    return Request("malformed_json", method, path, _admin(), body)


#: A creation body that would create a diskless instance.
CREATE_BODY = {"__version__": 1, "name": "new1.example.com", "mode": "create",
               "disk_template": "diskless", "disks": [], "nics": [{}],
               "pnode": NODE, "hypervisor": "fake", "os": "",
               "no_install": True, "start": False, "name_check": False,
               "ip_check": False}

#: Parameters of instance creation and modification, with values of the
#: wrong type for each.
CREATE_KEYS = sorted(CREATE_BODY) + [
    "beparams", "hvparams", "osparams", "iallocator", "snode", "src_node",
    "file_storage_dir", "tags", "wait_for_sync", "conflicts_check",
    "dry_run", "priority", "depends", "reason", "OP_ID", "instance_name",
    "os_type", "identify_defaults", "opportunistic_locking"]
MODIFY_KEYS = [
    "beparams", "hvparams", "custom_beparams", "custom_hvparams", "osparams",
    "osparams_private", "nics", "disks", "disk_template", "os_name",
    "offline", "force", "force_variant", "runtime_mem", "pnode",
    "remote_node", "iallocator", "conflicts_check", "wait_for_sync",
    "hotplug", "hotplug_if_possible", "instance_name", "dry_run", "reason",
    "priority", "depends", "OP_ID", "comment"]

wrong_values = st.one_of(
    json_values, nasty_text,
    st.sampled_from([None, True, False, 0, -1, 2 ** 63, 1e308, -0.0, "", [],
                     {}, [[]], [{}], [None], {"": None}, "x" * 5000,
                     [["add", {}]], [[0, {"size": "big"}]], {"maxmem": "a"},
                     {"memory": -5}, [["add", -1, {}]], [[1, 2, 3]]]))


@st.composite
def create_types(draw):
    """Creation bodies with some parameters of the wrong type."""
    body = dict(CREATE_BODY)
    keys = draw(st.lists(st.sampled_from(CREATE_KEYS), min_size=1,
                         max_size=4, unique=True))
    for key in keys:
        body[key] = draw(wrong_values)
    data = draw(st.one_of(
        st.just(body),
        st.sampled_from([[], "x", 1, None, [CREATE_BODY], True])))
    query = draw(st.sampled_from([b"", b"?dry-run=1", b"?dry-run=0"]))
    return Request("create_types", b"POST", b"/2/instances" + query, _admin(),
                   json.dumps(data).encode())


@st.composite
def modify_types(draw):
    """Modification bodies with parameters of the wrong type."""
    keys = draw(st.lists(st.sampled_from(MODIFY_KEYS), min_size=1,
                         max_size=4, unique=True))
    body = {key: draw(wrong_values) for key in keys}
    data = draw(st.one_of(
        st.just(body), st.sampled_from([[], "x", 1, None, [body], False])))
    name = draw(st.sampled_from([INSTANCE, "missing.example.com"]))
    return Request("modify_types", b"PUT",
                   b"/2/instances/%s/modify" % name.encode(), _admin(),
                   json.dumps(data).encode())


@st.composite
def big_bodies(draw):
    """Bodies of 1 to 20 MB: JSON, or junk, to anybody or to a user."""
    size = draw(st.integers(1, 20)) * 1024 * 1024 + draw(st.integers(0, 999))
    kind = draw(st.sampled_from(["string", "list", "junk"]))
    if kind == "string":
        body = b'"' + b"x" * (size - 2) + b'"'
    elif kind == "list":
        body = b"[" + b"1," * ((size - 3) // 2) + b"1]"
    else:
        body = bytes(range(256)) * (size // 256)
    method, path = draw(st.sampled_from(BODY_RESOURCES[:4]))
    headers = draw(st.sampled_from([_admin(), _json_headers(), ()]))
    return Request("big_bodies", method, path, headers, body)


@st.composite
def content_types(draw):
    """Valid bodies under every kind of Content-Type."""
    method, path = draw(st.sampled_from(BODY_RESOURCES))
    ctype = draw(st.one_of(
        st.sampled_from([b"text/plain", b"application/x-www-form-urlencoded",
                         b"multipart/form-data; boundary=x", b"",
                         b"application/json; charset=latin-1",
                         b"APPLICATION/JSON", b"application/json;",
                         b"application/jsonx", b"application/json\x00",
                         b"application/\xff\xfe", b"*/*", b";;;",
                         b"application/json, text/plain"]),
        st.binary(max_size=30).filter(lambda b: b"\r" not in b and
                                      b"\n" not in b)))
    twice = draw(st.booleans())
    headers = ((b"Content-Type", ctype),)
    if twice:
        headers += ((b"Content-Type", b"application/json"),)
    headers += ((b"Authorization", ADMIN),)
    body = json.dumps(draw(st.sampled_from([{}, {"a": 1}, CREATE_BODY])))
    return Request("content_types", method, path, headers, body.encode())


@st.composite
def unknown_paths(draw):
    """Paths no route serves, by every method."""
    segments = draw(st.lists(
        st.text(alphabet="abcxyz0129-_.~", min_size=0, max_size=12),
        min_size=1, max_size=6))
    prefix = draw(st.sampled_from(["", "/2", "/3",
                                   "/2/instances/%s" % INSTANCE,
                                   "/2/nodes/%s" % NODE, "/2/query",
                                   "/2/jobs/1", "/2/groups/default"]))
    path = (prefix + "/" + "/".join(segments)).encode()
    method = draw(st.sampled_from([b"GET", b"PUT", b"POST", b"DELETE"]))
    auth_header = draw(st.sampled_from([(), ((b"Authorization", ADMIN),)]))
    return Request("unknown_paths", method, path, auth_header)


@st.composite
def traversal(draw):
    """``..`` in every spelling, where items and files are named."""
    dots = draw(st.sampled_from([b"..", b"%2e%2e", b"%2E%2E", b".%2e",
                                 b"%252e%252e", b"..%2f..", b"..%5c..",
                                 b"%2e%2e%2f%2e%2e", b"..;", b"...."]))
    depth = draw(st.integers(1, 6))
    tail = draw(st.sampled_from([b"etc/passwd", b"var/lib/ganeti/config.data",
                                 b"var/lib/ganeti/rapi/users", b"2/info",
                                 b"", b"modify"]))
    head = draw(st.sampled_from([b"", b"/2", b"/2/instances", b"/2/nodes",
                                 b"/2/jobs", b"/2/instances/" +
                                 INSTANCE.encode()]))
    sep = draw(st.sampled_from([b"/", b"%2f", b"%2F", b"\\"]))
    path = head + b"/" + sep.join([dots] * depth) + sep + tail
    method = draw(st.sampled_from([b"GET", b"PUT", b"DELETE"]))
    auth_header = draw(st.sampled_from([(), ((b"Authorization", ADMIN),)]))
    return Request("traversal", method, path, auth_header)


@st.composite
def long_names(draw):
    """Item names of up to 100,000 characters, in paths and bodies."""
    length = draw(st.integers(1, 100000))
    char = draw(st.sampled_from(["a", "x.", "\u00e9", "-", "%"]))
    name = (char * length)[:length]
    quoted = _quote_bytes(name.encode("utf-8"))
    where = draw(st.sampled_from(["instance", "node", "group", "tags",
                                  "modify", "create", "rename", "query"]))
    if where == "create":
        body = json.dumps(dict(CREATE_BODY, name=name)).encode()
        return Request("long_names", b"POST", b"/2/instances", _admin(), body)
    if where == "rename":
        body = json.dumps({"new_name": name, "name_check": False,
                           "ip_check": False}).encode()
        return Request("long_names", b"PUT", b"/2/instances/%s/rename"
                       % INSTANCE.encode(), _admin(), body)
    if where == "query":
        return Request("long_names", b"GET", b"/2/instances?fields=" + quoted)
    if where == "tags":
        return Request("long_names", b"PUT", b"/2/instances/%s/tags?tag=%s"
                       % (INSTANCE.encode(), quoted), _admin())
    if where == "modify":
        return Request("long_names", b"PUT", b"/2/instances/%s/modify"
                       % quoted, _admin(), b"{}")
    collection = {"instance": b"instances", "node": b"nodes",
                  "group": b"groups"}[where]
    return Request("long_names", b"GET", b"/2/%s/%s" % (collection, quoted))


@st.composite
def strange_bytes(draw):
    """Non-ASCII, NUL and invalid UTF-8 in paths, queries and bodies."""
    junk = draw(st.one_of(
        st.binary(min_size=1, max_size=20),
        nasty_text.map(lambda t: t.encode("utf-8")),
        st.sampled_from([b"\x00", b"\xff", b"\xc3\x28", b"\xed\xa0\x80",
                         b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80abc",
                         b"caf\xe9"])))
    raw = draw(st.booleans())
    part = junk if raw else _quote_bytes(junk)
    # Raw CR/LF would end the request line; those go percent-encoded.
    if raw:
        part = part.replace(b"\r", b"%0D").replace(b"\n", b"%0A")
        part = part.replace(b" ", b"%20")
    where = draw(st.sampled_from(["path", "item", "query", "body", "tag"]))
    if where == "path":
        return Request("strange_bytes", b"GET", b"/2/" + part)
    if where == "item":
        return Request("strange_bytes", b"GET", b"/2/instances/" + part)
    if where == "query":
        return Request("strange_bytes", b"GET",
                       b"/2/instances?bulk=1&" + part + b"=" + part)
    if where == "tag":
        return Request("strange_bytes", b"PUT", b"/2/tags?tag=" + part,
                       _admin())
    method, path = draw(st.sampled_from(BODY_RESOURCES))
    body = b'{"name": "' + junk.replace(b'"', b"") + b'", "__version__": 1}'
    return Request("strange_bytes", method, path, _admin(), body)


@st.composite
def odd_methods(draw):
    """Methods HTTP has but the RAPI does not use, and garbage tokens."""
    method = draw(st.one_of(
        st.sampled_from([b"PATCH", b"TRACE", b"OPTIONS", b"CONNECT", b"HEAD",
                         b"get", b"Get", b"PROPFIND", b"MKCOL", b"LOCK",
                         b"M-SEARCH", b"X" * 1000, b"G\x00ET", b"\xc3\x84",
                         b"GET\tPUT", b"*", b"1", b"{}"]),
        st.binary(min_size=1, max_size=12).filter(
            lambda b: not re.search(rb"[\s]", b))))
    path = draw(st.sampled_from(READ_PATHS + [p for _, p in BODY_RESOURCES]))
    headers = draw(st.sampled_from([(), _admin()]))
    body = draw(st.sampled_from([b"", b"{}"]))
    return Request("odd_methods", method, path, headers, body)


@st.composite
def bad_credentials(draw):
    """Malformed or wrong Basic credentials, on anonymous and user paths."""
    value = draw(st.one_of(
        st.sampled_from([b"Basic", b"Basic ", b"Basic !!!", b"Basic ====",
                         b"Basic YWRtaW4=", b"basic YWRtaW46d3Jvbmc=",
                         b"Basic YWRtaW46d3Jvbmc=", b"Bearer abc",
                         b"Digest username=admin", b"", b" ", b"Basic \xff",
                         b"Basic " + base64.b64encode(b"\xff\xfe:\xff"),
                         b"Basic " + base64.b64encode(b"admin:adminpw\x00"),
                         b"Basic " + base64.b64encode(b":"),
                         b"Basic " + base64.b64encode(b"admin:") * 2,
                         b"Basic " + b"A" * 20000, b"\x00Basic",
                         b"Basic YWRtaW46YWRtaW5wdw== extra",
                         b"Basic YWRtaW46YWRtaW5wdw"]),
        st.binary(max_size=40).filter(lambda b: b"\r" not in b and
                                      b"\n" not in b),
        st.binary(max_size=30).map(
            lambda b: b"Basic " + base64.b64encode(b)).filter(
                lambda v: v != ADMIN)))
    path = draw(st.sampled_from(READ_PATHS + [b"/2/tags?tag=x"]))
    method = b"PUT" if path.startswith(b"/2/tags?") else b"GET"
    return Request("bad_credentials", method, path,
                   ((b"Authorization", value),))


@st.composite
def junk_queries(draw):
    """Query arguments of the wrong form, repeated, or unknown."""
    pairs = draw(st.lists(st.tuples(
        st.sampled_from([b"bulk", b"dry-run", b"force", b"static", b"fields",
                         b"reason", b"tag", b"type", b"mode", b"x", b"",
                         b"bulk[]", b"no_remember", b"ignore_size"]),
        st.sampled_from([b"x", b"abc", b"", b"1", b"0", b"-1", b"1.5",
                         b"99999999999999999999999", b"1e3", b"true", b"%zz",
                         b"%", b"+", b"%00", b"0x10", b" 1", b"\xff",
                         b"1" * 5000, b"name,,", b",", b"nonexistent"])),
        min_size=1, max_size=6))
    sep = draw(st.sampled_from([b"&", b";", b"&&"]))
    query = sep.join(k + b"=" + v if v or draw(st.booleans()) else k
                     for k, v in pairs)
    method, path = draw(st.sampled_from(
        [(b"GET", p) for p in READ_PATHS] +
        [(b"PUT", b"/2/tags"), (b"DELETE", b"/2/tags"),
         (b"PUT", b"/2/instances/%s/startup" % INSTANCE.encode()),
         (b"POST", b"/2/instances/%s/reboot" % INSTANCE.encode()),
         (b"PUT", b"/2/instances/%s/prepare-export" % INSTANCE.encode()),
         (b"GET", b"/2/instances/%s/info" % INSTANCE.encode())]))
    headers = _admin() if method != b"GET" or draw(st.booleans()) else ()
    return Request("junk_queries", method, path + b"?" + query, headers)


@st.composite
def tags(draw):
    """Tags of every shape on ``/2/<object>/<name>/tags``."""
    values = draw(st.lists(st.one_of(
        nasty_text.map(lambda t: _quote_bytes(t.encode("utf-8"))),
        st.sampled_from([b"", b"a" * 200, b"a" * 5000, b"%00", b"%ff",
                         b"web", b"x:y", b"%20", b"a%2Cb"])), max_size=5))
    obj = draw(st.sampled_from([
        b"/2/instances/" + INSTANCE.encode(), b"/2/instances/missing",
        b"/2/nodes/" + NODE.encode(), b"/2/groups/" + GROUP.encode(),
        b"/2/groups/missing", b"/2"]))
    method = draw(st.sampled_from([b"GET", b"PUT", b"DELETE"]))
    query = b"&".join(b"tag=" + v for v in values)
    if draw(st.booleans()):
        query += b"&dry-run=" + draw(st.sampled_from([b"1", b"x"]))
    headers = draw(st.sampled_from([_admin(), ()]))
    return Request("tags", method, obj + b"/tags?" + query, headers)


@st.composite
def job_ids(draw):
    """Job ids that are not job ids, or of jobs that do not exist."""
    job = draw(st.one_of(
        st.sampled_from([b"-1", b"99999999999999999999", b"1.5", b"abc",
                         b"0", b"1e3", b"0x1", b"%31", b"1%00", b"+1",
                         b"\xd9\xa3", b"%d9%a3", b"\xef\xbc\x91", b"00001",
                         b"1 ", b"9" * 5000, b"", b"1,2"]),
        st.integers(-10, 10 ** 30).map(lambda n: b"%d" % n)))
    kind = draw(st.sampled_from(["get", "delete", "wait"]))
    if kind == "get":
        return Request("job_ids", b"GET", b"/2/jobs/" + job)
    if kind == "delete":
        return Request("job_ids", b"DELETE", b"/2/jobs/" + job, _admin())
    # Waiting on a job that exists would wait on the master's Clock; the
    # fuzz only waits on ids no job has.
    if job.isdigit() and len(job) < 4:
        job = b"%d" % (int(job) + 10 ** 6)
    body = json.dumps({"fields": draw(st.sampled_from(
        [["status"], [], ["nope"], "status", None]))}).encode()
    return Request("job_ids", b"GET", b"/2/jobs/%s/wait" % job, _admin(),
                   body)


#: (name, strategy, how many requests): about 2,100 in all.
CATEGORIES = [
    ("malformed_json", malformed_json(), 220),
    ("create_types", create_types(), 260),
    ("modify_types", modify_types(), 220),
    ("big_bodies", big_bodies(), 16),
    ("content_types", content_types(), 120),
    ("unknown_paths", unknown_paths(), 150),
    ("traversal", traversal(), 120),
    ("long_names", long_names(), 120),
    ("strange_bytes", strange_bytes(), 220),
    ("odd_methods", odd_methods(), 140),
    ("bad_credentials", bad_credentials(), 150),
    ("junk_queries", junk_queries(), 160),
    ("tags", tags(), 120),
    ("job_ids", job_ids(), 100),
]


def collect(strategy, count):
    """
    Draw up to C{count} examples of C{strategy}, the same ones on every
    run (Hypothesis derandomized: its seed comes from this function).

    :return: the list of examples.
    """
    found = []

    @settings(max_examples=count, derandomize=True, database=None,
              deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def gather(example):
        found.append(example)
    gather()
    return found


def generate_requests(categories=CATEGORIES):
    """:return: the fuzz's requests, category after category."""
    requests = []
    for _, strategy, count in categories:
        requests.extend(collect(strategy, count))
    return requests


# --- the wire ---------------------------------------------------------------

def parse_response(data, head_request=False):
    """
    :param data: bytes received so far.
    :return: ``(status, headers, body)`` once C{data} holds a complete
        answer whose length is known (Content-Length or chunked), else
        None; ``headers`` maps lower-cased names to lists of values.
    :raise ValueError: when C{data} cannot be the start of an answer.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].split(b"\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})(?: |$)", head[0])
    if not match:
        raise ValueError("not an HTTP status line: %r" % (head[0][:80],))
    status = int(match.group(1))
    headers = {}
    for line in head[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("malformed header line %r" % (line[:80],))
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    rest = data[end + 4:]
    if head_request or status in (204, 304) or 100 <= status < 200:
        return status, headers, b""
    if b"chunked" in b",".join(headers.get(b"transfer-encoding", [])):
        body = []
        while True:
            line_end = rest.find(b"\r\n")
            if line_end < 0:
                return None
            size = int(rest[:line_end].split(b";")[0], 16)
            if len(rest) < line_end + 2 + size + 2:
                return None
            body.append(rest[line_end + 2:line_end + 2 + size])
            rest = rest[line_end + 2 + size + 2:]
            if size == 0:
                return status, headers, b"".join(body)
    if b"content-length" in headers:
        length = int(headers[b"content-length"][0])
        if len(rest) < length:
            return None
        return status, headers, rest[:length]
    return None


def parse_closed_response(data, head_request=False):
    """
    L{parse_response} for a connection the server closed: an answer with
    neither Content-Length nor chunking ends there.

    :return: ``(status, headers, body)`` or None if incomplete.
    """
    try:
        answer = parse_response(data, head_request)
    except ValueError:
        return None
    if answer is not None:
        return answer
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    status, headers, _ = parse_response(data[:end + 4], head_request=True)
    if (b"content-length" in headers or
            b"chunked" in b",".join(headers.get(b"transfer-encoding", []))):
        return None
    return status, headers, data[end + 4:]


@attrs.define
class Outcome:
    """
    What one request got.

    :ivar request: the L{Request}.
    :ivar kind: ``"answer"``, ``"drop"`` or ``"hang"``.
    :ivar status: the HTTP status of an answer, else None.
    :ivar body: the answer's body.
    :ivar changed: whether the configuration or job list changed.
    :ivar error_form: for an answer of 400 or more: whether its body is
        Ganeti's JSON error (code, message, explain).
    """

    request: Request
    kind: str
    status: object = None
    body: bytes = b""
    changed: bool = False
    error_form: bool = True


class _Exchange(Protocol):
    """Sends one raw request and collects the answer."""

    def __init__(self, request, reactor, timeout):
        self._request = request
        self._reactor = reactor
        self._timeout = timeout
        self._data = []
        self._answer = None
        self._hung = False
        self.done = defer.Deferred()

    def connectionMade(self):
        self._timer = self._reactor.callLater(self._timeout, self._give_up)
        self.transport.write(self._request.to_bytes())

    def _give_up(self):
        self._hung = True
        self.transport.abortConnection()

    def dataReceived(self, data):
        self._data.append(data)
        if self._answer is not None:
            return
        head = self._request.method.upper() == b"HEAD"
        try:
            self._answer = parse_response(b"".join(self._data), head)
        except ValueError:
            self._answer = None
        if self._answer is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason):
        if self._timer.active():
            self._timer.cancel()
        head = self._request.method.upper() == b"HEAD"
        answer = self._answer or parse_closed_response(
            b"".join(self._data), head)
        if answer is not None:
            self.done.callback(("answer", answer))
        elif self._hung:
            self.done.callback(("hang", None))
        else:
            self.done.callback(("drop", None))


def _error_form(request, status, body):
    if status < 400 or request.method.upper() == b"HEAD":
        return True
    try:
        value = json.loads(body)
    except ValueError:
        return False
    return (isinstance(value, dict) and
            sorted(value) == ["code", "explain", "message"] and
            value["code"] == status)


class FuzzTarget:
    """
    The RAPI site of a one-node master with an instance, on a real TLS
    listener on the loopback.

    :param testcase: gives temporary paths (C{mktemp}).
    :param reactor: the real reactor.
    """

    def __init__(self, testcase, reactor):
        from tests.test_rapi import create_op
        self.reactor = reactor
        self.master = local_cluster(testcase)
        self.master.clock.advance(1700000000)
        job_id = self.master.queue.submit([create_op(INSTANCE)])
        assert self.master.queue.get(job_id).status == "success"
        users = os.path.abspath(testcase.mktemp())
        with open(users, "w") as f:
            f.write(USERS)
        self.site = server.make_site(LuxiHandler(self.master), users,
                                     self.master.clock)
        pem = os.path.abspath(testcase.mktemp())
        with open(pem, "wb") as f:
            f.write(crypto.generate_self_signed_pem("rapi.example.com"))
        self._port = reactor.listenSSL(0, self.site,
                                       server.ReloadingTLSOptions(pem),
                                       interface="127.0.0.1")
        self.port = self._port.getHost().port

    def close(self):
        """:return: a Deferred that fires once the listener is closed."""
        return defer.maybeDeferred(self._port.stopListening)

    def snapshot(self):
        """:return: the master state a refused request must not change."""
        return (self.master.config.config, tuple(self.master.queue.job_ids()))

    @defer.inlineCallbacks
    def send(self, request, timeout=TIMEOUT):
        """
        Send C{request}; :return: (Deferred) its L{Outcome}.
        """
        before = self.snapshot()
        endpoint = SSL4ClientEndpoint(self.reactor, "127.0.0.1", self.port,
                                      CertificateOptions())
        factory = Factory.forProtocol(
            lambda: _Exchange(request, self.reactor, timeout))
        try:
            protocol = yield endpoint.connect(factory)
        except Exception:
            return Outcome(request, "drop")
        kind, answer = yield protocol.done
        # Let anything the request set off in the master settle.
        yield task.deferLater(self.reactor, 0, lambda: None)
        changed = self.snapshot() != before
        if kind != "answer":
            return Outcome(request, kind, changed=changed)
        status, headers, body = answer
        return Outcome(request, "answer", status, body, changed,
                       _error_form(request, status, body))


@defer.inlineCallbacks
def run_fuzz(target, requests):
    """:return: (Deferred) the L{Outcome} of each request, in order."""
    outcomes = []
    for request in requests:
        outcome = yield target.send(request)
        outcomes.append(outcome)
    return outcomes


def figures(outcomes):
    """
    :return: dict of counts: requests, answers by status class, 5xx
        (501 apart), drops, hangs, refused requests that changed state,
        error answers not in Ganeti's JSON form.
    """
    counts = {"requests": len(outcomes), "5xx": 0, "501": 0, "drops": 0,
              "hangs": 0, "state_changes": 0, "non_json_errors": 0,
              "2xx": 0, "4xx": 0}
    for outcome in outcomes:
        if outcome.kind == "drop":
            counts["drops"] += 1
        elif outcome.kind == "hang":
            counts["hangs"] += 1
        elif outcome.status == 501:
            counts["501"] += 1
        elif outcome.status >= 500:
            counts["5xx"] += 1
        elif outcome.status >= 400:
            counts["4xx"] += 1
        else:
            counts["2xx"] += 1
        if outcome.changed and (outcome.status is None or
                                outcome.status >= 400):
            counts["state_changes"] += 1
        if outcome.kind == "answer" and not outcome.error_form:
            counts["non_json_errors"] += 1
    return counts


def failures(outcomes):
    """:return: the outcomes the fuzz must never see."""
    return [o for o in outcomes
            if o.kind != "answer" or o.status >= 500 or not o.error_form
            or (o.changed and o.status >= 400)]


class TemporaryPaths:
    """
    C{mktemp} outside trial (the benchmark script): paths below one
    temporary directory, removed by L{cleanup}.
    """

    def __init__(self):
        self._top = tempfile.mkdtemp(prefix="rapi-fuzz-")
        self._count = 0

    def mktemp(self):
        self._count += 1
        return os.path.join(self._top, str(self._count))

    def cleanup(self):
        shutil.rmtree(self._top, ignore_errors=True)


class RapiFuzzTests(unittest.TestCase):
    """The real RAPI over real TLS against hostile requests."""

    timeout = 300

    @defer.inlineCallbacks
    def test_hostile_requests(self):
        """
        About 2,100 hostile requests: none gets a 5xx, none is dropped or
        hangs, every error is Ganeti's JSON error, and none that is
        refused changes the configuration or the job list.
        """
        from twisted.internet import reactor
        requests = generate_requests()
        self.assertGreater(len(requests), 1900)
        target = FuzzTarget(self, reactor)
        self.addCleanup(target.close)
        outcomes = yield run_fuzz(target, requests)
        counts = figures(outcomes)
        bad = failures(outcomes)
        self.assertEqual(bad, [], "%s\n%s" % (counts, "\n".join(
            "%s -> %s %s %r" % (o.request.describe(), o.kind, o.status,
                                o.body[:200]) for o in bad[:40])))
        self.assertEqual(counts["501"], 0)
        for outcome in outcomes:
            if outcome.request.category == "bad_credentials":
                # Credentials that do not authenticate are refused
                # everywhere; a NUL byte is malformed HTTP already.
                [(_, value)] = outcome.request.headers
                self.assertEqual(outcome.status,
                                 400 if b"\x00" in value else 401,
                                 outcome.request.describe())


class HarnessTests(unittest.SynchronousTestCase):
    """The fuzz's own HTTP parsing, so its figures can be trusted."""

    def test_complete_by_length(self):
        """An answer is complete once Content-Length bytes arrived."""
        data = b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nabcd"
        self.assertEqual(parse_response(data),
                         (404, {b"content-length": [b"4"]}, b"abcd"))
        self.assertIsNone(parse_response(data[:-1]))
        self.assertIsNone(parse_closed_response(data[:-1]))

    def test_chunked(self):
        """A chunked answer is complete at its last chunk."""
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        self.assertIsNone(parse_response(head + b"3\r\nabc\r\n"))
        self.assertEqual(parse_response(head + b"3\r\nabc\r\n0\r\n\r\n")[2],
                         b"abc")

    def test_closed(self):
        """
        Without a length the answer ends where the server closed; nothing
        that is not an answer counts as one.
        """
        self.assertEqual(
            parse_closed_response(b"HTTP/1.1 400 Bad Request\r\n\r\nx"),
            (400, {}, b"x"))
        for data in [b"", b"HTTP/1.1 200 OK\r\n", b"garbage\r\n\r\n"]:
            self.assertIsNone(parse_closed_response(data))


class RawRequestTests(unittest.TestCase):
    """
    Single raw requests over real TLS to the RAPI site as the master
    serves it (L{server.make_site}: its request and channel classes).
    """

    def setUp(self):
        from twisted.internet import reactor
        self.target = FuzzTarget(self, reactor)
        self.addCleanup(self.target.close)

    @defer.inlineCallbacks
    def error(self, code, request):
        """
        Send C{request}; check it got C{code} with Ganeti's JSON error
        body and changed nothing.

        :return: (Deferred) the decoded body.
        """
        outcome = yield self.target.send(request)
        self.assertEqual((outcome.kind, outcome.status),
                         ("answer", code), outcome.body[:300])
        self.assertTrue(outcome.error_form, outcome.body[:300])
        self.assertFalse(outcome.changed)
        return json.loads(outcome.body)

    @defer.inlineCallbacks
    def test_huge_body(self):
        """
        A body over the limit is 413, whether it announces its length or
        comes chunked, and is not kept meanwhile.
        """
        body = b'"' + b"x" * (5 * 1024 * 1024) + b'"'
        answer = yield self.error(413, Request(
            "t", b"POST", b"/2/instances", _admin(), body))
        self.assertIn("%d bytes" % server.MAX_BODY_SIZE, answer["explain"])
        chunk = b"x" * 65536
        chunked = (b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 40 + b"0\r\n\r\n"
        yield self.error(413, Request(
            "t", b"POST", b"/2/instances",
            _admin((b"Transfer-Encoding", b"chunked")), chunked, length=-1))

    def test_oversized_request_keeps_no_body(self):
        """A request whose declared length is too big stores no body."""
        from twisted.web.test.requesthelper import DummyChannel
        request = server.RapiRequest(DummyChannel())
        request.gotLength(server.MAX_BODY_SIZE + 1)
        request.handleContentChunk(b"x" * 1000)
        self.assertTrue(request.body_too_large)
        self.assertEqual(request.content.getvalue(), b"")

    @defer.inlineCallbacks
    def test_long_lines(self):
        """
        A request line or header over 64 KiB is 414 or 431, not a dropped
        connection.
        """
        yield self.error(414, Request(
            "t", b"GET", b"/2/instances/" + b"a" * 70000))
        yield self.error(431, Request(
            "t", b"GET", b"/2/info", ((b"X-Junk", b"a" * 70000),)))

    @defer.inlineCallbacks
    def test_malformed_http(self):
        """What Twisted refuses as malformed HTTP gets a JSON 400."""
        body = yield self.error(400, Request(
            "t", b"GET", b"/2/info", ((b"Broken header", b"x"),)))
        self.assertEqual(body["explain"], "Malformed HTTP request")
        yield self.error(400, Request("t", b"GET", b"/2/info \xff"))

    @defer.inlineCallbacks
    def test_form_content_type(self):
        """
        A POST with an odd form-like Content-Type is 415; Twisted used to
        parse it as a form and drop the connection on some values.
        """
        for ctype in [b"\x0b", b"application/x-www-form-urlencoded",
                      b"multipart/form-data; boundary=x"]:
            yield self.error(415, Request(
                "t", b"POST", b"/2/instances",
                ((b"Content-Type", ctype), (b"Authorization", ADMIN)),
                b"a=1"))

    @defer.inlineCallbacks
    def test_invalid_utf8(self):
        """Invalid UTF-8 in the path, a query or a body is a 400 saying so."""
        body = yield self.error(400, Request("t", b"GET",
                                             b"/2/instances/%ff"))
        self.assertIn("UTF-8", body["explain"])
        body = yield self.error(400, Request("t", b"GET",
                                             b"/2/instances?bulk=%ff"))
        self.assertIn("UTF-8", body["explain"])
        body = yield self.error(400, Request(
            "t", b"POST", b"/2/instances", _admin(), b'{"name": "\xff"}'))
        self.assertIn("UTF-8", body["explain"])

    @defer.inlineCallbacks
    def test_deep_json(self):
        """JSON nested too deeply for the parser is a 400, not a 500."""
        body = yield self.error(400, Request(
            "t", b"POST", b"/2/instances", _admin(), b"[" * 100000))
        self.assertIn("Unable to parse JSON data", body["explain"])

    @defer.inlineCallbacks
    def test_newline_after_path(self):
        """A path with a final newline is no known path."""
        yield self.error(404, Request("t", b"GET", b"/2/info%0A"))

    @defer.inlineCallbacks
    def test_change_noticed(self):
        """The harness sees what an accepted write changed."""
        outcome = yield self.target.send(Request(
            "t", b"PUT", b"/2/tags?tag=fuzzed", _admin()))
        self.assertEqual((outcome.status, outcome.changed), (200, True))
        outcome = yield self.target.send(Request("t", b"GET", b"/2/tags"))
        self.assertEqual((outcome.status, outcome.changed), (200, False))
        self.assertEqual(json.loads(outcome.body), ["fuzzed"])

    @defer.inlineCallbacks
    def test_keep_alive(self):
        """Two requests on one connection get their two answers."""
        from twisted.internet import reactor
        first = (b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /2/nope HTTP/1.1\r\nHost: x\r\n"
                 b"Connection: close\r\n\r\n")

        class Both(Protocol):
            def connectionMade(self):
                self.data = []
                self.done = defer.Deferred()
                self.transport.write(first)

            def dataReceived(self, data):
                self.data.append(data)

            def connectionLost(self, reason):
                self.done.callback(b"".join(self.data))
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", self.target.port,
                                      CertificateOptions())
        protocol = yield endpoint.connect(Factory.forProtocol(Both))
        data = yield protocol.done
        status, headers, body = parse_response(data)
        self.assertEqual((status, body), (200, b"2"))
        rest = data[data.index(b"\r\n\r\n") + 4 + len(body):]
        self.assertEqual(parse_response(rest)[0], 404)
