# -*- test-case-name: tests.test_rapi -*-
"""
RAPI users and HTTP Basic authentication, compatible with Ganeti's
``/var/lib/ganeti/rapi/users`` file so an existing file keeps working.

Format, one user a line, ``#`` starts a comment::

    username password [option,option...]

The password is clear text, or ``{CLEARTEXT}`` + clear text, or ``{HA1}``
+ the hex MD5 of ``username:Ganeti Remote API:password`` (scheme prefixes
are case insensitive).  Options are ``read`` and ``write``; ``write``
implies ``read``.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re

from twisted.logger import Logger

from ganeti.rapi import ACCESS_READ, ACCESS_WRITE, REALM

_log = Logger()

_SCHEME_RE = re.compile(r"^\{([^}]+)\}(.*)$", re.S)


class PasswordFileUser:
    """
    One line of the users file.

    :ivar name: the user name.
    :ivar password: the password as written, scheme prefix included.
    :ivar options: the set of lower-cased options.
    """

    def __init__(self, name, password, options):
        self.name = name
        self.password = password
        self.options = frozenset(options)

    def may(self, access):
        """
        :param access: L{ACCESS_READ} or L{ACCESS_WRITE}.
        :return: whether this user has C{access}; ``write`` implies read,
            as the users file documentation promises.
        """
        if access == ACCESS_READ:
            return bool(self.options & {ACCESS_READ, ACCESS_WRITE})
        return access in self.options


def parse_users(text):
    """
    Parse the users file.

    Malformed lines (a name without a password) are skipped with a log
    message rather than failing the whole file, so one typo does not lock
    out every user.

    :param text: the file's contents as str.
    :return: dict user name -> L{PasswordFileUser}.
    """
    users = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            _log.warn("RAPI users file line {lineno}: no password, ignored",
                      lineno=lineno)
            continue
        options = []
        if len(parts) == 3:
            options = [o.strip().lower() for o in parts[2].split(",")
                       if o.strip()]
        users[parts[0]] = PasswordFileUser(parts[0], parts[1], options)
    return users


def ha1(username, password, realm=REALM):
    """
    :return: the hex HA1 digest Ganeti stores after ``{HA1}``.
    """
    return hashlib.md5(("%s:%s:%s" % (username, realm, password))
                       .encode("utf-8")).hexdigest()


def verify_password(username, password, expected, realm=REALM):
    """
    Check a Basic auth password against a users-file entry.

    :param expected: the password column of the users file.
    :return: bool.  An unknown scheme never matches (Ganeti logs it and
        refuses), so a typo in the prefix cannot become a clear-text
        password that contains braces.
    """
    match = _SCHEME_RE.match(expected)
    if match is None:
        scheme, stored = None, expected
    else:
        scheme, stored = match.group(1).upper(), match.group(2)
    if scheme is None or scheme == "CLEARTEXT":
        # Constant-time comparison: the users file guards cluster writes.
        return hmac.compare_digest(password.encode("utf-8"),
                                   stored.encode("utf-8"))
    if scheme == "HA1":
        return hmac.compare_digest(stored.lower().encode("ascii", "replace"),
                                   ha1(username, password, realm).encode())
    _log.warn("Unknown password scheme {scheme!r} for RAPI user {user!r}",
              scheme=scheme, user=username)
    return False


def parse_basic_authorization(header):
    """
    :param header: the ``Authorization`` header value (bytes or None).
    :return: ``(username, password)`` str pair, or None when the header is
        absent or not well-formed Basic credentials.
    """
    if not header:
        return None
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    scheme, _, data = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(data.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


class UsersFile:
    """
    The users file, re-read whenever it changes on disk.

    Ganeti re-reads on SIGHUP; checking the file's mtime, size and inode on
    each authenticated request gives the same effect without a signal and
    picks up editors that replace the file.  The check is one local
    ``stat`` (and a read of a small file only when it changed), cheap
    enough to do in the reactor thread.  A missing file means no users, so
    writes are impossible until one is created.

    :param path: the users file path.
    """

    def __init__(self, path):
        self._path = path
        self._stamp = None
        self._users = {}

    def _current_stamp(self):
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def users(self):
        """
        :return: dict name -> L{PasswordFileUser}, fresh from the file.
        """
        stamp = self._current_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            if stamp is None:
                self._users = {}
            else:
                try:
                    with open(self._path, "rb") as f:
                        text = f.read().decode("utf-8", "replace")
                except OSError as e:
                    _log.warn("Cannot read RAPI users file {path}: {err}",
                              path=self._path, err=e)
                    text = ""
                self._users = parse_users(text)
        return self._users

    def authenticate(self, authorization):
        """
        :param authorization: the request's ``Authorization`` header.
        :return: the L{PasswordFileUser}, or None for missing or wrong
            credentials.
        """
        creds = parse_basic_authorization(authorization)
        if creds is None:
            return None
        username, password = creds
        user = self.users().get(username)
        if user is None or not verify_password(username, password,
                                               user.password):
            return None
        return user
