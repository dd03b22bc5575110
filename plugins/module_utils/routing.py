# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Istio's traffic objects in their own spec shape: DestinationRules, VirtualServices, Gateways,
ServiceEntries and Sidecars. Validation of what the CRD schema does not check (durations, weights and
their sums, retryOn policies, fault percentages and codes, connection-pool and outlier numbers, hosts,
TLS modes, unknown keys in the parts checked here), every problem named by its field path
(``virtual_services[2].spec.http[0].route[1].weight``). What needs the cluster (subsets of live
DestinationRules, Gateway credentials and workloads) is collected in :class:`References` for the runner.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.meshops.istio.plugins.module_utils import validate as v
from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    CLIENT_TLS_MODES, GATEWAY_TLS_MODES, NETWORKING, RETRY_ON, SE_LOCATIONS, SE_RESOLUTIONS,
)

DR_KEYS = ("host", "trafficPolicy", "subsets", "exportTo", "workloadSelector")
POLICY_KEYS = ("loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings", "tunnel",
               "proxyProtocol", "retryBudget")
TCP_POOL = {"numbers": ("maxConnections",), "durations": ("connectTimeout", "maxConnectionDuration"),
            "zero_durations": ("idleTimeout",), "other": ("tcpKeepalive",)}
HTTP_POOL = {"numbers": ("http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries",
                         "maxConcurrentStreams"), "durations": ("idleTimeout",),
             "other": ("h2UpgradePolicy", "useClientProtocol")}
OUTLIER = {"numbers": ("consecutiveErrors", "consecutiveLocalOriginFailures", "consecutiveGatewayErrors",
                       "consecutive5xxErrors"), "durations": ("interval", "baseEjectionTime"),
           "percents": ("maxEjectionPercent", "minHealthPercent"), "other": ("splitExternalLocalOriginErrors",)}
VS_KEYS = ("hosts", "gateways", "http", "tls", "tcp", "exportTo")
HTTP_ROUTE_KEYS = ("name", "match", "route", "redirect", "directResponse", "delegate", "rewrite", "timeout",
                   "retries", "fault", "mirror", "mirrors", "mirrorPercentage", "corsPolicy", "headers")
DESTINATION_KEYS = ("destination", "weight", "headers")
RETRY_KEYS = ("attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities", "retryIgnorePreviousHosts",
              "backoff")
FAULT_KEYS = {"delay": ("fixedDelay", "exponentialDelay", "percentage", "percent"),
              "abort": ("httpStatus", "grpcStatus", "http2Error", "percentage")}
GATEWAY_KEYS = ("selector", "servers")
SERVER_KEYS = ("port", "bind", "hosts", "tls", "name", "defaultEndpoint")
SERVER_TLS_KEYS = ("httpsRedirect", "mode", "serverCertificate", "privateKey", "caCertificates", "credentialName",
                   "credentialNames", "subjectAltNames", "verifyCertificateSpki", "verifyCertificateHash",
                   "minProtocolVersion", "maxProtocolVersion", "cipherSuites", "caCrl", "tlsCertificates")
SE_KEYS = ("hosts", "addresses", "ports", "location", "resolution", "endpoints", "workloadSelector", "exportTo",
           "subjectAltNames")
SIDECAR_KEYS = ("workloadSelector", "ingress", "egress", "outboundTrafficPolicy", "inboundConnectionPool")
NEEDS_CREDENTIAL = ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL")
STATUS_CODE_RE = re.compile(r"^[1-5][0-9][0-9]$")


def fqdn(host, namespace):
    """The full name of a service host as Istio resolves a short one (``echo`` in ``shop``)."""
    if not isinstance(host, str) or "*" in host:
        return host
    dots = host.count(".")
    if dots == 0:
        return "{0}.{1}.svc.cluster.local".format(host, namespace)
    if dots == 1:
        return host + ".svc.cluster.local"
    return host


class References:
    """What validation leaves to the cluster: subsets routed to, subsets declared, Gateway credentials."""

    def __init__(self):
        self.routed = []        # (path, namespace, host fqdn, subset)
        self.subsets = {}       # host fqdn -> set of subset names declared in this set
        self.declared = set()   # (namespace, name) of the DestinationRules in this set
        self.gateways = []      # (path, namespace, selector, [(path, credentialName)])


