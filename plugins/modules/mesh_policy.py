#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mesh_policy
short_description: Apply Istio security objects (mTLS, authorization, JWT, egress allow-list)
version_added: 0.1.0
author: meshops.istio contributors (@meshops)
description:
  - Builds Istio PeerAuthentications, AuthorizationPolicies and RequestAuthentications (C(security.istio.io/v1))
    and ServiceEntries (C(networking.istio.io/v1)) from structured options and applies them.
  - Validates every option of every object first, and reports every problem at once, each named by its field
    path, for example C(authorization_policies[1].rules[0].from[0].principals[2]), with the values or the form
    it accepts. Nothing is sent to the API server when anything is invalid.
  - Every object that may change is then dry-run on the server (so istiod's validating webhook judges each one)
    before any is written; nothing is written unless the server accepts all of them, and nothing when nothing
    would change.
  - A PeerAuthentication that would set C(STRICT) mTLS (as its mode or on a port) is refused while pods in its
    scope run without the C(istio-proxy) sidecar, listing the workloads; the check is M(meshops.istio.mesh_onboard)'s.
    The scope of a mesh-wide PeerAuthentication (in O(root_namespace), without selector) is every namespace labelled
    for injection; of another one, its namespace (only the pods its selector matches). O(force=true) applies it
    anyway; O(strict_gate=false) skips the check.
  - Outbound traffic control (C(outboundTrafficPolicy.mode=REGISTRY_ONLY)) is part of the mesh config, set at install
    time (the C(istio) role's C(istio_mesh_config)); this module only writes the ServiceEntry allow-list.
  - The objects are the collection's (server-side apply, field manager C(meshops), conflicts forced) - every field it
    declares that was changed by hand (C(kubectl edit) or C(patch)) is put back by the next run and reported
    C(changed); fields it does not declare are left to whoever set them. Every AuthorizationPolicy is written with its
    C(action), C(ALLOW) too (Istio's default), and its C(rules), C([]) when it has none, so an C(ALLOW) flipped to
    C(DENY) (which would deny only what the rules match and allow the rest) is restored as well, and so is a
    deny-all made a C(DENY) of every request (its rule C({}) goes, else C(ALLOW) beside it would allow all).
options:
  state:
    description: Whether the objects should exist. With C(absent) only the names and namespaces are used.
  peer_authentications:
    description: PeerAuthentications (mTLS modes). One named C(default) in O(root_namespace) without selector is
      mesh-wide; one without selector elsewhere is namespace-wide.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Object name.
        type: str
        required: true
      namespace:
        description: Namespace; O(root_namespace) for the mesh-wide policy.
        type: str
        required: true
      mode:
        description: mTLS mode.
        type: str
        choices: [UNSET, DISABLE, PERMISSIVE, STRICT]
      selector:
        description: Pod labels (C(matchLabels)) of the workloads it applies to.
        type: dict
      port_level_mtls:
        description: Port number to mTLS mode, overriding O(peer_authentications[].mode) on those ports; needs a
          selector.
        type: dict
  authorization_policies:
    description:
      - AuthorizationPolicies. An C(ALLOW) policy without rules denies every request to the workloads it selects
        (deny-all default).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Object name.
        type: str
        required: true
      namespace:
        description: Namespace.
        type: str
        required: true
      selector:
        description: Pod labels (C(matchLabels)); without it the policy applies to the whole namespace.
        type: dict
      action:
        description: What the policy does with the requests it matches. C(DENY), C(AUDIT) and C(CUSTOM) need rules.
        type: str
        choices: [ALLOW, DENY, AUDIT, CUSTOM]
        default: ALLOW
      provider:
        description: Extension provider name, for C(CUSTOM) only.
        type: str
      rules:
        description:
          - Rules; a request matching any rule matches the policy. Each rule is a mapping with C(from) (sources),
            C(to) (operations) and C(when) (conditions); a rule without any of them is refused (it would match
            every request).
          - A source holds C(principals), C(not_principals) (service-account principals, such as
            C(cluster.local/ns/shop/sa/web), C(cluster.local/ns/shop/sa/*), C(cluster.local/ns/shop/*),
            C(*/ns/shop/sa/web) or C(*)), C(request_principals), C(not_request_principals), C(namespaces),
            C(not_namespaces), C(ip_blocks), C(not_ip_blocks).
          - An operation holds C(methods), C(not_methods) (upper case, from GET, HEAD, POST, PUT, DELETE, CONNECT,
            OPTIONS, TRACE, PATCH), C(paths), C(not_paths) (starting with C(/), or C(*)), C(ports), C(not_ports),
            C(hosts), C(not_hosts).
          - A condition holds C(key) and C(values) and/or C(not_values).
          - Any other key in a rule, a source, an operation or a condition is refused, naming the key, its path and
            the allowed keys (a typo such as C(form) for C(from) would otherwise widen the policy).
        type: list
        elements: dict
  request_authentications:
    description: RequestAuthentications (JWT validation), each with the AuthorizationPolicy C(<name>-require-jwt)
      that admits only requests with a valid token of one of its issuers (C(requestPrincipals) C(<issuer>/*)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Object name.
        type: str
        required: true
      namespace:
        description: Namespace.
        type: str
        required: true
      selector:
        description: Pod labels (C(matchLabels)).
        type: dict
      jwt_rules:
        description:
          - JWT rules, each with C(issuer) (required), C(jwks_uri) (C(https://), see O(allow_insecure_jwks_uri)) or
            C(jwks) (an inline JSON Web Key Set), C(audiences) and C(forward_original_token); any other key is
            refused. Required with O(state=present).
        type: list
        elements: dict
      require_jwt:
        description: Also write the C(<name>-require-jwt) AuthorizationPolicy; without it requests without a token
          are let through.
        type: bool
        default: true
  service_entries:
    description: ServiceEntries, the allow-list of external hosts when the mesh's outbound traffic policy is
      C(REGISTRY_ONLY).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Object name.
        type: str
        required: true
      namespace:
        description: Namespace.
        type: str
        required: true
      hosts:
        description: Host names (a leading C(*.) wildcard needs resolution C(NONE)). Required with O(state=present).
        type: list
        elements: str
      ports:
        description: Ports, each with C(number), C(protocol) (HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS) and an
          optional C(name) (no other key). Required with O(state=present).
        type: list
        elements: dict
      location:
        description: Whether the host is outside the mesh or part of it.
        type: str
        choices: [MESH_EXTERNAL, MESH_INTERNAL]
        default: MESH_EXTERNAL
      resolution:
        description: How the proxies resolve the host's addresses.
        type: str
        choices: [NONE, STATIC, DNS, DNS_ROUND_ROBIN]
        default: DNS
      export_to:
        description: Namespaces the entry is visible in (C(.) for its own, C(*) for all).
        type: list
        elements: str
  root_namespace:
    description: Istio's root namespace; a PeerAuthentication there without selector is mesh-wide.
    type: str
    default: istio-system
  strict_gate:
    description: Refuse STRICT mTLS while pods in scope lack the sidecar.
    type: bool
    default: true
  force:
    description: Apply STRICT mTLS even though pods in scope run without the sidecar.
    type: bool
    default: false
  allow_insecure_jwks_uri:
    description:
      - Accept C(http://) as the C(jwks_uri) of O(request_authentications[].jwt_rules). The keys that authenticate
        every request would then come over a connection anyone on the path can change; without this option
        only C(https://) is accepted.
    type: bool
    default: false
  validate_only:
    description: Only validate the options and build the objects (returned in RV(definitions)); the API server is
      not contacted.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio.common
  - meshops.istio.common.concurrency
  - meshops.istio.common.state
notes:
  - Needs get, list and server-side apply (or delete) on the kinds written, and, for the STRICT check, list on
    namespaces, pods, ReplicaSets, Deployments, StatefulSets and DaemonSets.
seealso:
  - module: meshops.istio.mesh_onboard
  - module: meshops.istio.istio_install
"""

EXAMPLES = r"""
- name: Mesh-wide PERMISSIVE mTLS
  meshops.istio.mesh_policy:
    peer_authentications:
      - {name: default, namespace: istio-system, mode: PERMISSIVE}

- name: Deny all in shop, allow the web front end to read the catalog
  meshops.istio.mesh_policy:
    authorization_policies:
      - {name: deny-all, namespace: shop}
      - name: catalog-readers
        namespace: shop
        selector: {app: catalog}
        rules:
          - from: [{principals: [cluster.local/ns/shop/sa/web]}]
            to: [{methods: [GET], paths: [/api/*]}]

- name: Require a JWT on the API
  meshops.istio.mesh_policy:
    request_authentications:
      - name: api-jwt
        namespace: shop
        selector: {app: api}
        jwt_rules:
          - issuer: https://issuer.example.com
            jwks_uri: https://issuer.example.com/.well-known/jwks.json
            audiences: [shop]
            forward_original_token: true

- name: Allow egress to one external API
  meshops.istio.mesh_policy:
    service_entries:
      - name: payments-api
        namespace: shop
        hosts: [api.payments.example.com]
        ports: [{number: 443, protocol: TLS}]
"""

RETURN = r"""
changed:
  description: Whether an object was (in check mode, would be) created, updated or deleted.
  returned: always
  type: bool
  sample: true
objects:
  description: Objects created, updated or deleted (in check mode, that would be).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "AuthorizationPolicy", "apiVersion": "security.istio.io/v1", "namespace": "shop",
            "name": "deny-all", "action": "created"}]
resources:
  description: Every object the options name, whatever was done to it.
  returned: success
  type: list
  elements: dict
  sample: [{"kind": "AuthorizationPolicy", "apiVersion": "security.istio.io/v1", "namespace": "shop",
            "name": "deny-all", "action": "present"}]
definitions:
  description: The objects built, with O(validate_only=true) and O(state=present).
  returned: when validate_only
  type: list
  elements: dict
  sample: [{"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
            "metadata": {"name": "deny-all", "namespace": "shop"}, "spec": {}}]
api_calls:
  description: Kubernetes API requests made, by verb.
  returned: always
  type: dict
  sample: {"discovery": 2, "get": 2, "apply_dry_run": 2, "apply": 1}
"""

from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    ACTIONS, MTLS_MODES, ROOT_NAMESPACE, SE_LOCATIONS, SE_RESOLUTIONS, STATES,
)
from ansible_collections.meshops.istio.plugins.module_utils.module import (
    argument_spec, concurrency_option, named_list, run_module,
)
from ansible_collections.meshops.istio.plugins.module_utils.policy import run


def argspec():
    return argument_spec(
        concurrency=concurrency_option(),
        state=dict(type="str", choices=list(STATES), default="present"),
        peer_authentications=named_list(
            mode=dict(type="str", choices=list(MTLS_MODES)), selector=dict(type="dict"),
            port_level_mtls=dict(type="dict")),
        authorization_policies=named_list(
            action=dict(type="str", choices=list(ACTIONS), default="ALLOW"), selector=dict(type="dict"),
            provider=dict(type="str"), rules=dict(type="list", elements="dict")),
        request_authentications=named_list(
            selector=dict(type="dict"), jwt_rules=dict(type="list", elements="dict"),
            require_jwt=dict(type="bool", default=True)),
        service_entries=named_list(
            hosts=dict(type="list", elements="str"), ports=dict(type="list", elements="dict"),
            location=dict(type="str", choices=list(SE_LOCATIONS), default="MESH_EXTERNAL"),
            resolution=dict(type="str", choices=list(SE_RESOLUTIONS), default="DNS"),
            export_to=dict(type="list", elements="str")),
        root_namespace=dict(type="str", default=ROOT_NAMESPACE),
        strict_gate=dict(type="bool", default=True),
        force=dict(type="bool", default=False),
        allow_insecure_jwks_uri=dict(type="bool", default=False),
        validate_only=dict(type="bool", default=False),
    )


def main():
    run_module(argspec(), run)


if __name__ == "__main__":
    main()
