# -*- coding: utf-8 -*-
"""uncovered_hosts: which Gateway hosts a certificate's SANs leave uncovered."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.filter.tls import uncovered_hosts


def test_exact_and_case_insensitive_names_cover():
    assert uncovered_hosts(["DNS:app.example.com", "DNS:API.example.com"], ["app.example.com", "api.example.com"]) == []


def test_missing_hosts_are_listed_in_order():
    assert uncovered_hosts(["DNS:app.example.com"], ["shop.example.com", "app.example.com", "x.example.org"]) == [
        "shop.example.com", "x.example.org"]


def test_a_wildcard_covers_one_label_only():
    sans = ["DNS:*.example.com"]
    assert uncovered_hosts(sans, ["app.example.com"]) == []
    assert uncovered_hosts(sans, ["a.b.example.com", "example.com"]) == ["a.b.example.com", "example.com"]
    assert uncovered_hosts(sans, ["*.example.com"]) == []
    assert uncovered_hosts(["DNS:app.example.com"], ["*.example.com"]) == ["*.example.com"]


def test_other_san_kinds_do_not_cover():
    assert uncovered_hosts(["IP:10.0.0.1", "email:app.example.com"], ["app.example.com"]) == ["app.example.com"]


def test_bad_input_is_an_error():
    with pytest.raises(AnsibleFilterError):
        uncovered_hosts(["DNS:a"], "a")
    with pytest.raises(AnsibleFilterError):
        uncovered_hosts([1], ["a"])
