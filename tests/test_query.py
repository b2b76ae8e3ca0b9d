"""
Tests for L{ganeti.query} (fields, filters, query execution) and
L{ganeti.query.lang} (the command-line filter language).
"""

from twisted.trial.unittest import SynchronousTestCase

from ganeti import errors
from ganeti.query import lang
from ganeti import query
from ganeti.query import (Field, FieldSet, NoData, Offline, Unavailable,
                          RS_NODATA, RS_NORMAL, RS_OFFLINE, RS_UNAVAIL,
                          RS_UNKNOWN)


class FakeNode:
    """A node as the getters below see it."""

    def __init__(self, name, memory, offline=False, tags=(), vm=True):
        self.name = name
        self.memory = memory
        self.offline = offline
        self.tags = list(tags)
        self.vm = vm


def _memory(ctx, node):
    if node.offline:
        return Offline
    if not node.vm:
        return Unavailable
    if node.name in ctx.get("silent", ()):
        return NoData
    return node.memory


NODE_FIELDS = FieldSet([
    Field("name", "Node", "text", "Node name", query.attr_getter("name")),
    Field("mfree", "MFree", "unit", "Free memory", _memory),
    Field("offline", "Offline", "bool", "Whether offline",
          query.attr_getter("offline")),
    Field("tags", "Tags", "other", "Tags", query.attr_getter("tags")),
    Field("ctime", "CTime", "timestamp", "Creation time",
          lambda ctx, node: 0),
], aliases={"free_memory": "mfree"}, item_kind="Node")


def _nodes():
    return [
        FakeNode("node10", 2048, tags=["a"]),
        FakeNode("node2", 512, tags=["a", "b"]),
        FakeNode("node1", 1024, offline=True),
        FakeNode("node3", 4096, vm=False),
    ]


def _values(result, column=0):
    """
    :return: the values of one column of a query result.
    """
    return [row[column][1] for row in result["data"]]


class NiceSortTests(SynchronousTestCase):
    """Tests for L{query.nice_sort_key} and L{query.nice_sort}."""

    def test_numbers_in_names(self):
        """Names sort by the numbers in them: node2 comes before node10."""
        self.assertEqual(query.nice_sort(["node10", "node2", "node1"]),
                         ["node1", "node2", "node10"])

    def test_several_groups(self):
        """Each run of digits counts as a number, not only the first."""
        self.assertEqual(
            query.nice_sort(["a1b10", "a1b9", "a10b1", "a2b1"]),
            ["a1b9", "a1b10", "a2b1", "a10b1"])

    def test_shorter_first(self):
        """A name that is a prefix of another sorts first."""
        self.assertEqual(query.nice_sort(["node1.b", "node1", ""]),
                         ["", "node1", "node1.b"])

    def test_numbers_before_text(self):
        """At the same position, a number sorts before text."""
        self.assertEqual(query.nice_sort(["b", "10", "a", "9"]),
                         ["9", "10", "a", "b"])

    def test_non_strings(self):
        """Job ids (integers) sort numerically too."""
        self.assertEqual(query.nice_sort([10, 9, 100]), [9, 10, 100])

    def test_key_function(self):
        """Items sort by the name a key function returns."""
        nodes = query.nice_sort(_nodes(), key=lambda node: node.name)
        self.assertEqual([node.name for node in nodes],
                         ["node1", "node2", "node3", "node10"])


