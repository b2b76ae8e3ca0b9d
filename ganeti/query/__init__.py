# -*- test-case-name: tests.test_query -*-
"""
Field definitions and query execution for the list commands.

The master answers ``gnt-node list``, ``gnt-instance list`` and friends with
Ganeti's query result: the definitions of the requested fields and one row
per item, each cell a ``[status, value]`` pair.  The status says whether the
value is real or why it is missing (unknown field, node offline, ...), so
the tool can print ``*`` for an offline node instead of a made-up number.

Each item type declares its fields once, as a L{FieldSet} of L{Field}s whose
getters read a value from an item.  L{FieldSet.query} then selects, filters
(with the list-form filters of L{ganeti.query.lang}), sorts and formats.

Pure and light on purpose: the tools import L{nice_sort_key} from here.
"""

from ganeti import errors
from ganeti.query import lang

# Field kinds, with Ganeti's wire names.
QFT_TEXT = "text"
QFT_BOOL = "bool"
QFT_NUMBER = "number"
QFT_FLOAT = "float"
#: A storage size in MiB; the tools print it with a unit (``1.0G``).
QFT_UNIT = "unit"
#: Seconds since the epoch.
QFT_TIMESTAMP = "timestamp"
#: Anything else: lists, dictionaries, mixed values.
QFT_OTHER = "other"
#: Reserved for requested fields that do not exist.
QFT_UNKNOWN = "unknown"

QFT_ALL = frozenset([QFT_TEXT, QFT_BOOL, QFT_NUMBER, QFT_FLOAT, QFT_UNIT,
                     QFT_TIMESTAMP, QFT_OTHER, QFT_UNKNOWN])

# Result statuses, with Ganeti's numbers.
RS_NORMAL = 0
RS_UNKNOWN = 1
RS_NODATA = 2
RS_UNAVAIL = 3
RS_OFFLINE = 4

RS_ALL = frozenset([RS_NORMAL, RS_UNKNOWN, RS_NODATA, RS_UNAVAIL, RS_OFFLINE])


class _Missing:
    """
    A value a getter returns instead of data it cannot give.

    One instance per status; compare with C{is}.
    """

    __slots__ = ("_name", "status")

    def __init__(self, name, status):
        self._name = name
        self.status = status

    def __repr__(self):
        return self._name


#: Return this from a getter when the data is not available at all for
#: this item (e.g. memory of a node that is not vm_capable); shown as ``-``.
Unavailable = _Missing("Unavailable", RS_UNAVAIL)

#: Return this when the data should exist but could not be collected
#: (e.g. a node did not answer); shown as ``?``.
NoData = _Missing("NoData", RS_NODATA)

#: Return this when the item or the node holding the data is marked
#: offline and was therefore not asked; shown as ``*``.
Offline = _Missing("Offline", RS_OFFLINE)

# Internal: the value of a requested field that does not exist.
_UNKNOWN = _Missing("Unknown", RS_UNKNOWN)


def nice_sort_key(value):
    """
    Sort key ordering names the way people count: ``node2`` < ``node10``.

    The text is cut into runs of digits and non-digits; the first eight
    runs are compared (digits as numbers), then the rest of the text.  A
    name that runs out of runs sorts first, and at the same position a
    number sorts before text, as in Ganeti.

    :param value: a name (or anything; it is converted with C{str}).
    :return: a tuple usable as C{sorted(..., key=...)} key.
    """
    text = str(value)
    length = len(text)
    pos = 0
    key = []
    for _ in range(8):
        if pos >= length:
            key.append((0,))
            continue
        digits = text[pos].isdecimal()
        end = pos + 1
        while end < length and text[end].isdecimal() == digits:
            end += 1
        run = text[pos:end]
        key.append((1, int(run)) if digits else (2, run))
        pos = end
    rest = text[pos:]
    key.append((1, int(rest)) if rest.isdecimal() else (2, rest))
    return tuple(key)


def nice_sort(values, key=None):
    """
    :param values: names, or items when C{key} is given.
    :param key: returns the name of an item.
    :return: a new list sorted with L{nice_sort_key}.
    """
    if key is None:
        return sorted(values, key=nice_sort_key)
    return sorted(values, key=lambda value: nice_sort_key(key(value)))


def attr_getter(name):
    """
    :param name: an attribute of the items.
    :return: a getter reading that attribute.
    """
    return lambda ctx, item: getattr(item, name)


def key_getter(key):
    """
    :param key: a key of dictionary items.
    :return: a getter reading that key.
    """
    return lambda ctx, item: item[key]


