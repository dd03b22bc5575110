# -*- coding: utf-8 -*-
"""The bad-input corpus: every module and role of the collection refuses malformed input naming the field, and
writes nothing.

CASES is a table, one row a case: the module or role, the input that is wrong (merged over a good base of that
target, BASES), the field the message must name and what it must say. A new module or role adds its base and its
rows. Module cases run in this process, one module ``main()`` after another with its arguments patched in (the
path Ansible's module wrapper takes, without a Python process per case), against the lab; role cases run in one
playbook (each in a block whose rescue records the failure). Then every case must have failed, with the field and
the text in its message, reporting no change, and the cluster must be as it was: the resourceVersion of every
object in the namespaces the cases touch (the corpus namespace and istio-system, every kind the API server lists
but events, leases and istiod's own leader elections, which move by themselves) and of the cluster-scoped objects
a case could write (namespaces, CRDs, webhooks, cluster RBAC), dumped before and after, is unchanged.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import importlib
import io
import json
import os
import sys
import time
from collections import namedtuple
from contextlib import redirect_stdout

import pytest
from ansible.module_utils.testing import patch_module_args

from harness import ROOT

DELETE = object()  # a row's value that removes the key from the base
Case = namedtuple("Case", "target args field expect")

SHOP_CHART = os.path.join(ROOT, "examples", "shop", "helm", "microservices")


def case(target, args, field, expect):
    return Case(target, args, field, expect)


# A good input per target, which each row makes wrong in one place. ``{ns}`` is the corpus namespace, ``{tmp}``
# the test's directory, ``{values}`` the lab's Istio values.
BASES = {
    "meshops.istio.istio_install": {"profile": "default", "values": "{values}", "revision": "corpus",
                                    "ingress_gateway": False, "wait_timeout": 60},
    "meshops.istio.mesh_onboard": {"namespaces": ["{ns}"], "wait_timeout": 30},
    "meshops.istio.mesh_policy": {"peer_authentications": [{"name": "default", "namespace": "{ns}", "mode": "PERMISSIVE"}]},
    "meshops.istio.mesh_traffic": {"owner": "corpus", "destination_rules": [
        {"name": "web", "namespace": "{ns}", "spec": {"host": "web", "subsets": [{"name": "v1", "labels": {"v": "1"}}]}}]},
    "meshops.istio.mesh_pod_info": {"namespace": "{ns}"},
    "role:istio": {"istio_values": "{values}", "istio_revision": "corpus", "istio_ingress_gateway": False,
                   "istio_wait_timeout": 60, "istio_injection_namespaces": ["{ns}"]},
    "role:app_deploy": {"app_deploy_namespace": "{ns}", "app_deploy_release_name": "corpus",
                        "app_deploy_chart_ref": SHOP_CHART, "app_deploy_wait_timeout": 60,
                        "app_deploy_values": {"postgres": {"persistence": {"enabled": False},
                                                           "auth": {"password": "corpus-pw"}}}},
    "role:compose_validate": {"compose_validate_files": ["{tmp}/compose.yml"], "compose_validate_build": False,
                              "compose_validate_project_name": "meshops-corpus",
                              "compose_validate_health_url": "http://127.0.0.1:9/health"},
    "role:addons": {"addons_source": "{tmp}/addons", "addons_components": ["prometheus"], "addons_namespace": "{ns}",
                    "addons_wait": False},
    "role:mesh_security": {"mesh_security_mtls_mode": "", "mesh_security_authorization_policies": [
        {"name": "web", "namespace": "{ns}", "rules": [{"from": [{"namespaces": ["{ns}"]}]}]}]},
    "role:mesh_traffic": {"mesh_traffic_owner": "corpus", "mesh_traffic_destination_rules": [],
                          "mesh_traffic_virtual_services": [], "mesh_traffic_rate_limits": [],
                          "mesh_traffic_gateways": [], "mesh_traffic_service_entries": [], "mesh_traffic_sidecars": []},
    "role:mesh_gateway": {"mesh_gateway_namespace": "{ns}", "mesh_gateway_workload_namespace": "{ns}",
                          "mesh_gateway_owner": "corpus-gateway", "mesh_gateway_pki_dir": "{tmp}/pki"},
    # The corpus namespace holds VirtualService web (route default to subset stable), DestinationRule web and
    # Service web over the Ready pod of Deployment web (ROUTING), so canary_shift's own checks of its target run.
    "meshops.istio.canary_shift": {"namespace": "{ns}", "virtual_service": "web", "canary_labels": {"version": "v2"},
                                   "steps": [{"weight": 50, "pause": 1}], "prometheus_url": "http://127.0.0.1:9"},
    "meshops.istio.mtls_verify": {"namespaces": ["{ns}"], "analyze": False},
    "role:canary": {"canary_namespace": "{ns}", "canary_virtual_service": "web", "canary_destination_rule": "web",
                    "canary_deploy": False, "canary_steps": [{"weight": 50, "pause": 1}],
                    "canary_prometheus_url": "http://127.0.0.1:9"},
    "role:mesh_verify": {"mesh_verify_namespaces": ["{ns}"], "mesh_verify_analyze": False,
                         "mesh_verify_report_dir": "{tmp}/mesh-report"},
}
MISSING_KUBECONFIG = "/nonexistent/corpus.kubeconfig"
KUBECONFIG_TEXT = "/nonexistent/corpus.kubeconfig does not exist (option kubeconfig)"


def authz(rule):
    return {"authorization_policies": [{"name": "web", "namespace": "{ns}", "rules": [rule]}]}


FORM_TYPO = authz({"form": [{"namespaces": ["{ns}"]}]})


def jwt(rule):
    return {"request_authentications": [{"name": "jwt", "namespace": "{ns}", "selector": {"app": "web"},
                                         "jwt_rules": [dict({"issuer": "https://issuer.example.com"}, **rule)]}]}


def dr(policy):
    return {"name": "web", "namespace": "{ns}", "spec": {"host": "web", "trafficPolicy": policy}}


TWO_PROVIDERS = {"name": "x", "zipkin": {"service": "z", "port": 9411}, "opentelemetry": {"service": "o", "port": 4317}}


def vs(http):
    return {"virtual_services": [{"name": "web", "namespace": "{ns}", "spec": {"hosts": ["web"], "http": [http]}}]}


def query(**fields):
    return {"analysis": {"queries": [dict({"name": "errors", "max": 1}, **fields)]}}


CANARY_ALLOWED = "the allowed keys are weight, pause, analysis, mirror"


CASES = [
    # -- istio_install: options, and mesh_config / values / operator against Istio's schema ----------------------
    case("meshops.istio.istio_install", {"mesh_config": {"enableTracin": True}},
         "mesh_config.enableTracin", "unknown field; did you mean enableTracing?"),
    case("meshops.istio.istio_install", {"values": {"pilot": {"replicaCount": "two"}}},
         "values.pilot.replicaCount", "must be an integer, not 'two'"),
    case("meshops.istio.istio_install", {"values": {"meshConfig": {"accessLogFile": 1}}},
         "values.meshConfig.accessLogFile", "must be a string, not 1"),
    case("meshops.istio.istio_install", {"values": {"global": {"proxy": {"holdApplicationUntilProxyStarts": "yes"}}}},
         "values.global.proxy.holdApplicationUntilProxyStarts", "must be true or false, not 'yes'"),
    case("meshops.istio.istio_install", {"mesh_config": {"outboundTrafficPolicy": {"mode": "REGISTRY"}}},
         "mesh_config.outboundTrafficPolicy.mode", "'REGISTRY' is not one of REGISTRY_ONLY, ALLOW_ANY"),
    case("meshops.istio.istio_install", {"mesh_config": {"defaultConfig": {"drainDuration": "45"}}},
         "mesh_config.defaultConfig.drainDuration", "must be a duration such as 10s"),
    case("meshops.istio.istio_install", {"mesh_config": {"extensionProviders": [TWO_PROVIDERS]}},
         "mesh_config.extensionProviders[0].opentelemetry", "only one of the provider fields may be set"),
    case("meshops.istio.istio_install", {"wait_timeout": -1},
         "wait_timeout", "must be a positive whole number of seconds (1 or more), not -1"),
    case("meshops.istio.istio_install", {"operator": {"kind": "Deployment", "spec": {"profile": "nope"}}},
         "operator.kind", "must be IstioOperator"),
    case("meshops.istio.istio_install", {"operator": {"spec": {"profile": "nope"}}},
         "operator.spec.profile", "'nope' is not known to istioctl"),
    case("meshops.istio.istio_install", {"operator": {"spec": {"revision": "other"}}},
         "operator.spec.revision", "'other' differs from revision 'corpus'"),
    case("meshops.istio.istio_install", {"operator": {"spec": {"components": {"pilot": {"enabled": "yes"}}}}},
         "operator.spec.components.pilot.enabled", "must be true or false"),
    case("meshops.istio.istio_install", {"revision": "1.30.4"}, "revision", "'1.30.4' is not valid"),
    case("meshops.istio.istio_install", {"set": ["values.global.logging"]}, "set entry", "use path=value"),
    case("meshops.istio.istio_install", {"version": "latest"}, "version", "is not an Istio version"),
    case("meshops.istio.istio_install", {"method": "helm", "operator": {"spec": {}}},
         "operator", "needs method istioctl"),
    case("meshops.istio.istio_install", {"istioctl_path": "/nonexistent/istioctl"},
         "istioctl_path", "istioctl not found at /nonexistent/istioctl"),
    case("meshops.istio.istio_install", {"method": "kubectl"}, "method", "istioctl, helm"),
    case("meshops.istio.istio_install", {"kubeconfig": MISSING_KUBECONFIG}, "kubeconfig", KUBECONFIG_TEXT),
    # -- mesh_onboard ----------------------------------------------------------------------------------------
    case("meshops.istio.mesh_onboard", {"namespaces": ["Shop"]}, "namespaces[0]", "'Shop' is not a valid namespace"),
    case("meshops.istio.mesh_onboard", {"namespaces": ["kube-system"]}, "namespaces[0]", "is a system namespace"),
    case("meshops.istio.mesh_onboard", {"wait_timeout": -1}, "wait_timeout", "must be a positive whole number"),
    case("meshops.istio.mesh_onboard", {"max_concurrent_restarts": 0}, "max_concurrent_restarts", "1 or more"),
    case("meshops.istio.mesh_onboard", {"namespaces": ["{ns}", "corpus-missing"]},
         "namespaces", "not found: corpus-missing; create them first, or set create_namespaces"),
    case("meshops.istio.mesh_onboard", {"namespaces": DELETE, "namespace_selector": "team=corpus",
                                        "create_namespaces": True}, "create_namespaces", "needs namespaces"),
    case("meshops.istio.mesh_onboard", {"revision": "nope"}, "revision", "'nope' has no sidecar injector"),
    case("meshops.istio.mesh_onboard", {"mtls_mode": "LOOSE"}, "mtls_mode", "PERMISSIVE, STRICT"),
    case("meshops.istio.mesh_onboard", {"kubeconfig": MISSING_KUBECONFIG}, "kubeconfig", KUBECONFIG_TEXT),
    # -- mesh_policy: nested keys, JWT, principals, ports ---------------------------------------------------------
    case("meshops.istio.mesh_policy", FORM_TYPO,
         "authorization_policies[0].rules[0].form", "unknown key 'form'"),
    case("meshops.istio.mesh_policy", authz({"to": [{"method": ["GET"], "paths": ["/admin"]}]}),
         "authorization_policies[0].rules[0].to[0].method", "unknown key 'method'"),
    case("meshops.istio.mesh_policy", authz({"from": [{"principals": ["web"]}]}),
         "authorization_policies[0].rules[0].from[0].principals[0]", "is not a service-account principal"),
    case("meshops.istio.mesh_policy", authz({"to": [{"methods": ["get"]}]}),
         "authorization_policies[0].rules[0].to[0].methods[0]", "methods are upper case: GET"),
    case("meshops.istio.mesh_policy", jwt({"audience": ["shop"], "jwks_uri": "https://issuer.example.com/jwks"}),
         "request_authentications[0].jwt_rules[0].audience", "unknown key 'audience'"),
    case("meshops.istio.mesh_policy", jwt({"jwks_uri": "http://issuer.example.com/jwks"}),
         "request_authentications[0].jwt_rules[0].jwks_uri", "https://"),
    case("meshops.istio.mesh_policy", {"peer_authentications": [{"name": "default", "namespace": "{ns}",
                                                                 "mode": "STRICTER"}]},
         "mode", "UNSET, DISABLE, PERMISSIVE, STRICT"),
    case("meshops.istio.mesh_policy", {"service_entries": [{"name": "api", "namespace": "{ns}", "hosts": ["api.example.com"],
                                                            "ports": [{"number": 70000, "protocol": "TLS"}]}]},
         "service_entries[0].ports[0].number", "is not a port number"),
    case("meshops.istio.mesh_policy", {"peer_authentications": [{"name": "default", "namespace": "Shop",
                                                                 "mode": "STRICT"}]},
         "peer_authentications[0].namespace", "'Shop' is not a valid namespace"),
    case("meshops.istio.mesh_policy", {"kubeconfig": MISSING_KUBECONFIG}, "kubeconfig", KUBECONFIG_TEXT),
    # -- mesh_traffic -----------------------------------------------------------------------------------------
    case("meshops.istio.mesh_traffic", {"destination_rules": [dr({"outlierDetecton": {}})]},
         "destination_rules[0].spec.trafficPolicy.outlierDetecton", "unknown key"),
    case("meshops.istio.mesh_traffic", vs({"route": [{"destination": {"host": "web"}}], "timeout": "0s"}),
         "virtual_services[0].spec.http[0].timeout", "'0s' is not a positive duration"),
    case("meshops.istio.mesh_traffic", vs({"route": [{"destination": {"host": "web"}, "weight": 60},
                                                     {"destination": {"host": "web"}, "weight": 60}]}),
         "virtual_services[0].spec.http[0].route", "sum to 120, not 100"),
    case("meshops.istio.mesh_traffic", {"rate_limits": [{"name": "rl", "namespace": "{ns}", "max_tokens": 10,
                                                         "fill_interval": "0s"}]},
         "rate_limits[0].fill_interval", "'0s' is not a positive duration"),
    case("meshops.istio.mesh_traffic", {"owner": "bad owner"}, "owner", "is not a valid label value"),
    case("meshops.istio.mesh_traffic", {"kubeconfig": MISSING_KUBECONFIG}, "kubeconfig", KUBECONFIG_TEXT),
    # -- mesh_pod_info ----------------------------------------------------------------------------------------
    case("meshops.istio.mesh_pod_info", {"namespace": "Shop"}, "namespace", "'Shop' is not a valid namespace"),
    case("meshops.istio.mesh_pod_info", {"wait": True, "wait_timeout": 0}, "wait_timeout",
         "must be a positive whole number of seconds (1 or more), not 0"),
    case("meshops.istio.mesh_pod_info", {"kubeconfig": MISSING_KUBECONFIG}, "kubeconfig", KUBECONFIG_TEXT),
    # -- role istio: everything before the installation writes -------------------------------------------------
    case("role:istio", {"istio_injection_namespaces": ["Shop"]},
         "istio_injection_namespaces[0]", "'Shop' is not a valid namespace name"),
    case("role:istio", {"istio_injection_namespaces": ["istio-system"]},
         "istio_injection_namespaces[0]", "is a system namespace"),
    case("role:istio", {"istio_wait_timeout": -1}, "istio_wait_timeout", "must be a positive whole number"),
    case("role:istio", {"istio_tracing_sampling": 150}, "istio_tracing_sampling", "must be a percentage"),
    case("role:istio", {"istio_method": "kubectl"}, "istio_method", "istioctl, helm"),
    case("role:istio", {"istio_injection_namespaces": {"shop": True}}, "istio_injection_namespaces",
         "is of type dict"),
    case("role:istio", {"istio_mesh_config": {"enableTracin": True}},
         "mesh_config.enableTracin", "did you mean enableTracing?"),
    # -- role app_deploy: everything before the namespace is created -------------------------------------------
    case("role:app_deploy", {"app_deploy_wait_timeout": -1}, "app_deploy_wait_timeout", "must be a positive whole"),
    case("role:app_deploy", {"app_deploy_namespace": "Shop"}, "app_deploy_namespace", "'Shop' is not a valid namespace"),
    case("role:app_deploy", {"app_deploy_namespace": "kube-system"}, "app_deploy_namespace", "is a system namespace"),
    case("role:app_deploy", {"app_deploy_release_name": "Shop_1"}, "app_deploy_release_name",
         "is not a valid Helm release name"),
    case("role:app_deploy", {"app_deploy_history_max": -1}, "app_deploy_history_max", "from 0"),
    case("role:app_deploy", {"app_deploy_istio_revision": "1.30"}, "app_deploy_istio_revision", "is not valid"),
    case("role:app_deploy", {"app_deploy_helm_path": "/nonexistent/helm"}, "app_deploy_helm_path: /nonexistent/helm",
         "the helm binary is missing or cannot be run"),
    case("role:app_deploy", {"app_deploy_chart_ref": "/nonexistent/chart"}, "app_deploy_chart_ref /nonexistent/chart",
         "no such chart directory or archive"),
    # -- role compose_validate: everything before anything is built or started ---------------------------------
    case("role:compose_validate", {"compose_validate_health_timeout": -5}, "compose_validate_health_timeout",
         "must be a positive whole number of seconds (1 or more), not -5"),
    case("role:compose_validate", {"compose_validate_health_interval": 0}, "compose_validate_health_interval",
         "must be a positive whole number"),
    case("role:compose_validate", {"compose_validate_build_timeout": 0}, "compose_validate_build_timeout",
         "must be a positive whole number"),
    case("role:compose_validate", {"compose_validate_health_status": 99}, "compose_validate_health_status",
         "HTTP status from 100 to 599"),
    case("role:compose_validate", {"compose_validate_files": ["{tmp}/missing-compose.yml"]},
         "compose_validate_files[0]: {tmp}/missing-compose.yml", "cannot be read"),
    case("role:compose_validate", {"compose_validate_files": ["{tmp}/broken-compose.yml"]},
         "compose_validate_files[0]: {tmp}/broken-compose.yml", "not valid YAML at line 4, column 4"),
    case("role:compose_validate", {"compose_validate_files": []}, "compose_validate_files", "is empty"),
    # -- role addons ------------------------------------------------------------------------------------------
    case("role:addons", {"addons_wait_timeout": -1}, "addons_wait_timeout", "must be a positive whole number"),
    case("role:addons", {"addons_retry_budget": -1}, "addons_retry_budget", "must be a number of seconds >= 0"),
    case("role:addons", {"addons_namespace": "Bad"}, "addons_namespace", "'Bad' is not a valid namespace"),
    case("role:addons", {"addons_components": ["prometheus", "grafana"]}, "addons_source {tmp}/addons",
         "has no grafana.yaml"),
    case("role:addons", {"addons_components": ["splunk"]}, "addons_components", "splunk"),
    # -- role mesh_security -------------------------------------------------------------------------------------
    case("role:mesh_security", {"mesh_security_mtls_mode": "STRICTER"}, "mesh_security_mtls_mode", "STRICT"),
    case("role:mesh_security", {"mesh_security_authorization_policies": FORM_TYPO["authorization_policies"]},
         "authorization_policies[0].rules[0].form", "unknown key 'form'"),
    case("role:mesh_security", {"mesh_security_request_authentications": [
        {"name": "jwt", "namespace": "{ns}", "selector": {"app": "web"},
         "jwt_rules": [{"issuer": "https://i.example.com", "jwks_uri": "http://i.example.com/jwks"}]}]},
         "request_authentications[0].jwt_rules[0].jwks_uri", "https://"),
    case("role:mesh_security", {"mesh_security_deny_all_namespaces": ["Shop"]}, "authorization_policies[0].namespace",
         "'Shop' is not a valid namespace"),
    # -- role mesh_traffic --------------------------------------------------------------------------------------
    case("role:mesh_traffic", {"mesh_traffic_rate_limits": [{"name": "rl", "namespace": "{ns}", "max_tokens": 5,
                                                             "fill_interval": "0s"}]},
         "rate_limits[0].fill_interval", "'0s' is not a positive duration"),
    case("role:mesh_traffic", {"mesh_traffic_destination_rules": [dr({"connectionPool": {"tcp": {"maxConnections": -1}}})]},
         "destination_rules[0].spec.trafficPolicy.connectionPool.tcp.maxConnections", "from 0"),
    # -- role mesh_gateway: everything before the TLS Secret is written ----------------------------------------
    case("role:mesh_gateway", {"mesh_gateway_hosts": ["bad host"]}, "mesh_gateway_hosts[0]", "is not a DNS name"),
    case("role:mesh_gateway", {"mesh_gateway_http": [{"route": [{"destination": {"host": "web"}}], "timeout": "-1s"}]},
         "mesh_gateway_http[0].timeout", "is not a duration"),
    case("role:mesh_gateway", {"mesh_gateway_credential_name": "Bad_Name"}, "mesh_gateway_credential_name",
         "is not a valid name"),
    case("role:mesh_gateway", {"mesh_gateway_cert_file": "{tmp}/cert.pem"}, "mesh_gateway_cert_file, mesh_gateway_key_file",
         "give both, or neither"),
    case("role:mesh_gateway", {"mesh_gateway_selector": {"istio": "bad value!"}}, "mesh_gateway_selector.istio",
         "is not a valid label value"),
    # -- canary_shift: nested steps and analysis (validate.options), durations, Prometheus, then its target -----
    case("meshops.istio.canary_shift", {"steps": [{"weight": 50}, {"wieght": 100}]},
         "steps[1].wieght", "unknown key 'wieght': " + CANARY_ALLOWED),
    case("meshops.istio.canary_shift", {"steps": [{"weight": 50}, {"wieght": 100}]}, "steps[1].weight", "is required"),
    case("meshops.istio.canary_shift", {"steps": [{"weight": "half"}]}, "steps[0].weight",
         "must be a whole number, not 'half'"),
    case("meshops.istio.canary_shift", {"steps": [{"weight": 150}]}, "steps[0].weight", "from 0 to 100, not 150"),
    case("meshops.istio.canary_shift", {"steps": [{"weight": 50, "pause": "-30s"}]}, "steps[0].pause",
         "'-30s' is negative"),
    case("meshops.istio.canary_shift", {"steps": [{"weight": 50, "analysis": "sometimes"}]}, "steps[0].analysis",
         "must be true or false"),
    case("meshops.istio.canary_shift", query(qeury="sum(up)"), "analysis.queries[0].qeury",
         "unknown key 'qeury': the allowed keys are name, query, min, max"),
    case("meshops.istio.canary_shift", query(query="sum(up)", max="low"), "analysis.queries[0].max",
         "must be a number, not 'low'"),
    case("meshops.istio.canary_shift", {"analysis": {"intervall": "5s"}}, "analysis.intervall",
         "unknown key 'intervall': the allowed keys are interval, window"),
    case("meshops.istio.canary_shift", {"analysis": {"on_no_data": "wait"}}, "analysis.on_no_data",
         "'wait' is not one of fail, hold, skip"),
    case("meshops.istio.canary_shift", {"analysis": {"window": "0s"}}, "analysis.window", "must be longer than 0"),
    case("meshops.istio.canary_shift", {"analysis": {"hold_timeout": -60}}, "analysis.hold_timeout", "-60 is negative"),
    case("meshops.istio.canary_shift", {"analysis": {"min_success_rate": 1.5}}, "analysis.min_success_rate",
         "from 0 to 1"),
    case("meshops.istio.canary_shift", {"match": [{"header": {"x-canary-user": "true"}}]}, "match[0].header",
         "unknown key 'header'"),
    case("meshops.istio.canary_shift", {"match": [{"headers": {"x-canary-user": {"exakt": "true"}}}]},
         "match[0].headers.x-canary-user.exakt", "unknown key 'exakt'"),
    case("meshops.istio.canary_shift", {"canary_subset": "stable"}, "canary_subset", "must differ from stable_subset"),
    case("meshops.istio.canary_shift", {"canary_labels": {"version": "v 2"}}, "canary_labels.version",
         "is not a valid label value"),
    case("meshops.istio.canary_shift", {"action": "rollback"}, "action", "run, status, promote, abort, resume, retry"),
    case("meshops.istio.canary_shift", {"steps": DELETE, "step_weight": 30, "max_weight": 20}, "max_weight",
         "from 30 to 100"),
    case("meshops.istio.canary_shift", {"step_weight": 30}, "steps|step_weight", "mutually exclusive"),
    case("meshops.istio.canary_shift", {"prometheus_url": DELETE}, "prometheus_url", "is needed: steps run analyses"),
    case("meshops.istio.canary_shift", {"prometheus_url": "prometheus:9090"}, "prometheus_url",
         "is not an http:// or https:// URL"),
    case("meshops.istio.canary_shift", {"prometheus_timeout": -1}, "prometheus_timeout",
         "must be a positive whole number of seconds"),
    case("meshops.istio.canary_shift", {"virtual_service": "missing"}, "VirtualService {ns}/missing",
         "does not exist; nothing was written"),
    case("meshops.istio.canary_shift", {"route": "nope"}, "route", "has no HTTP route named 'nope'"),
    case("meshops.istio.canary_shift", {"stable_subset": "v1"}, "stable_subset",
         "route 'default' sends nothing to subset 'v1'"),
    case("meshops.istio.canary_shift", {"canary_labels": DELETE}, "canary_labels",
         "has no subset 'canary'; define it, or give canary_labels"),
    case("meshops.istio.canary_shift", {}, "canary_subset", "subset 'canary' ({{'version': 'v2'}}) selects no Ready pod"),
    case("meshops.istio.canary_shift", {"kubeconfig": MISSING_KUBECONFIG}, "kubeconfig", KUBECONFIG_TEXT),
    # -- mtls_verify (reads only: the dump proves it all the same) ---------------------------------------------
    case("meshops.istio.mtls_verify", {"namespaces": ["Shop"]}, "namespaces[0]", "'Shop' is not a valid namespace"),
    case("meshops.istio.mtls_verify", {"namespaces": ["{ns}", "corpus-missing"]}, "namespaces",
         "not found: corpus-missing; create them first (nothing was written)"),
    case("meshops.istio.mtls_verify", {"namespace_selector": "team=corpus"}, "namespaces|namespace_selector",
         "mutually exclusive"),
    case("meshops.istio.mtls_verify", {"namespaces": DELETE, "namespace_selector": "team in (a"},
         "namespace_selector 'team in (a'", "is not a valid label selector"),
    case("meshops.istio.mtls_verify", {"expect": "strict"}, "expect", "STRICT, PERMISSIVE, ANY"),
    case("meshops.istio.mtls_verify", {"fail_on": "critical"}, "fail_on", "error, warning, never"),
    case("meshops.istio.mtls_verify", {"evidence_window": "-10m"}, "evidence_window", "is not a Prometheus range"),
    case("meshops.istio.mtls_verify", {"analyze_suppress": ["IST133"]}, "analyze_suppress[0]", "'IST133' is not a code"),
    case("meshops.istio.mtls_verify", {"ca_root_cert": "not a certificate"}, "ca_root_cert",
         "holds no PEM certificate"),
    case("meshops.istio.mtls_verify", {"prometheus_url": "localhost:19090"}, "prometheus_url",
         "is not an http:// or https:// URL"),
    case("meshops.istio.mtls_verify", {"prometheus_timeout": 0}, "prometheus_timeout",
         "must be a positive whole number of seconds (1 or more), not 0"),
    case("meshops.istio.mtls_verify", {"root_namespace": "Istio_System"}, "root_namespace",
         "is not a valid namespace name"),
    case("meshops.istio.mtls_verify", {"analyze": True, "istioctl_path": "/nonexistent/istioctl"}, "istioctl_path",
         "istioctl not found at /nonexistent/istioctl"),
    case("meshops.istio.mtls_verify", {"kubeconfig": MISSING_KUBECONFIG}, "kubeconfig", KUBECONFIG_TEXT),
    # -- role canary: its first task checks everything through canary_shift (action status) --------------------
    case("role:canary", {"canary_steps": [{"weight": 10, "pasue": "30s"}]}, "steps[0].pasue",
         "unknown key 'pasue': " + CANARY_ALLOWED),
    case("role:canary", {"canary_steps": [{"weight": "most"}]}, "steps[0].weight", "must be a whole number"),
    case("role:canary", {"canary_steps": [{"weight": 10, "pause": -30}]}, "steps[0].pause", "-30 is negative"),
    case("role:canary", {"canary_analysis": query(qeury="sum(up)")["analysis"]}, "analysis.queries[0].qeury",
         "unknown key 'qeury'"),
    case("role:canary", {"canary_analysis": {"on_no_data": "wait"}}, "analysis.on_no_data",
         "'wait' is not one of fail, hold, skip"),
    case("role:canary", {"canary_analysis": {"interval": "0s"}}, "analysis.interval", "must be longer than 0"),
    case("role:canary", {"canary_match": [{"header": {"x-canary-user": "true"}}]}, "match[0].header",
         "unknown key 'header'"),
    case("role:canary", {"canary_labels": {"version": "v 2"}}, "canary_labels.version", "is not a valid label value"),
    case("role:canary", {"canary_stable_subset": "canary"}, "canary_subset", "must differ from stable_subset"),
    case("role:canary", {"canary_prometheus_url": ""}, "prometheus_url", "is needed"),
    case("role:canary", {"canary_action": "rollback"}, "canary_action", "run, status, promote, abort, resume, retry"),
    case("role:canary", {"canary_service": "cart"}, "canary_service", "frontend, api-gateway, users"),
    # -- role mesh_verify ---------------------------------------------------------------------------------------
    case("role:mesh_verify", {"mesh_verify_expect": "strict"}, "mesh_verify_expect", "STRICT, PERMISSIVE, ANY"),
    case("role:mesh_verify", {"mesh_verify_fail_on": "critical"}, "mesh_verify_fail_on", "error, warning, never"),
    case("role:mesh_verify", {"mesh_verify_report_formats": ["pdf"]}, "mesh_verify_report_formats", "html, markdown"),
    case("role:mesh_verify", {"mesh_verify_namespaces": ["Shop"]}, "namespaces[0]", "'Shop' is not a valid namespace"),
    case("role:mesh_verify", {"mesh_verify_evidence_window": "ten minutes"}, "evidence_window",
         "is not a Prometheus range"),
    case("role:mesh_verify", {"mesh_verify_analyze_suppress": ["IST0133 EnvoyFilter x/y"]}, "analyze_suppress[0]",
         "is not a code"),
    case("role:mesh_verify", {"mesh_verify_ca_root_cert": "-----BEGIN nothing"}, "ca_root_cert",
         "holds no PEM certificate"),
    case("role:mesh_verify", {"mesh_verify_prometheus_url": "prometheus:9090"}, "prometheus_url",
         "is not an http:// or https:// URL"),
    case("role:mesh_verify", {"mesh_verify_analyze": True, "mesh_verify_istioctl_path": "/nonexistent/istioctl"},
         "istioctl_path", "istioctl not found at /nonexistent/istioctl"),
]

ADDON = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: corpus-prometheus
data:
  prometheus.yml: "global: {scrape_interval: 15s}"
"""
# What canary_shift's cases route: one route to subset stable of the corpus Deployment's Service.
ROUTING = """\
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec: {{selector: {{app: web}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: web, namespace: {ns}}}
spec: {{host: web, subsets: [{{name: stable, labels: {{app: web}}}}]}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: web, namespace: {ns}}}
spec: {{hosts: [web], http: [{{name: default, route: [{{destination: {{host: web, subset: stable}}}}]}}]}}
"""
COMPOSE = "services:\n  web:\n    image: localhost/meshops-corpus-none:1\n"
BROKEN_COMPOSE = "services:\n  web:\n    image: web\n   ports: [8080]\n"
# Everything the API server lists, but what the control plane itself keeps moving.
CHURN = {"events", "events.events.k8s.io", "leases.coordination.k8s.io"}
LEADER = "control-plane.alpha.kubernetes.io/leader"
CLUSTER_KINDS = ("namespaces,customresourcedefinitions,mutatingwebhookconfigurations,validatingwebhookconfigurations,"
                 "clusterroles,clusterrolebindings")


