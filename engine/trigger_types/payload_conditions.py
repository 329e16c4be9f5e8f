"""Conditions on an external event's JSON body (the "An external event arrives" trigger): a dotted path, an
operator and a value. Evaluation is bounded and never raises: a path of at most PATH_DEPTH segments walks
objects by key and arrays by index, a value is at most VALUE_MAX characters, and a path that is missing —
or leads somewhere the operator cannot compare — means the condition does not hold.

Comparisons (docs/webhooks-inbound.md): a JSON number and a value that reads as a number compare as numbers
(1000 equals "1000.0"); a string equals only the same string, in the same case; true, false and null equal
"true", "false" and "null"; "contains" finds the value inside a string (case-sensitive) or as an element of
an array (compared as "equals" does); "greater than" and "less than" compare numbers only, where a string
that reads as a number (e.g. "1200.50") counts as one; "exists" holds when the path leads anywhere, null
included; "not equals" holds when the path exists and "equals" does not.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

PATH_DEPTH, PATH_MAX, VALUE_MAX, ROWS = 8, 200, 200, 5
# Keys with dots or spaces cannot be addressed; digits address array elements ("items.0.sku").
PATH = re.compile(rf"^[^.\s]{{1,64}}(\.[^.\s]{{1,64}}){{0,{PATH_DEPTH - 1}}}$")
NUMBER = re.compile(r"^[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})$")

OPERATORS = {
    "eq": _l("equals"),
    "ne": _l("does not equal"),
    "contains": _l("contains"),
    "exists": _l("exists"),
    "gt": _l("is greater than"),
    "lt": _l("is less than"),
}
# The summary's short form: "data.amount > 1000".
SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "lt": "<"}
_MISSING = object()


def number(value) -> Decimal | None:
    """A finite number from a JSON number or a plain decimal string ("1200.50"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str) and len(value) <= 64 and NUMBER.match(value.strip()):
        text = value.strip()
    else:
        return None
    try:
        found = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return found if found.is_finite() else None


def lookup(payload, path: str):
    """What `path` leads to in the payload, or _MISSING."""
    if not isinstance(path, str) or not PATH.match(path):
        return _MISSING
    here = payload
    for part in path.split("."):
        if isinstance(here, dict):
            here = here.get(part, _MISSING)
        elif isinstance(here, list) and part.isdigit() and len(part) <= 6:
            here = here[int(part)] if int(part) < len(here) else _MISSING
        else:
            return _MISSING
        if here is _MISSING:
            return _MISSING
    return here


def _equals(actual, wanted: str) -> bool:
    if isinstance(actual, bool):
        return wanted == ("true" if actual else "false")
    if actual is None:
        return wanted == "null"
    if isinstance(actual, int | float):
        a, w = number(actual), number(wanted)
        return a is not None and w is not None and a == w
    return isinstance(actual, str) and actual == wanted


def holds(payload, condition: dict) -> bool:
    """Whether one condition ({path, op, value}) holds for the payload; never raises."""
    if not isinstance(condition, dict):
        return False
    op, wanted = condition.get("op"), condition.get("value")
    wanted = wanted if isinstance(wanted, str) else ("" if wanted is None else str(wanted))
    if op not in OPERATORS or len(wanted) > VALUE_MAX:
        return False
    actual = lookup(payload, condition.get("path"))
    if actual is _MISSING:
        return False
    if op == "exists":
        return True
    if op == "eq":
        return _equals(actual, wanted)
    if op == "ne":
        return not _equals(actual, wanted)
    if op == "contains":
        if isinstance(actual, str):
            return wanted != "" and wanted in actual
        return isinstance(actual, list) and any(_equals(item, wanted) for item in actual[:1000])
    a, w = number(actual), number(wanted)
    if a is None or w is None:
        return False
    return a > w if op == "gt" else a < w


def all_hold(payload, conditions) -> bool:
    """Every condition holds (no conditions: True); at most ROWS are read."""
    if not conditions:
        return True
    if not isinstance(conditions, list):
        return False
    return all(holds(payload, c) for c in conditions[:ROWS])


def describe(condition: dict) -> str:
    """"data.amount > 1000", "data.note contains “urgent”", "data.id exists" — for summaries."""
    path, op, value = condition.get("path", ""), condition.get("op"), condition.get("value", "")
    if op == "exists":
        return f"{path} {OPERATORS['exists']}"
    if op in SYMBOLS:
        shown = value if number(value) is not None else f"“{value}”"
        return f"{path} {SYMBOLS[op]} {shown}"
    return f"{path} {OPERATORS.get(op, op)} “{value}”"