class Field:
    """
    One queryable field of an item type.

    :ivar name: what the user types after ``-o`` (``pinst_cnt``).
    :ivar title: the column heading (``Pinst``).
    :ivar kind: one of the C{QFT_*} kinds; decides formatting and alignment.
    :ivar doc: one line for ``list-fields``.
    :ivar getter: C{getter(ctx, item)} returning the value, or one of
        L{Unavailable}, L{NoData}, L{Offline}.  C{ctx} is whatever the
        caller passed to L{FieldSet.query} (configuration, live data).
    """

    __slots__ = ("name", "title", "kind", "doc", "getter")

    def __init__(self, name, title, kind, doc, getter):
        if kind not in QFT_ALL or kind == QFT_UNKNOWN:
            raise errors.ProgrammerError("Invalid kind %r for field %r"
                                         % (kind, name))
        self.name = name
        self.title = title
        self.kind = kind
        self.doc = doc
        self.getter = getter

    def definition(self):
        """
        :return: the field's definition as sent to clients:
            ``{"name", "title", "kind", "doc"}``.
        """
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "doc": self.doc}

    def renamed(self, name):
        """
        :return: a copy under another name, for aliases.
        """
        return Field(name, self.title, self.kind, self.doc, self.getter)

    def __repr__(self):
        return "<Field %s (%s)>" % (self.name, self.kind)


def _unknown_definition(name):
    """
    :return: the definition reported for a field that does not exist.
    """
    return {"name": name, "title": name, "kind": QFT_UNKNOWN,
            "doc": "Unknown field '%s'" % name}


def _get_unknown(ctx, item):
    return _UNKNOWN


def _result_entry(value):
    """
    :return: the ``[status, value]`` cell for a getter's return value.
    """
    if isinstance(value, _Missing):
        return [value.status, None]
    return [RS_NORMAL, value]


def object_fields(kind):
    """
    The serial number and timestamps every configuration object carries,
    with Ganeti's names and descriptions.

    :param kind: the object's word in the description (``Node``...).
    :return: the three L{Field}s, in Ganeti's order.
    """
    return [
        Field("serial_no", "SerialNo", QFT_NUMBER, "%s object serial number,"
              " incremented on each modification" % kind,
              lambda ctx, obj: obj.serial_no),
        Field("ctime", "CTime", QFT_TIMESTAMP, "Creation timestamp",
              lambda ctx, obj: obj.ctime),
        Field("mtime", "MTime", QFT_TIMESTAMP, "Modification timestamp",
              lambda ctx, obj: obj.mtime),
    ]


