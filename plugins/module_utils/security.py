# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Istio's security objects: validation of the structured options of PeerAuthentications,
AuthorizationPolicies, RequestAuthentications and ServiceEntries (every problem named by its field path, on
top of the argument spec's types and choices), and the pure builders from validated options to objects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import validate as v
from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    METHODS, MTLS_MODES, NETWORKING, REQUIRE_JWT_SUFFIX, SE_PROTOCOLS, SECURITY,
)
from ansible_collections.meshops.istio.plugins.module_utils.mesh import object_meta, peer_authentication, with_selector

# (option, Istio field) of rule sources and operations
SOURCE_FIELDS = (("principals", "principals"), ("not_principals", "notPrincipals"),
                 ("request_principals", "requestPrincipals"), ("not_request_principals", "notRequestPrincipals"),
                 ("namespaces", "namespaces"), ("not_namespaces", "notNamespaces"),
                 ("ip_blocks", "ipBlocks"), ("not_ip_blocks", "notIpBlocks"))
OPERATION_FIELDS = (("methods", "methods"), ("not_methods", "notMethods"), ("paths", "paths"),
                    ("not_paths", "notPaths"), ("ports", "ports"), ("not_ports", "notPorts"),
                    ("hosts", "hosts"), ("not_hosts", "notHosts"))
CONDITION_FIELDS = (("values", "values"), ("not_values", "notValues"))
# The keys each nested mapping accepts (sources and operations: their *_FIELDS): any other is refused (a typo
# such as form: for from: would otherwise be dropped, and the policy written wider than asked).
RULE_KEYS = ("from", "to", "when")
CONDITION_KEYS = ("key",) + tuple(opt for opt, dummy in CONDITION_FIELDS)
JWT_RULE_KEYS = ("issuer", "jwks_uri", "jwks", "audiences", "forward_original_token")
PORT_KEYS = ("number", "protocol", "name")


# -- validation ------------------------------------------------------------------------

def _method(problems, path, value):
    if value not in METHODS:
        hint = " (methods are upper case: {0})".format(value.upper()) if value.upper() in METHODS else ""
        problems.add(path, "{0!r} is not an HTTP method: use one of {1}{2}".format(value, ", ".join(METHODS), hint))


def _path(problems, path, value):
    if not (value == "*" or value.startswith("/") or value.startswith("*/")):
        problems.add(path, "{0!r} is not a path: it starts with / (or is *, or */suffix)".format(value))


def _namespace_pattern(problems, path, value):
    if value != "*" and not v.DNS_LABEL_RE.match(value.strip("*") or "x"):
        problems.add(path, "{0!r} is not a namespace name".format(value))


SOURCE_CHECKS = {"principals": v.principal, "not_principals": v.principal,
                 "namespaces": _namespace_pattern, "not_namespaces": _namespace_pattern,
                 "request_principals": v.no_space, "not_request_principals": v.no_space,
                 "ip_blocks": v.no_space, "not_ip_blocks": v.no_space}
OPERATION_CHECKS = {"methods": _method, "not_methods": _method, "paths": _path, "not_paths": _path,
                    "ports": v.port, "not_ports": v.port, "hosts": None, "not_hosts": None}


def _fields_present(problems, path, value, fields, what):
    """A source or an operation: a mapping of known keys with at least one of ``fields``."""
    if not v.check_keys(problems, path, value, tuple(opt for opt, dummy in fields)):
        return False
    if not any(value.get(opt) for opt, dummy in fields):
        problems.add(path, "{0} needs at least one of {1}".format(what, ", ".join(o for o, d in fields)))
        return False
    return True


def validate_peer_authentication(problems, path, item, params=None):
    v.selector(problems, path + ".selector", item.get("selector"))
    ports = item.get("port_level_mtls")
    if ports:
        if not item.get("selector"):
            problems.add(path + ".port_level_mtls", "needs a selector: Istio applies port-level mTLS only to "
                                                    "PeerAuthentications that select workloads")
        if not isinstance(ports, dict):
            problems.add(path + ".port_level_mtls", "must be a mapping of port number to mode, not {0!r}".format(
                ports))
        else:
            for port, pmode in ports.items():
                v.port(problems, v.join(path + ".port_level_mtls", port), port)
                v.choice(problems, v.join(path + ".port_level_mtls", port), pmode, MTLS_MODES)
    if item.get("mode") is None and not ports:
        problems.add(path, "give mode or port_level_mtls")


