# -*- test-case-name: tests.test_rapi,tests.test_cli_node -*-
"""
Tags on the cluster, nodes, node groups, instances and networks.
"""

import re


from ganeti import errors
from ganeti.cmdlib.base import LogicalUnit

MAX_TAG_LEN = 128
MAX_TAGS_PER_OBJ = 4096
_TAG_RE = re.compile(r"^[\w.+*/:@-]+$")

_LOOKUP = {
    "node": ("nodes", "node_by_name"),
    "nodegroup": ("nodegroups", "group_by_name"),
    "instance": ("instances", "instance_by_name"),
    "network": ("networks", "network_by_name"),
}


def check_tag(tag):
    """:raise TagError: unless C{tag} is a valid tag."""
    if not isinstance(tag, str) or not tag:
        raise errors.TagError("Tags must be non-empty strings")
    if len(tag) > MAX_TAG_LEN:
        raise errors.TagError("Tag too long (>%d characters)" % MAX_TAG_LEN)
    if not _TAG_RE.match(tag):
        raise errors.TagError("Tag contains invalid characters")


class _TagsLU(LogicalUnit):
    """Finds the tagged object named by ``kind`` and ``name``."""

    def _target(self):
        kind, name = self.op["kind"], self.op.get("name")
        if kind == "cluster":
            return self.cfg.cluster
        if kind not in _LOOKUP:
            raise errors.OpPrereqError("Tags of %s objects are not supported"
                                       % kind, "wrong_input")
        obj = getattr(self.cfg, _LOOKUP[kind][1])(name or "")
        if obj is None:
            raise errors.OpPrereqError("%s '%s' does not exist"
                                       % (kind.capitalize(), name), "noent")
        return obj

    def check_prereq(self):
        self._target()

    def _store(self, tags):
        kind = self.op["kind"]
        if kind == "cluster":
            self.ctx.config.update_cluster(tags=tags)
            return
        self.ctx.config.update_object(_LOOKUP[kind][0], self._target().uuid,
                                      tags=tags)


class LUTagsGet(_TagsLU):
    """List an object's tags."""

    def execute(self):
        return sorted(self._target().tags)


class LUTagsSet(_TagsLU):
    """Add tags to an object."""

    BGL_SHARED = False

    def check_prereq(self):
        current = self._target().tags
        for tag in self.op["tags"]:
            check_tag(tag)
        if len(set(current) | set(self.op["tags"])) > MAX_TAGS_PER_OBJ:
            raise errors.TagError("Too many tags")

    def execute(self):
        current = list(self._target().tags)
        self._store(current + [t for t in self.op["tags"] if t not in current])


class LUTagsDel(_TagsLU):
    """Remove tags from an object; all must be present."""

    BGL_SHARED = False

    def check_prereq(self):
        current = set(self._target().tags)
        missing = sorted(set(self.op["tags"]) - current)
        if missing:
            raise errors.OpPrereqError(
                "Tag(s) %s not found" % ", ".join("'%s'" % t for t in missing),
                "noent")

    def execute(self):
        self._store([t for t in self._target().tags if t not in self.op["tags"]])


class LUTagsSearch(LogicalUnit):
    """Find every tag matching a regular expression."""

    def check_prereq(self):
        try:
            self._pattern = re.compile(self.op["pattern"])
        except re.error as e:
            raise errors.OpPrereqError("Invalid search pattern '%s': %s"
                                       % (self.op["pattern"], e), "wrong_input")

    def execute(self):
        cfg = self.cfg
        found = [("/cluster", tag) for tag in cfg.cluster.tags]
        for prefix, objects in (("/instances/", cfg.instances),
                                ("/nodes/", cfg.nodes),
                                ("/nodegroup/", cfg.nodegroups),
                                ("/network/", cfg.networks)):
            for obj in sorted(objects.values(), key=lambda o: o.name):
                found.extend((prefix + obj.name, tag) for tag in obj.tags)
        return [[path, tag] for path, tag in found if self._pattern.search(tag)]
