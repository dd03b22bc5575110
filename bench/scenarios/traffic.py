# -*- coding: utf-8 -*-
"""100 hosts x (DestinationRule + VirtualService + local rate limit EnvoyFilter) in one namespace through one
mesh_traffic task (what bench_traffic.py measured before)."""

from __future__ import absolute_import, division, print_function

from scenarios import many_objects

NAME = "traffic"
TASK = """    - name: mesh_traffic
      meshops.istio.mesh_traffic:
        owner: "{{ owner }}"
        destination_rules: "{{ destination_rules }}"
        virtual_services: "{{ virtual_services }}"
        rate_limits: "{{ rate_limits }}"
"""


def declaration(ns, hosts):
    out = {"owner": ns, "prune": True, "destination_rules": [], "virtual_services": [], "rate_limits": [],
           "gateways": [], "service_entries": [], "sidecars": []}
    for i in range(hosts):
        svc = "svc{0}".format(i)
        out["destination_rules"].append({"name": svc, "namespace": ns, "spec": {
            "host": svc, "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100}},
                                           "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s"}},
            "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]}})
        out["virtual_services"].append({"name": svc, "namespace": ns, "spec": {"hosts": [svc], "http": [{
            "route": [{"destination": {"host": svc, "subset": "v1"}, "weight": 90},
                      {"destination": {"host": svc, "subset": "v2"}, "weight": 10}],
            "timeout": "10s", "retries": {"attempts": 3, "perTryTimeout": "3s", "retryOn": "connect-failure"}}]}})
        out["rate_limits"].append({"name": svc + "-rate-limit", "namespace": ns, "selector": {"app": svc},
                                   "max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "60s",
                                   "status_code": None, "context": "SIDECAR_INBOUND"})
    return out


def run(ctx, opts):
    from ansible_collections.meshops.istio.plugins.module_utils import traffic
    hosts = max(1, opts.objects // 3)

    def build(names):
        params = declaration(names[0], hosts)
        variables = dict((k, params[k]) for k in ("owner", "destination_rules", "virtual_services", "rate_limits"))
        return variables, traffic.build(params)

    out = many_objects(ctx, opts, NAME, "mesh_traffic", TASK, build, 1)
    out["description"] = "{0} hosts x DestinationRule + VirtualService + rate limit (EnvoyFilter), one " \
                         "namespace, one task".format(hosts)
    return out