def validate_rule(problems, path, rule, action):
    if not v.check_keys(problems, path, rule, RULE_KEYS):
        return
    if not any(rule.get(k) for k in ("from", "to", "when")):
        what = {"ALLOW": "would allow every request", "DENY": "would deny every request"}.get(
            action, "would match every request")
        problems.add(path, "an {0} rule needs from, to or when: an empty rule {1}; for deny-all use an "
                           "ALLOW policy without rules".format(action, what))
    for i, source in enumerate(v.items(problems, path + ".from", rule.get("from"), "sources")):
        spath = "{0}.from[{1}]".format(path, i)
        if _fields_present(problems, spath, source, SOURCE_FIELDS, "a source"):
            for opt, check in SOURCE_CHECKS.items():
                v.strings(problems, spath + "." + opt, source.get(opt), check)
    for i, operation in enumerate(v.items(problems, path + ".to", rule.get("to"), "operations")):
        opath = "{0}.to[{1}]".format(path, i)
        if _fields_present(problems, opath, operation, OPERATION_FIELDS, "an operation"):
            for opt, check in OPERATION_CHECKS.items():
                v.strings(problems, opath + "." + opt, operation.get(opt), check)
    for i, cond in enumerate(v.items(problems, path + ".when", rule.get("when"), "conditions")):
        cpath = "{0}.when[{1}]".format(path, i)
        if not v.check_keys(problems, cpath, cond, CONDITION_KEYS):
            continue
        if not isinstance(cond.get("key"), str) or not cond.get("key"):
            problems.add(cpath + ".key", "a condition needs a key, such as request.headers[x-team]")
            continue
        if not cond.get("values") and not cond.get("not_values"):
            problems.add(cpath, "a condition needs values or not_values")
        for opt, dummy in CONDITION_FIELDS:
            v.strings(problems, cpath + "." + opt, cond.get(opt))


def validate_authorization_policy(problems, path, item, params=None):
    action = item.get("action") or "ALLOW"
    v.selector(problems, path + ".selector", item.get("selector"))
    provider = item.get("provider")
    if action == "CUSTOM" and not provider:
        problems.add(path + ".provider", "a CUSTOM policy needs provider, the name of an extension provider of "
                                         "the mesh config")
    if provider and action != "CUSTOM":
        problems.add(path + ".provider", "is only for action CUSTOM")
    rules = item.get("rules")
    if rules is not None and not isinstance(rules, list):
        problems.add(path + ".rules", "must be a list of rules, not {0!r}".format(rules))
        return
    if not rules and action != "ALLOW":
        problems.add(path + ".rules", "a {0} policy without rules matches nothing: give rules (only an ALLOW "
                                      "policy without rules has a meaning: deny all)".format(action))
    for i, rule in enumerate(rules or []):
        validate_rule(problems, "{0}.rules[{1}]".format(path, i), rule, action)


def validate_jwt_rule(problems, path, rule, allow_insecure=False):
    v.check_keys(problems, path, rule, JWT_RULE_KEYS)
    issuer = rule.get("issuer")
    if not isinstance(issuer, str) or not issuer.strip() or re.search(r"\s", issuer):
        problems.add(path + ".issuer", "must be the issuer (iss claim) without white space, not {0!r}".format(issuer))
    uri, jwks = rule.get("jwks_uri"), rule.get("jwks")
    if uri and jwks:
        problems.add(path, "jwks_uri and jwks are mutually exclusive: give one of them")
    if uri and (not isinstance(uri, str) or not re.match(r"^https?://[^\s/]+", uri)):
        problems.add(path + ".jwks_uri", "{0!r} is not an http(s) URL".format(uri))
    elif uri and not uri.startswith("https://") and not allow_insecure:
        problems.add(path + ".jwks_uri", "{0!r} is not https: the keys that authenticate every request would come "
                                         "over an unauthenticated connection; use https://, or set "
                                         "allow_insecure_jwks_uri: true".format(uri))
    if jwks:
        try:
            keys = json.loads(jwks) if isinstance(jwks, str) else jwks
            if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
                raise ValueError
        except ValueError:
            problems.add(path + ".jwks", "must be a JSON Web Key Set: a JSON object with a keys list")
    v.strings(problems, path + ".audiences", rule.get("audiences"))
    fwd = rule.get("forward_original_token")
    if fwd is not None and not isinstance(fwd, bool):
        problems.add(path + ".forward_original_token", "must be true or false, not {0!r}".format(fwd))


def validate_request_authentication(problems, path, item, params=None):
    v.selector(problems, path + ".selector", item.get("selector"))
    for rpath, rule in v.mappings(problems, path + ".jwt_rules", item.get("jwt_rules"),
                                  "JWT rules (issuer, jwks_uri or jwks)"):
        validate_jwt_rule(problems, rpath, rule, allow_insecure=(params or {}).get("allow_insecure_jwks_uri"))


