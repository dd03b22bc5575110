# -*- coding: utf-8 -*-
"""A small mesh as objects for the fake API server: namespaces, Deployments' pods (through ReplicaSets),
Services, PeerAuthentications, DestinationRules, the root certificate ConfigMaps and the injector webhook."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

ROOT_PEM = "-----BEGIN CERTIFICATE-----\n{0}\n-----END CERTIFICATE-----\n".format(
    base64.b64encode(b"the lab root certificate").decode())
OTHER_PEM = "-----BEGIN CERTIFICATE-----\n{0}\n-----END CERTIFICATE-----\n".format(
    base64.b64encode(b"another root certificate").decode())


def namespace(name, injected=True, labels=None):
    labels = dict(labels or {})
    if injected:
        labels.setdefault("istio-injection", "enabled")
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def root_cert(ns, pem=ROOT_PEM):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-ca-root-cert", "namespace": ns},
            "data": {"root-cert.pem": pem}}


def base(mesh="rootNamespace: istio-system\n"):
    return [namespace("istio-system", injected=False), root_cert("istio-system"),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"},
             "data": {"mesh": mesh}},
            {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
             "metadata": {"name": "istio-sidecar-injector", "labels": {"istio.io/rev": "default"}}, "webhooks": []}]


def deployment(ns, name, replicas=1, port=8080, sidecar=True, labels=None, pod_labels=None, ready=True,
               revision="default", service=True, opt_out=False):
    """A Deployment's ReplicaSet and pods, and (``service``) its Service on ``port``."""
    labels = dict(labels or {"app": name})
    rs_name = name + "-5d9f8"
    objs = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
             "metadata": {"name": rs_name, "namespace": ns, "labels": labels, "ownerReferences": [
                 {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "controller": True}]}}]
    for i in range(replicas):
        containers = [{"name": "app", "ports": [{"name": "http", "containerPort": port}]}]
        statuses = [{"name": "app", "ready": ready}]
        annotations = {}
        meta_labels = dict(labels, **(pod_labels or {}))
        if opt_out:
            meta_labels["sidecar.istio.io/inject"] = "false"
        if sidecar:
            containers.append({"name": "istio-proxy", "ports": [{"name": "http-envoy-prom", "containerPort": 15090}]})
            statuses.append({"name": "istio-proxy", "ready": ready})
            annotations["sidecar.istio.io/status"] = json.dumps({"revision": revision})
        objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "{0}-{1}".format(rs_name, i), "namespace": ns, "labels": meta_labels, "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "controller": True}]},
            "spec": {"containers": containers},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": statuses}})
    if service:
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                     "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    return objs


def peer_authentication(ns, name="default", mode="STRICT", selector=None, ports=None):
    spec = {"mtls": {"mode": mode}} if mode else {}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    if ports:
        spec["portLevelMtls"] = dict((str(p), {"mode": m}) for p, m in ports.items())
    return {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": spec}


def destination_rule(ns, name, host, mode):
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"host": host, "trafficPolicy": {"tls": {"mode": mode}}}}


def clean_namespace(ns, workloads=1, replicas=1):
    objs = [namespace(ns), root_cert(ns), peer_authentication(ns)]
    for i in range(workloads):
        objs += deployment(ns, "svc{0}".format(i), replicas=replicas)
    return objs


def the_four_situations():
    """The issue's lab scenario in objects: one namespace PERMISSIVE, one workload port DISABLE, one
    DestinationRule DISABLE towards a STRICT service, one opted-out pod, and a clean namespace beside them."""
    objs = base()
    objs += [namespace("perm"), root_cert("perm"), peer_authentication("perm", mode="PERMISSIVE")]
    objs += deployment("perm", "web")
    objs += [namespace("strict"), root_cert("strict"), peer_authentication("strict")]
    objs += deployment("strict", "api")
    objs += deployment("strict", "legacy", port=9000)
    objs.append(peer_authentication("strict", "legacy", mode="STRICT", selector={"app": "legacy"},
                                    ports={9000: "DISABLE"}))
    objs.append(destination_rule("strict", "api-plaintext", "api", "DISABLE"))
    objs += deployment("strict", "batch", sidecar=False, opt_out=True, service=False)
    objs += clean_namespace("clean")
    return objs
