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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
from collections import OrderedDict

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

from ansible_collections.meshops.istio.plugins.module_utils.diff import object_diff
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, InputError, MeshError, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import DEFAULT_CONCURRENCY, Kube


def argument_spec(**options):
    """kubernetes.core's connection options plus the module's own ``options``."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(options)
    return spec


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


class MeshModule(AnsibleK8SModule):
    """kubernetes.core's module wrapper: dependency checks and ``no_log`` for the auth options."""

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


def run_module(spec, runner, **module_kwargs):
    """Build the module, run ``runner(module, kube)`` and exit.

    The one place where an error becomes ``fail_json``: the message says what was
    being done and to which object, and the partial result goes with it.
    """
    module_kwargs.setdefault("supports_check_mode", True)
    module = MeshModule(argument_spec=spec, **module_kwargs)
    kube = Kube(module)
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
