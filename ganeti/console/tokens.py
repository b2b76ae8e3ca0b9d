# -*- test-case-name: tests.test_console_tokens -*-
"""
One-time console tokens, kept in the master's memory only.

A browser cannot send the RAPI's credentials with a WebSocket handshake,
so a user who may use the console asks the RAPI for a token and hands it
to the WebSocket in its URL.  A URL ends up in logs and browser history,
hence a token is good once and for a few seconds: long enough for a page
to open the socket, too short to be replayed.  Nothing is written to
disk: a master restart or failover forgets every token, which costs a
user one more click.
"""

import secrets

import attrs

#: Seconds a token stays good.
TOKEN_LIFETIME = 15

#: What a token may open.
KINDS = ("serial", "vnc")


@attrs.frozen
class Ticket:
    """
    What a token stands for.

    :ivar token: the secret itself (URL-safe text).
    :ivar instance: the instance's name.
    :ivar kind: one of L{KINDS}.
    :ivar expires: the clock's time after which it is void.
    :ivar user: the name of the user it was made for (for the log).
    """

    token: str
    instance: str
    kind: str
    expires: float
    user: str = None


class ConsoleTokens:
    """
    The tokens issued and not used yet.

    :param clock: gives the time (C{seconds()}): the reactor, or a
        L{twisted.internet.task.Clock} in tests.
    :param lifetime: seconds a token stays good.
    """

    def __init__(self, clock, lifetime=TOKEN_LIFETIME):
        self._clock = clock
        self.lifetime = lifetime
        self._tickets = {}

    def issue(self, instance, kind, user=None):
        """
        Make a new token.

        :return: its L{Ticket}.
        :raise ValueError: for a kind not in L{KINDS}.
        """
        if kind not in KINDS:
            raise ValueError("unknown console kind %r" % (kind,))
        self._forget_expired()
        ticket = Ticket(secrets.token_urlsafe(24), instance, kind,
                        self._clock.seconds() + self.lifetime, user)
        self._tickets[ticket.token] = ticket
        return ticket

    def redeem(self, token):
        """
        Use a token up.

        :return: its L{Ticket}, or None when the token is unknown, used
            already or expired.
        """
        ticket = self._tickets.pop(token, None)
        self._forget_expired()
        if ticket is None or self._clock.seconds() > ticket.expires:
            return None
        return ticket

    def __len__(self):
        """:return: how many tokens are held (expired ones included)."""
        return len(self._tickets)

    def _forget_expired(self):
        # Tokens nobody redeems would pile up: each call sweeps them.
        now = self._clock.seconds()
        for token in [t for t, ticket in self._tickets.items()
                      if now > ticket.expires]:
            del self._tickets[token]