class FieldSet:
    """
    All fields of one item type (nodes, instances, ...), and queries on them.

    :param fields: the L{Field}s.
    :param aliases: alternative names, as a mapping or ``(alias, target)``
        pairs; an alias behaves exactly like its target but keeps its own
        name in results.
    :param item_kind: the item type in error messages (``Instance``).
    """

    def __init__(self, fields, aliases=None, item_kind="Item"):
        self._fields = {}
        for field in fields:
            if field.name in self._fields:
                raise errors.ProgrammerError("Duplicate field %r" % field.name)
            self._fields[field.name] = field
        if aliases is None:
            aliases = ()
        elif hasattr(aliases, "items"):
            aliases = aliases.items()
        for alias, target in aliases:
            if alias in self._fields or target not in self._fields:
                raise errors.ProgrammerError("Bad alias %r for %r"
                                             % (alias, target))
            self._fields[alias] = self._fields[target].renamed(alias)
        self.item_kind = item_kind

    def __contains__(self, name):
        return name in self._fields

    def __getitem__(self, name):
        return self._fields[name]

    def __iter__(self):
        return iter(self._fields.values())

    def names(self):
        """
        :return: all field names (aliases included), nicely sorted.
        """
        return nice_sort(self._fields)

    def fielddefs(self, names=None):
        """
        Describe fields, for ``list-fields``.

        :param names: the wanted fields in the wanted order, or C{None} (or
            an empty list) for all of them sorted by name.  Unknown names get a definition of
            kind ``unknown`` rather than an error, so the tool can list the
            good ones and still exit with code 14.
        :return: a list of definition dictionaries.
        """
        if not names:
            names = self.names()
        return [self._definition(name) for name in names]

    def _definition(self, name):
        field = self._fields.get(name)
        if field is None:
            return _unknown_definition(name)
        return field.definition()

    def compile_filter(self, qfilter):
        """
        Turn a list-form filter into a predicate.

        Mistakes are found here, before any item is looked at: a malformed
        filter or bad regular expression raises
        L{errors.QueryFilterParseError}, a field that does not exist
        L{errors.ParameterError} (Ganeti's classes for the two cases).

        :param qfilter: the filter, or C{None}.
        :return: C{predicate(ctx, item) -> bool}, or C{None} for no filter.
            Evaluating it raises L{errors.ParameterError} when a value
            cannot be compared (a string field compared with a number).
        """
        if qfilter is None:
            return None
        return _FilterCompiler(self._fields).compile(qfilter)

    def query(self, ctx, items, field_names, qfilter=None, names=None,
              name_field="name", item_kind=None):
        """
        Run a query.

        Rows come in the order of C{names} when names are wanted, else
        sorted nicely by name.  Names are wanted when C{names} is given or,
        as in Ganeti, when the filter is nothing but an "or" of equalities
        on the name field (what the tools send for plain name arguments).
        Wanted names must all exist.

        :param ctx: passed to every getter (configuration, live data).
        :param items: all items of this type.
        :param field_names: the requested fields; unknown ones give
            ``[RS_UNKNOWN, None]`` cells, not an error.
        :param qfilter: a list-form filter, or C{None}.
        :param names: wanted names, or C{None}.
        :param name_field: the field holding an item's name.
        :param item_kind: the item type for error messages; defaults to
            the set's C{item_kind}.
        :return: ``{"fields": [definition, ...], "data": [row, ...]}``,
            each row a list of ``[status, value]`` cells.
        :raise errors.OpPrereqError: (code ``noent``) a wanted name does not
            exist, e.g. ``Instance name web9 not found``.
        :raise errors.QueryFilterParseError: malformed filter.
        :raise errors.ParameterError: the filter names an unknown field or
            compares values of different types.
        """
        predicate = self.compile_filter(qfilter)
        if item_kind is None:
            item_kind = self.item_kind
        selected = [self._fields.get(name) for name in field_names]
        getters = [_get_unknown if field is None else field.getter
                   for field in selected]
        if name_field not in self._fields:
            raise errors.ProgrammerError("No name field %r" % (name_field,))
        name_getter = self._fields[name_field].getter

        if names is None and qfilter is not None:
            names = requested_names(qfilter, name_field)
        if names:
            by_name = {}
            for item in items:
                by_name.setdefault(name_getter(ctx, item), item)
            chosen = []
            for name in names:
                if name not in by_name:
                    # Like Ganeti, report the first missing name only.
                    raise errors.OpPrereqError("%s name %s not found"
                                               % (item_kind, name), "noent")
                chosen.append(by_name[name])
        else:
            chosen = nice_sort(items, key=lambda item: name_getter(ctx, item))

        data = []
        for item in chosen:
            if predicate is not None and not predicate(ctx, item):
                continue
            data.append([_result_entry(getter(ctx, item))
                         for getter in getters])
        return {
            "fields": [self._definition(name) for name in field_names],
            "data": data,
        }


def requested_names(qfilter, name_field="name"):
    """
    Find the names a filter asks for, if it only asks for names.

    :param qfilter: a list-form filter.
    :param name_field: the name field.
    :return: the names of an equality on the name field, or of an "or" of
        such equalities (string values only, numbers are ignored as in
        Ganeti); C{None} when the filter selects by anything else.
    """
    found = _collect_names(qfilter, name_field)
    if not found:
        return None
    return [value for value in found if isinstance(value, str)] or None


def _collect_names(qfilter, name_field):
    if not isinstance(qfilter, (list, tuple)) or not qfilter:
        return None
    op = qfilter[0]
    if op == lang.OP_OR:
        result = []
        for sub in qfilter[1:]:
            names = _collect_names(sub, name_field)
            if names is None:
                return None
            result.extend(names)
        return result
    if (op in (lang.OP_EQUAL, lang.OP_EQUAL_LEGACY) and len(qfilter) == 3
            and qfilter[1] == name_field):
        return [qfilter[2]]
    return None


def _is_number(value):
    # JSON has no bool-is-int confusion; keep it that way.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same_type(left, right):
    """
    :return: whether the two values may be compared: both strings or both
        numbers, as Ganeti allows.
    """
    if isinstance(left, str):
        return isinstance(right, str)
    return _is_number(left) and _is_number(right)


def _type_error(actual, expected):
    raise errors.ParameterError("Invalid types in comparison, trying to"
                                " compare %r with %r" % (actual, expected))


def _compare_with(test):
    """
    :return: a value test applying C{test(actual, expected)} after checking
        that the types match.
    """
    def check(actual, expected):
        if not _same_type(actual, expected):
            _type_error(actual, expected)
        return test(actual, expected)
    return check


def _test_true(actual):
    if not isinstance(actual, bool):
        raise errors.ParameterError("Unexpected value %r in boolean context"
                                    % (actual,))
    return actual


def _test_contains(actual, expected):
    if not isinstance(actual, (list, tuple)):
        raise errors.ParameterError("Invalid field value used in contains"
                                    " check, expecting a list but got %r"
                                    % (actual,))
    return any(_same_type(element, expected) and element == expected
               for element in actual)