class FieldDefinitionTests(SynchronousTestCase):
    """Tests for L{Field} and L{FieldSet.fielddefs}."""

    def test_definition(self):
        """A field describes itself with name, title, kind and doc."""
        self.assertEqual(NODE_FIELDS["mfree"].definition(),
                         {"name": "mfree", "title": "MFree", "kind": "unit",
                          "doc": "Free memory"})

    def test_bad_kind(self):
        """A field of an unknown kind is a programming error."""
        self.assertRaises(errors.ProgrammerError, Field, "x", "X", "blob",
                          "Doc", lambda ctx, item: 1)
        self.assertRaises(errors.ProgrammerError, Field, "x", "X", "unknown",
                          "Doc", lambda ctx, item: 1)

    def test_duplicate_field(self):
        """Two fields with the same name are a programming error."""
        field = Field("x", "X", "text", "Doc", lambda ctx, item: "")
        self.assertRaises(errors.ProgrammerError, FieldSet, [field, field])

    def test_bad_alias(self):
        """An alias must point at an existing field and not shadow one."""
        field = Field("x", "X", "text", "Doc", lambda ctx, item: "")
        self.assertRaises(errors.ProgrammerError, FieldSet, [field],
                          {"y": "nope"})
        self.assertRaises(errors.ProgrammerError, FieldSet, [field],
                          [("x", "x")])

    def test_all_sorted(self):
        """list-fields without names lists every field, sorted by name."""
        self.assertEqual(
            [fdef["name"] for fdef in NODE_FIELDS.fielddefs()],
            ["ctime", "free_memory", "mfree", "name", "offline", "tags"])

    def test_empty_means_all(self):
        """list-fields with no names given lists all fields."""
        self.assertEqual(NODE_FIELDS.fielddefs([]), NODE_FIELDS.fielddefs())

    def test_alias(self):
        """An alias shows its own name with the target's title and kind."""
        [fdef] = NODE_FIELDS.fielddefs(["free_memory"])
        self.assertEqual(fdef, {"name": "free_memory", "title": "MFree",
                                "kind": "unit", "doc": "Free memory"})

    def test_requested_order_and_unknown(self):
        """Requested fields keep their order; unknown ones say so."""
        self.assertEqual(NODE_FIELDS.fielddefs(["tags", "bogus"]), [
            {"name": "tags", "title": "Tags", "kind": "other",
             "doc": "Tags"},
            {"name": "bogus", "title": "bogus", "kind": "unknown",
             "doc": "Unknown field 'bogus'"},
        ])


class QueryTests(SynchronousTestCase):
    """Tests for L{FieldSet.query}."""

    def test_sorted_by_name(self):
        """Without names, rows come sorted nicely by name."""
        result = NODE_FIELDS.query({}, _nodes(), ["name"])
        self.assertEqual(_values(result),
                         ["node1", "node2", "node3", "node10"])

    def test_shape(self):
        """The result holds field definitions and rows of [status, value]."""
        result = NODE_FIELDS.query({}, _nodes()[:1], ["name", "tags"])
        self.assertEqual(result, {
            "fields": NODE_FIELDS.fielddefs(["name", "tags"]),
            "data": [[[RS_NORMAL, "node10"], [RS_NORMAL, ["a"]]]],
        })

    def test_given_order(self):
        """Rows for named items come in the order the names were given."""
        result = NODE_FIELDS.query({}, _nodes(), ["name"],
                                   names=["node3", "node1", "node10"])
        self.assertEqual(_values(result), ["node3", "node1", "node10"])

    def test_unknown_name(self):
        """An unknown name is an error naming it, with code noent."""
        exc = self.assertRaises(errors.OpPrereqError, NODE_FIELDS.query, {},
                                _nodes(), ["name"],
                                names=["node1", "node99", "node98"])
        self.assertEqual(exc.args, ("Node name node99 not found", "noent"))

    def test_item_kind_parameter(self):
        """The item kind in the error can be chosen per query."""
        exc = self.assertRaises(errors.OpPrereqError, NODE_FIELDS.query, {},
                                [], ["name"], names=["web9"],
                                item_kind="Instance")
        self.assertEqual(str(exc), "Instance name web9 not found")

    def test_names_from_filter(self):
        """The filter of plain name arguments acts as a list of names."""
        qfilter = lang.make_simple_filter("name", ["node3", "node1"])
        result = NODE_FIELDS.query({}, _nodes(), ["name"], qfilter=qfilter)
        self.assertEqual(_values(result), ["node3", "node1"])
        self.assertRaises(errors.OpPrereqError, NODE_FIELDS.query, {},
                          _nodes(), ["name"],
                          qfilter=lang.make_simple_filter("name", ["x"]))

    def test_glob_names(self):
        """Glob arguments filter all items and keep the sorted order."""
        qfilter = lang.make_simple_filter("name", ["node1*", "node3"])
        result = NODE_FIELDS.query({}, _nodes(), ["name"], qfilter=qfilter)
        self.assertEqual(_values(result), ["node1", "node3", "node10"])

    def test_unknown_field(self):
        """An unknown field gives unknown cells, not an error."""
        result = NODE_FIELDS.query({}, _nodes()[:2], ["name", "bogus"])
        self.assertEqual(result["fields"][1]["kind"], "unknown")
        self.assertEqual([row[1] for row in result["data"]],
                         [[RS_UNKNOWN, None], [RS_UNKNOWN, None]])

    def test_missing_values(self):
        """Getters report offline, unavailable and missing data."""
        result = NODE_FIELDS.query({"silent": ["node10"]}, _nodes(),
                                   ["name", "mfree"])
        self.assertEqual([row[1] for row in result["data"]], [
            [RS_OFFLINE, None], [RS_NORMAL, 512], [RS_UNAVAIL, None],
            [RS_NODATA, None]])

    def test_alias_value(self):
        """An alias returns its target's values."""
        result = NODE_FIELDS.query({}, _nodes(), ["free_memory"],
                                   names=["node2"])
        self.assertEqual(result["data"], [[[RS_NORMAL, 512]]])
        self.assertEqual(result["fields"][0]["name"], "free_memory")

    def test_context_passed(self):
        """Getters receive the context given to the query."""
        seen = []
        fields = FieldSet([Field("name", "Name", "text", "Name",
                                 lambda ctx, item: seen.append(ctx) or item)])
        fields.query("the-context", ["a"], ["name"])
        self.assertIn("the-context", seen)