def _hosts(problems, path, value):
    def check(probs, ipath, item):
        if item != "*" and not item.startswith("*/") and "/" not in item:
            v.host(probs, ipath, item)
    if not isinstance(value, list) or not value:
        problems.add(path, "must be a non-empty list of hosts, not {0!r}".format(value))
        return []
    return v.strings(problems, path, value, check)


def _fields(problems, path, value, spec, keys=None):
    """A mapping of numbers, durations, percents and other keys (``spec``): each checked, unknown keys refused."""
    allowed = keys or tuple(k for group in spec.values() for k in group)
    if not v.check_keys(problems, path, value, allowed):
        return
    for key in spec.get("numbers", ()):
        if key in value:
            v.number(problems, v.join(path, key), value[key], 0)
    for key in spec.get("percents", ()):
        if key in value:
            v.number(problems, v.join(path, key), value[key], 0, 100)
    for key in spec.get("durations", ()) + spec.get("zero_durations", ()):
        if key in value:
            v.duration(problems, v.join(path, key), value[key], allow_zero=key in spec.get("zero_durations", ()))


def traffic_policy(problems, path, policy, port_level=False):
    keys = POLICY_KEYS if not port_level else ("port",) + POLICY_KEYS[:-4]
    if not v.check_keys(problems, path, policy, keys):
        return
    pool = policy.get("connectionPool")
    if pool is not None and v.check_keys(problems, path + ".connectionPool", pool, ("tcp", "http")):
        if "tcp" in pool:
            tcp = pool["tcp"]
            _fields(problems, path + ".connectionPool.tcp", tcp, TCP_POOL)
            if isinstance(tcp, dict) and tcp.get("tcpKeepalive") is not None:
                _fields(problems, path + ".connectionPool.tcp.tcpKeepalive", tcp["tcpKeepalive"],
                        {"numbers": ("probes",), "durations": ("time", "interval")})
        if "http" in pool:
            _fields(problems, path + ".connectionPool.http", pool["http"], HTTP_POOL)
    if policy.get("outlierDetection") is not None:
        _fields(problems, path + ".outlierDetection", policy["outlierDetection"], OUTLIER)
    tls = policy.get("tls")
    if isinstance(tls, dict) and "mode" in tls:
        v.choice(problems, path + ".tls.mode", tls["mode"], CLIENT_TLS_MODES)
    for i, port in v.mappings(problems, path + ".portLevelSettings", policy["portLevelSettings"], "port settings") \
            if not port_level and "portLevelSettings" in policy else ():
        traffic_policy(problems, i, port, port_level=True)


def destination_rule(problems, path, item, refs):
    spec = item.get("spec")
    if not v.check_keys(problems, path + ".spec", spec, DR_KEYS):
        return
    host = spec.get("host")
    if not isinstance(host, str) or not host:
        problems.add(path + ".spec.host", "must be a non-empty host name, not {0!r}".format(host))
    else:
        v.host(problems, path + ".spec.host", host)
    if spec.get("trafficPolicy") is not None:
        traffic_policy(problems, path + ".spec.trafficPolicy", spec["trafficPolicy"])
    names = refs.subsets.setdefault(fqdn(host, item.get("namespace")), set())
    refs.declared.add((item.get("namespace"), item.get("name")))
    for spath, subset in v.mappings(problems, path + ".spec.subsets", spec["subsets"], "subsets") \
            if "subsets" in spec else ():
        if v.check_keys(problems, spath, subset, ("name", "labels", "trafficPolicy")):
            v.dns_label(problems, spath + ".name", subset.get("name"), "subset name")
            names.add(subset.get("name"))
            if subset.get("labels") is not None:
                v.selector(problems, spath + ".labels", subset["labels"])
            if subset.get("trafficPolicy") is not None:
                traffic_policy(problems, spath + ".trafficPolicy", subset["trafficPolicy"])


def _percentage(problems, path, value):
    if v.check_keys(problems, path, value, ("value",)):
        v.number(problems, path + ".value", value.get("value"), 0, 100, whole=False)


