# -*- test-case-name: tests.test_rapi_tokens -*-
"""
RAPI API tokens, for automation that should not hold a user's password:
``Authorization: Bearer <name>.<secret>``, checked against
``var/lib/ganeti/rapi/tokens`` next to the users file (and replicated to
the master candidates with it).

Format, one token a line, ``#`` starts a comment::

    name {SHA256}hex-digest read|write [tag=TAG]

Only the digest of the secret is kept: the secret is 32 random bytes,
so a plain SHA-256 cannot be searched back (a slow hash, needed for
passwords people choose, would only slow every request).  A token with
``tag=TAG`` may change only instances carrying that tag (and create
instances only with it); it reads what its scope allows.
"""

import base64
import hashlib
import hmac
import os
import re
import secrets

from twisted.internet import defer
from twisted.logger import Logger

from ganeti.rapi import ACCESS_READ, ACCESS_WRITE
from ganeti.rapi.auth import ReloadingFile
from ganeti.rapi.context import HttpError, query_rows
from ganeti.utils.io import atomic_write

_log = Logger()

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PREFIX = "{SHA256}"
SCOPES = (ACCESS_READ, ACCESS_WRITE)


def _digest(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Token:
    """
    One line of the tokens file; stands in for a user in a request.

    :ivar name: the token's name (logged and shown in reason trails).
    :ivar scope: ``read`` or ``write`` (which implies read).
    :ivar instance_tag: None, or the tag an instance must carry for this
        token to change it.
    """

    def __init__(self, name, digest, scope, instance_tag=None):
        self.name = name
        self.digest = digest
        self.scope = scope
        self.instance_tag = instance_tag

    def may(self, access):
        """:return: whether the token's scope gives C{access}."""
        return access == ACCESS_READ or self.scope == ACCESS_WRITE

    def line(self):
        """:return: the token's line in the tokens file."""
        fields = [self.name, _PREFIX + self.digest, self.scope]
        if self.instance_tag:
            fields.append("tag=" + self.instance_tag)
        return " ".join(fields)


def parse_tokens(text):
    """
    :return: dict name -> L{Token}; a malformed line is skipped with a
        log message, so one typo does not lock out every client.
    """
    tokens = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        tag = None
        if len(parts) == 4 and parts[3].startswith("tag="):
            tag = parts[3][len("tag="):]
            parts = parts[:3]
        if (len(parts) != 3 or not _NAME_RE.match(parts[0])
                or not parts[1].upper().startswith(_PREFIX)
                or parts[2] not in SCOPES or tag == ""):
            _log.warn("RAPI tokens file line {lineno} malformed, ignored",
                      lineno=lineno)
            continue
        tokens[parts[0]] = Token(parts[0], parts[1][len(_PREFIX):].lower(),
                                 parts[2], tag)
    return tokens


def parse_bearer(header):
    """
    :param header: the ``Authorization`` header (bytes, str or None).
    :return: ``(name, secret)`` of a Bearer token, or None when the header
        is not one.
    """
    if not header:
        return None
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    name, dot, secret = value.strip().partition(".")
    if not dot or not secret or not _NAME_RE.match(name):
        return ("", "")
    return name, secret


class TokensFile(ReloadingFile):
    """The tokens file, as the RAPI checks a Bearer header against it."""

    def __init__(self, path):
        super().__init__(path, parse_tokens)

    def authenticate(self, name, secret):
        """:return: the L{Token}, or None for an unknown name or secret."""
        token = self.value().get(name)
        if token is None:
            return None
        if not hmac.compare_digest(token.digest.encode("ascii", "replace"),
                                   _digest(secret).encode("ascii")):
            return None
        return token


def _lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def read_tokens(path):
    """:return: dict name -> L{Token} of the tokens file (a missing one is empty)."""
    return parse_tokens("\n".join(_lines(path)))


def _name_of(line):
    parts = line.split()
    return parts[0] if parts and not line.lstrip().startswith("#") else None


def add_token(path, name, scope, instance_tag=None):
    """
    Add a token to the tokens file (atomically; comments and other lines
    are kept).

    :return: the token to give the client, ``<name>.<secret>``: shown
        once, never stored.
    :raise ValueError: for a bad name, scope or tag, or a name in use.
    """
    if not _NAME_RE.match(name):
        raise ValueError("Invalid token name %r (letters, digits, '_' and"
                         " '-', at most 64)" % name)
    if scope not in SCOPES:
        raise ValueError("Invalid scope %r (read or write)" % scope)
    if instance_tag is not None and (not instance_tag
                                     or len(instance_tag.split()) != 1):
        raise ValueError("Invalid instance tag %r" % instance_tag)
    lines = _lines(path)
    if any(_name_of(line) == name for line in lines):
        raise ValueError("Token %s already exists" % name)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(
        "ascii").rstrip("=")
    lines.append(Token(name, _digest(secret), scope, instance_tag).line())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o640)
    return "%s.%s" % (name, secret)


def remove_token(path, name):
    """
    Remove a token from the tokens file.

    :raise ValueError: if there is none of that name.
    """
    lines = _lines(path)
    kept = [line for line in lines if _name_of(line) != name]
    if len(kept) == len(lines):
        raise ValueError("Token %s not found" % name)
    atomic_write(path, "".join(line + "\n" for line in kept).encode("utf-8"),
                 mode=0o640)


def check_instance_tag(ctx, tag):
    """
    What a token restricted to C{tag} may change: an instance carrying
    the tag (``/2/instances/<name>/...``), or a new instance created with
    it; nothing else.

    :return: a Deferred failing with 403 otherwise.
    """
    refused = HttpError(403, "Permission denied: this token may only change"
                        " instances tagged '%s'" % tag)
    if ctx.resource_name == "R_2_instances":
        tags = (ctx.body or {}).get("tags") if isinstance(ctx.body, dict) \
            else None
        if isinstance(tags, list) and tag in tags:
            return defer.succeed(None)
        return defer.fail(refused)
    if not ctx.resource_name.startswith("R_2_instances_name"):
        return defer.fail(refused)

    def judge(rows):
        if not rows or tag not in (rows[0].get("tags") or []):
            raise refused
    d = query_rows(ctx, "instance", ["name", "tags"],
                   ["=", "name", ctx.items[0]])
    return d.addCallback(judge)
