# -*- coding: utf-8 -*-
"""The job templates' surveys (playbooks/awx/surveys/) against AWX's survey rules (awx_rules.py: types, required,
choices, min/max, defaults within range, variable names valid and unique), this project's own (a default and a
description for every question), and the playbooks they feed: every survey variable is one the template's
playbook or its roles read, with the choices those roles accept. No lab needed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import json
import os

import pytest
import yaml

import awx_rules
from harness import ROOT

AWX = os.path.join(ROOT, "playbooks", "awx")
SURVEYS = os.path.join(AWX, "surveys")


def load_templates():
    with open(os.path.join(AWX, "job_templates.yml")) as handle:
        return yaml.safe_load(handle)


def enabled_templates():
    return [t for t in load_templates()["meshops_awx_job_templates"] if t.get("enabled", True)]


def survey(name):
    with open(os.path.join(SURVEYS, name)) as handle:
        return json.load(handle)


def argument_specs():
    """Every role variable's argument spec entry, by variable name."""
    out = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        with open(path) as handle:
            for entry in (yaml.safe_load(handle).get("argument_specs") or {}).values():
                out.update(entry.get("options") or {})
    return out


@pytest.mark.parametrize("name", sorted(os.path.basename(p) for p in glob.glob(os.path.join(SURVEYS, "*.json"))))
def test_each_survey_keeps_awx_rules_and_ours(name):
    spec = survey(name)
    assert awx_rules.problems(spec) == []
    assert awx_rules.project_problems(spec) == []


def test_every_enabled_template_has_its_survey_and_playbook_and_no_survey_is_unused():
    used = set()
    for template in enabled_templates():
        assert os.path.isfile(os.path.join(SURVEYS, template["survey"])), template["name"]
        assert os.path.isfile(os.path.join(ROOT, template["playbook"])), template["name"]
        used.add(template["survey"])
    # A workflow's survey: its answers go to every job of the workflow.
    used.update(w["survey"] for w in load_templates()["meshops_awx_workflows"] if w.get("survey"))
    assert used == set(os.path.basename(p) for p in glob.glob(os.path.join(SURVEYS, "*.json")))
    names = [t["name"] for t in load_templates()["meshops_awx_job_templates"]]
    assert len(names) == len(set(names)), "two job templates share a name"


def test_every_survey_variable_reaches_the_playbook_with_choices_it_accepts():
    specs = argument_specs()
    for template in enabled_templates():
        with open(os.path.join(ROOT, template["playbook"])) as handle:
            playbook = handle.read()
        for question in survey(template["survey"])["spec"]:
            variable = question["variable"]
            role_option = specs.get(variable)
            assert role_option is not None or variable in playbook, \
                "{0}: survey variable {1} is read by no role and not by {2}".format(
                    template["name"], variable, template["playbook"])
            if role_option and question["type"] == "multiplechoice":
                assert set(question["choices"]) <= set(role_option.get("choices") or question["choices"]), \
                    "{0}: {1} offers {2}, the role accepts {3}".format(
                        template["name"], variable, question["choices"], role_option.get("choices"))
            if role_option and question["type"] in ("integer", "float"):
                assert role_option.get("type") in ("int", "float", "raw"), variable


def test_a_workflow_answers_only_its_templates_questions_and_its_own_reach_the_roles():
    """A node's extra_data must answer questions of its template's survey (AWX refuses other variables), with a
    choice the question offers; a workflow's own survey asks only for variables the roles (or all its playbooks)
    read."""
    templates = dict((t["name"], t) for t in enabled_templates())
    specs = argument_specs()
    answered = 0
    for workflow in load_templates()["meshops_awx_workflows"]:
        for node in workflow["nodes"]:
            asked = dict((q["variable"], q) for q in survey(templates[node["template"]]["survey"])["spec"])
            for variable, value in (node.get("extra_data") or {}).items():
                assert variable in asked, "{0}: {1} is no question of {2}".format(
                    workflow["name"], variable, node["template"])
                if asked[variable]["type"] == "multiplechoice":
                    assert value in asked[variable]["choices"], (workflow["name"], variable, value)
                answered += 1
        playbooks = set(templates[n["template"]]["playbook"] for n in workflow["nodes"])
        for question in survey(workflow["survey"])["spec"] if workflow.get("survey") else []:
            assert question["variable"] in specs or all(
                question["variable"] in open(os.path.join(ROOT, p)).read() for p in playbooks), \
                (workflow["name"], question["variable"])
    assert answered > 0


def test_defaults_are_the_extra_variables_of_a_launch_without_answers():
    assert awx_rules.defaults(survey("rollback.json")) == {
        "meshops_canary_cluster": "", "rollback_revision": 0, "rollback_release": "microservices",
        "rollback_namespace": "microservices", "rollback_timeout": 300}


def _broken(change):
    spec = copy.deepcopy(survey("rollback.json"))
    spec["spec"].append({"question_name": "Mode", "question_description": "d", "required": True,
                         "type": "multiplechoice", "variable": "mode", "choices": ["a", "b"], "default": "a"})
    change(spec)
    return spec


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("name"), "'name' missing"),
    (lambda s: s.update(spec=[]), "'spec' has no questions"),
    (lambda s: s["spec"][1].update(type="number"), "type 'number' is not one of"),
    (lambda s: s["spec"][1].update(required="yes"), "'required' must be true or false"),
    (lambda s: s["spec"][2].update(variable="rollback_revision"), "duplicates question 1"),
    (lambda s: s["spec"][2].update(variable="2fast"), "must be a valid variable name"),
    (lambda s: s["spec"][2].update(variable="inventory_hostname"), "a name Ansible sets itself"),
    (lambda s: s["spec"][1].update(default=-1), "default -1 is below min 0"),
    (lambda s: s["spec"][4].update(default=99999), "default 99999 is above max 3600"),
    (lambda s: s["spec"][1].update(default="0"), "is not an integer"),
    (lambda s: s["spec"][1].update(min=10, max=5), "min 10 is above max 5"),
    (lambda s: s["spec"][2].update(default="x" * 60), "longer than max 53"),
    (lambda s: s["spec"][5].update(default="c"), "'c' is not one of the choices"),
    (lambda s: s["spec"][5].update(choices=["a", "a"]), "'choices' repeat a value"),
    (lambda s: s["spec"][5].update(choices=[]), "'choices' must be a non-empty list"),
    (lambda s: s["spec"][5].update(type="multiselect", default="a\nz"), "is not among the choices"),
    (lambda s: s["spec"][0].update(colour="red"), "unknown keys colour"),
])
def test_the_rules_refuse_what_awx_refuses(change, message):
    found = awx_rules.problems(_broken(change))
    assert any(message in p for p in found), found


def test_our_own_rules_want_defaults_and_descriptions():
    spec = _broken(lambda s: (s["spec"][2].pop("default"), s["spec"][3].update(question_description="")))
    assert awx_rules.problems(spec) == []
    assert awx_rules.project_problems(spec) == ["question 2 (rollback_release): needs a default",
                                                "question 3 (rollback_namespace): needs a question_description"]