def _retries(problems, path, retries):
    if not v.check_keys(problems, path, retries, RETRY_KEYS):
        return
    if "attempts" in retries:
        v.number(problems, path + ".attempts", retries["attempts"], 0)
    if "perTryTimeout" in retries:
        v.duration(problems, path + ".perTryTimeout", retries["perTryTimeout"])
    retry_on = retries.get("retryOn")
    if retry_on is not None:
        if not isinstance(retry_on, str) or not retry_on.strip():
            problems.add(path + ".retryOn", "must be a comma-separated list of policies, not {0!r}".format(retry_on))
            return
        for policy in retry_on.split(","):
            if policy.strip() not in RETRY_ON and not STATUS_CODE_RE.match(policy.strip()):
                problems.add(path + ".retryOn", "{0!r} is not a retry policy: use {1} or an HTTP status code "
                                                "such as 503".format(policy.strip(), ", ".join(RETRY_ON)))


def _fault(problems, path, fault):
    if not v.check_keys(problems, path, fault, tuple(FAULT_KEYS)):
        return
    for kind, keys in FAULT_KEYS.items():
        part = fault.get(kind)
        if part is None or not v.check_keys(problems, "{0}.{1}".format(path, kind), part, keys):
            continue
        ppath = "{0}.{1}".format(path, kind)
        if "percentage" in part:
            _percentage(problems, ppath + ".percentage", part["percentage"])
        if "percent" in part:
            v.number(problems, ppath + ".percent", part["percent"], 0, 100)
        if "fixedDelay" in part:
            v.duration(problems, ppath + ".fixedDelay", part["fixedDelay"])
        if kind == "delay" and not any(k in part for k in ("fixedDelay", "exponentialDelay")):
            problems.add(ppath, "a delay needs fixedDelay")
        if "httpStatus" in part:
            v.number(problems, ppath + ".httpStatus", part["httpStatus"], 200, 599)
        if kind == "abort" and not any(k in part for k in ("httpStatus", "grpcStatus", "http2Error")):
            problems.add(ppath, "an abort needs httpStatus or grpcStatus")


def _route_block(problems, path, route, namespace, refs):
    """One route list: destinations known, weights whole numbers 0..100 that sum to 100 when there are more."""
    total = 0
    for dpath, dest in v.mappings(problems, path, route, "destinations"):
        if not v.check_keys(problems, dpath, dest, DESTINATION_KEYS):
            continue
        target = dest.get("destination")
        if v.check_keys(problems, dpath + ".destination", target, ("host", "subset", "port")):
            host = target.get("host")
            if not isinstance(host, str) or not host:
                problems.add(dpath + ".destination.host", "must be a non-empty host name, not {0!r}".format(host))
            elif target.get("subset") is not None:
                refs.routed.append((dpath + ".destination.subset", namespace, fqdn(host, namespace), target["subset"]))
        if "weight" in dest:
            if v.number(problems, dpath + ".weight", dest["weight"], 0, 100):
                total += dest["weight"]
    if isinstance(route, list) and len(route) > 1 and total != 100 and all(
            isinstance(d, dict) and isinstance(d.get("weight", 0), int) and 0 <= d.get("weight", 0) <= 100
            for d in route):
        problems.add(path, "the weights of its {0} destinations sum to {1}, not 100".format(len(route), total))


def virtual_service(problems, path, item, refs):
    spec = item.get("spec")
    if not v.check_keys(problems, path + ".spec", spec, VS_KEYS):
        return
    _hosts(problems, path + ".spec.hosts", spec.get("hosts"))
    ns = item.get("namespace")
    for rpath, rule in v.mappings(problems, path + ".spec.http", spec["http"], "HTTP routes") if "http" in spec else ():
        if not v.check_keys(problems, rpath, rule, HTTP_ROUTE_KEYS):
            continue
        if "route" in rule:
            _route_block(problems, rpath + ".route", rule["route"], ns, refs)
        if "timeout" in rule:
            v.duration(problems, rpath + ".timeout", rule["timeout"])
        if rule.get("retries") is not None:
            _retries(problems, rpath + ".retries", rule["retries"])
        if rule.get("fault") is not None:
            _fault(problems, rpath + ".fault", rule["fault"])
        if rule.get("mirrorPercentage") is not None:
            _percentage(problems, rpath + ".mirrorPercentage", rule["mirrorPercentage"])
    for field in ("tcp", "tls"):
        for rpath, rule in v.mappings(problems, "{0}.spec.{1}".format(path, field), spec[field], "routes") \
                if field in spec else ():
            if "route" in rule:
                _route_block(problems, rpath + ".route", rule["route"], ns, refs)


