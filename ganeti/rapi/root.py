# -*- test-case-name: tests.test_rapi -*-
"""
The root of the RAPI port.

Ganeti's port 5080 serves the RAPI only; here it also serves what an
operator reaches with a browser (the web view under ``/ui/``, console
WebSockets under ``/console/``), so one certificate, one port and one
firewall rule cover all of it.  Those live as named children; every
other path is the RAPI's, which reads the whole request path itself.
"""

from twisted.web import resource


class SiteRoot(resource.Resource):
    """
    :param rapi: the RAPI resource (a leaf) for every path not claimed by
        a child.
    :param children: dict of first path segment (bytes) -> resource.
    """

    def __init__(self, rapi, children):
        resource.Resource.__init__(self)
        self._rapi = rapi
        for name, child in children.items():
            self.putChild(name, child)

    def getChild(self, path, request):
        return self._rapi

    def render(self, request):
        return self._rapi.render(request)
