# -*- coding: utf-8 -*-
"""The shared validators: field paths, the unknown-key check, and the strings list that returns what it
validated."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import validate
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError


def collect(check, *args):
    problems = validate.Problems()
    out = check(problems, *args)
    return out, problems.items


def test_strings_returns_only_the_good_items_and_checks_each_with_its_own_index():
    seen = []
    good, items = collect(validate.strings, "p", ["a", "", 3, "b"], lambda pr, path, v: seen.append((path, v)))
    assert good == ["a", "b"]
    assert items == ["p[1]: must be a non-empty string, not ''", "p[2]: must be a non-empty string, not 3"]
    assert seen == [("p[0]", "a"), ("p[3]", "b")]


def test_check_keys_names_the_key_its_path_and_the_allowed_keys():
    ok, items = collect(validate.check_keys, "rules[0]", {"form": [], "to": []}, ("from", "to", "when"))
    assert ok is True
    assert items == ["rules[0].form: unknown key 'form': the allowed keys are from, to, when"]
    ok, items = collect(validate.check_keys, "rules[0]", ["x"], ("from",))
    assert ok is False and "must be a mapping with keys from from" in items[0]


@pytest.mark.parametrize("value, ok", [("1.5s", True), ("300ms", True), ("1h2m", True), ("5", False),
                                       ("s", False), (5, False)])
def test_duration(value, ok):
    assert (collect(validate.duration, "timeout", value)[1] == []) is ok


@pytest.mark.parametrize("value, ok", [("shop", True), ("a-1", True), ("Shop", False), ("a.b", False),
                                       ("-a", False), ("a" * 64, False), (None, False)])
def test_dns_label(value, ok):
    assert (collect(validate.dns_label, "namespace", value)[1] == []) is ok


def test_choice_hints_upper_case():
    assert collect(validate.choice, "mode", "strict", ("STRICT",))[1] == ["mode: 'strict' is not one of STRICT "
                                                                          "(upper case)"]


def test_problems_raise_every_item_at_once():
    problems = validate.Problems()
    problems.add("a", "x")
    problems.add("b", "y")
    with pytest.raises(InputError) as info:
        problems.raise_any()
    assert info.value.msg == "2 invalid value(s); nothing was written:\n- a: x\n- b: y"
    validate.Problems().raise_any()


SPEC = {"weight": dict(type="int", required=True), "on": dict(type="bool", default=True),
        "mode": dict(type="str", choices=["a", "b"], default="a"), "rate": dict(type="float"),
        "checks": dict(type="list", elements="dict", default=[], options={
            "name": dict(type="str", required=True), "max": dict(type="float")})}


def test_options_fills_defaults_and_converts_as_ansible_does():
    out, items = collect(validate.options, "s[0]", {"weight": "10", "on": "no", "rate": 1,
                                                    "checks": [{"name": "x", "max": "2.5"}]}, SPEC)
    assert items == []
    assert out == {"weight": 10, "on": False, "mode": "a", "rate": 1.0, "checks": [{"name": "x", "max": 2.5}]}
    assert collect(validate.options, "s", {"weight": 1, "checks": None}, SPEC)[0]["checks"] == []


def test_options_names_every_problem_by_its_path_at_once():
    out, items = collect(validate.options, "s[1]", {"wieght": 10, "on": "maybe", "mode": "c", "rate": True,
                                                    "checks": [{"name": "x", "mx": 1}, "y"]}, SPEC)
    assert items == [
        "s[1].wieght: unknown key 'wieght': the allowed keys are weight, on, mode, rate, checks",
        "s[1].weight: is required",
        "s[1].on: must be true or false, not 'maybe'",
        "s[1].mode: 'c' is not one of a, b",
        "s[1].rate: must be a number, not True",
        "s[1].checks[0].mx: unknown key 'mx': the allowed keys are name, max",
        "s[1].checks[1]: must be a mapping, not 'y'",
    ]
    assert out["weight"] is None and out["on"] is None
    assert collect(validate.options, "s", "text", SPEC) == (None, ["s: must be a mapping with keys from weight, on, "
                                                                   "mode, rate, checks, not 'text'"])


@pytest.mark.parametrize("value, seconds", [(0, 0.0), (2, 2.0), (1.5, 1.5), ("30", 30.0), ("1m30s", 90.0),
                                            ("500ms", 0.5), (" 2m ", 120.0)])
def test_seconds_takes_numbers_and_durations(value, seconds):
    assert collect(validate.seconds, "pause", value) == (seconds, [])


@pytest.mark.parametrize("value, message", [
    (-5, "pause: -5 is negative: a duration is 0 or more"),
    ("-30s", "pause: '-30s' is negative"),
    ("-2", "pause: '-2' is negative"),
    ("soon", "pause: 'soon' is not a duration (seconds, or a number with a unit"),
    (True, "pause: True is not a duration"),
    (float("nan"), "pause: nan is not a duration"),
])
def test_seconds_refuses_negative_and_malformed_durations(value, message):
    out, items = collect(validate.seconds, "pause", value)
    assert out is None and len(items) == 1 and items[0].startswith(message)


def test_seconds_refuses_zero_where_it_is_no_duration():
    assert collect(validate.seconds, "window", "0s", False) == (None, ["window: must be longer than 0, not '0s'"])
    assert collect(validate.seconds, "window", "x", True, "; or manual")[1][0].endswith("500ms; or manual)")
