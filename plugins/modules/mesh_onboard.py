#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mesh_onboard
short_description: Take namespaces into the Istio mesh (injection, restarts, mTLS, default deny)
version_added: 0.1.0
author: meshops.istio contributors (@meshops)
description:
  - Labels namespaces for sidecar injection, with C(istio-injection=enabled) or, when O(revision) is set,
    C(istio.io/rev=<revision>). The other label is removed, since C(istio-injection) takes precedence over
    C(istio.io/rev).
  - Finds the Deployments, StatefulSets and DaemonSets whose pods run without the C(istio-proxy) sidecar, or
    with the sidecar of another revision (pod annotation C(sidecar.istio.io/status), label C(istio.io/rev)),
    and restarts only those, the way C(kubectl rollout restart) does (pod template annotation
    C(kubectl.kubernetes.io/restartedAt)), at most O(max_concurrent_restarts) rolling at once.
  - Workloads that opt out (C(sidecar.istio.io/inject) set to C(false) in their pod template's labels or
    annotations) and C(hostNetwork) workloads are reported, never restarted. Pods that no Deployment,
    StatefulSet or DaemonSet owns (Jobs, bare pods) are reported as C(unmanaged) when they lack the sidecar.
  - Then verifies that every pod in scope is Ready and carries the sidecar, and only then writes the
    namespace's PeerAuthentication C(default) (O(mtls_mode)) and AuthorizationPolicy C(deny-all)
    (O(default_deny)). A workload that does not roll out within O(wait_timeout), or whose new pods still
    lack the sidecar, fails the run.
  - O(mtls_mode=STRICT) is refused, before anything is written, while any pod in scope would run without
    the sidecar; the error lists those workloads. O(force=true) applies it anyway.
  - Reads are lists, one per kind and namespace (pods, ReplicaSets, Deployments, StatefulSets, DaemonSets);
    the number of API calls per namespace does not grow with the number of pods.
  - Every write is first dry-run on the server, so nothing is written unless the server accepts all of it.
    A second run writes nothing, restarts nothing and reports C(changed=false).
  - Warns about workloads that run as the C(default) service account.
options:
  namespaces:
    description:
      - Names of the namespaces to onboard. They must exist, unless O(create_namespaces=true). Mutually exclusive
        with O(namespace_selector).
      - The system namespaces C(kube-system), C(kube-public), C(kube-node-lease) and C(istio-system) are
        refused.
    type: list
    elements: str
  create_namespaces:
    description:
      - Create the namespaces of O(namespaces) that do not exist, with their injection label (server-side apply,
        dry-run with every other write first). Without it a missing namespace fails the run before any write.
      - Needs O(namespaces); refused with O(namespace_selector).
    type: bool
    default: false
  namespace_selector:
    description:
      - Label selector of the namespaces to onboard, for example C(team=shop). System namespaces it matches
        are skipped with a warning. Mutually exclusive with O(namespaces).
    type: str
  revision:
    description:
      - Control-plane revision (or revision tag) to inject, for example C(canary) or C(1-30-4); the
        namespaces get C(istio.io/rev=<revision>). Unset means C(istio-injection=enabled) (the default
        revision, or the revision the C(default) tag points to).
      - Lowercase letters, digits and dashes; no dots. Refused when no injector webhook of the cluster serves
        it.
    type: str
  mtls_mode:
    description:
      - mTLS mode of each namespace, set in its PeerAuthentication C(default) (C(security.istio.io/v1)).
      - Unset leaves mTLS as it is.
    type: str
    choices: [PERMISSIVE, STRICT]
  default_deny:
    description:
      - Write the AuthorizationPolicy C(deny-all) in each namespace - C(action) C(ALLOW) and C(rules) C([]) - which
        denies every request that no other AuthorizationPolicy allows. Its action is written, and taken back when
        changed by hand (an C(AUDIT) policy allows everything); a C(deny-all) holding rules, a selector or a provider
        is someone's own policy under that name and is left as it is, with a warning.
      - C(false) leaves an existing C(deny-all) in place.
    type: bool
    default: false
  force:
    description: Apply O(mtls_mode=STRICT) even though pods in scope run without the sidecar.
    type: bool
    default: false
  max_concurrent_restarts:
    description: How many workloads may be rolling out at once (1 or more).
    type: int
    default: 5
  wait_timeout:
    description:
      - Seconds each restarted workload has to roll out, and then the final verification has for every pod
        in scope to be Ready with the sidecar.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio.common
  - meshops.istio.common.concurrency
  - meshops.istio.common.wait
attributes:
  check_mode:
    support: full
    description: Reports what would be labelled, restarted and written, with server-side dry runs; labels,
      restarts and policies are not written and nothing is waited for.
  diff_mode:
    support: full
    description: Shows each namespace relabelled, each workload restarted (its pod template annotation) and
      each policy written, before and after.
