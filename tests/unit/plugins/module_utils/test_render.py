# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import install, render, validate
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError


@pytest.mark.parametrize("revision", ["", "default", "canary", "1-30-4", "a", "rev-2"])
def test_valid_revisions(revision):
    validate.revision(revision)


@pytest.mark.parametrize("revision", ["1.30.4", "Canary", "-canary", "canary-", "can_ary", "x" * 64])
def test_invalid_revisions_name_the_rule(revision):
    with pytest.raises(InputError) as info:
        validate.revision(revision)
    assert repr(revision) in info.value.msg
    assert "lowercase letters, digits and dashes (no dots)" in info.value.msg


def test_set_entries_need_path_and_value():
    render.validate_sets(["values.global.proxy.resources.requests.cpu=50m", "components.cni.enabled=true"])
    with pytest.raises(InputError) as info:
        render.validate_sets(["values.global.logging"])
    assert "'values.global.logging'" in info.value.msg and "path=value" in info.value.msg


@pytest.mark.parametrize("wanted,actual,ok", [
    ("1.30", "1.30.4-dev", True),
    ("1.30.4", "1.30.4-dev", True),
    ("1.30.4", "1.30.3", False),
    ("1.29", "1.30.4", False),
    ("v1.30", "1.30.0", True),
])
def test_version_matches(wanted, actual, ok):
    assert render.version_matches(wanted, actual) is ok


def test_version_must_be_a_version():
    with pytest.raises(InputError):
        render.version_tuple("latest")


def test_operator_only_with_istioctl():
    params = {"revision": "", "set": [], "version": None, "operator": {"spec": {}}, "method": "helm"}
    with pytest.raises(InputError) as info:
        install.validate_params(params)
    assert "operator" in info.value.msg and "method istioctl" in info.value.msg


def test_namespaces_of_adds_missing_namespaces_once():
    objs = [{"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "istio-system"}},
            {"kind": "Service", "metadata": {"name": "b", "namespace": "istio-system"}},
            {"kind": "Service", "metadata": {"name": "c", "namespace": "istio-ingress"}}]
    assert [n["metadata"]["name"] for n in render.namespaces_of(objs)] == ["istio-system", "istio-ingress"]


def test_installed_version_from_discovery_image():
    dep = {"spec": {"template": {"spec": {"containers": [
        {"name": "discovery", "image": "registry.local:5000/istio/pilot:1.30.4-dev"}]}}}}
    assert render.installed_version(dep) == "1.30.4-dev"
    assert render.installed_version(None) is None


def test_runtime_fields_are_left_to_istiod_once_the_webhook_exists():
    hook = {"kind": "ValidatingWebhookConfiguration", "metadata": {"name": "v"},
            "webhooks": [{"name": "w", "failurePolicy": "Ignore", "clientConfig": {"url": "https://x"}}]}
    assert render.without_runtime_fields(hook, None) is hook
    kept = render.without_runtime_fields(hook, {"exists": True})
    assert "failurePolicy" not in kept["webhooks"][0]
    assert hook["webhooks"][0]["failurePolicy"] == "Ignore"


def test_load_documents_flattens_lists_and_skips_empty():
    text = "---\n# comment only\n---\napiVersion: v1\nkind: List\nitems:\n- {kind: A}\n- {kind: B}\n---\nkind: C\n"
    assert [o["kind"] for o in render.load_documents(text)] == ["A", "B", "C"]
