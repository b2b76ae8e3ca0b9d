# -*- test-case-name: tests.test_ui -*-
"""
Serving the web view's static files, with the headers a page holding
RAPI credentials needs.
"""

import os

from twisted.web import resource, static

#: The page's files, installed as package data.
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "static")

#: Scripts, styles and connections from this origin only, so an injected
#: name in the cluster's data cannot pull code from elsewhere.  Inline
#: styles are allowed because xterm.js sizes its terminal with <style>
#: elements it creates; inline scripts are not.
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; script-src 'self'; connect-src 'self';"
    b" style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    b" object-src 'none'; base-uri 'none'; form-action 'self';"
    b" frame-ancestors 'none'")


class StaticFiles(static.File):
    """
    A directory of static files under fixed headers: never cached, so a
    browser sees a new version right after an upgrade, and never a
    directory listing.
    """

    # Explicit, as /etc/mime.types may lack them and a module script
    # served under another type is refused by the browser.
    contentTypes = dict(static.File.contentTypes, **{
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".mjs": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
    })

    def render(self, request):
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"content-security-policy", CONTENT_SECURITY_POLICY)
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"referrer-policy", b"no-referrer")
        return static.File.render(self, request)

    def directoryListing(self):
        return resource.NoResource()


def web_view():
    """
    :return: the resource to mount at ``/ui``; ``/ui`` itself redirects
        to ``/ui/``, which serves ``index.html``.
    """
    return StaticFiles(STATIC_DIR)
