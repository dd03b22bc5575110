# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module entry and the result contract every meshops.istio module keeps.

* :func:`argument_spec`: kubernetes.core's connection options (``no_log`` on the secrets) plus the
  module's own;
* :func:`run_module`: builds the module, runs one runner, and is the only place where an error becomes
  ``fail_json``, with the partial result and, for an RBAC refusal, the one hint saying so;
* :func:`result`: ``changed`` (a write was sent, or in check mode would be), ``objects`` (what was done to
  which object), ``diff`` (diff mode only); ``api_calls`` is added by :func:`run_module`.

The ``kubeconfig`` option, deliberately (kubernetes.core >= 6.3 logs it): a *path* is not a secret and is
logged and returned as given (a missing file is then named with its path, see :func:`kubeconfig_problem`);
a kubeconfig given *inline* (a dict) holds credentials, and every credential in it (:func:`kubeconfig_secrets`)
is masked in the logged invocation, in the returned ``invocation`` and in every message, on every
kubernetes.core version.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
from collections import OrderedDict

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

from ansible_collections.meshops.istio.plugins.module_utils.diff import object_diff
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, InputError, MeshError, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import DEFAULT_CONCURRENCY, Kube
from ansible_collections.meshops.istio.plugins.module_utils.prometheus import ARG_SPEC as PROMETHEUS_ARG_SPEC

# Keys of an inline kubeconfig whose values are credentials (kubernetes.core's, and OIDC's id-token and
# client-secret, which it leaves out); every value of an auth-provider's config and of an exec plugin's
# environment counts too, unless shorter than SHORT characters (flags such as "true", which masking would
# garble every message with).
SECRET_KEYS = frozenset(["token", "password", "secret", "client-key-data", "client-certificate-data",
                         "certificate-authority-data", "api_key", "access-token", "refresh-token", "id-token",
                         "client-secret", "idp-certificate-authority-data"])
SHORT = 6


