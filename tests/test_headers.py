"""
Tests that every module names its tests: the ``test-case-name`` line at
its top (which ``trial --testmodule`` and editors follow) names test
modules that exist.
"""

import os
import re

from twisted.trial.unittest import SynchronousTestCase

import ganeti

_TOP = os.path.dirname(os.path.dirname(os.path.abspath(ganeti.__file__)))
_HEADER = re.compile(r"^# -\*- test-case-name: (\S+) -\*-$")


def _sources():
    for folder in ("ganeti", os.path.join("twisted", "plugins")):
        for directory, subdirs, files in os.walk(os.path.join(_TOP, folder)):
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(directory, name)


def _exists(test_module):
    path = os.path.join(_TOP, *test_module.split("."))
    return os.path.isfile(path + ".py") or os.path.isdir(path)


class TestCaseNameTests(SynchronousTestCase):
    """The first line of every module of the suite."""

    def test_every_module_names_existing_tests(self):
        """Each module starts with a test-case-name header whose test
        modules all exist."""
        wrong = []
        for path in _sources():
            with open(path) as f:
                match = _HEADER.match(f.readline().rstrip("\n"))
            relative = os.path.relpath(path, _TOP)
            if match is None:
                wrong.append("%s: no test-case-name header" % relative)
                continue
            wrong.extend("%s: %s does not exist" % (relative, name)
                         for name in match.group(1).split(",")
                         if not _exists(name))
        self.assertEqual(wrong, [])
