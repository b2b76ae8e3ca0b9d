"""Packaging for the Twisted Ganeti suite."""

import glob

from setuptools import find_packages, setup

setup(
    name="ganeti-twisted",
    version="3.0.2",
    description="Ganeti cluster virtualization manager on Twisted",
    packages=find_packages(include=["ganeti", "ganeti.*"]) + ["twisted.plugins"],
    package_data={"twisted.plugins": ["ganeti_plugins.py"],
                  # The example ExtStorage provider's scripts.
                  "ganeti.storage.providers": ["filevol/*"],
                  # The web view's page and what ganeti/ui/vendor.sh
                  # vendored next to it (xterm.js, noVNC).
                  "ganeti.ui": ["static/*.*", "static/vendor/**/*"]},
    scripts=sorted(glob.glob("bin/*")),
    python_requires=">=3.11",
    install_requires=[
        "Twisted>=24.3",
        "pyOpenSSL",
        "service_identity",
        "zope.interface",
        "treq",
        "attrs",
        # /metrics (master and nodes): the Prometheus text exposition.
        "prometheus_client",
        # Consoles in the browser: the WebSocket on the RAPI port.
        "autobahn",
    ],
    # selenium drives Debian's chromium in tests/test_ui.py.
    extras_require={"test": ["hypothesis", "selenium", "websocket-client"]},
)
