# -*- test-case-name: tests.test_ui -*-
"""
``GET /2/whoami``: not Ganeti's.  Who the request's credentials are and
what they may do, so a client (the web view) can offer only the actions
that would be allowed, instead of finding out from a 403.
"""

from ganeti.rapi import ACCESS_READ, ACCESS_WRITE


def get_whoami(ctx):
    """
    :return: ``{"user": name, "access": [...]}``, the access a subset of
        ``["read", "write"]`` in that order; an API token also gives its
        ``instance_tag`` (None when it may change any instance).
    """
    user = ctx.user
    answer = {"user": user.name,
              "access": [access for access in (ACCESS_READ, ACCESS_WRITE)
                         if user.may(access)]}
    if hasattr(user, "instance_tag"):
        answer["instance_tag"] = user.instance_tag
    return answer
