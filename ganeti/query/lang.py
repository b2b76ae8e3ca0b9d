# -*- test-case-name: tests.test_query -*-
"""
The query filter language, as typed on the command line.

``gnt-instance list 'be/memory >= 1024 and not admin_state'`` reaches the
master as a nested list, Ganeti's wire form of a filter::

    ["&", [">=", "be/memory", 1024], ["!", ["?", "admin_state"]]]

This module turns the text into that list (L{parse_filter}) and builds the
lists for plain name arguments (L{make_simple_filter}, L{make_filter}).  The
master evaluates the lists in L{ganeti.query}.

The tools import this module on every run, so it is a hand-written parser
over the standard library (Ganeti used pyparsing) and ``re`` is imported
only when a regular expression actually has to be checked.
"""

from ganeti import errors

# Operators of the list form.  The strings are Ganeti's: they cross the wire
# and RAPI clients send them too.
OP_AND = "&"
OP_OR = "|"
OP_NOT = "!"
OP_TRUE = "?"
OP_EQUAL = "=="
OP_EQUAL_LEGACY = "="
OP_NOT_EQUAL = "!="
OP_LT = "<"
OP_LE = "<="
OP_GT = ">"
OP_GE = ">="
OP_REGEXP = "=~"
OP_CONTAINS = "=[]"

#: Characters whose presence makes a lone argument a filter, not a name.
FILTER_DETECTION_CHARS = frozenset(" \t\n\v\f\r!\"'()/<=>\\~")

#: Characters that make a name argument a DNS-style glob.
GLOB_DETECTION_CHARS = frozenset("*?")

# Delimiters accepted around a regular expression (``m/x/``, ``m#x#``, ...)
# and the flags that may follow it.
_REGEXP_DELIMITERS = "/#^|"
_REGEXP_FLAGS = frozenset("si")

# What re.escape escapes; spelled out so globs need no ``re`` import.
_REGEXP_SPECIAL = frozenset("()[]{}?*+-|^$\\.&~# \t\n\r\v\f")

_KEYWORDS = frozenset(["not", "and", "or"])

# Comparison operators written between a field and a value; two-character
# spellings must be tried before their one-character prefixes.
_COMPARISONS = [
    ("==", OP_EQUAL),
    ("!=", OP_NOT_EQUAL),
    ("<=", OP_LE),
    (">=", OP_GE),
    ("=", OP_EQUAL),
    ("<", OP_LT),
    (">", OP_GT),
]

