# -*- coding: utf-8 -*-
"""playbooks/awx/configure.yml's filters: job_templates.yml's entries turned into awx.awx arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.filter import awx as f

TEMPLATES = [{"name": "app"}, {"name": "rollback"}, {"name": "canary", "enabled": False}]


def test_disabled_templates_are_left_out():
    assert [t["name"] for t in f.awx_enabled(TEMPLATES)] == ["app", "rollback"]
    assert f.awx_enabled(None) == []


def test_a_workflow_waits_for_all_its_templates():
    workflows = [{"name": "w1", "nodes": [{"template": "app"}, {"template": "rollback"}]},
                 {"name": "w2", "nodes": [{"template": "app"}, {"template": "canary"}]}]
    assert [w["name"] for w in f.awx_workflows(workflows, TEMPLATES)] == ["w1"]


def test_workflow_nodes_in_awx_awx_form():
    nodes = [{"identifier": "app", "template": "app", "failure": ["rollback"]},
             {"identifier": "rollback", "template": "rollback", "always": ["app"]}]
    assert f.awx_workflow_nodes(nodes, "Default") == [
        {"identifier": "app", "unified_job_template": {"name": "app", "type": "job_template",
                                                       "organization": {"name": "Default"}},
         "related": {"failure_nodes": [{"identifier": "rollback"}]}},
        {"identifier": "rollback", "unified_job_template": {"name": "rollback", "type": "job_template",
                                                            "organization": {"name": "Default"}},
         "related": {"always_nodes": [{"identifier": "app"}]}},
    ]


def test_a_node_answers_its_templates_survey_with_extra_data():
    nodes = [{"identifier": "canary", "template": "shift", "extra_data": {"canary_hold": "yes"}, "success": ["p"]},
             {"identifier": "p", "template": "promote", "extra_data": {}}]
    out = f.awx_workflow_nodes(nodes, "Default")
    assert out[0]["extra_data"] == {"canary_hold": "yes"}
    assert out[0]["related"] == {"success_nodes": [{"identifier": "p"}]}
    assert "extra_data" not in out[1]


def test_every_node_problem_is_named_at_once():
    nodes = [{"identifier": "a", "template": "app", "sucess": ["b"]},
             {"identifier": "a", "extra_data": "canary_hold=yes"},
             {"identifier": "c", "template": "x", "failure": ["nowhere"]}]
    with pytest.raises(AnsibleFilterError) as err:
        f.awx_workflow_nodes(nodes, "Default")
    msg = str(err.value)
    assert "nodes[0]: unknown keys sucess (allowed: always, extra_data, failure, identifier, success, template)" in msg
    assert "nodes[1].template is required" in msg
    assert "nodes[1].identifier a is used twice" in msg
    assert "nodes[1].extra_data must be a mapping of survey answers, got 'canary_hold=yes'" in msg
    assert "nodes[2].failure: no node nowhere" in msg


def test_cluster_variables():
    assert f.awx_cluster_variables({"name": "eu", "context": "prod-eu", "variables": {"istio_revision": "1-30"}}) == {
        "ansible_connection": "local", "meshops_context": "prod-eu", "istio_revision": "1-30"}
    assert f.awx_cluster_variables({"name": "one", "context": ""}) == {"ansible_connection": "local"}
    with pytest.raises(AnsibleFilterError):
        f.awx_cluster_variables({"context": "x"})