notes:
  - Needs list on pods, ReplicaSets, Deployments, StatefulSets, DaemonSets and namespaces, patch on
    namespaces, server-side apply on the workloads and on PeerAuthentications and AuthorizationPolicies, and
    list on MutatingWebhookConfigurations (to check the revision; skipped when forbidden).
  - Namespace labels are changed with a JSON merge patch (field manager C(meshops)); a label another tool set
    cannot be removed with server-side apply.
seealso:
  - module: meshops.istio.istio_install
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Onboard the shop namespaces, PERMISSIVE mTLS first
  meshops.istio.mesh_onboard:
    namespace_selector: team=shop
    mtls_mode: PERMISSIVE

- name: Onboard two namespaces onto the canary revision, STRICT mTLS and default deny
  meshops.istio.mesh_onboard:
    namespaces: [payments, orders]
    revision: canary
    mtls_mode: STRICT
    default_deny: true
    max_concurrent_restarts: 2
    wait_timeout: 600

- name: What would onboarding do?
  meshops.istio.mesh_onboard:
    namespaces: [payments]
  check_mode: true
  diff: true
"""

RETURN = r"""
changed:
  description: Whether a namespace was created or labelled, a workload restarted or a policy written (in check
    mode, would be).
  returned: always
  type: bool
  sample: false
injection:
  description: The injection label the namespaces carry.
  returned: always
  type: str
  sample: istio-injection=enabled
revision:
  description: Revision whose sidecar the pods must run (the revision a tag points to for tags); null when the
    injector webhooks could not be read, then any revision is accepted.
  returned: success
  type: str
  sample: default
namespaces:
  description:
    - Per namespace in scope, keyed by name. C(labelled) says whether its injection labels were (or would be)
      changed; C(created) whether it was (or would be) created (O(create_namespaces)); C(labels) its injection
      labels; C(peer_authentication) and C(authorization_policy) what was
      done to those policies (created, updated, unchanged; only when asked for).
    - C(workloads) lists each workload with C(kind), C(name), C(state), C(pods) (active pods),
      C(service_account) and C(reason) when there is one. C(state) is C(injected) (already running the
      sidecar), C(restarted), C(opted_out), C(unmanaged) (pods no Deployment, StatefulSet or DaemonSet owns,
      without the sidecar), C(failed), or C(pending) (a restart planned but not done when the run failed).
  returned: always
  type: dict
  sample: {"shop": {"labelled": true, "created": false, "labels": {"istio-injection": "enabled"}, "peer_authentication": "created",
           "workloads": [{"kind": "Deployment", "name": "web", "state": "restarted", "pods": 2,
                          "service_account": "web"}]}}
restarted:
  description: Workloads restarted (in check mode, that would be), as C(namespace/Kind/name).
  returned: always
  type: list
  elements: str
  sample: ["shop/Deployment/web"]
opted_out:
  description: Workloads that opt out of injection, as C(namespace/Kind/name); never restarted.
  returned: always
  type: list
  elements: str
  sample: ["shop/Deployment/legacy"]
missing_sidecar:
  description: Workloads with pods running without the sidecar (in check mode, that still would after the
    restarts), as C(namespace/Kind/name). STRICT mTLS would cut them off.
  returned: always
  type: list
  elements: str
  sample: ["shop/Deployment/legacy"]
failed_workloads:
  description: Workloads that could not be onboarded, as C(namespace/Kind/name); the reason is in
    RV(namespaces). The run fails when there is any.
  returned: always
  type: list
  elements: str
  sample: []
objects:
  description: Objects labelled or created (namespaces), restarted (workloads) or created or updated (policies).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Deployment", "apiVersion": "apps/v1", "namespace": "shop", "name": "web",
            "action": "restarted"}]
api_calls:
  description: Kubernetes API requests made, by verb.
  returned: always
  type: dict
  sample: {"discovery": 9, "list": 12, "patch_dry_run": 1, "patch": 1}
"""

from ansible_collections.meshops.istio.plugins.module_utils.constants import ONBOARD_MTLS_MODES
from ansible_collections.meshops.istio.plugins.module_utils.module import (
    argument_spec, concurrency_option, run_module,
)
from ansible_collections.meshops.istio.plugins.module_utils.onboard import run

MUTUALLY_EXCLUSIVE = [("namespaces", "namespace_selector")]
REQUIRED_ONE_OF = [("namespaces", "namespace_selector")]


def argspec():
    return argument_spec(
        concurrency=concurrency_option(),
        namespaces=dict(type="list", elements="str"),
        namespace_selector=dict(type="str"),
        revision=dict(type="str"),
        mtls_mode=dict(type="str", choices=list(ONBOARD_MTLS_MODES)),
        default_deny=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        create_namespaces=dict(type="bool", default=False),
        max_concurrent_restarts=dict(type="int", default=5),
        wait_timeout=dict(type="int", default=300),
    )


def main():
    run_module(argspec(), run, mutually_exclusive=MUTUALLY_EXCLUSIVE, required_one_of=REQUIRED_ONE_OF)


if __name__ == "__main__":
    main()
