# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_policy runner: validate every security object, build the Istio objects, gate STRICT mTLS on
sidecars, then apply them all through :meth:`kube.Kube.plan` / :meth:`kube.Kube.commit` (every object
dry-run on the server before anything is written; nothing written when nothing changes).

Validation runs on the options alone and collects every problem, each named by its field path
(``authorization_policies[1].rules[0].from[0].principals[2]``), before any API call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import onboard
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, InputError, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import diff_entries, record

SECURITY = "security.istio.io/v1"
NETWORKING = "networking.istio.io/v1"
ROOT_NAMESPACE = "istio-system"
MTLS_MODES = ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")
ACTIONS = ("ALLOW", "DENY", "AUDIT", "CUSTOM")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
SE_LOCATIONS = ("MESH_EXTERNAL", "MESH_INTERNAL")
SE_RESOLUTIONS = ("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN")
SE_PROTOCOLS = ("HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS")
REQUIRE_JWT_SUFFIX = "-require-jwt"

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
TRUST_DOMAIN_RE = r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?"
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
# Istio matches principals exactly, or with one `*` as a prefix or suffix wildcard.
PRINCIPAL_RES = (
    re.compile(r"^\*$"),
    re.compile(r"^{0}/ns/{1}/sa/({1}|\*)$".format(TRUST_DOMAIN_RE, DNS_LABEL)),
    re.compile(r"^{0}/ns/{1}/\*$".format(TRUST_DOMAIN_RE, DNS_LABEL)),
    re.compile(r"^\*/ns/{0}/sa/{0}$".format(DNS_LABEL)),
)
PRINCIPAL_FORMS = ("<trust-domain>/ns/<namespace>/sa/<service-account> (for example "
                   "cluster.local/ns/shop/sa/web), cluster.local/ns/<namespace>/sa/*, "
                   "cluster.local/ns/<namespace>/*, */ns/<namespace>/sa/<service-account>, or *")
HOST_RE = re.compile(r"^(\*\.)?([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$")
LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")

# (option, Istio field) of rule sources and operations
SOURCE_FIELDS = (("principals", "principals"), ("not_principals", "notPrincipals"),
                 ("request_principals", "requestPrincipals"), ("not_request_principals", "notRequestPrincipals"),
                 ("namespaces", "namespaces"), ("not_namespaces", "notNamespaces"),
                 ("ip_blocks", "ipBlocks"), ("not_ip_blocks", "notIpBlocks"))
OPERATION_FIELDS = (("methods", "methods"), ("not_methods", "notMethods"), ("paths", "paths"),
                    ("not_paths", "notPaths"), ("ports", "ports"), ("not_ports", "notPorts"),
                    ("hosts", "hosts"), ("not_hosts", "notHosts"))


# -- validation ------------------------------------------------------------------------

class Problems:
    """Collects every validation problem; :meth:`raise_any` raises them as one InputError."""

    def __init__(self):
        self.items = []

    def add(self, path, msg):
        self.items.append("{0}: {1}".format(path, msg))

    def raise_any(self):
        if self.items:
            raise InputError("{0} invalid value(s); nothing was written:\n- {1}".format(
                len(self.items), "\n- ".join(self.items)))


