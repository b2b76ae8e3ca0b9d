# -*- test-case-name: tests.test_ui -*-
"""
The web view: a single page under ``/ui/`` on the RAPI port showing the
cluster, its nodes, instances and jobs, with the common instance actions
and consoles.

The page is static files only (``static/``); everything it shows or
does goes through the RAPI with the user's own credentials, so it can do
exactly what that user could do with ``curl`` and the server keeps no
session of its own.  Its browser libraries (xterm.js, noVNC) are fetched
from the npm registry at install time by ``vendor.sh`` into
``static/vendor/``.
"""