def validate_service_entry(problems, path, item, params=None):
    hosts = item.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        problems.add(path + ".hosts", "must be a non-empty list of host names, such as api.example.com")
    else:
        for i, host in enumerate(hosts):
            v.host(problems, "{0}.hosts[{1}]".format(path, i), host)
    resolution = item.get("resolution") or "DNS"
    if resolution in ("DNS", "DNS_ROUND_ROBIN") and isinstance(hosts, list) and any(
            isinstance(h, str) and h.startswith("*") for h in hosts):
        problems.add(path + ".resolution", "{0} cannot resolve wildcard hosts: use resolution NONE".format(resolution))
    for ppath, port in v.mappings(problems, path + ".ports", item.get("ports"), "ports (number, protocol)"):
        v.check_keys(problems, ppath, port, PORT_KEYS)
        v.port(problems, ppath + ".number", port.get("number"))
        v.choice(problems, ppath + ".protocol", port.get("protocol"), SE_PROTOCOLS)
        if port.get("name") is not None:
            v.dns_label(problems, ppath + ".name", port.get("name"), what="port name")


# -- objects -----------------------------------------------------------------------------

def _fields(src, fields):
    return dict((istio_name, list(src[opt])) for opt, istio_name in fields if src.get(opt))


def _object(api_version, kind, item, spec):
    return {"apiVersion": api_version, "kind": kind, "metadata": object_meta(item["name"], item["namespace"]),
            "spec": spec}


def peer_authentication_object(item):
    return peer_authentication(item["namespace"], item.get("mode"), name=item["name"], selector=item.get("selector"),
                               port_level=item.get("port_level_mtls"))


def rule_object(rule):
    out = {}
    if rule.get("from"):
        out["from"] = [{"source": _fields(s, SOURCE_FIELDS)} for s in rule["from"]]
    if rule.get("to"):
        out["to"] = [{"operation": _fields(o, OPERATION_FIELDS)} for o in rule["to"]]
    if rule.get("when"):
        out["when"] = [dict(_fields(c, CONDITION_FIELDS), key=c["key"]) for c in rule["when"]]
    return out


def authorization_policy(item):
    """The AuthorizationPolicy of one validated item. Its action is always written, ALLOW too (Istio's default),
    and its rules, ``[]`` too (an ALLOW without rules, which denies all): both fields are then the collection's,
    so an action flipped by hand (an ALLOW made DENY denies only what the rules match and allows the rest) is put
    back by the next run, and with it no rule someone added (a DENY of ``[{}]`` made ALLOW again would allow all)."""
    spec = with_selector({}, item.get("selector"))
    spec["action"] = item.get("action") or "ALLOW"
    if item.get("provider"):
        spec["provider"] = {"name": item["provider"]}
    spec["rules"] = [rule_object(r) for r in item.get("rules") or []]
    return _object(SECURITY, "AuthorizationPolicy", item, spec)


def request_authentication(item):
    rules = []
    for rule in item["jwt_rules"]:
        out = OrderedDict([("issuer", rule["issuer"])])
        if rule.get("jwks_uri"):
            out["jwksUri"] = rule["jwks_uri"]
        if rule.get("jwks"):
            jwks = rule["jwks"]
            out["jwks"] = jwks if isinstance(jwks, str) else json.dumps(jwks, sort_keys=True)
        if rule.get("audiences"):
            out["audiences"] = list(rule["audiences"])
        if rule.get("forward_original_token"):
            out["forwardOriginalToken"] = True
        rules.append(dict(out))
    return _object(SECURITY, "RequestAuthentication", item, with_selector({"jwtRules": rules}, item.get("selector")))


def require_jwt_policy(item):
    """The ALLOW policy that admits only requests with a valid JWT of one of the issuers."""
    principals = ["{0}/*".format(r["issuer"]) for r in item.get("jwt_rules") or []]
    spec = with_selector({"action": "ALLOW", "rules": [{"from": [{"source": {"requestPrincipals": principals}}]}]},
                         item.get("selector"))
    return _object(SECURITY, "AuthorizationPolicy", dict(item, name=item["name"] + REQUIRE_JWT_SUFFIX), spec)


def service_entry(item):
    ports = []
    for port in item["ports"]:
        number = int(port["number"])
        ports.append({"number": number, "protocol": port["protocol"],
                      "name": port.get("name") or "{0}-{1}".format(port["protocol"].lower(), number)})
    spec = {"hosts": list(item["hosts"]), "ports": ports, "location": item.get("location") or "MESH_EXTERNAL",
            "resolution": item.get("resolution") or "DNS"}
    if item.get("export_to"):
        spec["exportTo"] = list(item["export_to"])
    return _object(NETWORKING, "ServiceEntry", item, spec)


# (option, apiVersion, kind, validator, builder) of every kind mesh_policy manages, in the order applied.
KINDS = (
    ("peer_authentications", SECURITY, "PeerAuthentication", validate_peer_authentication, peer_authentication_object),
    ("authorization_policies", SECURITY, "AuthorizationPolicy", validate_authorization_policy, authorization_policy),
    ("request_authentications", SECURITY, "RequestAuthentication", validate_request_authentication,
     request_authentication),
    ("service_entries", NETWORKING, "ServiceEntry", validate_service_entry, service_entry),
)
