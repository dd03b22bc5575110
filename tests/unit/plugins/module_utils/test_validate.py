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
