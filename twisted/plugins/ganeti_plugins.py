# -*- test-case-name: tests.test_tap -*-
"""
twistd plugins of the Ganeti suite (``twistd ganeti``).

Only names modules here: twistd imports every plugin file to list them.
"""

from twisted.application.service import ServiceMaker

Ganeti = ServiceMaker("Ganeti node", "ganeti.tap.ganeti",
                      "All Ganeti services of one node.", "ganeti")
