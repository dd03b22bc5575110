# -*- coding: utf-8 -*-
"""300 AuthorizationPolicies in 10 namespaces through one mesh_policy task (the goals of issue 17)."""

from __future__ import absolute_import, division, print_function

from scenarios import many_objects

NAME = "policy"
TASK = """    - name: mesh_policy
      meshops.istio.mesh_policy:
        authorization_policies: "{{ authorization_policies }}"
"""


def items(names, per_namespace):
    return [{"name": "p{0}".format(i), "namespace": ns, "action": "ALLOW", "selector": {"app": "app{0}".format(i)},
             "provider": None,
             "rules": [{"from": [{"principals": ["cluster.local/ns/{0}/sa/client{1}".format(ns, i)]}],
                        "to": [{"methods": ["GET", "POST"], "ports": ["8080"], "paths": ["/api/{0}/*".format(i)]}]}]}
            for ns in names for i in range(per_namespace)]


def run(ctx, opts):
    from ansible_collections.meshops.istio.plugins.module_utils import security
    per = opts.objects // opts.namespaces

    def build(names):
        policies = items(names, per)
        return {"authorization_policies": policies}, [security.authorization_policy(p) for p in policies]

    out = many_objects(ctx, opts, NAME, "mesh_policy", TASK, build, opts.namespaces)
    out["description"] = "{0} AuthorizationPolicies in {1} namespaces, one task".format(per * opts.namespaces,
                                                                                      opts.namespaces)
    return out
