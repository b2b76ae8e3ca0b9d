"""
Tests on real virtual machines (L{ganeti.testing.vmbed}): Debian's kernel
under qemu, with the device-mapper and DRBD this machine's kernel lacks.
They skip, naming what is missing, where the bed cannot run.
"""