def _strings(problems, path, value, allow_empty=False):
    """A list of non-empty strings, or [] after reporting the problem."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "must be a list, not {0!r}".format(value))
        return []
    if not value and not allow_empty:
        problems.add(path, "must not be an empty list (leave it out instead)")
    good = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.add("{0}[{1}]".format(path, i), "must be a non-empty string, not {0!r}".format(item))
        else:
            good.append(item)
    return value


def _name(problems, path, value, label=False):
    regex = LABEL_RE if label else NAME_RE
    if not isinstance(value, str) or not value or len(value) > (63 if label else 253) or not regex.match(value):
        problems.add(path, "{0!r} is not a valid {1} (lowercase letters, digits and dashes{2}, starting and ending "
                           "with a letter or digit, at most {3} characters)".format(
                               value, "namespace name" if label else "name", "" if label else ", dots",
                               63 if label else 253))


def _selector(problems, path, value):
    if value is None:
        return
    if not isinstance(value, dict) or not value:
        problems.add(path, "must be a non-empty mapping of pod labels (matchLabels), not {0!r}".format(value))
        return
    for key, val in value.items():
        if not LABEL_KEY_RE.match(str(key)):
            problems.add("{0}.{1}".format(path, key), "{0!r} is not a valid label key".format(key))
        if not isinstance(val, str) or len(val) > 63 or not LABEL_VALUE_RE.match(val):
            problems.add("{0}.{1}".format(path, key), "{0!r} is not a valid label value (a string of letters, "
                                                      "digits, '-', '_' and '.', at most 63 characters)".format(val))


def _choice(problems, path, value, allowed, hint=""):
    if value not in allowed:
        problems.add(path, "{0!r} is not one of {1}{2}".format(value, ", ".join(allowed), hint))


def _port(problems, path, value):
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        problems.add(path, "{0!r} is not a port number (1 to 65535)".format(value))


def _common(problems, path, item, namespaced=True):
    if not isinstance(item, dict):
        problems.add(path, "must be a mapping with name and namespace, not {0!r}".format(item))
        return False
    _name(problems, path + ".name", item.get("name"))
    if namespaced:
        _name(problems, path + ".namespace", item.get("namespace"), label=True)
    return True


def validate_peer_authentication(problems, path, item):
    mode = item.get("mode")
    if mode is not None:
        hint = " (upper case)" if isinstance(mode, str) and mode.upper() in MTLS_MODES else ""
        _choice(problems, path + ".mode", mode, MTLS_MODES, hint)
    _selector(problems, path + ".selector", item.get("selector"))
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
                _port(problems, "{0}.port_level_mtls.{1}".format(path, port), port)
                _choice(problems, "{0}.port_level_mtls.{1}".format(path, port), pmode, MTLS_MODES)
    if mode is None and not ports:
        problems.add(path, "give mode or port_level_mtls")


def _principals(problems, path, values):
    for i, value in enumerate(values):
        if isinstance(value, str) and not any(r.match(value) for r in PRINCIPAL_RES):
            problems.add("{0}[{1}]".format(path, i), "{0!r} is not a service-account principal: use {1}".format(
                value, PRINCIPAL_FORMS))


def _rule_list(problems, path, value):
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        problems.add(path, "must be a non-empty list, not {0!r}".format(value))
        return []
    return value


def validate_rule(problems, path, rule, action):
    if not isinstance(rule, dict):
        problems.add(path, "must be a mapping with from, to and/or when, not {0!r}".format(rule))
        return
    if not any(rule.get(k) for k in ("from", "to", "when")):
        what = {"ALLOW": "would allow every request", "DENY": "would deny every request"}.get(
            action, "would match every request")
        problems.add(path, "an {0} rule needs from, to or when: an empty rule {1}; for deny-all use an "
                           "ALLOW policy without rules".format(action, what))
    for i, source in enumerate(_rule_list(problems, path + ".from", rule.get("from"))):
        spath = "{0}.from[{1}]".format(path, i)
        if not isinstance(source, dict) or not any(source.get(opt) for opt, dummy in SOURCE_FIELDS):
            problems.add(spath, "a source needs at least one of {0}".format(", ".join(o for o, d in SOURCE_FIELDS)))
            continue
        for opt in ("principals", "not_principals"):
            _principals(problems, spath + "." + opt, _strings(problems, spath + "." + opt, source.get(opt)))
        for opt in ("namespaces", "not_namespaces"):
            for j, ns in enumerate(_strings(problems, spath + "." + opt, source.get(opt))):
                if isinstance(ns, str) and ns != "*" and not LABEL_RE.match(ns.strip("*") or "x"):
                    problems.add("{0}.{1}[{2}]".format(spath, opt, j), "{0!r} is not a namespace name".format(ns))
        for opt in ("request_principals", "not_request_principals", "ip_blocks", "not_ip_blocks"):
            for j, value in enumerate(_strings(problems, spath + "." + opt, source.get(opt))):
                if isinstance(value, str) and re.search(r"\s", value):
                    problems.add("{0}.{1}[{2}]".format(spath, opt, j), "{0!r} contains white space".format(value))
    for i, operation in enumerate(_rule_list(problems, path + ".to", rule.get("to"))):
        opath = "{0}.to[{1}]".format(path, i)
        if not isinstance(operation, dict) or not any(operation.get(opt) for opt, dummy in OPERATION_FIELDS):
            problems.add(opath, "an operation needs at least one of {0}".format(
                ", ".join(o for o, d in OPERATION_FIELDS)))
            continue
        for opt in ("methods", "not_methods"):
            for j, method in enumerate(_strings(problems, opath + "." + opt, operation.get(opt))):
                if isinstance(method, str) and method not in METHODS:
                    hint = " (methods are upper case: {0})".format(method.upper()) \
                        if method.upper() in METHODS else ""
                    problems.add("{0}.{1}[{2}]".format(opath, opt, j), "{0!r} is not an HTTP method: use one of "
                                                                       "{1}{2}".format(method, ", ".join(METHODS), hint))
        for opt in ("paths", "not_paths"):
            for j, value in enumerate(_strings(problems, opath + "." + opt, operation.get(opt))):
                if isinstance(value, str) and not (value == "*" or value.startswith("/") or value.startswith("*/")):
                    problems.add("{0}.{1}[{2}]".format(opath, opt, j), "{0!r} is not a path: it starts with / (or "
                                                                       "is *, or */suffix)".format(value))
        for opt in ("ports", "not_ports"):
            for j, value in enumerate(_strings(problems, opath + "." + opt, operation.get(opt))):
                _port(problems, "{0}.{1}[{2}]".format(opath, opt, j), value)
        for opt in ("hosts", "not_hosts"):
            _strings(problems, opath + "." + opt, operation.get(opt))
    for i, cond in enumerate(_rule_list(problems, path + ".when", rule.get("when"))):
        cpath = "{0}.when[{1}]".format(path, i)
        if not isinstance(cond, dict) or not isinstance(cond.get("key"), str) or not cond.get("key"):
            problems.add(cpath + ".key", "a condition needs a key, such as request.headers[x-team]")
            continue
        if not cond.get("values") and not cond.get("not_values"):
            problems.add(cpath, "a condition needs values or not_values")
        _strings(problems, cpath + ".values", cond.get("values"))
        _strings(problems, cpath + ".not_values", cond.get("not_values"))


def validate_authorization_policy(problems, path, item):
    action = item.get("action") or "ALLOW"
    hint = " (upper case)" if isinstance(action, str) and action.upper() in ACTIONS else ""
    _choice(problems, path + ".action", action, ACTIONS, hint)
    _selector(problems, path + ".selector", item.get("selector"))
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


def validate_request_authentication(problems, path, item):
    _selector(problems, path + ".selector", item.get("selector"))
    rules = item.get("jwt_rules")
    if not isinstance(rules, list) or not rules:
        problems.add(path + ".jwt_rules", "must be a non-empty list of JWT rules (issuer, jwks_uri or jwks)")
        return
    for i, rule in enumerate(rules):
        rpath = "{0}.jwt_rules[{1}]".format(path, i)
        if not isinstance(rule, dict):
            problems.add(rpath, "must be a mapping, not {0!r}".format(rule))
            continue
        issuer = rule.get("issuer")
        if not isinstance(issuer, str) or not issuer.strip() or re.search(r"\s", issuer):
            problems.add(rpath + ".issuer", "must be the issuer (iss claim) without white space, not {0!r}".format(
                issuer))
        uri, jwks = rule.get("jwks_uri"), rule.get("jwks")
        if uri and jwks:
            problems.add(rpath, "jwks_uri and jwks are mutually exclusive: give one of them")
        if uri and (not isinstance(uri, str) or not re.match(r"^https?://[^\s/]+", uri)):
            problems.add(rpath + ".jwks_uri", "{0!r} is not an http(s) URL".format(uri))
        if jwks:
            try:
                keys = json.loads(jwks) if isinstance(jwks, str) else jwks
                if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
                    raise ValueError
            except ValueError:
                problems.add(rpath + ".jwks", "must be a JSON Web Key Set: a JSON object with a keys list")
        _strings(problems, rpath + ".audiences", rule.get("audiences"))
        fwd = rule.get("forward_original_token")
        if fwd is not None and not isinstance(fwd, bool):
            problems.add(rpath + ".forward_original_token", "must be true or false, not {0!r}".format(fwd))


def validate_service_entry(problems, path, item):
    hosts = item.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        problems.add(path + ".hosts", "must be a non-empty list of host names, such as api.example.com")
    else:
        for i, host in enumerate(hosts):
            if not isinstance(host, str) or not HOST_RE.match(host):
                problems.add("{0}.hosts[{1}]".format(path, i), "{0!r} is not a DNS name (a leading *. wildcard "
                                                               "is allowed)".format(host))
    _choice(problems, path + ".location", item.get("location") or "MESH_EXTERNAL", SE_LOCATIONS)
    resolution = item.get("resolution") or "DNS"
    _choice(problems, path + ".resolution", resolution, SE_RESOLUTIONS)
    if resolution in ("DNS", "DNS_ROUND_ROBIN") and isinstance(hosts, list) and any(
            isinstance(h, str) and h.startswith("*") for h in hosts):
        problems.add(path + ".resolution", "{0} cannot resolve wildcard hosts: use resolution NONE".format(resolution))
    ports = item.get("ports")
    if not isinstance(ports, list) or not ports:
        problems.add(path + ".ports", "must be a non-empty list of ports (number, protocol)")
        return
    for i, port in enumerate(ports):
        ppath = "{0}.ports[{1}]".format(path, i)
        if not isinstance(port, dict):
            problems.add(ppath, "must be a mapping with number and protocol, not {0!r}".format(port))
            continue
        _port(problems, ppath + ".number", port.get("number"))
        _choice(problems, ppath + ".protocol", port.get("protocol"), SE_PROTOCOLS)
        if port.get("name") is not None:
            _name(problems, ppath + ".name", port.get("name"), label=True)


VALIDATORS = (
    ("peer_authentications", validate_peer_authentication),
    ("authorization_policies", validate_authorization_policy),
    ("request_authentications", validate_request_authentication),
    ("service_entries", validate_service_entry),
)


def validate(params):
    """Every check on the options alone; raises one InputError listing every problem by field path.

    With ``state: absent`` only names and namespaces are checked.
    """
    problems = Problems()
    absent = params.get("state") == "absent"
    seen = {}
    for field, check in VALIDATORS:
        items = params.get(field) or []
        for i, item in enumerate(items):
            path = "{0}[{1}]".format(field, i)
            if not _common(problems, path, item):
                continue
            key = (field, item.get("namespace"), item.get("name"))
            if key in seen:
                problems.add(path, "{0} {1}/{2} is also given as {3}".format(
                    field, item.get("namespace"), item.get("name"), seen[key]))
            seen[key] = path
            if not absent:
                check(problems, path, item)
    if not any(params.get(f) for f, dummy in VALIDATORS):
        problems.add("options", "give at least one of {0}".format(", ".join(f for f, dummy in VALIDATORS)))
    problems.raise_any()


# -- objects -----------------------------------------------------------------------------

def _meta(item):
    return {"name": item["name"], "namespace": item["namespace"]}


def _select(spec, item):
    if item.get("selector"):
        spec["selector"] = {"matchLabels": dict(item["selector"])}
    return spec


def peer_authentication(item):
    spec = _select({}, item)
    if item.get("mode"):
        spec["mtls"] = {"mode": item["mode"]}
    if item.get("port_level_mtls"):
        spec["portLevelMtls"] = dict((str(p), {"mode": m}) for p, m in sorted(item["port_level_mtls"].items()))
    return {"apiVersion": SECURITY, "kind": "PeerAuthentication", "metadata": _meta(item), "spec": spec}


def _fields(src, fields):
    return dict((istio_name, list(src[opt])) for opt, istio_name in fields if src.get(opt))


def rule_object(rule):
    out = {}
    if rule.get("from"):
        out["from"] = [{"source": _fields(s, SOURCE_FIELDS)} for s in rule["from"]]
    if rule.get("to"):
        out["to"] = [{"operation": _fields(o, OPERATION_FIELDS)} for o in rule["to"]]
    if rule.get("when"):
        conditions = []
        for cond in rule["when"]:
            built = {"key": cond["key"]}
            built.update(_fields(cond, (("values", "values"), ("not_values", "notValues"))))
            conditions.append(built)
        out["when"] = conditions
    return out


def authorization_policy(item):
    spec = _select({}, item)
    action = item.get("action") or "ALLOW"
    if action != "ALLOW":
        spec["action"] = action
    if item.get("provider"):
        spec["provider"] = {"name": item["provider"]}
    if item.get("rules"):
        spec["rules"] = [rule_object(r) for r in item["rules"]]
    return {"apiVersion": SECURITY, "kind": "AuthorizationPolicy", "metadata": _meta(item), "spec": spec}


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
    spec = _select({"jwtRules": rules}, item)
    return {"apiVersion": SECURITY, "kind": "RequestAuthentication", "metadata": _meta(item), "spec": spec}


def require_jwt_policy(item):
    """The ALLOW policy that admits only requests with a valid JWT of one of the issuers."""
    principals = ["{0}/*".format(r["issuer"]) for r in item.get("jwt_rules") or []]
    spec = _select({}, item)
    spec["rules"] = [{"from": [{"source": {"requestPrincipals": principals}}]}]
    return {"apiVersion": SECURITY, "kind": "AuthorizationPolicy",
            "metadata": {"name": item["name"] + REQUIRE_JWT_SUFFIX, "namespace": item["namespace"]}, "spec": spec}


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
    return {"apiVersion": NETWORKING, "kind": "ServiceEntry", "metadata": _meta(item), "spec": spec}


def build(params):
    """The Istio objects, in the order they are applied."""
    objs = [peer_authentication(i) for i in params.get("peer_authentications") or []]
    objs += [authorization_policy(i) for i in params.get("authorization_policies") or []]
    for item in params.get("request_authentications") or []:
        objs.append(request_authentication(item))
        if item.get("require_jwt", True):
            objs.append(require_jwt_policy(item))
    objs += [service_entry(i) for i in params.get("service_entries") or []]
    return objs


def refs(params):
    """Kind and name of every object the options name (for state absent)."""
    objs = []
    kinds = (("peer_authentications", SECURITY, "PeerAuthentication"),
             ("authorization_policies", SECURITY, "AuthorizationPolicy"),
             ("request_authentications", SECURITY, "RequestAuthentication"),
             ("service_entries", NETWORKING, "ServiceEntry"))
    for field, api_version, kind in kinds:
        for item in params.get(field) or []:
            objs.append({"apiVersion": api_version, "kind": kind, "metadata": _meta(item)})
            if field == "request_authentications" and item.get("require_jwt", True):
                objs.append({"apiVersion": SECURITY, "kind": "AuthorizationPolicy",
                             "metadata": {"name": item["name"] + REQUIRE_JWT_SUFFIX, "namespace": item["namespace"]}})
    return objs


# -- the STRICT gate ------------------------------------------------------------------------

def is_strict(obj):
    spec = obj.get("spec") or {}
    return (spec.get("mtls") or {}).get("mode") == "STRICT" or any(
        (m or {}).get("mode") == "STRICT" for m in (spec.get("portLevelMtls") or {}).values())


def injected(ns_obj):
    labels = onboard.meta(ns_obj).get("labels") or {}
    return labels.get(onboard.INJECTION_LABEL) == "enabled" or (
        onboard.REVISION_LABEL in labels and labels.get(onboard.INJECTION_LABEL) != "disabled")


def _matches(pod, selector):
    labels = onboard.meta(pod).get("labels") or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def lacking_sidecars(kube, obj, root_namespace):
    """Workloads in the scope of a STRICT PeerAuthentication with pods lacking the sidecar, as
    ``namespace/Kind/name (pods)``. Mesh-wide (root namespace, no selector): every namespace labelled for
    injection; else its namespace, and only the pods its selector matches. Uses mesh_onboard's discovery."""
    namespace = obj["metadata"]["namespace"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
    if namespace == root_namespace and not selector:
        scope = sorted((n for n in kube.list("v1", "Namespace")
                        if injected(n) and onboard.meta(n)["name"] not in onboard.PROTECTED_NAMESPACES),
                       key=lambda n: onboard.meta(n)["name"])
    else:
        found = kube.get("v1", "Namespace", namespace)
        scope = [found] if found else []
    out = []
    for ns_obj in scope:
        ns = onboard.Namespace(ns_obj)
        ns.discover(kube)
        for work in ns.workloads.values():
            missing = [p for p in work.missing() if _matches(p, selector)]
            if missing:
                out.append("{0} ({1})".format(work.id, ", ".join(onboard.meta(p).get("name") for p in missing[:5])))
    return out


def check_strict(kube, params, changes):
    """Refuse STRICT PeerAuthentications that would be created or changed while pods in their scope lack the
    sidecar (unless force). Raises InputError listing them."""
    if not params.get("strict_gate", True) or params.get("force"):
        return
    refused = []
    for change in changes:
        if change.obj["kind"] != "PeerAuthentication" or change.action == "unchanged" or not is_strict(change.obj):
            continue
        lacking = lacking_sidecars(kube, change.obj, params.get("root_namespace") or ROOT_NAMESPACE)
        if lacking:
            refused.append("{0}: {1}".format(ref(change.obj), "; ".join(lacking)))
    if refused:
        raise InputError("STRICT mTLS refused: these workloads have pods without the {0} sidecar, which STRICT "
                         "mTLS would cut off:\n- {1}\nOnboard them (meshops.istio.mesh_onboard), or set force: true "
                         "to apply STRICT anyway. Nothing was written.".format(onboard.SIDECAR, "\n- ".join(refused)))


# -- the run ----------------------------------------------------------------------------

def _result(module, changes, built):
    changed = [c for c in changes if c.action != "unchanged"]
    out = {"changed": bool(changed),
           "objects": [record(c.obj, c.action) for c in changed],
           "resources": [record(o, "present") for o in built]}
    if getattr(module, "_diff", False):
        out["diff"] = diff_entries(changed)
    return out


def present(module, kube, params):
    objs = build(params)
    if params.get("validate_only"):
        return {"changed": False, "objects": [], "resources": [record(o, "valid") for o in objs],
                "definitions": objs}
    changes = kube.plan(objs)
    check_strict(kube, params, changes)
    changes = kube.commit(changes)
    return _result(module, changes, objs)


def absent(module, kube, params):
    objs = refs(params)
    if params.get("validate_only"):
        return {"changed": False, "objects": [], "resources": [record(o, "valid") for o in objs]}
    live = kube.live_objects(objs)
    out = {"changed": False, "objects": [], "resources": [record(o, "absent") for o in objs]}
    diffs = []
    for obj in objs:
        before = live.get(kube.key(obj))
        if before is not None and kube.delete(obj):
            out["changed"] = True
            out["objects"].append(record(obj, "deleted"))
            diffs.append((obj, "deleted", before, None))
    if getattr(module, "_diff", False):
        out["diff"] = diff_entries(diffs)
    return out


def run(module, kube):
    params = module.params
    validate(params)
    try:
        if params.get("state") == "absent":
            return absent(module, kube, params)
        return present(module, kube, params)
    except ApiError as exc:
        if exc.status == 403:
            exc.msg += " (the credentials in use lack an RBAC permission mesh_policy needs)"
            exc.args = (exc.msg,)
        raise