def gateway(problems, path, item, refs):
    spec = item.get("spec")
    if not v.check_keys(problems, path + ".spec", spec, GATEWAY_KEYS):
        return
    if not spec.get("selector"):
        problems.add(path + ".spec.selector", "must name the labels of the gateway workload (for example "
                                              "istio: ingressgateway)")
    else:
        v.selector(problems, path + ".spec.selector", spec["selector"])
    credentials = []
    for spath, server in v.mappings(problems, path + ".spec.servers", spec.get("servers"), "servers"):
        if not v.check_keys(problems, spath, server, SERVER_KEYS):
            continue
        _hosts(problems, spath + ".hosts", server.get("hosts"))
        port = server.get("port")
        if v.check_keys(problems, spath + ".port", port, ("number", "protocol", "name", "targetPort")):
            v.port(problems, spath + ".port.number", port.get("number"))
        tls = server.get("tls")
        if tls is None or not v.check_keys(problems, spath + ".tls", tls, SERVER_TLS_KEYS):
            continue
        if "mode" in tls:
            v.choice(problems, spath + ".tls.mode", tls["mode"], GATEWAY_TLS_MODES)
        if tls.get("mode", "PASSTHROUGH") in NEEDS_CREDENTIAL and not (
                tls.get("credentialName") or tls.get("credentialNames") or tls.get("serverCertificate")):
            problems.add(spath + ".tls.credentialName", "TLS mode {0} needs credentialName (the Secret holding the "
                                                        "certificate and key)".format(tls["mode"]))
        if tls.get("credentialName"):
            credentials.append((spath + ".tls.credentialName", tls["credentialName"]))
    refs.gateways.append((path, item.get("namespace"), spec.get("selector"), credentials))


def service_entry(problems, path, item, refs):
    spec = item.get("spec")
    if not v.check_keys(problems, path + ".spec", spec, SE_KEYS):
        return
    _hosts(problems, path + ".spec.hosts", spec.get("hosts"))
    for ppath, port in v.mappings(problems, path + ".spec.ports", spec["ports"], "ports") if "ports" in spec else ():
        v.port(problems, ppath + ".number", port.get("number"))
    if "resolution" in spec:
        v.choice(problems, path + ".spec.resolution", spec["resolution"], SE_RESOLUTIONS)
    if "location" in spec:
        v.choice(problems, path + ".spec.location", spec["location"], SE_LOCATIONS)


def sidecar(problems, path, item, refs):
    spec = item.get("spec")
    if not v.check_keys(problems, path + ".spec", spec, SIDECAR_KEYS):
        return
    for epath, egress in v.mappings(problems, path + ".spec.egress", spec["egress"], "egress listeners") \
            if "egress" in spec else ():
        _hosts(problems, epath + ".hosts", egress.get("hosts"))


# option, kind, validator: in the order they are written (hosts and subsets before the routes to them).
KINDS = (
    ("service_entries", "ServiceEntry", service_entry),
    ("destination_rules", "DestinationRule", destination_rule),
    ("gateways", "Gateway", gateway),
    ("virtual_services", "VirtualService", virtual_service),
    ("sidecars", "Sidecar", sidecar),
)
API_VERSION = NETWORKING


def declaration(problems, params, kinds=KINDS):
    """A declared set (``owner`` and a list per option of ``kinds``: option, kind, validator) checked on the
    options alone, every problem into ``problems``; returns the :class:`References` left to the cluster. What
    mesh_traffic checks first, and what a role checks before its first write."""
    refs = References()
    owner = params.get("owner")
    if not isinstance(owner, str) or not owner or len(owner) > 63 or not v.LABEL_VALUE_RE.match(owner):
        problems.add("owner", "{0!r} is not a valid label value (letters, digits, '-', '_' and '.', starting and "
                              "ending with a letter or digit, at most 63 characters)".format(owner))
    seen = {}
    for field, kind, check in kinds:
        for i, item in enumerate(params.get(field) or []):
            path = "{0}[{1}]".format(field, i)
            if v.named_item(problems, path, item, kind, seen):
                check(problems, path, item, refs)
    return refs
