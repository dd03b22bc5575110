# -*- coding: utf-8 -*-
"""AWX's rules for a job template's survey spec (what AWX's API refuses with HTTP 400 when the spec is
POSTed to /api/v2/job_templates/N/survey_spec/), as plain functions: test_awx_surveys.py holds the project's
surveys to them, and the fake AWX of test_awx_configure.py refuses a spec that breaks them, as AWX would."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")
# Names Ansible sets itself: a survey answer under one of them would be ignored or break the job.
RESERVED = {"hostvars", "groups", "group_names", "inventory_hostname", "inventory_hostname_short", "inventory_dir",
            "inventory_file", "playbook_dir", "play_hosts", "ansible_play_hosts", "omit", "environment", "vars",
            "role_path", "item"}
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
QUESTION_KEYS = {"question_name", "question_description", "required", "type", "variable", "min", "max", "default",
                 "choices", "new_question"}


def _choices(item):
    choices = item.get("choices")
    if isinstance(choices, str):
        choices = choices.split("\n")
    return choices


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def problems(spec):
    """Every way ``spec`` breaks AWX's survey rules, each naming the question; [] when it is valid."""
    out = []
    if not isinstance(spec, dict):
        return ["the survey spec must be a mapping, got {0}".format(type(spec).__name__)]
    for key in ("name", "description"):
        if not isinstance(spec.get(key), str):
            out.append("'{0}' missing from the survey spec (a string)".format(key))
    items = spec.get("spec")
    if not isinstance(items, list):
        return out + ["'spec' must be a list of questions"]
    if not items:
        out.append("'spec' has no questions")
    seen = {}
    for index, item in enumerate(items):
        where = "question {0}".format(index)
        if not isinstance(item, dict):
            out.append("{0}: must be a mapping".format(where))
            continue
        where = "question {0} ({1})".format(index, item.get("variable", "?"))
        unknown = sorted(set(item) - QUESTION_KEYS)
        if unknown:
            out.append("{0}: unknown keys {1}".format(where, ", ".join(unknown)))
        kind = item.get("type")
        if kind not in TYPES:
            out.append("{0}: type {1!r} is not one of {2}".format(where, kind, ", ".join(TYPES)))
        if not isinstance(item.get("question_name"), str) or not item.get("question_name"):
            out.append("{0}: 'question_name' missing".format(where))
        if not isinstance(item.get("required"), bool):
            out.append("{0}: 'required' must be true or false".format(where))
        variable = item.get("variable")
        if not isinstance(variable, str) or not VARIABLE.match(variable):
            out.append("{0}: 'variable' must be a valid variable name, got {1!r}".format(where, variable))
        elif variable in RESERVED or variable.startswith("ansible_"):
            out.append("{0}: 'variable' {1} is a name Ansible sets itself".format(where, variable))
        elif variable in seen:
            out.append("{0}: 'variable' {1} duplicates question {2}".format(where, variable, seen[variable]))
        else:
            seen[variable] = index
        out.extend(_value_problems(where, kind, item))
    return out


def _value_problems(where, kind, item):
    out = []
    low, high, default = item.get("min"), item.get("max"), item.get("default")
    for key, bound in (("min", low), ("max", high)):
        if bound is not None and not _number(bound):
            out.append("{0}: '{1}' must be a number".format(where, key))
    if _number(low) and _number(high) and low > high:
        out.append("{0}: min {1} is above max {2}".format(where, low, high))
    if kind in ("multiplechoice", "multiselect"):
        choices = _choices(item)
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
            out.append("{0}: 'choices' must be a non-empty list of non-empty strings".format(where))
            return out
        if len(set(choices)) != len(choices):
            out.append("{0}: 'choices' repeat a value".format(where))
        if default not in (None, ""):
            picked = default.split("\n") if isinstance(default, str) else default
            if kind == "multiplechoice" and (not isinstance(default, str) or default not in choices):
                out.append("{0}: default {1!r} is not one of the choices {2}".format(where, default, choices))
            elif kind == "multiselect" and (not isinstance(picked, list) or not set(picked) <= set(choices)):
                out.append("{0}: default {1!r} is not among the choices {2}".format(where, default, choices))
    elif kind in ("integer", "float"):
        if default not in (None, ""):
            if not _number(default) or (kind == "integer" and not isinstance(default, int)):
                wanted = "an integer" if kind == "integer" else "a number"
                out.append("{0}: default {1!r} is not {2}".format(where, default, wanted))
            else:
                if _number(low) and default < low:
                    out.append("{0}: default {1} is below min {2}".format(where, default, low))
                if _number(high) and default > high:
                    out.append("{0}: default {1} is above max {2}".format(where, default, high))
    elif kind in ("text", "textarea", "password"):
        if default is not None and not isinstance(default, str):
            out.append("{0}: default {1!r} is not a string".format(where, default))
        elif default and kind != "password" or (kind == "password" and default not in (None, "", "$encrypted$")):
            if _number(low) and len(default) < low:
                out.append("{0}: default {1!r} is shorter than min {2}".format(where, default, low))
            if _number(high) and len(default) > high:
                out.append("{0}: default {1!r} is longer than max {2}".format(where, default, high))
    return out


def project_problems(spec):
    """This project's rules on top of AWX's: every question has a default (a job launched without the survey, from
    a schedule or a workflow node, gets the defaults) and a description."""
    out = []
    for index, item in enumerate(spec.get("spec") or []):
        where = "question {0} ({1})".format(index, item.get("variable", "?"))
        if "default" not in item or (item.get("required") and item.get("default") in (None, "")):
            out.append("{0}: needs a default".format(where))
        if not item.get("question_description"):
            out.append("{0}: needs a question_description".format(where))
    return out


def defaults(spec):
    """The extra variables a launch with every default answer sends (questions without a default are left out)."""
    out = {}
    for item in spec["spec"]:
        if item.get("default") not in (None,):
            value = item["default"]
            if item["type"] == "multiselect" and isinstance(value, str):
                value = value.split("\n") if value else []
            out[item["variable"]] = value
    return out
