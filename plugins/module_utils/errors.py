# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors of the meshops.istio module_utils layer.

Every error carries ``result``: what the module had done before it failed (objects
applied so far, the last state seen while waiting), so the single ``fail_json`` path
in :func:`kube.run_module` can report the state that was reached.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def ref(obj=None, kind=None, name=None, namespace=None):
    """``Kind namespace/name`` (or ``Kind name`` when cluster-scoped) for messages."""
    if obj is not None:
        meta = obj.get("metadata") or {}
        kind = kind or obj.get("kind")
        name = name or meta.get("name")
        namespace = namespace or meta.get("namespace")
    if namespace:
        return "{0} {1}/{2}".format(kind, namespace, name)
    return "{0} {1}".format(kind, name)


class MeshError(Exception):
    """Base error; ``result`` is the partial result to return with the failure."""

    def __init__(self, msg, result=None):
        super(MeshError, self).__init__(msg)
        self.msg = msg
        self.result = dict(result or {})


class InputError(MeshError):
    """Bad input, found before anything was written."""


class ApiError(MeshError):
    """The API server refused or failed a request.

    ``status`` is the HTTP status (0 when the server could not be reached).
    """

    def __init__(self, msg, status=0, reason=None, result=None):
        super(ApiError, self).__init__(msg, result=result)
        self.status = status
        self.reason = reason


def namespace_missing(exc, obj):
    """The namespace of ``obj`` when ``exc`` (a refused dry run of it) says only that the namespace does not
    exist; else None."""
    namespace = (obj.get("metadata") or {}).get("namespace")
    if namespace and getattr(exc, "status", 0) == 404 and 'namespaces "{0}" not found'.format(namespace) in exc.msg:
        return namespace
    return None


class KindNotServed(ApiError):
    """The API server does not serve a kind (its CRD is not installed)."""


class WaitTimeout(MeshError):
    """A wait ran past its deadline; ``result`` holds the last state seen."""


class CommandError(MeshError):
    """An external command (istioctl, helm) failed."""


class PrometheusError(MeshError):
    """Prometheus could not answer a query; ``reachable`` is False when it could not be reached at all
    (or failed with a transient error), True when it refused the query or answered nonsense."""

    def __init__(self, msg, reachable=False, result=None):
        super(PrometheusError, self).__init__(msg, result=result)
        self.reachable = reachable
