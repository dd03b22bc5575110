#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mesh_pod_info
short_description: Which pods are Ready and which carry the istio-proxy sidecar
version_added: 0.2.0
author: meshops.istio contributors (@meshops)
description:
  - Lists the pods of a namespace (those a label selector matches), leaving out pods being deleted and finished
    pods (Succeeded, Failed), and says which are not Ready and which run without the C(istio-proxy) sidecar (as a
    container or as a native sidecar), by the rules M(meshops.istio.mesh_onboard) uses.
  - With O(wait=true), polls until there is at least one pod and every pod is Ready, for at most
    O(wait_timeout) seconds; it does not fail when they are not, RV(ready) says so.
  - Reads only; never reports C(changed).
options:
  namespace:
    description: Namespace of the pods.
    type: str
    required: true
  label_selector:
    description: Label selector of the pods, for example C(app.kubernetes.io/instance=shop); all pods without it.
    type: str
  wait:
    description: Wait until there is a pod and every pod is Ready.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait=true).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio.common.read_only
  - meshops.istio.common
  - meshops.istio.common.wait
notes:
  - Needs list on pods in the namespace.
seealso:
  - module: meshops.istio.mesh_onboard
"""

EXAMPLES = r"""
- name: Wait for the release's pods and check their sidecars
  meshops.istio.mesh_pod_info:
    namespace: shop
    label_selector: app.kubernetes.io/instance=shop
    wait: true
    wait_timeout: 300
  register: shop_pods

- name: Every pod carries istio-proxy
  ansible.builtin.assert:
    that: shop_pods.ready and shop_pods.without_sidecar | length == 0
"""

RETURN = r"""
pods:
  description: Names of the active pods (neither terminating nor finished).
  returned: success
  type: list
  elements: str
  sample: ["web-6d9f7-abcde"]
not_ready:
  description: The active pods that are not Ready, as C(name (phase)).
  returned: success
  type: list
  elements: str
  sample: ["web-6d9f7-abcde (Pending)"]
without_sidecar:
  description: Names of the active pods without the C(istio-proxy) sidecar.
  returned: success
  type: list
  elements: str
  sample: []
ready:
  description: Whether there is at least one pod and every pod is Ready.
  returned: success
  type: bool
  sample: true
"""

from ansible_collections.meshops.istio.plugins.module_utils.module import argument_spec, run_module
from ansible_collections.meshops.istio.plugins.module_utils.pod_info import run


def argspec():
    return argument_spec(
        namespace=dict(type="str", required=True),
        label_selector=dict(type="str"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
    )


def main():
    run_module(argspec(), run)


if __name__ == "__main__":
    main()