class RequestedNamesTests(SynchronousTestCase):
    """Tests for L{query.requested_names}."""

    def test_or_of_equalities(self):
        """An "or" of name equalities asks for those names."""
        self.assertEqual(query.requested_names(
            ["|", ["==", "name", "b"], ["=", "name", "a"]]), ["b", "a"])
        self.assertEqual(query.requested_names(["==", "name", "a"]), ["a"])

    def test_anything_else(self):
        """Any other condition means all items must be looked at."""
        for qfilter in [["|", ["==", "name", "a"], ["?", "offline"]],
                        ["&", ["==", "name", "a"]],
                        ["==", "other", "a"],
                        ["=~", "name", "a"],
                        ["|"], None]:
            self.assertIdentical(query.requested_names(qfilter), None)

    def test_numbers_ignored(self):
        """Numeric values are not names (job ids use their own path)."""
        self.assertIdentical(
            query.requested_names(["|", ["==", "name", 5]]), None)


class FilterTests(SynchronousTestCase):
    """Tests for list-form filters evaluated by L{FieldSet.query}."""

    def _names(self, qfilter, ctx=None):
        """:return: the names of the nodes C{qfilter} selects."""
        result = NODE_FIELDS.query(ctx or {}, _nodes(), ["name"],
                                   qfilter=qfilter)
        return _values(result)

    def test_comparisons(self):
        """Numbers compare numerically with every comparison operator."""
        # node1 (offline) and node3 (unavailable) have no value and pass.
        self.assertEqual(self._names(["<", "mfree", 2048]),
                         ["node1", "node2", "node3"])
        self.assertEqual(self._names(["<=", "mfree", 2048]),
                         ["node1", "node2", "node3", "node10"])
        self.assertEqual(self._names([">", "mfree", 512]),
                         ["node1", "node3", "node10"])
        self.assertEqual(self._names([">=", "mfree", 2048]),
                         ["node1", "node3", "node10"])
        self.assertEqual(self._names(["==", "mfree", 512]),
                         ["node1", "node2", "node3"])
        self.assertEqual(self._names(["!=", "mfree", 512]),
                         ["node1", "node3", "node10"])

    def test_missing_values_pass(self):
        """A condition on a missing value (offline node) lets it through."""
        self.assertIn("node1", self._names(["<", "mfree", 0]))
        self.assertIn("node3", self._names(["<", "mfree", 0]))

    def test_strings(self):
        """Strings compare as strings; "=" is the legacy equality."""
        self.assertEqual(self._names(["=", "name", "node2"]), ["node2"])
        self.assertEqual(self._names(["<", "name", "node2"]),
                         ["node1", "node10"])

    def test_bool(self):
        """A bare field is true where the boolean value is true."""
        self.assertEqual(self._names(["?", "offline"]), ["node1"])
        self.assertEqual(self._names(["!", ["?", "offline"]]),
                         ["node2", "node3", "node10"])

    def test_logic(self):
        """"and", "or" and "not" combine conditions."""
        self.assertEqual(
            self._names(["|", ["==", "name", "node3"], ["?", "offline"]]),
            ["node1", "node3"])
        self.assertEqual(
            self._names(["&", ["=~", "name", "^node1"], ["!", ["?",
                                                                "offline"]]]),
            ["node10"])
        self.assertEqual(self._names(["&"]),
                         ["node1", "node2", "node3", "node10"])
        self.assertEqual(self._names(["|", ["=~", "name", "x"]]), [])

    def test_regexp(self):
        """Regular expressions search anywhere unless anchored."""
        self.assertEqual(self._names(["=~", "name", "e1"]),
                         ["node1", "node10"])
        self.assertEqual(self._names(["=~", "name", "(?i)NODE1$"]), ["node1"])

    def test_contains(self):
        """"=[]" checks whether a list holds a value."""
        self.assertEqual(self._names(["=[]", "tags", "b"]), ["node2"])
        self.assertEqual(self._names(["!", ["=[]", "tags", "a"]]),
                         ["node1", "node3"])

    def test_glob_filter(self):
        """The CLI glob filter matches short names and whole labels only."""
        qfilter = lang.parse_filter('name =* "node?"')
        self.assertEqual(self._names(qfilter), ["node1", "node2", "node3"])

    def test_unknown_field(self):
        """A filter on an unknown field fails before looking at items."""
        exc = self.assertRaises(errors.ParameterError, NODE_FIELDS.query, {},
                                [], ["name"], qfilter=["?", "bogus"])
        self.assertEqual(str(exc), "Can't find field named 'bogus'")

    def test_type_mismatch(self):
        """Comparing a number field with a string is an error."""
        self.assertRaises(errors.ParameterError, self._names,
                          ["==", "mfree", "512"])
        self.assertRaises(errors.ParameterError, self._names,
                          ["?", "name"])
        self.assertRaises(errors.ParameterError, self._names,
                          ["=~", "mfree", "5"])
        self.assertRaises(errors.ParameterError, self._names,
                          ["=[]", "name", "n"])

    def test_malformed(self):
        """Malformed filters are rejected with QueryFilterParseError."""
        for qfilter in ["name", [], [5], ["~~", "name", "x"],
                        ["!", ["?", "name"], ["?", "name"]], ["?"],
                        ["==", "name"], ["==", "name", "x", "y"],
                        ["==", "name", True], ["==", "name", None],
                        ["=~", "name", "("], ["&", "name"]]:
            self.assertRaises(errors.QueryFilterParseError,
                              NODE_FIELDS.compile_filter, qfilter)

    def test_round_trip(self):
        """Text typed on the command line selects the expected nodes."""
        qfilter = lang.parse_filter(
            'mfree >= 1024 and not offline or "b" in tags')
        self.assertEqual(self._names(qfilter), ["node2", "node3", "node10"])


