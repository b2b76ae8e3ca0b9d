"""
Tests for L{ganeti.console.tokens}: one-time console tokens on a
L{Clock}.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from ganeti.console.tokens import TOKEN_LIFETIME, ConsoleTokens


class ConsoleTokensTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1000)
        self.tokens = ConsoleTokens(self.clock)

    def test_redeem_once(self):
        """A token gives its ticket once; a second redeem gets None."""
        ticket = self.tokens.issue("inst1", "serial", user="admin")
        self.assertEqual((ticket.instance, ticket.kind, ticket.user,
                          ticket.expires),
                         ("inst1", "serial", "admin", 1000 + TOKEN_LIFETIME))
        self.assertEqual(self.tokens.redeem(ticket.token), ticket)
        self.assertIsNone(self.tokens.redeem(ticket.token))

    def test_expiry(self):
        """A token is good for its lifetime, and void after it."""
        early = self.tokens.issue("inst1", "vnc")
        late = self.tokens.issue("inst1", "vnc")
        self.clock.advance(TOKEN_LIFETIME)
        self.assertEqual(self.tokens.redeem(early.token), early)
        self.clock.advance(0.5)
        self.assertIsNone(self.tokens.redeem(late.token))

    def test_expired_forgotten(self):
        """Tokens nobody redeems do not pile up."""
        self.tokens.issue("inst1", "serial")
        self.clock.advance(TOKEN_LIFETIME + 1)
        self.tokens.issue("inst2", "serial")
        self.assertEqual(len(self.tokens), 1)

    def test_distinct_and_unguessable(self):
        """Every token is new, and unknown text redeems nothing."""
        tokens = {self.tokens.issue("inst1", "serial").token
                  for _ in range(50)}
        self.assertEqual(len(tokens), 50)
        self.assertTrue(all(len(t) >= 32 for t in tokens))
        self.assertIsNone(self.tokens.redeem("guess"))

    def test_unknown_kind(self):
        """Only the serial console and VNC can be asked for."""
        self.assertRaises(ValueError, self.tokens.issue, "inst1", "spice")