def fill(value, subs):
    """``value`` with the placeholders replaced (strings are formatted, ``{values}`` is the lab's values)."""
    if isinstance(value, dict):
        return dict((k, fill(v, subs)) for k, v in value.items())
    if isinstance(value, list):
        return [fill(v, subs) for v in value]
    if value == "{values}":
        return copy.deepcopy(subs["values"])
    if isinstance(value, str):
        return value.format(**subs)
    return value


def merged(base, over):
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def task(index, row, subs):
    """The block of one role case: the role, then the outcome recorded in corpus_results."""
    args = fill(merged(BASES[row.target], row.args), subs)
    step = {"name": "case {0}: {1} {2}".format(index, row.target, row.field),
            "ansible.builtin.include_role": {"name": "meshops.istio." + row.target[5:]}, "vars": args}
    done = "{{{{ corpus_results | combine({{'{0}': {{'failed': false, 'changed': false, 'msg': ''}}}}) }}}}".format(
        index)
    failed = ("{{{{ corpus_results | combine({{'{0}': {{'failed': true, 'changed': ansible_failed_result.changed "
              "| default(false), 'msg': ansible_failed_result.msg | default('') | string}}}}) }}}}").format(index)
    return {"name": "case {0}".format(index), "block": [step, {"ansible.builtin.set_fact": {"corpus_results": done}}],
            "rescue": [{"ansible.builtin.set_fact": {"corpus_results": failed}}]}


