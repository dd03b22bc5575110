# -*- coding: utf-8 -*-
"""module.py: a missing kubeconfig named with its option and path (in every module, when the client is first
needed), and what is logged of ``kubeconfig``: a path as given, an inline kubeconfig's credentials never (the
invocation logged to syslog or the journal, the returned ``invocation``, messages)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.parameters import PASS_VARS
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshops.istio.plugins.module_utils import module
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError

TOKEN = "eyJhbGciOiJSUzI1NiJ9.meshops-secret-token"
KEY = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tc2VjcmV0"
INLINE = {
    "apiVersion": "v1", "kind": "Config", "current-context": "lab",
    "clusters": [{"name": "lab", "cluster": {"server": "https://127.0.0.1:1"}}],
    "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "ops"}}],
    "users": [{"name": "ops", "user": {"token": TOKEN}},
              {"name": "oidc", "user": {"auth-provider": {"name": "oidc", "config": {
                  "client-id": "meshops", "client-secret": "oidc-client-secret", "id-token": "oidc-id-token-value"}}}},
              {"name": "exec", "user": {"client-key-data": KEY, "exec": {
                  "command": "aws", "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "aws-secret-value"},
                                            {"name": "DEBUG", "value": "1"}]}}}],
}
SECRETS = {TOKEN, KEY, "oidc-client-secret", "oidc-id-token-value", "aws-secret-value"}


def test_the_credentials_of_an_inline_kubeconfig_are_found():
    found = module.kubeconfig_secrets(INLINE)
    assert SECRETS <= found
    # Names, servers, commands and short flags are no secrets (masking them would garble every message).
    assert not found & {"lab", "ops", "oidc", "aws", "1", "https://127.0.0.1:1", "AWS_SECRET_ACCESS_KEY", "v1"}
    assert module.kubeconfig_secrets("/home/ops/.kube/config") == set()


def test_a_kubeconfig_path_is_logged_as_given():
    spec = module.argument_spec()
    assert spec["kubeconfig"]["no_log"] is False and spec["kubeconfig"]["type"] == "raw"


def run_logged(monkeypatch, capsys, args, runner):
    logged = []
    monkeypatch.setattr(AnsibleModule, "log", lambda self, msg, log_args=None: logged.append(msg))
    # As the controller runs modules with INJECT_INVOCATION (ansible-core >= 2.20; always before): the result
    # carries ``invocation``.
    if "inject_invocation" in PASS_VARS:
        args = dict(args, _ansible_inject_invocation=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.run_module(module.argument_spec(), runner)
    return logged, capsys.readouterr().out


def test_an_inline_kubeconfigs_credentials_are_masked_in_the_logged_invocation_and_the_result(monkeypatch, capsys):
    def runner(mod, kube):
        return {"changed": False, "seen": mod.params["kubeconfig"]["users"][0]["user"]["token"]}

    logged, out = run_logged(monkeypatch, capsys, {"kubeconfig": INLINE}, runner)
    invoked = [line for line in logged if line.startswith("Invoked with")]
    assert invoked and "kubeconfig=" in invoked[0]
    for secret in SECRETS:
        assert secret not in invoked[0], secret
        assert secret not in out, secret
    result = json.loads(out)
    assert result["invocation"]["module_args"]["kubeconfig"]["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:1"
    assert result["invocation"]["module_args"]["kubeconfig"]["users"][0]["user"]["token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_a_kubeconfig_path_is_in_the_logged_invocation_and_the_result(monkeypatch, capsys, tmp_path):
    path = tmp_path / "config"
    path.write_text("apiVersion: v1\nkind: Config\n")
    logged, out = run_logged(monkeypatch, capsys, {"kubeconfig": str(path)}, lambda mod, kube: {"changed": False})
    assert "kubeconfig={0}".format(path) in [line for line in logged if line.startswith("Invoked with")][0]
    assert json.loads(out)["invocation"]["module_args"]["kubeconfig"] == str(path)


@pytest.mark.parametrize("params, environ, expected", [
    ({"kubeconfig": "/nonexistent/config"}, {},
     "kubeconfig file /nonexistent/config does not exist (option kubeconfig); give the path of a kubeconfig file"),
    ({}, {"K8S_AUTH_KUBECONFIG": "/nonexistent/k8s"},
     "kubeconfig file /nonexistent/k8s does not exist (environment variable K8S_AUTH_KUBECONFIG)"),
    ({}, {"KUBECONFIG": "/nonexistent/a:/nonexistent/b", "HOME": "/nonexistent"},
     "no kubeconfig: /nonexistent/a:/nonexistent/b does not exist (environment variable KUBECONFIG); set the option "
     "kubeconfig (or K8S_AUTH_KUBECONFIG) to a kubeconfig file"),
    ({}, {"HOME": "/nonexistent"}, "no kubeconfig: ~/.kube/config does not exist (the default ~/.kube/config)"),
])
def test_a_missing_kubeconfig_is_named_with_its_option_and_path(monkeypatch, params, environ, expected):
    for name in ("HOME", "KUBECONFIG", "K8S_AUTH_KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    problem = module.kubeconfig_problem(params)
    assert problem is not None and problem.startswith(expected), problem


@pytest.mark.parametrize("params, environ", [
    ({"kubeconfig": INLINE}, {}),
    ({"host": "https://k8s:6443", "api_key": "t"}, {}),
    ({}, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}),
    ({"kubeconfig": "/nonexistent/a:{here}"}, {}),
])
def test_no_problem_when_a_kubeconfig_is_there_or_none_is_needed(monkeypatch, tmp_path, params, environ):
    here = tmp_path / "config"
    here.write_text("")
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if isinstance(params.get("kubeconfig"), str):
        params = dict(params, kubeconfig=params["kubeconfig"].format(here=here))
    assert module.kubeconfig_problem(params) is None


def test_the_missing_kubeconfig_fails_the_module_when_its_client_is_needed(monkeypatch, capsys):
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)

    def runner(mod, kube):
        return {"changed": False, "client": str(kube.client)}

    logged, out = run_logged(monkeypatch, capsys, {"kubeconfig": "/nonexistent/config"}, runner)
    result = json.loads(out)
    assert result["failed"] is True
    assert result["msg"].startswith("kubeconfig file /nonexistent/config does not exist (option kubeconfig)")
    assert result["api_calls"] == {}


def test_module_kube_raises_input_error(monkeypatch):
    class Mod:
        params = {"kubeconfig": "/nonexistent/config"}
        check_mode = False

    kube = module.ModuleKube(Mod())
    with pytest.raises(InputError):
        kube.client  # pylint: disable=pointless-statement
