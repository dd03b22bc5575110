# -*- coding: utf-8 -*-
"""istio_install's mesh_config, values and operator overlay judged against Istio's schema (iop.py over the
generated istio_api.py), every problem named by its field path; and the committed schema itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import iop, istio_api, validate


def problems(check, value, *args):
    found = validate.Problems()
    check(found, check.__name__.replace("check_", ""), value, *args)
    return found.items


def test_a_typo_is_named_with_the_field_it_was_meant_to_be():
    assert problems(iop.check_mesh_config, {"enableTracin": True}) == [
        "mesh_config.enableTracin: unknown field; did you mean enableTracing?"]


def test_an_unknown_field_without_a_close_name_lists_the_fields_of_its_message():
    found = problems(iop.check_mesh_config, {"outboundTrafficPolicy": {"xyzzy": 1}})
    assert found == ["mesh_config.outboundTrafficPolicy.xyzzy: unknown field of MeshConfig.OutboundTrafficPolicy "
                     "(its fields: mode, tls)"]


def test_a_value_of_the_wrong_type_is_named_with_its_path():
    assert problems(iop.check_values, {"pilot": {"replicaCount": "two"}}) == [
        "values.pilot.replicaCount: must be an integer, not 'two'"]


@pytest.mark.parametrize("value, expected", [
    ({"enableTracing": "yes"}, "mesh_config.enableTracing: must be true or false, not 'yes'"),
    ({"enableTracing": "true"}, "mesh_config.enableTracing: must be true or false, not 'true'"),
    ({"accessLogFile": 3}, "mesh_config.accessLogFile: must be a string, not 3"),
    ({"outboundTrafficPolicy": {"mode": "REGISTRY"}},
     "mesh_config.outboundTrafficPolicy.mode: 'REGISTRY' is not one of REGISTRY_ONLY, ALLOW_ANY, ALLOW_ANY_DYNAMIC_DNS"),
    ({"defaultConfig": {"tracing": {"sampling": "ten"}}},
     "mesh_config.defaultConfig.tracing.sampling: must be a number, not 'ten'"),
    ({"defaultConfig": {"drainDuration": "45"}},
     "mesh_config.defaultConfig.drainDuration: must be a duration such as 10s, 1.5s, 500ms or 1m, not '45'"),
    ({"connectTimeout": "-1s"}, "mesh_config.connectTimeout: must be a duration such as 10s, 1.5s, 500ms or 1m"),
    ({"defaultConfig": {"proxyMetadata": {"DNS": 1}}}, "mesh_config.defaultConfig.proxyMetadata.DNS: must be a string"),
    ({"trustDomainAliases": "a.example"}, "mesh_config.trustDomainAliases: must be a list, not 'a.example'"),
    ({"extensionProviders": [{"name": "x", "zipkin": {"service": "z", "port": 9411},
                              "opentelemetry": {"service": "o", "port": 4317}}]},
     "mesh_config.extensionProviders[0].opentelemetry: only one of the provider fields may be set, and zipkin is set too"),
    ({"enable_tracing": True, "enableTracing": False}, "mesh_config.enableTracing: is also given as enable_tracing"),
    ({"proxyListenPort": 2 ** 40}, "mesh_config.proxyListenPort: must be an integer from -2147483648 to 2147483647"),
    ({"defaultConfig": "x"}, "mesh_config.defaultConfig: must be a mapping (ProxyConfig), not 'x'"),
])
def test_mesh_config_problems(value, expected):
    found = problems(iop.check_mesh_config, value)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_what_istio_decodes_is_accepted():
    good = {
        "enableTracing": True, "enable_auto_mtls": True, "accessLogFile": "/dev/stdout",
        "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}, "ingressControllerMode": 2,
        "connectTimeout": "1.5s", "dnsRefreshRate": "1m", "protocolDetectionTimeout": None,
        "defaultConfig": {"tracing": {"sampling": 10, "zipkin": {"address": "zipkin:9411"}},
                          "holdApplicationUntilProxyStarts": True, "concurrency": "2",
                          "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}},
        "extensionProviders": [{"name": "otel", "opentelemetry": {"service": "otel.observability", "port": 4317}}],
        "defaultProviders": {"tracing": ["otel"]},
        "localityLbSetting": {"enabled": True, "failover": [{"from": "us-east", "to": "us-west"}]},
    }
    assert problems(iop.check_mesh_config, good) == []


def test_values_as_the_lab_and_the_charts_give_them_are_accepted():
    good = {
        "istiodRemote": {"injectionURL": "https://127.0.0.1:15017/inject", "injectionCABundle": "LS0t"},
        "base": {"validationURL": "https://127.0.0.1:15017/validate", "validationCABundle": "LS0t"},
        "defaultRevision": "default",
        "pilot": {"replicaCount": 2, "autoscaleEnabled": False, "resources": {"requests": {"cpu": "100m"}},
                  "env": {"PILOT_TRACE_SAMPLING": "10"}, "rollingMaxSurge": "100%", "rollingMaxUnavailable": 0},
        "global": {"hub": "docker.io/istio", "tag": "1.30.0", "proxy": {"resources": {"limits": {"memory": "1Gi"}}},
                   "logging": {"level": "default:info"}},
        "gateways": {"istio-ingressgateway": {"autoscaleEnabled": False}},
        "meshConfig": {"enableTracing": True},
    }
    assert problems(iop.check_values, good) == []


def test_values_mesh_config_is_judged_as_a_mesh_config():
    assert problems(iop.check_values, {"meshConfig": {"enableTracin": True}}) == [
        "values.meshConfig.enableTracin: unknown field; did you mean enableTracing?"]


def test_helm_leaves_unknown_top_level_values_to_the_charts_but_not_nested_ones():
    value = {"service": {"type": "NodePort"}, "pilot": {"replicaCont": 1}}
    assert problems(iop.check_values, value, True) == ["values.pilot.replicaCont: unknown field; did you mean replicaCount?"]
    assert len(problems(iop.check_values, value)) == 2


def test_the_operator_overlay_is_an_istio_operator_document():
    found = problems(iop.check_operator, {"kind": "Deployment", "apiVersion": "apps/v1", "status": {},
                                          "spec": {"profile": "nope", "revison": "x"}})
    assert found == [
        "operator.status: unknown key 'status': the allowed keys are apiVersion, kind, metadata, spec",
        "operator.apiVersion: must be install.istio.io/v1alpha1 (the overlay is an IstioOperator document), not 'apps/v1'",
        "operator.kind: must be IstioOperator (the overlay is an IstioOperator document), not 'Deployment'",
        "operator.spec.revison: unknown field; did you mean revision?",
    ]


def test_the_operator_overlays_components_mesh_config_and_values_are_checked():
    spec = {"components": {"ingressGateways": [{"name": "istio-ingressgateway", "enabled": "yes",
                                                "k8s": {"replicaCount": "two", "resources": {"anything": 1}}}]},
            "meshConfig": {"enableTracin": True}, "values": {"pilot": {"replicaCount": "two"}},
            "unvalidatedValues": {"whatever": {"goes": 1}}}
    assert problems(iop.check_operator, {"spec": spec}) == [
        "operator.spec.components.ingressGateways[0].enabled: must be true or false, not 'yes'",
        "operator.spec.components.ingressGateways[0].k8s.replicaCount: must be an integer, not 'two'",
        "operator.spec.meshConfig.enableTracin: unknown field; did you mean enableTracing?",
        "operator.spec.values.pilot.replicaCount: must be an integer, not 'two'",
    ]


def test_the_operator_overlay_may_not_install_another_revision_than_the_modules():
    assert problems(iop.check_operator, {"spec": {"revision": "canary"}}, "") == [
        "operator.spec.revision: 'canary' differs from revision '': set revision instead (the module finds, prunes "
        "and waits for the install by it)"]
    assert problems(iop.check_operator, {"spec": {"revision": "canary"}}, "canary") == []


# -- the committed schema -----------------------------------------------------------------------

def test_the_schema_names_the_istio_it_comes_from_and_its_roots():
    assert "istio.io/api v1.30" in istio_api.SOURCE and "istio.io/istio v0.0.0-" in istio_api.SOURCE
    assert set(istio_api.ROOTS) == {"mesh_config", "values", "operator"}
    for root in istio_api.ROOTS.values():
        assert root in istio_api.MESSAGES


def test_every_type_the_schema_refers_to_is_in_it():
    for name in istio_api.MESSAGES:
        for field in iop.message(name)[0]:
            if field.type.startswith("@"):
                assert field.type[1:] in istio_api.MESSAGES, (name, field.name)
            elif field.type.startswith("="):
                assert field.type[1:] in istio_api.ENUMS, (name, field.name)
            else:
                assert field.type in iop.WORDS or field.type == "any", (name, field.name, field.type)


@pytest.mark.parametrize("message, fields", [
    ("mesh.MeshConfig", {"enableTracing": "bool", "accessLogFile": "str", "defaultConfig": "@mesh.ProxyConfig",
                         "outboundTrafficPolicy": "@mesh.MeshConfig.OutboundTrafficPolicy", "connectTimeout": "dur",
                         "extensionProviders": "@mesh.MeshConfig.ExtensionProvider", "trustDomain": "str"}),
    ("mesh.ProxyConfig", {"tracing": "@mesh.Tracing", "drainDuration": "dur", "concurrency": "i32",
                          "proxyMetadata": "str", "holdApplicationUntilProxyStarts": "bool"}),
    ("mesh.Tracing", {"sampling": "num", "zipkin": "@mesh.Tracing.Zipkin"}),
    ("op.Values", {"pilot": "@op.PilotConfig", "global": "@op.GlobalConfig", "meshConfig": "any",
                   "gateways": "@op.GatewaysConfig", "defaultRevision": "str", "base": "@op.BaseConfig"}),
    ("op.PilotConfig", {"replicaCount": "u32", "autoscaleEnabled": "bool", "env": "obj", "rollingMaxSurge": "intstr"}),
    ("op.GatewaysConfig", {"istio-ingressgateway": "@op.IngressGatewayConfig"}),
    ("op.IstioOperatorSpec", {"profile": "str", "revision": "str", "components": "@op.IstioComponentSpec",
                              "meshConfig": "obj", "values": "obj"}),
])
def test_the_schema_covers_known_fields(message, fields):
    by_name = iop.message(message)[1]
    for name, code in fields.items():
        assert name in by_name, "{0} has no field {1}".format(message, name)
        assert by_name[name].type == code, (message, name, by_name[name].type)


def test_enums_are_listed_by_name():
    assert istio_api.ENUMS["mesh.MeshConfig.OutboundTrafficPolicy.Mode"].split() == [
        "REGISTRY_ONLY", "ALLOW_ANY", "ALLOW_ANY_DYNAMIC_DNS"]


def test_maps_and_repeated_fields_are_encoded():
    proxy = iop.message("mesh.ProxyConfig")[1]
    assert (proxy["proxyMetadata"].kind, proxy["proxyMetadata"].key) == ("map", "str")
    mesh = iop.message("mesh.MeshConfig")[1]
    assert mesh["extensionProviders"].kind == "list"
    assert mesh["extensionProviders"].name == "extension_providers"
    assert mesh["extension_providers"] is mesh["extensionProviders"]
