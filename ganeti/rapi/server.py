# -*- test-case-name: tests.test_rapi -*-
"""
Wiring the RAPI into a running master: a twisted.web Site and the HTTPS
listener service for it.

The master service adds the listener as a child while it is master and
removes it on failover, like Ganeti's ``ganeti-rapi`` which runs on the
master only.
"""

import argparse
import json
import os
import shlex
import socket

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import SSL4ServerEndpoint
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.internet.ssl import CertificateOptions, PrivateCertificate
from twisted.logger import Logger
from twisted.web.http import HTTPChannel
from twisted.web.server import Request, Site
from zope.interface import implementer

from ganeti.metrics.http import count_rapi_requests
from ganeti.rapi import DEFAULT_PORT
from ganeti.rapi.auth import UsersFile
from ganeti.rapi.tokens import TokensFile
from ganeti.rapi.context import HttpError
from ganeti.rapi.resources import MAX_BODY_SIZE, RapiResource
from ganeti.rapi.root import SiteRoot
from ganeti.ui.files import web_view

_log = Logger()


class RapiSettings:
    """
    The options of Ganeti's ``ganeti-rapi`` that an operator sets in
    ``/etc/default/ganeti`` (``RAPI_ARGS="..."``), so an existing setting
    keeps working here.

    :ivar require_authentication: ``--require-authentication``.
    :ivar port: ``-p``/``--port`` or None (the default port).
    :ivar bind: ``-b``/``--bind`` or None: then the RAPI listens on every
        address (see L{listen_addresses}).
    """

    def __init__(self, require_authentication=False, port=None, bind=None):
        self.require_authentication = require_authentication
        self.port = port
        self.bind = bind


def _rapi_args_parser():
    parser = argparse.ArgumentParser(prog="RAPI_ARGS", add_help=False,
                                     exit_on_error=False)
    parser.add_argument("--require-authentication", action="store_true")
    parser.add_argument("-p", "--port", type=int)
    parser.add_argument("-b", "--bind")
    return parser


def read_rapi_settings(path):
    """
    Read ``RAPI_ARGS`` from a shell-style defaults file.  Options this
    RAPI has no use for (``--max-clients``, ``-f``, ``-d``...) are logged
    and ignored; a missing file means Ganeti's defaults.

    :return: a L{RapiSettings}.
    """
    args = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                for word in shlex.split(line, comments=True):
                    key, sep, value = word.partition("=")
                    if sep and key == "RAPI_ARGS":
                        args = shlex.split(value)
    except FileNotFoundError:
        return RapiSettings()
    except ValueError as e:
        _log.warn("cannot read {path}: {error}", path=path, error=e)
        return RapiSettings()
    try:
        known, unknown = _rapi_args_parser().parse_known_args(args)
    except argparse.ArgumentError as e:
        # Asking for authentication is honoured whatever else is wrong.
        _log.warn("ignoring RAPI_ARGS in {path}: {error}", path=path, error=e)
        return RapiSettings("--require-authentication" in args)
    if unknown:
        _log.warn("RAPI_ARGS options not used here: {options}",
                  options=" ".join(unknown))
    return RapiSettings(known.require_authentication, known.port, known.bind)


def ipv6_wildcard():
    """
    How this host's IPv6 wildcard address behaves, found by binding a
    throw-away socket to it (one local system call, no traffic).

    :return: None when the host has no IPv6; True when ``::`` takes IPv4
        connections too (``net.ipv6.bindv6only`` off, Linux's default);
        False when it serves IPv6 only.
    """
    if not socket.has_ipv6:
        return None
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return None
    with probe:
        try:
            probe.bind(("::", 0))
            return not probe.getsockopt(socket.IPPROTO_IPV6,
                                        socket.IPV6_V6ONLY)
        except OSError:
            return None


def listen_addresses(bind=None, wildcard=ipv6_wildcard):
    """
    The addresses the RAPI listens on.

    Like Ganeti's ``ganeti-rapi`` it listens on every address unless
    ``RAPI_ARGS -b`` names one, so ``https://localhost:5080/`` answers on
    the master and a master IP added by a failover is served at once.

    :param bind: the ``-b`` address, or None.
    :param wildcard: returns what L{ipv6_wildcard} does.
    :return: list of addresses: C{[bind]}; else ``::`` when it takes IPv4
        too, ``::`` and ``0.0.0.0`` when it does not, ``0.0.0.0`` on a host
        without IPv6.
    """
    if bind is not None:
        return [bind]
    dual = wildcard()
    if dual is None:
        return ["0.0.0.0"]
    return ["::"] if dual else ["::", "0.0.0.0"]