def _test_regexp(actual, regexp):
    if not isinstance(actual, str):
        raise errors.ParameterError("Invalid field value used in regexp"
                                    " matching, expecting string but got %r"
                                    % (actual,))
    return regexp.search(actual) is not None


_BINARY_TESTS = {
    lang.OP_EQUAL: _compare_with(lambda a, b: a == b),
    lang.OP_EQUAL_LEGACY: _compare_with(lambda a, b: a == b),
    lang.OP_NOT_EQUAL: _compare_with(lambda a, b: a != b),
    lang.OP_LT: _compare_with(lambda a, b: a < b),
    lang.OP_LE: _compare_with(lambda a, b: a <= b),
    lang.OP_GT: _compare_with(lambda a, b: a > b),
    lang.OP_GE: _compare_with(lambda a, b: a >= b),
    lang.OP_CONTAINS: _test_contains,
    lang.OP_REGEXP: _test_regexp,
}


class _FilterCompiler:
    """
    Builds predicates from list-form filters over a field dictionary.
    """

    def __init__(self, fields):
        self._fields = fields

    def compile(self, qfilter):
        """
        :return: C{predicate(ctx, item)} for C{qfilter}.
        """
        if (not isinstance(qfilter, (list, tuple)) or not qfilter
                or not isinstance(qfilter[0], str)):
            raise errors.QueryFilterParseError(
                "Cannot deserialise filter: expected array [string, args],"
                " got %r" % (qfilter,))
        op = qfilter[0]
        args = list(qfilter[1:])
        if op in (lang.OP_AND, lang.OP_OR):
            return self._logic(op, [self.compile(arg) for arg in args])
        if op == lang.OP_NOT:
            if len(args) != 1:
                raise errors.QueryFilterParseError(
                    "Cannot deserialise filter, expected [filter] after"
                    " '%s' but got %r" % (op, args))
            inner = self.compile(args[0])
            return lambda ctx, item: not inner(ctx, item)
        if op == lang.OP_TRUE:
            if len(args) != 1:
                raise errors.QueryFilterParseError(
                    "Cannot deserialise filter, expected [fieldname] after"
                    " '%s' but got %r" % (op, args))
            return _leaf(self._getter(args[0]), _test_true)
        test = _BINARY_TESTS.get(op)
        if test is None:
            raise errors.QueryFilterParseError("Unknown filter operand '%s'"
                                               % (op,))
        if len(args) != 2:
            raise errors.QueryFilterParseError(
                "Cannot deserialise field/value pair, expected [fieldname,"
                " value] after '%s' but got %r" % (op, args))
        name, value = args
        if not (isinstance(value, str) or _is_number(value)):
            raise errors.QueryFilterParseError(
                "Cannot deserialise filter value, expecting string or"
                " number, got %r" % (value,))
        if op == lang.OP_REGEXP:
            value = _compile_regexp(value)
        getter = self._getter(name)
        return _leaf(getter, lambda actual: test(actual, value))

    def _getter(self, name):
        field = self._fields.get(name) if isinstance(name, str) else None
        if field is None:
            raise errors.ParameterError("Can't find field named '%s'"
                                        % (name,))
        return field.getter

    @staticmethod
    def _logic(op, predicates):
        if op == lang.OP_AND:
            return lambda ctx, item: all(p(ctx, item) for p in predicates)
        return lambda ctx, item: any(p(ctx, item) for p in predicates)


def _leaf(getter, test):
    """
    :return: a predicate applying C{test} to one field's value.  A value
        that is missing (offline, no data, unavailable) passes, as in
        Ganeti: the filter cannot judge it, and hiding the item would hide
        the trouble too.
    """
    def predicate(ctx, item):
        value = getter(ctx, item)
        if isinstance(value, _Missing):
            return True
        return test(value)
    return predicate


def _compile_regexp(pattern):
    if not isinstance(pattern, str):
        raise errors.QueryFilterParseError("Regular expression must be a"
                                           " string, got %r" % (pattern,))
    import re
    try:
        return re.compile(pattern)
    except re.error as err:
        raise errors.QueryFilterParseError("Invalid regular expression %r"
                                           " (%s)" % (pattern, err))


def filter_fields(qfilter):
    """
    :return: the set of field names a list-form filter reads (so that a
        query fetches live data for them even if they are not shown).
    """
    found = set()
    if isinstance(qfilter, list) and qfilter:
        operator = qfilter[0]
        if operator in ("&", "|", "!"):
            for part in qfilter[1:]:
                found |= filter_fields(part)
        elif len(qfilter) > 1 and isinstance(qfilter[1], str):
            found.add(qfilter[1])
    return found
