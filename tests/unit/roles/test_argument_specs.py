# -*- coding: utf-8 -*-
"""Role argument_specs mirror the choices of the module options they are passed to: a role cannot accept a
value its module refuses, nor refuse one the module accepts. Every role option with choices is either
mapped to a module option here or listed as the role's own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.meshops.istio.plugins.modules import (
    canary_shift, istio_install, mesh_onboard, mesh_policy, mesh_traffic, mtls_verify,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# (role, path of the role option) -> (module, path of its option). "" in a role's choices means
# "leave it alone" (the role then does not pass the option).
MIRRORS = {
    ("istio", "istio_state"): (istio_install, "state"),
    ("istio", "istio_method"): (istio_install, "method"),
    ("mesh_security", "mesh_security_state"): (mesh_policy, "state"),
    ("mesh_security", "mesh_security_mtls_mode"): (mesh_policy, "peer_authentications.mode"),
    ("mesh_security", "mesh_security_peer_authentications.mode"): (mesh_policy, "peer_authentications.mode"),
    ("mesh_security", "mesh_security_authorization_policies.action"): (mesh_policy, "authorization_policies.action"),
    ("mesh_security", "mesh_security_service_entries.location"): (mesh_policy, "service_entries.location"),
    ("mesh_security", "mesh_security_service_entries.resolution"): (mesh_policy, "service_entries.resolution"),
    ("mesh_traffic", "mesh_traffic_rate_limits.context"): (mesh_traffic, "rate_limits.context"),
    ("canary", "canary_action"): (canary_shift, "action"),
    ("mesh_verify", "mesh_verify_expect"): (mtls_verify, "expect"),
    ("mesh_verify", "mesh_verify_fail_on"): (mtls_verify, "fail_on"),
}
# Choices that belong to the role alone (no module takes them).
OWN = {("addons", "addons_state"), ("addons", "addons_components"), ("compose_validate", "compose_validate_engine"),
       ("compose_validate", "compose_validate_smoke_requests.body_format"), ("canary", "canary_service"),
       ("mesh_verify", "mesh_verify_report_formats")}


def role_choices():
    """{(role, option path): choices} of every role's meta/argument_specs.yml."""
    found = {}

    def walk(role, prefix, options):
        for name, spec in (options or {}).items():
            path = prefix + name
            if "choices" in spec:
                found[(role, path)] = spec["choices"]
            walk(role, path + ".", spec.get("options"))

    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        for entry in specs.values():
            walk(role, "", entry.get("options"))
    return found


def module_choices(module, path):
    spec = {"options": module.argspec()}
    for part in path.split("."):
        spec = spec["options"][part]
    return spec["choices"]


def test_every_role_option_with_choices_is_mirrored_or_its_own():
    assert set(role_choices()) - OWN == set(MIRRORS)


@pytest.mark.parametrize("key", sorted(MIRRORS), ids=lambda k: "{0}:{1}".format(*k))
def test_role_choices_are_the_module_choices(key):
    module, path = MIRRORS[key]
    role = [c for c in role_choices()[key] if c != ""]
    assert sorted(role) == sorted(module_choices(module, path)), "{0} differs from {1} {2}".format(
        key, module.__name__.rpartition(".")[2], path)


def test_mesh_onboard_choices_come_from_the_shared_constants():
    assert module_choices(mesh_onboard, "mtls_mode") == ["PERMISSIVE", "STRICT"]