def playbook(subs):
    tasks = [{"ansible.builtin.set_fact": {"corpus_results": {}}}]
    tasks += [task(i, row, subs) for i, row in enumerate(CASES) if row.target.startswith("role:")]
    tasks.append({"name": "corpus results", "ansible.builtin.debug": {"var": "corpus_results"}})
    # JSON is YAML; no value of the corpus holds a Jinja delimiter of its own.
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], indent=1)


def run_module(name, args):
    """One module run in this process, as Ansible's wrapper runs it: its result (``failed`` set on failure)."""
    module = importlib.import_module("ansible_collections.meshops.istio.plugins.modules." + name.rpartition(".")[2])
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())


def module_cases(subs):
    """{index: {failed, changed, msg}} of the module cases, and the seconds each took."""
    results, spent = {}, []
    for i, row in enumerate(CASES):
        if row.target.startswith("role:"):
            continue
        t0 = time.monotonic()
        out = run_module(row.target, fill(merged(BASES[row.target], row.args), subs))
        spent.append((time.monotonic() - t0, "case {0}: {1} {2}".format(i, row.target, row.field)))
        results[str(i)] = {"failed": bool(out.get("failed")), "changed": bool(out.get("changed")),
                           "msg": str(out.get("msg") or "")}
    return results, spent


