# -*- coding: utf-8 -*-
"""What is logged of ``kubeconfig`` (the decision in plugins/module_utils/module.py): a path is logged as given; an
inline kubeconfig's credentials never are. A module runs against the lab with ``-vvv``, the invocation injected
into the result (ANSIBLE_INJECT_INVOCATION) and Ansible's log file on; the path is in the output and the log, the
token of an inline kubeconfig (a real one, the module authenticates with it) is in neither."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess

from harness import BIN


def run_vvv(ansible, args, log):
    env = dict(ansible.env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_INJECT_INVOCATION="1",
               ANSIBLE_LOG_PATH=str(log))
    env.pop("K8S_AUTH_KUBECONFIG", None)
    proc = subprocess.run([BIN + "ansible", "localhost", "-c", "local", "-vvv", "-m", "meshops.istio.mesh_pod_info",
                           "-a", json.dumps(args)], env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr, log.read_text()


def test_a_kubeconfig_path_is_logged_and_an_inline_kubeconfigs_token_never(lab, ansible, namespace, tmp_path):
    ns = namespace("kcfg")
    lab.kubectl("create", "serviceaccount", "reader", "-n", ns)
    lab.kubectl("create", "rolebinding", "reader", "--clusterrole=view", "--serviceaccount={0}:reader".format(ns),
                "-n", ns)
    token = lab.kubectl("create", "token", "reader", "-n", ns, "--duration", "10m").stdout.strip()
    cluster = lab.kubectl_json("config", "view", "--raw", "--minify", "--flatten")["clusters"][0]["cluster"]
    inline = {"apiVersion": "v1", "kind": "Config", "current-context": "reader",
              "clusters": [{"name": "lab", "cluster": cluster}],
              "users": [{"name": "reader", "user": {"token": token}}],
              "contexts": [{"name": "reader", "context": {"cluster": "lab", "user": "reader"}}]}

    rc, out, logged = run_vvv(ansible, {"namespace": ns, "kubeconfig": lab.kubeconfig}, tmp_path / "path.log")
    assert rc == 0, out[-3000:]
    assert lab.kubeconfig in out and lab.kubeconfig in logged
    assert '"kubeconfig": "{0}"'.format(lab.kubeconfig) in out  # the injected invocation

    rc, out, logged = run_vvv(ansible, {"namespace": ns, "kubeconfig": inline}, tmp_path / "inline.log")
    assert rc == 0, out[-3000:]  # the token authenticated the module
    assert '"invocation"' in out and cluster["server"] in out
    assert token not in out and token not in logged
    assert token[-40:] not in out and token[-40:] not in logged
