#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mtls_verify
short_description: Verify mutual TLS in an Istio mesh, workload by workload and port by port
version_added: 0.2.0
author: meshops.istio contributors (@meshops)
description:
  - For every workload and port in scope, computes the B(effective server-side mTLS mode) and the
    PeerAuthentication that decided it, by Istio's precedence (port-level entry of the workload policy, workload
    selector, namespace, root namespace, Istio's default C(PERMISSIVE); C(UNSET) inherits; of several policies at
    one scope the oldest wins), and the B(client side) for every group of client namespaces in scope - the
    DestinationRule C(trafficPolicy.tls) that applies per host, subset and port (client namespace, then the
    service's, then the root namespace; C(DISABLE), C(SIMPLE), C(MUTUAL), C(ISTIO_MUTUAL)) or auto mTLS.
  - "Reports B(findings), each with a severity, the objects involved and a hint: ports that take plaintext where
    O(expect) says otherwise; DestinationRules that disable or override TLS towards STRICT servers (the calls
    fail), or send Istio mTLS to servers that cannot take it; pods without the sidecar in an injected namespace,
    opted-out pods (with the STRICT servers they cannot call), pods on another revision, sidecars not Ready;
    namespaces not labelled for injection or labelled for a revision without injector; PeerAuthentications
    shadowed by an older one; namespaces whose C(istio-ca-root-cert) ConfigMap is missing or lacks the root
    certificate istiod publishes (or O(ca_root_cert))."
  - With O(prometheus_url), adds B(evidence) per workload and service pair over O(evidence_window) - the share of
    requests the server saw over mutual TLS (C(istio_requests_total), C(reporter=destination),
    C(connection_security_policy)); plaintext observed is a finding of its own. No data is no evidence, never a
    finding.
  - Runs C(istioctl analyze -o json) over the same cluster and scope when istioctl is found and folds its messages
    (codes C(ISTxxxx)) into the findings; O(analyze=false) turns that off.
  - Returns the matrix per namespace, workload and port (mode, deciding policy, sidecars, client outcomes,
    evidence), the same in the columns of the dropped C(istioctl authn tls-check), the onboarding state of every
    namespace, checks in C(linkerd check) style, and the canary rollouts of the scope (the state C(canary_shift)
    keeps on a VirtualService) for the report filters M(meshops.istio.mesh_report_html) and
    M(meshops.istio.mesh_report_markdown).
  - Reads only, one list per kind (cluster-wide when the scope holds several namespaces), so the number of API
    calls does not grow with pods or namespaces; never reports C(changed). O(fail_on) decides whether findings
    fail the task; a failed task still returns everything.
  - It models Istio's (Envoy sidecar) semantics; a proxyless gRPC data plane does less (no auto mTLS, PERMISSIVE
    acting as STRICT).
options:
  namespaces:
    description: Namespaces to verify. Without it and without O(namespace_selector), every namespace labelled for
      injection (C(istio-injection=enabled) or C(istio.io/rev)), system namespaces left out.
    type: list
    elements: str
  namespace_selector:
    description: Label selector of the namespaces to verify, for example C(team=shop); system namespaces are left
      out.
    type: str
  expect:
    description:
      - The mode every server port must enforce. C(STRICT) - a port that takes plaintext (C(PERMISSIVE) or
        C(DISABLE)) is an error, and so is an opted-out pod; C(PERMISSIVE) - C(DISABLE) is an error; C(ANY) -
        modes are only reported.
    type: str
    choices: [STRICT, PERMISSIVE, ANY]
    default: STRICT
  fail_on:
    description: Fail the task when there is a finding of this severity or worse (C(error), or C(warning) and
      C(error)); C(never) only reports (RV(passed) still says).
    type: str
    choices: [error, warning, never]
    default: error
  analyze:
    description: Run C(istioctl analyze) over the scope and fold its messages into the findings. When istioctl is
      not found (and O(istioctl_path) is not given) the check says so and the rest runs.
    type: bool
    default: true
  analyze_suppress:
    description:
      - C(istioctl analyze) messages to leave out, each a code (C(IST0133)) or a code and the object the message is
        about as the findings name it (C(IST0133=EnvoyFilter shop/api-rate-limit)); C(*) matches anything. What
        was left out is returned in RV(analyze) (C(suppressed)) and shown in the report.
    type: list
    elements: str
    default: []
  istioctl_path:
    description: Path or name of istioctl. Default is C(istioctl) on PATH.
    type: path
  evidence_window:
    description: Range over which the evidence is counted, as Prometheus writes it (C(30s), C(10m), C(1h)).
    type: str
    default: 10m
  ca_root_cert:
    description: PEM root certificate every namespace's C(istio-ca-root-cert) must hold. Default is the one istiod
      publishes in O(istio_namespace).
    type: str
  root_namespace:
    description: Istio's root namespace (mesh-wide policies). Default is the mesh config's C(rootNamespace), else
      C(istio-system).
    type: str
  istio_namespace:
    description: Namespace of istiod (its mesh config, and the root certificate it publishes).
    type: str
    default: istio-system
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio.prometheus
  - meshops.istio.common.read_only
  - meshops.istio.common
requirements:
  - istioctl, for O(analyze)
notes:
  - Needs list on namespaces, pods, replicasets, services, configmaps (the C(istio-ca-root-cert) ones),
    peerauthentications, destinationrules, virtualservices and mutatingwebhookconfigurations, cluster-wide for a
    scope of several namespaces; get on the ConfigMap C(istio) of O(istio_namespace) (C(rbac/mtls_verify.yml)).
  - Workloads are Deployments (through their ReplicaSets), StatefulSets, DaemonSets, Jobs or bare pods; a
    workload's ports are the container ports its Services target, then those it declares; Istio's own ports
    (15000-15090) are left out.
