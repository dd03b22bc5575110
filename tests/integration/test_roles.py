# -*- coding: utf-8 -*-
"""Role variables are validated before any task runs (meta/argument_specs.yml and the roles' own checks)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.{role}
"""


@pytest.mark.parametrize("role,variables,expect", [
    ("istio", {"istio_method": "kubectl"}, ["istio_method", "istioctl, helm"]),
    ("istio", {"istio_injection_namespaces": {"shop": True}}, ["istio_injection_namespaces", "list"]),
    ("istio", {"istio_tracing_sampling": 150}, ["istio_tracing_sampling: must be a percentage from 0.0 to 100.0"]),
    ("addons", {"addons_components": ["prometheus", "splunk"]}, ["addons_components", "splunk"]),
])
def test_bad_role_variables_fail_before_any_change(ansible, tmp_path, role, variables, expect):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY.format(role=role))
    rc, stats, out = ansible.playbook(str(playbook), extra_vars=variables)
    assert rc != 0
    assert stats["localhost"]["changed"] == 0
    messages = " ".join(str(h.get("msg")) for play in out["plays"] for task in play["tasks"]
                        for h in task["hosts"].values() if h.get("failed"))
    for text in expect:
        assert text in messages, messages