class RapiRequest(Request):
    """
    A request that never holds more than L{MAX_BODY_SIZE} bytes of body.

    A bigger body (by its Content-Length, or as it arrives when chunked)
    is read to its end and thrown away, and C{body_too_large} tells the
    resource to answer 413; reading it all, rather than closing at once,
    lets the client, still sending, read that answer.  Bodies are never
    parsed as HTML forms: the RAPI speaks JSON only, and Twisted's form
    parsing raises on some Content-Type values, which dropped the
    connection.

    :ivar body_too_large: whether the body went over the limit.
    """

    body_too_large = False

    def __init__(self, *args, **kwargs):
        Request.__init__(self, *args, **kwargs)
        # Twisted's Site(parsePOSTFormSubmission=False) sets this too, but
        # only Twisted 24.7 and later know that argument.
        self._parsePOSTFormSubmission = False

    def gotLength(self, length):
        if length is not None and length > MAX_BODY_SIZE:
            self.body_too_large = True
            length = 0
        Request.gotLength(self, length)

    def handleContentChunk(self, data):
        if self.body_too_large:
            return
        if self.content.tell() + len(data) > MAX_BODY_SIZE:
            self.body_too_large = True
            self.content.seek(0)
            self.content.truncate()
            return
        Request.handleContentChunk(self, data)


def error_response(code, explain):
    """
    :return: the bytes of a whole HTTP answer carrying Ganeti's JSON error
        body, for errors found before there is a request to answer.
    """
    message = HttpError.MESSAGES.get(code, "Error")
    body = json.dumps({"code": code, "message": message,
                       "explain": explain}).encode("utf-8")
    return (b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n"
            % (code, message.encode("ascii"), len(body)) + body)


class RapiChannel(HTTPChannel):
    """
    The HTTP channel of the RAPI: malformed requests get Ganeti's JSON
    error body, and a request line or header longer than L{MAX_LENGTH}
    gets a 414 or 431 instead of a silently dropped connection.

    Twisted answers a malformed request with a bare ``400`` through
    C{_respondToBadRequestAndDisconnect}, a private hook, overridden here;
    were it renamed, those answers would merely lose their JSON body
    (``tests.test_rapi_fuzz`` would notice).
    """

    #: Longest request line or header line (Python's http.server's limit).
    MAX_LENGTH = 65536
    #: Longest request line plus headers.
    totalHeadersSize = 2 * MAX_LENGTH

    _in_headers = False
    _refused = False

    def lineReceived(self, line):
        # Every line after the request line is a header line.
        self._in_headers = True
        HTTPChannel.lineReceived(self, line)

    def allHeadersReceived(self):
        self._in_headers = False
        HTTPChannel.allHeadersReceived(self)

    def lineLengthExceeded(self, line):
        if self._in_headers:
            self._refuse(431, "A request header is longer than %d bytes"
                         % self.MAX_LENGTH)
        else:
            self._refuse(414, "The request line is longer than %d bytes"
                         % self.MAX_LENGTH)

    def _respondToBadRequestAndDisconnect(self):
        self._refuse(400, "Malformed HTTP request")

    def _refuse(self, code, explain):
        """Answer C{code} once, ignore the rest, and close."""
        if not self._refused:
            self._refused = True
            self.transport.write(error_response(code, explain))
        # What the client still sends is read and dropped, so that it
        # sees the answer rather than a reset connection.
        self.dataReceived = self.lineReceived = lambda *args: None
        self.loseConnection()


