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


class ReloadingFile:
    """
    A small file parsed again whenever it changes on disk (mtime, size
    and inode; one ``stat`` a request), so edits and replacements take
    effect without a signal.  A missing file parses as empty text.

    :param parse: text -> the parsed value.
    """

    def __init__(self, path, parse):
        self.path = path
        self._parse = parse
        self._stamp = None
        self._value = parse("")

    def value(self):
        """:return: the parsed content, fresh from the file."""
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            text = ""
            if stamp is not None:
                try:
                    with open(self.path, "rb") as f:
                        text = f.read().decode("utf-8", "replace")
                except OSError as e:
                    _log.warn("Cannot read {path}: {err}", path=self.path,
                              err=e)
            self._value = self._parse(text)
        return self._value


class UsersFile(ReloadingFile):
    """
    The users file, re-read whenever it changes on disk (Ganeti re-reads
    on SIGHUP; see L{ReloadingFile}).  A missing file means no users, so
    writes are impossible until one is created.

    :param path: the users file path.
    """

    def __init__(self, path):
        super().__init__(path, parse_users)

    def users(self):
        """
        :return: dict name -> L{PasswordFileUser}, fresh from the file.
        """
        return self.value()

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