def namespaced_kinds(lab):
    names = lab.kubectl("api-resources", "--namespaced=true", "--verbs=list", "-o", "name").stdout.split()
    return ",".join(n for n in names if n not in CHURN)


def dump(lab, kinds, namespaces):
    """{kind/namespace/name: resourceVersion} of every listed object of ``namespaces`` and of the cluster-scoped
    kinds a case could write."""
    found = {}
    items = lab.kubectl_json("get", CLUSTER_KINDS)["items"]
    for ns in namespaces:
        items += lab.kubectl_json("get", kinds, "-n", ns)["items"]
    for item in items:
        meta = item["metadata"]
        if LEADER in (meta.get("annotations") or {}) or (item.get("status") or {}).get("phase") == "Terminating":
            continue  # istiod's leader elections renew themselves; namespaces of earlier tests go away
        found["{0}/{1}/{2}".format(item["kind"], meta.get("namespace", ""), meta["name"])] = meta["resourceVersion"]
    return found


def durations(out):
    """(seconds, task name) of every task of the run, from the JSON callback."""
    found = []
    for play in out["plays"]:
        for t in play["tasks"]:
            for host in t["hosts"].values():
                spent = t["task"].get("duration") or {}
                if spent.get("start") and spent.get("end"):
                    found.append((iso(spent["end"]) - iso(spent["start"]), t["task"]["name"]))
    return found