def make_site(handler, users_file, reactor, require_authentication=False,
              tokens_file=None):
    """
    :param handler: the master's LUXI-like handler (e.g.
        L{ganeti.master.luxi.LuxiHandler}); its methods may return
        Deferreds.
    :param users_file: path of Ganeti's RAPI users file (may be missing:
        then nobody can write).
    :param reactor: the reactor the site's HTTP channels use.
    :param require_authentication: Ganeti's ``--require-authentication``.
    :param tokens_file: path of the API tokens file (see
        L{ganeti.rapi.tokens}), or None for no tokens.
    :return: a L{Site} serving the RAPI (and, beside it, the children of
        L{SiteRoot}).
    """
    rapi = RapiResource(handler, UsersFile(users_file), reactor,
                        require_authentication=require_authentication,
                        tokens=TokensFile(tokens_file) if tokens_file
                        else None)
    children = {}
    consoles = getattr(handler, "consoles", None)
    if consoles is not None:
        # autobahn loads only for a master that relays consoles.
        from ganeti.console.websocket import console_resource
        children[b"console"] = console_resource(consoles)
    children[b"ui"] = web_view()
    site = Site(SiteRoot(rapi, children), requestFactory=RapiRequest, reactor=reactor)
    site.protocol = RapiChannel
    metrics = getattr(handler, "metrics", None)
    if metrics is not None:
        count_rapi_requests(site, metrics)
    # Tracebacks would leak master internals to anonymous clients.
    site.displayTracebacks = False
    return site


def tls_options_from_pem(pem):
    """
    :param pem: bytes holding the key and certificate (Ganeti's
        ``rapi.pem``).
    :return: server TLS options; RAPI clients present no certificates.
        A client that comes back may resume its TLS session (a session
        ticket in TLS 1.3, the session cache before): a new connection
        then costs no key exchange signature, most of a handshake.
        Twisted leaves both off by default.
    """
    identity = PrivateCertificate.loadPEM(pem)
    return CertificateOptions(privateKey=identity.privateKey.original,
                              certificate=identity.original,
                              enableSessions=True, enableSessionTickets=True)


@implementer(IOpenSSLServerConnectionCreator)
class ReloadingTLSOptions:
    """
    Server TLS options that follow a PEM file: ``gnt-cluster renew-crypto
    --new-rapi-certificate`` replaces ``rapi.pem`` under a running RAPI,
    and new connections must get the new certificate without a restart.

    Twisted asks for a TLS connection object per new connection; this
    compares the file's identity (inode, size, mtime) with the one it
    loaded, which costs one ``stat``, and loads the file again when it
    changed.  The file is replaced atomically, so a changed identity
    means a complete new file; one that does not load anyway (an
    operator's mistake) is logged and the old certificate kept, so the
    RAPI stays up.  Connections already open keep theirs.

    :param path: the PEM file (key and certificate).
    :raise OSError: if the file cannot be read at construction.
    :raise OpenSSL.crypto.Error: if it does not load at construction.
    """

    def __init__(self, path):
        self._path = path
        self._identity = self._stat()
        self._options = self._load()

    def _stat(self):
        st = os.stat(self._path)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _load(self):
        with open(self._path, "rb") as f:
            return tls_options_from_pem(f.read())

    def _current(self):
        """:return: the options of the file as it is now, if it loads."""
        try:
            identity = self._stat()
            if identity != self._identity:
                # Tried once per version of the file, so a broken one is
                # logged once, not on every connection.
                self._identity = identity
                self._options = self._load()
                _log.info("RAPI certificate {path} reloaded", path=self._path)
        except Exception:
            _log.failure("cannot reload the RAPI certificate {path}; the"
                         " previous one stays in use", path=self._path)
        return self._options

    def serverConnectionForTLS(self, tlsProtocol):
        """:return: the OpenSSL connection for a new client."""
        return self._current().serverConnectionForTLS(tlsProtocol)


def rapi_endpoint_service(reactor, site, pem_path, port=DEFAULT_PORT,
                          interface=""):
    """
    The HTTPS listener for the RAPI.

    The PEM file is read here, so a missing or broken one fails the
    start, and again by each new connection after it changed (see
    L{ReloadingTLSOptions}).

    :param pem_path: path of ``rapi.pem`` (key and certificate).
    :param port: TCP port, Ganeti's default 5080.
    :param interface: address to bind ("" = all IPv4 addresses, "::" =
        all IPv6 ones; see L{listen_addresses}).
    :return: a L{StreamServerEndpointService}, not yet started.
    """
    endpoint = SSL4ServerEndpoint(reactor, port, ReloadingTLSOptions(pem_path),
                                  interface=interface)
    return StreamServerEndpointService(endpoint, site)
