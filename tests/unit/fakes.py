# -*- coding: utf-8 -*-
"""Fakes for unit tests: a fake of the dynamic client that behaves like an API server
for get/list/server-side apply/delete, and records every call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from kubernetes.client.exceptions import ApiException

from ansible_collections.meshops.istio.tests.unit import managed

CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}


def api_error(status, reason="", message=""):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps({"kind": "Status", "message": message or reason, "code": status})
    return exc


merge = managed.merge


def matches(obj, selector):
    """Equality and existence label selectors: 'a,b=c'."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in (selector or "").split(","):
        if not term:
            continue
        key, eq, value = term.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


class FakeResource:
    def __init__(self, api_version, kind):
        self.api_version, self.kind = api_version, kind
        self.namespaced = kind not in CLUSTER_SCOPED


class FakeResources:
    def __init__(self, client):
        self.client = client

    def get(self, api_version, kind):
        self.client.record("discovery", api_version=api_version, kind=kind)
        return FakeResource(api_version, kind)


class FakeClient:
    """Objects live in ``store``; ``fail`` queues exceptions raised by the next calls. Server-side applies
    keep managedFields as the API server does (:mod:`managed`); ``defaulting[kind]`` is called on every object
    of that kind written (the server's defaults); :meth:`edit` is an update by another field manager."""

    def __init__(self, objects=()):
        self.store = {}
        self.calls = []
        self.failures = []
        self.rv = 100
        self.defaulting = {}
        self.resources = FakeResources(self)
        for obj in objects:
            self._put(copy.deepcopy(obj))

    def record(self, method, **kwargs):
        kwargs.pop("serializer", None)  # the transport's concern: the fake returns plain dicts anyway
        self.calls.append((method, kwargs))
        if self.failures:
            exc = self.failures.pop(0)
            if exc is not None:
                raise exc

    def fail(self, *excs):
        self.failures.extend(excs)

    def writes(self):
        return [(m, kw) for m, kw in self.calls if m in ("server_side_apply", "delete")]

    @staticmethod
    def _key(res, name, namespace):
        return (res.api_version, res.kind, namespace if res.namespaced else None, name)

    def _put(self, obj):
        self.rv += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.rv)
        meta.setdefault("uid", "uid-" + meta["name"])
        if obj.get("kind") in self.defaulting:
            self.defaulting[obj["kind"]](obj)
        if obj.get("kind") == "CustomResourceDefinition":  # the apiextensions server establishes it
            obj["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
        self.store[(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])] = obj

    def get(self, res, name=None, namespace=None, **kwargs):
        self.record("get", name=name, namespace=namespace, **kwargs)
        if name:
            obj = self.store.get(self._key(res, name, namespace))
            if obj is None:
                raise api_error(404, "Not Found", "%s %s not found" % (res.kind, name))
            return copy.deepcopy(obj)
        items = [copy.deepcopy(o) for (a, k, ns, n), o in sorted(self.store.items(), key=lambda kv: str(kv[0]))
                 if a == res.api_version and k == res.kind and (namespace is None or ns == namespace)
                 and matches(o, kwargs.get("label_selector"))]
        limit, start = kwargs.get("limit"), int(kwargs.get("_continue") or 0)
        page = items[start:start + limit] if limit else items[start:]
        more = limit and start + limit < len(items)
        return {"items": page, "metadata": {"continue": str(start + limit) if more else None}}

    def server_side_apply(self, res, body=None, name=None, namespace=None, **kwargs):
        self.record("server_side_apply", name=name, namespace=namespace, **kwargs)
        key = self._key(res, name, namespace)
        current = self.store.get(key)
        try:
            result, owners = managed.apply(current, body, kwargs.get("field_manager") or "unknown",
                                           kwargs.get("force_conflicts"))
        except managed.Conflict as exc:
            raise api_error(409, "Conflict", "Apply failed with {0} conflict(s): {1}".format(
                len(exc.paths), ", ".join('conflict with "{0}": {1}'.format(m, ".".join(p)) for m, p in exc.paths)))
        managed.write_entries(result, owners, body.get("apiVersion"), "t")
        if kwargs.get("dry_run") == "All":
            if res.kind in self.defaulting:
                self.defaulting[res.kind](result)
            result["metadata"]["resourceVersion"] = (current or {}).get("metadata", {}).get("resourceVersion", "")
            return result
        if current is not None and self._same(current, result):
            return copy.deepcopy(current)
        self._put(result)
        return copy.deepcopy(self.store[key])

    def _same(self, current, result):
        probe = copy.deepcopy(result)
        if probe.get("kind") in self.defaulting:
            self.defaulting[probe["kind"]](probe)
        probe["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
        probe["metadata"].setdefault("uid", current["metadata"].get("uid"))
        return probe == current

    def edit(self, key, changes, manager="kubectl-edit"):
        """An update by another field manager: ``changes`` maps paths of field names to values."""
        result, owners = managed.update(self.store[key], changes, manager)
        managed.write_entries(result, owners, result.get("apiVersion"), "t")
        self._put(result)

    def delete(self, res, name=None, namespace=None, **kwargs):
        self.record("delete", name=name, namespace=namespace, **kwargs)
        key = self._key(res, name, namespace)
        if key not in self.store:
            raise api_error(404, "Not Found")
        if kwargs.get("dry_run") != "All":
            del self.store[key]
        return {}


class FakeModule:
    def __init__(self, check_mode=False, diff=False):
        self.check_mode = check_mode
        self._diff = diff
        self.params = {}
        self.debugs = []
        self.warnings = []

    def debug(self, msg):
        self.debugs.append(msg)

    def warn(self, msg):
        self.warnings.append(msg)


class Clock:
    """A clock that moves only when slept on: Kube(..., sleep=clock.sleep, clock=clock)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def cm(name="app", namespace="demo", data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data or {"a": "1"}}


def arg_errors(spec, params, **constraints):
    """What Ansible's argument spec validation (types, choices, exclusivity) says about ``params``, as the
    module would before its runner starts: the list of error messages. Options set to None count as not given."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    given = dict((k, v) for k, v in params.items() if v is not None)
    return [str(e) for e in ArgumentSpecValidator(spec, **constraints).validate(given).errors]
