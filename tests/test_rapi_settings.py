"""
Tests for L{ganeti.rapi.server.read_rapi_settings}: Ganeti's RAPI_ARGS in
``etc/default/ganeti`` keep working.
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti.rapi.server import read_rapi_settings


class RapiSettingsTests(SynchronousTestCase):
    def settings(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return read_rapi_settings(path)

    def test_missing_file(self):
        """No file: Ganeti's defaults (anonymous reads, default port)."""
        settings = read_rapi_settings(self.mktemp())
        self.assertEqual((settings.require_authentication, settings.port,
                          settings.bind), (False, None, None))

    def test_debian_file(self):
        """Debian's layout; options without use here are ignored."""
        settings = self.settings(
            "# Default arguments for Ganeti daemons\n"
            'NODED_ARGS=""\n'
            'RAPI_ARGS="-b 127.0.0.1 --max-clients 30 --require-authentication"\n'
            "CONFD_ARGS=''\n")
        self.assertEqual((settings.require_authentication, settings.port,
                          settings.bind), (True, None, "127.0.0.1"))

    def test_port(self):
        settings = self.settings("RAPI_ARGS='--port 5081'  # moved\n")
        self.assertEqual(settings.port, 5081)

    def test_bad_value_ignored(self):
        """
        A value that is not a port leaves the defaults (logged), but a
        demand for authentication still holds.
        """
        settings = self.settings('RAPI_ARGS="-p many --require-authentication"\n')
        self.assertEqual((settings.require_authentication, settings.port),
                         (True, None))