class ParseFilterTests(SynchronousTestCase):
    """Tests for L{lang.parse_filter}, cases taken from Ganeti's."""

    def check(self, text, expected):
        """Assert that C{text} parses to C{expected}."""
        self.assertEqual(lang.parse_filter(text), expected)

    def test_equality(self):
        """Both quote styles and the legacy "=" give an equality."""
        for text in ['name=="foobar"', "name=='foobar'", 'name="foobar"',
                     "name = 'foobar'"]:
            self.check(text, ["==", "name", "foobar"])

    def test_precedence(self):
        """"and" binds tighter than "or"; chains are flattened."""
        self.check("valA==1 and valB==2 or valC==3",
                   ["|", ["&", ["==", "valA", 1], ["==", "valB", 2]],
                    ["==", "valC", 3]])
        self.check("a and b and c", ["&", ["?", "a"], ["?", "b"], ["?", "c"]])
        self.check("(a and b) and c",
                   ["&", ["&", ["?", "a"], ["?", "b"]], ["?", "c"]])

    def test_blanks_and_parentheses(self):
        """Newlines, tabs and parentheses (also inside strings) work."""
        self.check('(name\n=="foobar") and (xyz=="va)ue" and k == 256 or'
                   ' x ==\t"y"\n) and mc',
                   ["&", ["==", "name", "foobar"],
                    ["|", ["&", ["==", "xyz", "va)ue"], ["==", "k", 256]],
                     ["==", "x", "y"]],
                    ["?", "mc"]])

    def test_not(self):
        """"not" negates; words merely starting with it are fields."""
        self.check("not master", ["!", ["?", "master"]])
        self.check("not not master", ["!", ["!", ["?", "master"]]])
        self.check("notmaster", ["?", "notmaster"])
        self.check("  not \tandfoo", ["!", ["?", "andfoo"]])
        self.check("not (master or other == 4)",
                   ["!", ["|", ["?", "master"], ["==", "other", 4]]])
        self.check("orname =~ m/abc/", ["=~", "orname", "abc"])

    def test_comparisons(self):
        """All comparison operators, with signed numbers."""
        self.check("negfield != -1", ["!=", "negfield", -1])
        self.check("ctime < 1234", ["<", "ctime", 1234])
        self.check("ctime > +1234", [">", "ctime", 1234])
        self.check("mtime <= 9999", ["<=", "mtime", 9999])
        self.check("mtime >= 9999", [">=", "mtime", 9999])

    def test_in(self):
        """"in" and "not in" test list membership."""
        self.check("123 in ips", ["=[]", "ips", 123])
        self.check("99 not in ips", ["!", ["=[]", "ips", 99]])
        self.check('"a" in valA and "b" not in valB',
                   ["&", ["=[]", "valA", "a"],
                    ["!", ["=[]", "valB", "b"]]])

    def test_strings_keep_escapes(self):
        """Backslashes and doubled quotes stay in the value, as in Ganeti."""
        self.check('some=="val\\"ue"', ["==", "some", 'val\\"ue'])
        self.check('x == "a""b"', ["==", "x", 'a""b'])
        self.check("x == ''", ["==", "x", ""])

    def test_regexp(self):
        """m/re/ with flags i and s, any delimiter, "m" optional."""
        self.check("name =~ m/^node.*example.com$/i",
                   ["=~", "name", "(?i)^node.*example.com$"])
        self.check("name =~ m/gi/sis", ["=~", "name", "(?iss)gi"])
        for delimiter in "/#^|":
            self.check("name =~ m%stest%s" % (delimiter, delimiter),
                       ["=~", "name", "test"])
            self.check("name !~ %stest%s" % (delimiter, delimiter),
                       ["!", ["=~", "name", "test"]])
        self.check("pip =~ |^3.*| or x", ["|", ["=~", "pip", "^3.*"],
                                          ["?", "x"]])

    def test_regexp_escapes(self):
        """An escaped delimiter is literal; other escapes reach the regex."""
        self.check(r"name =~ m/a\/b\.c\d/", ["=~", "name", r"a/b\.c\d"])

    def test_glob(self):
        """=* and !* turn a DNS glob into a regular expression."""
        self.check("name =* '*.site'",
                   ["=~", "name", r"^[^.]*\.site(\..*)?$"])
        self.check("field !* 'web?'",
                   ["!", ["=~", "field", r"^web[^.](\..*)?$"]])

    def test_errors(self):
        """Bad filters raise QueryFilterParseError saying where."""
        for text in ["#invalid!filter#", "m/x/,", "name=~m#a#g",
                     "name=~^[^", "asdf =~ m|abc|I", "name =~ /foobarbaz#",
                     "name <> value", "name => value", "name =< value",
                     "foo==bar", "foo+=1", "", "   ", "a and", "(a", "a)",
                     "1 in", "'abc' == x", "x == 'abc", "x == 1.5",
                     "and", "*.site", "x =* glob", "x =~ 'y'"]:
            self.assertRaises(errors.QueryFilterParseError,
                              lang.parse_filter, text)

    def test_error_message(self):
        """The message quotes the filter and the position of the problem."""
        exc = self.assertRaises(errors.QueryFilterParseError,
                                lang.parse_filter, "name =~ m/x/g")
        self.assertEqual(
            str(exc), "Failed to parse query filter 'name =~ m/x/g':"
            " Unknown regular expression flags: 'g' (at char 12),"
            " (line:1, col:13)")


