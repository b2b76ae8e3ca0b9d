# -*- test-case-name: tests.test_opcodes -*-
"""
Parameter types: small checkers that can also say what they expect.

Ganeti's checkers only answer yes or no, so its errors cannot tell the
operator what was wrong.  Each checker here carries a description, used in
the error that names the parameter and the expected type.
"""

_NUMBER_TYPES = (int, float)


class Check:
    """A named predicate over JSON values."""

    def __init__(self, description, predicate):
        self.description = description
        self._predicate = predicate

    def __call__(self, value):
        return self._predicate(value)

    def __repr__(self):
        return "<Check %s>" % (self.description,)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


TAny = Check("any value", lambda v: True)
TNone = Check("nothing (null)", lambda v: v is None)
TBool = Check("a boolean", lambda v: isinstance(v, bool))
TInt = Check("an integer", _is_int)
TNonNegativeInt = Check("a non-negative integer", lambda v: _is_int(v) and v >= 0)
TPositiveInt = Check("a positive integer", lambda v: _is_int(v) and v > 0)
TNumber = Check(
    "a number",
    lambda v: isinstance(v, _NUMBER_TYPES) and not isinstance(v, bool))
TString = Check("a string", lambda v: isinstance(v, str))
TNonEmptyString = Check("a non-empty string", lambda v: isinstance(v, str) and v != "")
TDict = Check("a dictionary", lambda v: isinstance(v, dict))
TList = Check("a list", lambda v: isinstance(v, list))


def TMaybe(check):
    """:return: a check that also accepts ``null``."""
    return Check(check.description + " or null", lambda v: v is None or check(v))


def TListOf(check):
    """:return: a check for a list whose every item passes C{check}."""
    return Check("a list of " + _plural(check.description),
                 lambda v: isinstance(v, list) and all(check(i) for i in v))


def TDictOf(key_check, value_check):
    """:return: a check for a dict with checked keys and values."""
    return Check(
        "a dictionary of %s to %s" % (_plural(key_check.description),
                                      _plural(value_check.description)),
        lambda v: isinstance(v, dict) and all(
            key_check(k) and value_check(i) for k, i in v.items()))


def TOr(*checks):
    """:return: a check passed by a value that passes any of C{checks}."""
    return Check(" or ".join(c.description for c in checks),
                 lambda v: any(c(v) for c in checks))


def TElemOf(values):
    """:return: a check for one of a fixed set of values."""
    values = tuple(values)
    return Check("one of " + ", ".join(map(repr, values)), lambda v: v in values)


def TIntInRange(low, high):
    """:return: a check for an integer in ``[low, high]``."""
    return Check("an integer from %d to %d" % (low, high),
                 lambda v: _is_int(v) and low <= v <= high)


def TTuple(*checks):
    """:return: a check for a fixed-length list of checked items."""
    return Check(
        "a list of " + ", ".join(c.description for c in checks),
        lambda v: isinstance(v, (list, tuple)) and len(v) == len(checks)
        and all(c(i) for c, i in zip(checks, v)))


def _plural(description):
    for article in ("a ", "an "):
        if description.startswith(article):
            return description[len(article):] + "s"
    return description