def iso(text):
    return datetime.datetime.strptime(text.rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f").timestamp()


@pytest.fixture
def corpus_dir(tmp_path):
    (tmp_path / "addons").mkdir()
    (tmp_path / "addons" / "prometheus.yaml").write_text(ADDON)
    (tmp_path / "compose.yml").write_text(COMPOSE)
    (tmp_path / "broken-compose.yml").write_text(BROKEN_COMPOSE)
    (tmp_path / "cert.pem").write_text("not used\n")
    return tmp_path


def test_the_corpus_covers_every_module_and_role_and_is_large_enough():
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py"))
    roles = sorted(os.listdir(os.path.join(ROOT, "roles")))
    targets = set(row.target for row in CASES)
    assert set(BASES) == targets
    assert sorted(t.rpartition(".")[2] for t in targets if not t.startswith("role:")) == modules
    assert sorted(t[5:] for t in targets if t.startswith("role:")) == roles
    assert len(CASES) >= 60


@pytest.fixture
def in_process(lab, ansible, monkeypatch):
    """This process set up to run the collection's modules against the lab: its collection tree importable, the
    lab's kubeconfig and tools in the environment."""
    monkeypatch.syspath_prepend(ansible.env["ANSIBLE_COLLECTIONS_PATH"])
    for name in [m for m in sys.modules if m.startswith("ansible_collections.meshops")]:
        monkeypatch.delitem(sys.modules, name)
    for key in ("PATH", "KUBECONFIG", "K8S_AUTH_KUBECONFIG"):
        monkeypatch.setenv(key, lab.env[key])


def test_every_bad_input_fails_naming_the_field_and_the_cluster_is_unchanged(
        lab, ansible, namespace, corpus_dir, lab_istio_values, in_process):
    ns = namespace("corpus")
    lab.kubectl("create", "deployment", "web", "--image=example.invalid/web:1", "-n", ns)
    lab.apply(ROUTING.format(ns=ns))
    subs = {"ns": ns, "tmp": str(corpus_dir), "values": lab_istio_values}
    path = corpus_dir / "corpus.yml"
    path.write_text(playbook(subs))
    kinds = namespaced_kinds(lab)
    lab.wait_for(lambda: lab.kubectl_json("get", "deployment", "web", "-n", ns).get("status", {}).get(
        "readyReplicas") == 1, timeout=60, what="the corpus Deployment to be ready")
    before = dump(lab, kinds, [ns, "istio-system"])

    t0 = time.monotonic()
    results, spent = module_cases(subs)
    t1 = time.monotonic()
    rc, stats, out = ansible.playbook(str(path), timeout=900)
    t2 = time.monotonic()
    results.update([h for play in out["plays"] for t in play["tasks"] if t["task"]["name"] == "corpus results"
                    for h in t["hosts"].values()][0]["corpus_results"])
    after = dump(lab, kinds, [ns, "istio-system"])
    print("bad-input corpus: {0} cases, {1} module cases in this process {2:.1f}s, {3} role cases in one "
          "ansible-playbook run {4:.1f}s; slowest: {5}".format(
              len(CASES), len(spent), t1 - t0, len(CASES) - len(spent), t2 - t1,
              ", ".join("{0} {1:.1f}s".format(n, d) for d, n in sorted(spent + durations(out))[-6:])))

    problems = []
    for i, row in enumerate(CASES):
        got = results.get(str(i))
        field, expect = fill(row.field, subs), fill(row.expect, subs)
        if got is None or not got["failed"]:
            problems.append("case {0} ({1} {2}): did not fail".format(i, row.target, field))
        elif field not in got["msg"] or expect not in got["msg"]:
            problems.append("case {0} ({1}): expected {2!r} and {3!r} in: {4}".format(
                i, row.target, field, expect, got["msg"]))
        elif got["changed"]:
            problems.append("case {0} ({1} {2}): reported a change".format(i, row.target, field))
    assert problems == []
    assert rc == 0 and stats["localhost"]["changed"] == 0, stats
    moved = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert moved == [], "written by the corpus: {0}".format(moved)
