#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mesh_traffic
short_description: Keep a set of Istio traffic objects (routes, rules, gateways, rate limits) equal to a declaration
version_added: 0.2.0
author: meshops.istio contributors (@meshops)
description:
  - Declares the traffic objects of one O(owner) and keeps the cluster equal to that set. DestinationRules,
    VirtualServices, Gateways, ServiceEntries and Sidecars (C(networking.istio.io/v1)) take Istio's own C(spec)
    shape, so the YAML of Istio's samples can be pasted; O(rate_limits) are structured and become the EnvoyFilter
    (C(networking.istio.io/v1alpha3)) that inserts Envoy's C(local_ratelimit) filter.
  - Validates every object first and reports every problem at once, each named by its field path, for example
    C(virtual_services[2].spec.http[0].route[1].weight). Durations are Istio durations (C(5s), C(100ms)); route
    weights are whole numbers from 0 to 100 that sum to 100 in every route block with more than one destination;
    C(retryOn) holds Envoy's retry policies or HTTP status codes; fault percentages are 0 to 100 and C(httpStatus)
    200 to 599; connection-pool and outlier-detection numbers are not negative; C(hosts) are not empty; Gateway TLS
    modes are Istio's; unknown keys in the parts checked are refused.
  - Then, against the cluster, every C(subset) a VirtualService routes to must be defined by a DestinationRule for
    that host (in this set, or live in the VirtualService's or the host's namespace), and every Gateway
    C(credentialName) must name a Secret in the namespace of the gateway workload the Gateway's selector matches
    (a warning when the selector matches no pod). Nothing is sent to the API server for writing when anything is
    invalid.
  - Every object that may change is dry-run on the server (istiod's validating webhook included) before any is
    written; nothing is written unless the server accepts all of them, and nothing when nothing would change.
  - Every object is labelled C(meshops.istio/owner=<owner>). Objects with this label that the set no longer
    declares are deleted (one list per kind, across namespaces), unless O(prune=false).
  - While a canary rollout of M(meshops.istio.canary_shift) is progressing, paused or promoted on a VirtualService
    (annotation C(meshops.istio/canary)), the rollout's weighted route keeps its live destinations and mirror, the
    rollout's header routes stay ahead of it, and the DestinationRule keeps the rollout's stable and canary subsets
    as they are live; those objects are applied taking over canary_shift's fields (C(force_conflicts)). So a rerun
    never resets a canary; everything else of them is the declaration's.
options:
  owner:
    description: Who owns the set; the value of the C(meshops.istio/owner) label. Two calls with different owners
      never prune each other's objects.
    type: str
    required: true
  prune:
    description: Delete the objects labelled with O(owner) that the set no longer declares.
    type: bool
    default: true
  destination_rules:
    description: DestinationRules (subsets, connection pools, outlier detection, client TLS).
    type: list
    elements: dict
    default: []
    suboptions: &object {name: {description: Object name., type: str, required: true},
                         namespace: {description: Namespace., type: str, required: true},
                         spec: {description: "The object's C(spec), in Istio's shape.", type: dict, required: true}}
  virtual_services:
    description: VirtualServices (routes, weights, timeouts, retries, fault injection). Same suboptions as
      O(destination_rules).
    type: list
    elements: dict
    default: []
    suboptions: *object
  gateways:
    description: Gateways (ingress servers, TLS). Same suboptions as O(destination_rules).
    type: list
    elements: dict
    default: []
    suboptions: *object
  service_entries:
    description: ServiceEntries (hosts added to the mesh's registry). Same suboptions as O(destination_rules).
    type: list
    elements: dict
    default: []
    suboptions: *object
  sidecars:
    description: Sidecars (the proxies' ingress and egress scope). Same suboptions as O(destination_rules).
    type: list
    elements: dict
    default: []
    suboptions: *object
  rate_limits:
    description: Local rate limits (a token bucket per proxy), each written as an EnvoyFilter of the same name.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the EnvoyFilter.
        type: str
        required: true
      namespace:
        description: Namespace of the EnvoyFilter (and of the workloads it applies to).
        type: str
        required: true
      selector:
        description: Pod labels of the workloads limited; all workloads of the namespace when left out.
        type: dict
      max_tokens:
        description: Size of the token bucket (the burst).
        type: int
        required: true
      tokens_per_fill:
        description: Tokens added every O(rate_limits[].fill_interval); default O(rate_limits[].max_tokens).
        type: int
      fill_interval:
        description: How often tokens are added, an Istio duration such as C(1s) or C(60s).
        type: str
        required: true
      status_code:
        description: HTTP status of a limited request (Envoy's default is 429).
        type: int
      context:
        description: Where the filter goes, inbound on sidecars or on gateways.
        type: str
        choices: [SIDECAR_INBOUND, GATEWAY]
        default: SIDECAR_INBOUND
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio.common
  - meshops.istio.common.concurrency
notes:
  - Needs get, list and server-side apply and delete on the kinds written (and list across namespaces for the
    owner's objects), list on pods and get on secrets for the Gateway checks, list on DestinationRules for the
    subset check.
seealso:
  - module: meshops.istio.mesh_policy
"""

EXAMPLES = r"""
- name: Subsets with circuit breaking, a 90/10 split with timeouts and retries, and a rate limit
  meshops.istio.mesh_traffic:
    owner: shop-traffic
    destination_rules:
      - name: api
        namespace: shop
        spec:
          host: api
          trafficPolicy:
            connectionPool: {tcp: {maxConnections: 100}, http: {http1MaxPendingRequests: 100}}
            outlierDetection: {consecutive5xxErrors: 5, interval: 30s, baseEjectionTime: 30s}
          subsets:
            - {name: v1, labels: {version: v1}}
            - {name: v2, labels: {version: v2}}
    virtual_services:
      - name: api
        namespace: shop
        spec:
          hosts: [api]
          http:
            - route:
                - {destination: {host: api, subset: v1}, weight: 90}
                - {destination: {host: api, subset: v2}, weight: 10}
              timeout: 10s
              retries: {attempts: 3, perTryTimeout: 3s, retryOn: "gateway-error,connect-failure,refused-stream"}
    rate_limits:
      - {name: api-rate-limit, namespace: shop, selector: {app: api}, max_tokens: 100, fill_interval: 60s}
"""

RETURN = r"""
changed: {description: "Whether an object was (in check mode, would be) created, updated or deleted (pruned).",
          returned: always, type: bool, sample: true}
objects:
  description: Objects created, updated or deleted (in check mode, that would be); C(action) is C(created),
    C(updated) or C(deleted).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "DestinationRule", "apiVersion": "networking.istio.io/v1", "namespace": "shop",
            "name": "api", "action": "deleted"}]
resources: {description: "Every object of the declared set (kind, apiVersion, namespace, name; action present).",
            returned: success, type: list, elements: dict}
api_calls: {description: Kubernetes API requests made by verb., returned: always, type: dict,
            sample: {"discovery": 6, "list": 6, "apply_dry_run": 3, "apply": 1}}
"""

from ansible_collections.meshops.istio.plugins.module_utils.constants import RATE_LIMIT_CONTEXTS
from ansible_collections.meshops.istio.plugins.module_utils.module import (
    argument_spec, concurrency_option, named_list, run_module,
)
from ansible_collections.meshops.istio.plugins.module_utils.traffic import run


def argspec():
    return argument_spec(
        concurrency=concurrency_option(),
        owner=dict(type="str", required=True),
        prune=dict(type="bool", default=True),
        destination_rules=named_list(spec=dict(type="dict", required=True)),
        virtual_services=named_list(spec=dict(type="dict", required=True)),
        gateways=named_list(spec=dict(type="dict", required=True)),
        service_entries=named_list(spec=dict(type="dict", required=True)),
        sidecars=named_list(spec=dict(type="dict", required=True)),
        rate_limits=named_list(
            selector=dict(type="dict"), max_tokens=dict(type="int", required=True, no_log=False),
            tokens_per_fill=dict(type="int", no_log=False), fill_interval=dict(type="str", required=True),
            status_code=dict(type="int"),
            context=dict(type="str", choices=list(RATE_LIMIT_CONTEXTS), default=RATE_LIMIT_CONTEXTS[0])),
    )


def main():
    run_module(argspec(), run)


if __name__ == "__main__":
    main()