class MakeFilterTests(SynchronousTestCase):
    """Tests for name arguments: L{lang.make_simple_filter} and friends."""

    def test_simple(self):
        """Plain names become an "or" of equalities."""
        self.assertIdentical(lang.make_simple_filter("name", []), None)
        self.assertIdentical(lang.make_simple_filter("name", None), None)
        self.assertEqual(lang.make_simple_filter("xyz", ["a", "b"]),
                         ["|", ["==", "xyz", "a"], ["==", "xyz", "b"]])

    def test_globs(self):
        """Names with * or ? become regular expression matches."""
        self.assertEqual(
            lang.make_simple_filter("name", ["*.a", "web?.b", "c"]),
            ["|", ["=~", "name", r"^[^.]*\.a(\..*)?$"],
             ["=~", "name", r"^web[^.]\.b(\..*)?$"],
             ["==", "name", "c"]])

    def test_is_filter_like(self):
        """Blanks, quotes, operators and slashes make an argument a filter."""
        for text in ["a b", "x==1", "foo/bar", "(x)", "a!", "x=~m/y/"]:
            self.assertTrue(lang.is_filter_like(text), text)
        for text in ["node1", "n-o-d-e", "node1.example.com.", "*.site",
                     "web?"]:
            self.assertFalse(lang.is_filter_like(text), text)

    def test_make_filter(self):
        """A lone filter-like argument is parsed, other arguments are names."""
        self.assertEqual(lang.make_filter(["foo=='bar'"]),
                         ["==", "foo", "bar"])
        self.assertEqual(lang.make_filter(["foo/bar"]), ["?", "foo/bar"])
        self.assertEqual(lang.make_filter(["node1"]),
                         ["|", ["==", "name", "node1"]])
        self.assertEqual(lang.make_filter(["a", "b"], name_field="id"),
                         ["|", ["==", "id", "a"], ["==", "id", "b"]])
        self.assertIdentical(lang.make_filter([]), None)
        self.assertRaises(errors.QueryFilterParseError, lang.make_filter,
                          ["foo==bar"])

    def test_forced_filter(self):
        """-F needs exactly one argument and always parses it."""
        self.assertEqual(lang.make_filter(["web1"], True), ["?", "web1"])
        for args in [None, [], ["1", "2"]]:
            self.assertRaises(errors.OpPrereqError, lang.make_filter,
                              args, True)
        self.assertRaises(errors.QueryFilterParseError, lang.make_filter,
                          ["*.site"], True)

    def test_numeric_names(self):
        """Job ids are compared as numbers; a non-number is an error."""
        self.assertEqual(
            lang.make_filter(["1", "20"], name_field="id", is_numeric=True),
            ["|", ["==", "id", 1], ["==", "id", 20]])
        exc = self.assertRaises(errors.OpPrereqError, lang.make_filter,
                                ["x"], name_field="id", is_numeric=True)
        self.assertEqual(exc.args[1], "wrong_input")
