# -*- test-case-name: tests.test_extstorage -*-
"""``python3 -m ganeti.storage.providers``: see the package docstring."""
import sys

from ganeti.storage.providers import main

sys.exit(main())