def argument_spec(with_prometheus=False, **options):
    """kubernetes.core's connection options plus the module's own ``options``; ``with_prometheus`` adds the
    ``prometheus_*`` options (doc fragment ``meshops.istio.prometheus``). ``kubeconfig`` is logged as given
    (a path) on every kubernetes.core version, its credentials masked when given inline (:class:`MeshModule`)."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec["kubeconfig"] = dict(spec["kubeconfig"], no_log=False)
    if with_prometheus:
        spec.update(copy.deepcopy(PROMETHEUS_ARG_SPEC))
    spec.update(options)
    return spec


def kubeconfig_secrets(kubeconfig):
    """The credentials in an inline kubeconfig (a dict): the strings to mask wherever they would appear."""
    found = set()

    def walk(value, key=None, loose=False):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k, loose or k == "auth-provider")
        elif isinstance(value, list):
            for item in value:
                walk(item, key, loose)
        elif isinstance(value, str) and value:
            if key in SECRET_KEYS or (loose and key not in ("name",) and len(value) >= SHORT):
                found.add(value)

    if isinstance(kubeconfig, dict):
        walk(kubeconfig)
        for user in kubeconfig.get("users") or []:
            env = (((user or {}).get("user") or {}).get("exec") or {}).get("env") or []
            found.update(e["value"] for e in env if isinstance(e, dict) and isinstance(e.get("value"), str)
                         and len(e["value"]) >= SHORT)
    return found


def kubeconfig_problem(params, environ=None):
    """What is wrong with the kubeconfig the client would read, naming the option (or environment variable) and
    the path; None when it is there or none is needed (a host with credentials, in-cluster, inline)."""
    environ = os.environ if environ is None else environ

    def param(name):
        value = params.get(name)
        return value if value is not None else environ.get("K8S_AUTH_" + name.upper())

    value, source = params.get("kubeconfig"), "option kubeconfig"
    if value is None and environ.get("K8S_AUTH_KUBECONFIG"):
        value, source = environ["K8S_AUTH_KUBECONFIG"], "environment variable K8S_AUTH_KUBECONFIG"
    if isinstance(value, dict):
        return None
    if value is None:
        if param("host") and (param("api_key") or param("password") or param("client_key")):
            return None
        if environ.get("KUBERNETES_SERVICE_HOST") or param("context"):
            return None
        value = environ.get("KUBECONFIG") or "~/.kube/config"
        source = "environment variable KUBECONFIG" if environ.get("KUBECONFIG") else "the default ~/.kube/config"
        if not any(os.path.exists(os.path.expanduser(p)) for p in value.split(os.pathsep) if p):
            return ("no kubeconfig: {0} does not exist ({1}); set the option kubeconfig (or K8S_AUTH_KUBECONFIG) "
                    "to a kubeconfig file".format(value, source))
        return None
    paths = [p for p in str(value).split(os.pathsep) if p]
    if not any(os.path.exists(os.path.expanduser(p)) for p in paths):
        return "kubeconfig file {0} does not exist ({1}); give the path of a kubeconfig file".format(value, source)
    return None


def concurrency_option():
    """The ``concurrency`` option (doc fragment ``meshops.istio.common.concurrency``)."""
    return dict(type="int", default=DEFAULT_CONCURRENCY)


def named_list(**options):
    """The argument spec of a list of objects, each with ``name`` and ``namespace`` plus ``options``."""
    spec = dict(name=dict(type="str", required=True), namespace=dict(type="str", required=True))
    spec.update(options)
    return dict(type="list", elements="dict", default=[], options=spec)


def record(obj, action):
    """The per-object line modules return: what was done to which object."""
    meta = obj.get("metadata") or {}
    out = OrderedDict()
    out["kind"] = obj.get("kind")
    out["apiVersion"] = obj.get("apiVersion")
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    out["name"] = meta.get("name")
    out["action"] = action
    return dict(out)


def diff_entries(changes):
    """Ansible ``diff`` entries for ``(obj, action, before, after)`` changes."""
    out = []
    for obj, action, before, after in changes:
        entry = object_diff(before, after, header="{0} ({1})".format(ref(obj), action))
        if entry:
            out.append(entry)
    return out


def result(module, kube, changes, action=None, **fields):
    """The result of a run from its changes (:class:`kube.Change`; unchanged ones are left out).

    ``changed`` is true once a write was sent, or in check mode when a change was planned; ``objects``
    records each change (``action(change)`` names it, default its own action); ``diff`` in diff mode.
    """
    changes = [c for c in changes if c.action != "unchanged"]
    out = {"changed": kube.wrote or (kube.check_mode and bool(changes)),
           "objects": [record(c.obj, action(c) if action else c.action) for c in changes]}
    out.update(fields)
    if getattr(module, "_diff", False):
        out["diff"] = diff_entries(changes)
    return out


class _AnsibleModule(AnsibleModule):
    def _log_invocation(self):
        # Before the invocation is logged (kubernetes.core masks an inline kubeconfig only after that).
        self.no_log_values.update(kubeconfig_secrets(self.params.get("kubeconfig")))
        super(_AnsibleModule, self)._log_invocation()


class MeshModule(AnsibleK8SModule):
    """kubernetes.core's module wrapper: dependency checks and ``no_log`` for the auth options; an inline
    kubeconfig's credentials masked from the logged invocation on."""

    def __init__(self, **kwargs):
        kwargs.setdefault("module_class", _AnsibleModule)
        super(MeshModule, self).__init__(**kwargs)
        self._module.no_log_values.update(kubeconfig_secrets(self.params.get("kubeconfig")))

    def run_command(self, *args, **kwargs):
        return self._module.run_command(*args, **kwargs)

    def get_bin_path(self, *args, **kwargs):
        return self._module.get_bin_path(*args, **kwargs)


def rbac_hint(exc, kube, name):
    """Say once, on an HTTP 403, that the credentials lack a permission, and whether anything was written."""
    if isinstance(exc, ApiError) and exc.status == 403 and "lack an RBAC permission" not in exc.msg:
        exc.msg += " (the credentials in use lack an RBAC permission {0} needs{1})".format(
            name, "" if kube.wrote else "; nothing was written")
        exc.args = (exc.msg,)
    return exc


class ModuleKube(Kube):
    """The :class:`kube.Kube` of a module run: a kubeconfig file that is not there is named, with its option and
    path, when the client is first needed (after the runner's own validation)."""

    @property
    def client(self):
        if self._client is None:
            problem = kubeconfig_problem(self.module.params)
            if problem:
                raise InputError(problem)
        return Kube.client.fget(self)


def run_module(spec, runner, **module_kwargs):
    """Build the module, run ``runner(module, kube)`` and exit.

    The one place where an error becomes ``fail_json``: the message says what was
    being done and to which object, and the partial result goes with it.
    """
    module_kwargs.setdefault("supports_check_mode", True)
    module = MeshModule(argument_spec=spec, **module_kwargs)
    kube = ModuleKube(module)
    try:
        concurrency = module.params.get("concurrency")
        if concurrency is not None and concurrency < 1:
            raise InputError("concurrency: must be at least 1 (1 sends the requests one after the other), "
                             "got {0}".format(concurrency))
        out = runner(module, kube)
    except MeshError as exc:
        rbac_hint(exc, kube, (getattr(module, "_name", None) or "this module").rpartition(".")[2])
        out = dict(exc.result)
        out.setdefault("changed", False)
        out["api_calls"] = dict(kube.calls)
        module.fail_json(msg=exc.msg, **out)
    out["api_calls"] = dict(kube.calls)
    module.exit_json(**out)