_FIELD_START = frozenset("abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_FIELD_CHARS = _FIELD_START | frozenset("0123456789_/.")
_DIGITS = frozenset("0123456789")


def dns_name_glob_pattern(pattern):
    """
    Turn a DNS-name glob (``*.site1``, ``web?``) into a regular expression.

    ``*`` and ``?`` never cross a dot, and a match may stop at any label
    boundary, so ``web*`` matches ``web1.example.com``: operators type short
    names and expect them to match the full ones.

    :param pattern: the glob; no escapes or character ranges.
    :return: the regular expression, as text.
    """
    out = ["^"]
    for char in pattern:
        if char == "*":
            out.append("[^.]*")
        elif char == "?":
            out.append("[^.]")
        elif char in _REGEXP_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    out.append(r"(\..*)?$")
    return "".join(out)


def make_simple_filter(name_field, names):
    """
    Build the filter for plain name arguments (``gnt-node list n1 'n*'``).

    Names with ``*`` or ``?`` are globs and become regular expression
    matches; the others must be equal.  The master recognises a pure "or
    of equalities" and then answers in the given order and fails on an
    unknown name.

    :param name_field: the field holding the item's name, e.g. ``name``.
    :param names: the arguments; may be empty or C{None}.
    :return: the list-form filter, or C{None} when no names were given.
    """
    if not names:
        return None
    return [OP_OR] + [_name_condition(name_field, name) for name in names]


def _name_condition(name_field, text, is_numeric=False):
    """
    :return: the condition selecting one name argument.
    :raise errors.OpPrereqError: a numeric name (job id) is not a number.
    """
    if is_numeric:
        try:
            number = int(text)
        except (TypeError, ValueError) as err:
            raise errors.OpPrereqError("Invalid job ID passed: %s" % err,
                                       "wrong_input")
        return [OP_EQUAL, name_field, number]
    if GLOB_DETECTION_CHARS.intersection(text):
        return [OP_REGEXP, name_field, dns_name_glob_pattern(text)]
    return [OP_EQUAL, name_field, text]


def is_filter_like(text):
    """
    Guess whether a lone command-line argument is a filter expression.

    Ganeti's heuristic: names never contain blanks, quotes, parentheses,
    comparison characters or slashes, so any of those means "filter".

    :param text: the argument.
    :return: C{True} if it should be parsed with L{parse_filter}.
    """
    return bool(FILTER_DETECTION_CHARS.intersection(text))


def make_filter(args, force_filter=False, name_field=None, is_numeric=False):
    """
    Build the filter for a list command's arguments, as Ganeti's tools do.

    One argument that looks like a filter (or any argument with
    ``-F/--filter``) is parsed as an expression; other arguments are names
    (see L{make_simple_filter}).

    :param args: the positional arguments.
    :param force_filter: C{True} for ``-F``: exactly one argument, parsed.
    :param name_field: the name field; C{None} means ``name``.
    :param is_numeric: names are numbers (job ids), compared as integers.
    :return: the list-form filter, or C{None} for "everything".
    :raise errors.OpPrereqError: ``-F`` without exactly one argument, or a
        job id that is not a number.
    :raise errors.QueryFilterParseError: the expression does not parse.
    """
    if name_field is None:
        name_field = "name"
    if force_filter or (args and len(args) == 1 and is_filter_like(args[0])):
        if not args or len(args) != 1:
            raise errors.OpPrereqError("Exactly one argument must be given as"
                                       " a filter", "wrong_input")
        return parse_filter(args[0])
    if args:
        return [OP_OR] + [_name_condition(name_field, arg, is_numeric)
                          for arg in args]
    return None


def parse_filter(text):
    """
    Parse a filter expression typed by the user into the list form.

    Grammar, loosest binding first: ``or``, ``and``, ``not``, then one
    condition or a parenthesised expression.  Conditions::

        field                      ["?", field]
        field == value             ["==", field, value]   (also "=")
        field != value             ["!=", field, value]   (< <= > >= alike)
        value in field             ["=[]", field, value]
        value not in field         ["!", ["=[]", field, value]]
        field =~ m/regex/flags     ["=~", field, regex]   (flags: i, s)
        field !~ m/regex/          ["!", ["=~", field, regex]]
        field =* "glob"            ["=~", field, glob-as-regex]
        field !* "glob"            ["!", ["=~", ...]]

    Values are integers (``-1``, ``128``) or strings in single or double
    quotes.  Field names start with a letter and go on with letters,
    digits, ``_``, ``/`` and ``.``.  A regular expression may be delimited
    by ``/``, ``#``, ``^`` or ``|`` (the leading ``m`` is optional); a
    backslash before the delimiter includes it, and any other backslash is
    passed on to the regular expression untouched.

    :param text: the expression.
    :return: the filter as nested lists.
    :raise errors.QueryFilterParseError: with the position of the problem.
    """
    return _Parser(text).parse()


class _Parser:
    """
    Recursive-descent parser over the characters of one expression.

    Scanning characters rather than tokens keeps regular expression
    literals, whose contents follow no token rules, simple to read.
    """

    def __init__(self, text):
        self._text = text
        self._pos = 0

    def parse(self):
        """
        :return: the list-form filter for the whole text.
        """
        self._skip_blanks()
        if self._pos == len(self._text):
            self._fail("empty filter")
        result = self._parse_or()
        self._skip_blanks()
        if self._pos != len(self._text):
            self._fail("unexpected %r" % (self._text[self._pos:],))
        return result

    def _fail(self, reason, pos=None):
        """
        Raise the parse error, locating it like pyparsing did for Ganeti.
        """
        if pos is None:
            pos = self._pos
        line = self._text.count("\n", 0, pos) + 1
        column = pos - (self._text.rfind("\n", 0, pos) + 1) + 1
        raise errors.QueryFilterParseError(
            "Failed to parse query filter '%s': %s (at char %d),"
            " (line:%d, col:%d)" % (self._text, reason, pos, line, column))

    def _skip_blanks(self):
        text = self._text
        while self._pos < len(text) and text[self._pos].isspace():
            self._pos += 1

    def _peek_word(self):
        """
        :return: the field-name-like word after any blanks, or C{""}; the
            blanks are skipped but the word is not consumed.
        """
        self._skip_blanks()
        text = self._text
        end = self._pos
        if end < len(text) and text[end] in _FIELD_START:
            end += 1
            while end < len(text) and text[end] in _FIELD_CHARS:
                end += 1
        return text[self._pos:end]

    def _take_keyword(self, keyword):
        """
        Consume C{keyword} if it is the next whole word.

        :return: whether it was there.
        """
        if self._peek_word() == keyword:
            self._pos += len(keyword)
            return True
        return False

    def _parse_or(self):
        operands = [self._parse_and()]
        while self._take_keyword("or"):
            operands.append(self._parse_and())
        if len(operands) == 1:
            return operands[0]
        return [OP_OR] + operands

    def _parse_and(self):
        operands = [self._parse_not()]
        while self._take_keyword("and"):
            operands.append(self._parse_not())
        if len(operands) == 1:
            return operands[0]
        return [OP_AND] + operands

    def _parse_not(self):
        if self._take_keyword("not"):
            return [OP_NOT, self._parse_not()]
        return self._parse_primary()

    def _parse_primary(self):
        self._skip_blanks()
        text = self._text
        if self._pos >= len(text):
            self._fail("expected a condition, found the end")
        char = text[self._pos]
        if char == "(":
            self._pos += 1
            inner = self._parse_or()
            self._skip_blanks()
            if not text.startswith(")", self._pos):
                self._fail("expected ')'")
            self._pos += 1
            return inner
        if char in _FIELD_START:
            return self._parse_field_condition()
        if char in "\"'" or char in _DIGITS or char in "+-":
            return self._parse_membership()
        self._fail("expected a condition, found %r" % (char,))

    def _parse_field_name(self):
        word = self._peek_word()
        if not word or word in _KEYWORDS:
            self._fail("expected a field name")
        self._pos += len(word)
        return word

    def _parse_field_condition(self):
        """
        Parse a condition that starts with a field name.
        """
        field = self._parse_field_name()
        self._skip_blanks()
        text = self._text
        pos = self._pos
        for spelling, negate in (("=~", False), ("!~", True)):
            if text.startswith(spelling, pos):
                self._pos += 2
                return _negated([OP_REGEXP, field, self._parse_regexp()],
                                negate)
        for spelling, negate in (("=*", False), ("!*", True)):
            if text.startswith(spelling, pos):
                self._pos += 2
                self._skip_blanks()
                if not text.startswith(("'", '"'), self._pos):
                    self._fail("expected a quoted glob pattern")
                glob = self._parse_string()
                return _negated(
                    [OP_REGEXP, field, dns_name_glob_pattern(glob)], negate)
        for spelling, op in _COMPARISONS:
            if text.startswith(spelling, pos):
                self._pos += len(spelling)
                return [op, field, self._parse_value()]
        # A bare field is a boolean condition.
        return [OP_TRUE, field]

    def _parse_membership(self):
        """
        Parse ``value in field`` or ``value not in field``.
        """
        value = self._parse_value()
        negate = self._take_keyword("not")
        if not self._take_keyword("in"):
            self._fail("expected 'in' after a value")
        field = self._parse_field_name()
        return _negated([OP_CONTAINS, field, value], negate)

    def _parse_value(self):
        """
        Parse an integer or a quoted string.
        """
        self._skip_blanks()
        text = self._text
        pos = self._pos
        if pos < len(text) and text[pos] in "\"'":
            return self._parse_string()
        end = pos
        if end < len(text) and text[end] in "+-":
            end += 1
        digits_start = end
        while end < len(text) and text[end] in _DIGITS:
            end += 1
        if end == digits_start:
            self._fail("expected a value (a number or a quoted string)")
        if text.startswith(".", end):
            self._fail("only whole numbers can be compared", end)
        self._pos = end
        return int(text[pos:end])

    def _parse_string(self):
        """
        Parse a single- or double-quoted string.

        A backslash protects the next character (so ``"a\\"b"`` does not end
        early) and, like a doubled quote, is kept in the value as Ganeti
        keeps it.
        """
        text = self._text
        start = self._pos
        quote = text[start]
        pos = start + 1
        while pos < len(text):
            char = text[pos]
            if char == quote:
                if text.startswith(quote, pos + 1):
                    # A doubled quote stands for itself, as in pyparsing.
                    pos += 2
                    continue
                self._pos = pos + 1
                return text[start + 1:pos]
            if char in "\r\n":
                break
            pos += 2 if char == "\\" else 1
        self._fail("unterminated string", start)

    def _parse_regexp(self):
        """
        Parse ``m/regex/flags`` (``m`` optional, any known delimiter).

        :return: the regular expression with flags as ``(?is)`` prefix.
        """
        self._skip_blanks()
        text = self._text
        start = self._pos
        pos = start
        if text.startswith("m", pos):
            pos += 1
        if pos >= len(text) or text[pos] not in _REGEXP_DELIMITERS:
            self._fail("expected a regular expression such as m/.../")
        delimiter = text[pos]
        pos += 1
        body = []
        while True:
            if pos >= len(text):
                self._fail("unterminated regular expression", start)
            char = text[pos]
            if char == delimiter:
                pos += 1
                break
            if char == "\\" and text.startswith(delimiter, pos + 1):
                body.append(delimiter)
                pos += 2
                continue
            body.append(char)
            pos += 1
        flags_start = pos
        while pos < len(text) and text[pos].isalpha():
            pos += 1
        flags = text[flags_start:pos]
        unknown = sorted(set(flags) - _REGEXP_FLAGS)
        if unknown:
            self._fail("Unknown regular expression flags: '%s'"
                       % "".join(unknown), flags_start)
        pattern = "".join(body)
        if flags:
            pattern = "(?%s)%s" % ("".join(sorted(flags)), pattern)
        import re
        try:
            re.compile(pattern)
        except re.error as err:
            self._fail("Invalid regular expression (%s)" % err, start)
        self._pos = pos
        return pattern


def _negated(condition, negate):
    """
    :return: C{condition}, wrapped in a "not" if C{negate}.
    """
    if negate:
        return [OP_NOT, condition]
    return condition