seealso:
  - module: meshops.istio.mesh_policy
  - module: meshops.istio.mesh_onboard
  - name: PeerAuthentication
    description: Istio's reference of PeerAuthentication and its precedence.
    link: https://istio.io/latest/docs/reference/config/security/peer_authentication/
"""

EXAMPLES = r"""
- name: The shop must be STRICT, with sidecars everywhere
  meshops.istio.mtls_verify:
    namespaces: [microservices]
    expect: STRICT
  register: verified

- name: Every namespace of the mesh, with evidence from the last 30 minutes, reporting only
  meshops.istio.mtls_verify:
    prometheus_url: http://prometheus.istio-system:9090
    evidence_window: 30m
    fail_on: never
  register: verified

- name: Write the report
  ansible.builtin.copy:
    content: "{{ verified | meshops.istio.mesh_report_html }}"
    dest: "{{ playbook_dir }}/mesh-report.html"
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
passed:
  description: No finding at or above O(fail_on) (always true with C(never)).
  returned: always
  type: bool
summary:
  description: Number of findings by severity.
  returned: always
  type: dict
  sample: {"error": 1, "warning": 0, "info": 0}
findings:
  description: What is wrong, one entry per cause, with C(code) (for example C(server_accepts_plaintext),
    C(dr_disables_tls), C(sidecar_opted_out), C(root_cert_mismatch), C(plaintext_observed), or an istioctl analyze
    code such as C(IST0101)), C(severity) (C(error), C(warning), C(info)), C(check), C(namespace), C(message),
    C(objects) (C(Kind namespace/name)) and C(hint).
  returned: always
  type: list
  elements: dict
checks:
  description: The checks in C(linkerd check) style - C(name), C(title), C(status) (C(ok), C(warn), C(fail)),
    C(findings), C(hint), C(notes) (what kept the check from running fully).
  returned: always
  type: list
  elements: dict
matrix:
  description: One row per workload and port - C(namespace), C(workload) (C(Kind/name)), C(port) (container port;
    null for all ports), C(services) (C(host:port)), C(mode), C(effective) (C(NO_SIDECAR) for pods without it),
    C(policy) (the deciding PeerAuthentication, null for Istio's default), C(scope) (C(workload-port),
    C(workload), C(namespace), C(mesh), C(default)), C(pods), C(with_sidecar), C(ready), C(clients) (per client
    group and subset - C(host_port), C(clients), C(destination_rule), C(field), C(subset), C(tls) (C(auto) or the
    rule's mode), C(sends) (C(mTLS), C(plaintext), C(TLS)), C(status) (C(OK), C(CONFLICT)), C(why)), C(evidence)
    (C(requests), C(mtls_share), C(plaintext), C(sources); null without data).
  returned: always
  type: list
  elements: dict
tls_check:
  description: The matrix in the columns of the dropped C(istioctl authn tls-check) - C(host_port), C(status)
    (C(OK), C(CONFLICT)), C(server), C(client), C(authn_policy), C(destination_rule), C(clients).
  returned: always
  type: list
  elements: dict
namespaces:
  description: Onboarding state per namespace - C(name), C(injected), C(injection) (labels), C(revision),
    C(workloads), C(pods), C(with_sidecar), C(sidecars_ready), C(mode) and C(policy) (namespace-wide), C(findings).
  returned: always
  type: list
  elements: dict
scope:
  description: C(namespaces) verified, C(root_namespace), C(auto_mtls) (the mesh config's C(enableAutoMtls)).
  returned: always
  type: dict
expect:
  description: The expectation verified.
  returned: always
  type: str
root_cert:
  description: C(reference) (SHA-256 fingerprints), C(source), C(missing) and C(mismatched) namespaces.
  returned: always
  type: dict
evidence:
  description: C(window), C(query), C(pairs) (C(source), C(destination), C(requests), C(mtls_share), C(plaintext)),
    C(error) when Prometheus could not answer; null without O(prometheus_url).
  returned: always
  type: dict
analyze:
  description: C(ran), C(messages) (how many about the scope became findings), C(suppressed) (C(code origin) of
    those O(analyze_suppress) left out), C(error).
  returned: always
  type: dict
canaries:
  description: Canary rollouts of the scope (VirtualServices with the C(meshops.istio/canary) annotation) -
    C(namespace), C(name), C(phase), C(stable), C(canary), C(step), C(steps) (weights), C(timeline) (C(step),
    C(weight), C(at), C(result), C(success_rate), C(p99_ms), C(requests), C(reason)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.meshops.istio.plugins.module_utils.constants import FAIL_ON, VERIFY_EXPECT
from ansible_collections.meshops.istio.plugins.module_utils.module import argument_spec, run_module
from ansible_collections.meshops.istio.plugins.module_utils.verify import run


def argspec():
    return argument_spec(
        with_prometheus=True,
        namespaces=dict(type="list", elements="str"),
        namespace_selector=dict(type="str"),
        expect=dict(type="str", choices=list(VERIFY_EXPECT), default="STRICT"),
        fail_on=dict(type="str", choices=list(FAIL_ON), default="error"),
        analyze=dict(type="bool", default=True),
        analyze_suppress=dict(type="list", elements="str", default=[]),
        istioctl_path=dict(type="path"),
        evidence_window=dict(type="str", default="10m"),
        ca_root_cert=dict(type="str"),
        root_namespace=dict(type="str"),
        istio_namespace=dict(type="str", default="istio-system"),
    )


def main():
    run_module(argspec(), run, mutually_exclusive=[("namespaces", "namespace_selector")])


if __name__ == "__main__":
    main()
