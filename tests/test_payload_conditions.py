"""Conditions on an external event's body (T1): each operator as docs/webhooks-inbound.md states it —
numbers as numbers, strings case-sensitive — and a missing path, an odd value or an odd condition never
holds and never raises."""

import pytest

from engine.trigger_types import payload_conditions as pc

BODY = {
    "type": "payment.received",
    "data": {"amount": 1200.5, "count": 3, "text_amount": "1200.50", "status": "paid", "note": "Urgent call",
             "tags": ["vip", "north", 7], "paid": True, "refund": None, "customer": {"vat": "IT01"},
             "items": [{"sku": "A-1"}, {"sku": "B-2"}], "nan": float("nan"), "inf": float("inf")},
}


def holds(path, op, value="") -> bool:
    return pc.holds(BODY, {"path": path, "op": op, "value": value})


@pytest.mark.parametrize("path, value, expected", [
    ("data.amount", "1200.5", True), ("data.amount", "1200.50", True), ("data.count", "3", True),
    ("data.count", "3.0", True), ("data.count", "03", True), ("data.amount", "1200", False),
    ("data.status", "paid", True), ("data.status", "Paid", False), ("data.status", "paid ", False),
    ("data.text_amount", "1200.5", False),  # a string equals only the same string
    ("data.paid", "true", True), ("data.paid", "True", False), ("data.refund", "null", True),
    ("data.customer", "IT01", False), ("data.customer.vat", "IT01", True), ("data.items.1.sku", "B-2", True),
    ("data.nan", "nan", False), ("data.inf", "inf", False), ("type", "payment.received", True),
])
def test_equals(path, value, expected):
    assert holds(path, "eq", value) is expected


def test_not_equals_needs_the_path():
    assert holds("data.status", "ne", "open") is True
    assert holds("data.status", "ne", "paid") is False
    assert holds("data.count", "ne", "3.00") is False
    assert holds("data.missing", "ne", "anything") is False


@pytest.mark.parametrize("path, value, expected", [
    ("data.note", "Urgent", True), ("data.note", "urgent", False), ("data.note", "call", True),
    ("data.tags", "vip", True), ("data.tags", "south", False), ("data.tags", "7", True),
    ("data.customer", "vat", False), ("data.amount", "1200", False), ("data.note", "", False),
])
def test_contains(path, value, expected):
    assert holds(path, "contains", value) is expected


@pytest.mark.parametrize("path, expected", [
    ("data.refund", True), ("data.customer.vat", True), ("data.items.0", True), ("data.items.5", False),
    ("data.nothing", False), ("data.note.length", False), ("", False), ("data..x", False),
])
def test_exists(path, expected):
    assert holds(path, "exists") is expected


@pytest.mark.parametrize("path, op, value, expected", [
    ("data.amount", "gt", "1000", True), ("data.amount", "gt", "1200.5", False), ("data.amount", "lt", "1300", True),
    ("data.count", "lt", "3", False), ("data.count", "gt", "-1", True), ("data.text_amount", "gt", "1000", True),
    ("data.status", "gt", "1", False), ("data.paid", "gt", "0", False), ("data.refund", "lt", "1", False),
    ("data.nan", "gt", "0", False), ("data.nan", "lt", "0", False), ("data.inf", "gt", "0", False),
    ("data.amount", "gt", "abc", False), ("data.tags", "gt", "0", False), ("data.missing", "lt", "9", False),
])
def test_greater_and_less_compare_numbers_only(path, op, value, expected):
    assert holds(path, op, value) is expected


@pytest.mark.parametrize("payload", [None, [], "text", 5, {"data": None}, {"data": [1]}, {"data": {"amount": {}}}])
@pytest.mark.parametrize("op", list(pc.OPERATORS))
def test_odd_payloads_never_hold_or_raise(payload, op):
    assert pc.holds(payload, {"path": "data.amount", "op": op, "value": "1"}) in (True, False)
    assert pc.holds(payload, {"path": "data.amount.x", "op": op, "value": "1"}) is False


@pytest.mark.parametrize("condition", [
    None, "data.amount", {}, {"path": "data.amount"}, {"path": "data.amount", "op": "regex", "value": ".*"},
    {"path": "data.amount", "op": "gt", "value": "1" * 201}, {"path": ".".join(["a"] * 9), "op": "exists"},
    {"path": ["data"], "op": "exists"}, {"path": "data.amount", "op": "gt", "value": 1000},
])
def test_odd_conditions_do_not_hold(condition):
    expected = isinstance(condition, dict) and condition.get("value") == 1000  # a number value reads as text
    assert pc.holds(BODY, condition) is expected


def test_all_hold_reads_at_most_five_rows():
    yes = {"path": "data.count", "op": "eq", "value": "3"}
    no = {"path": "data.count", "op": "eq", "value": "4"}
    assert pc.all_hold(BODY, []) is True and pc.all_hold(BODY, None) is True
    assert pc.all_hold(BODY, [yes, yes]) is True and pc.all_hold(BODY, [yes, no]) is False
    assert pc.all_hold(BODY, [yes] * 5 + [no]) is True
    assert pc.all_hold(BODY, "data.count") is False


def test_deep_paths_stop_at_eight_parts():
    deep = current = {}
    for _ in range(20):
        current["a"] = {}
        current = current["a"]
    assert pc.holds(deep, {"path": ".".join(["a"] * 8), "op": "exists"}) is True
    assert pc.holds(deep, {"path": ".".join(["a"] * 9), "op": "exists"}) is False


def test_describe():
    assert pc.describe({"path": "data.amount", "op": "gt", "value": "1000"}) == "data.amount > 1000"
    assert pc.describe({"path": "data.status", "op": "eq", "value": "paid"}) == "data.status = “paid”"
    assert pc.describe({"path": "data.id", "op": "exists", "value": ""}) == "data.id exists"
