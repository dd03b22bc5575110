# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes client layer every meshops.istio runner uses.

The API client is kubernetes.core's, built from its connection options. On top of it:

* get / list (label selectors, pagination) / server-side apply (field manager
  ``meshops``) / merge patch / delete, each retried on transient errors only;
* plan / commit: every object dry-run on the server before anything is written;
  an apply that would change nothing sends no write at all;
* check mode: every write becomes a server-side dry run (``dryRun=All``);
* errors become :class:`errors.ApiError` naming the action and the object.

Waiting is :mod:`waiter`'s; the module entry and the result contract are :mod:`module`'s.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time
from collections import Counter, OrderedDict, namedtuple

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.meshops.istio.plugins.module_utils import forbidden, retry
from ansible_collections.meshops.istio.plugins.module_utils.diff import differs
from ansible_collections.meshops.istio.plugins.module_utils.errors import (
    ApiError, KindNotServed, MeshError, namespace_missing, ref)

FIELD_MANAGER = "meshops"
DRY_RUN = "All"
PAGE_SIZE = 500


class Change(namedtuple("Change", "obj action before after")):
    """One object's planned or applied change: action is created, updated or unchanged."""

    __slots__ = ()


def _api_message(exc):
    """The server's own message out of an API error body, when there is one."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            return json.loads(body).get("message") or body
        except (ValueError, AttributeError):
            return body
    return getattr(exc, "summary", lambda: None)() or to_native(exc)


def translate(exc, action, what):
    """Turn a client exception into an :class:`ApiError` that says what failed."""
    if isinstance(exc, MeshError):
        return exc
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0:
        reason = getattr(exc, "reason", None)
        msg = "Could not {0} {1}: HTTP {2}{3}: {4}".format(
            action, what, status, " " + reason if reason else "", _api_message(exc))
        rbac = forbidden.message(getattr(exc, "body", None), status, verb=action)
        msg += ". " + rbac if rbac else ""
        return ApiError(msg, status=status, reason=reason)
    if retry.is_transient(exc):
        tries = getattr(exc, "meshops_retries", None)
        return ApiError("Could not {0} {1}: the Kubernetes API server cannot be reached{2} ({3})".format(
            action, what, " after {0} tries in {1}s (retry budget: {2})".format(tries[0], tries[1], retry.BUDGET_ENV)
            if tries else "", to_native(exc)))
    name = type(exc).__name__
    if name in ("ResourceNotFoundError", "ResourceNotUniqueError"):
        return KindNotServed("Could not {0} {1}: the API server does not serve this kind; "
                             "is its CustomResourceDefinition installed?".format(action, what))
    return ApiError("Could not {0} {1}: {2}: {3}".format(action, what, name, to_native(exc)))


class Kube:
    """Kubernetes access for one module run.

    ``client`` (a ``kubernetes.dynamic.DynamicClient``) may be injected by tests;
    otherwise it is kubernetes.core's client, built from the module's
    connection options on first use. ``field_manager`` names the server-side apply field manager of
    every write (``meshops``; a runner whose writes must not take over another runner's fields sets its own).
    """

    field_manager = FIELD_MANAGER

    def __init__(self, module, client=None, sleep=time.sleep, clock=time.monotonic):
        self.module = module
        self.check_mode = bool(getattr(module, "check_mode", False))
        self._client = client
        self.sleep = sleep
        self.clock = clock
        self._resources = {}
        self.calls = Counter()

    # -- plumbing -----------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
            try:
                self._client = retry.call(lambda: get_api_client(module=self.module).client, sleep=self.sleep)
            except Exception as exc:  # pylint: disable=broad-except
                if retry.is_transient(exc):
                    raise ApiError("Could not create the Kubernetes API client: the Kubernetes API server "
                                   "cannot be reached ({0})".format(to_native(exc)))
                raise ApiError("Could not create the Kubernetes API client: {0}".format(to_native(exc)))
        return self._client

    def _call(self, verb, action, what, fn):
        def counted():
            self.calls[verb] += 1
            return fn()
        try:
            return retry.call(counted, sleep=self.sleep, on_retry=self._on_retry)
        except Exception as exc:  # pylint: disable=broad-except
            raise translate(exc, action, what)

    def _on_retry(self, exc, attempt, wait):
        self.calls["retries"] += 1
        if hasattr(self.module, "debug"):
            self.module.debug("retrying after transient error (attempt {0}, next in {1:.2f}s): {2}".format(
                attempt, wait, to_native(exc)))

    def resource(self, api_version, kind):
        """The API resource for ``api_version``/``kind`` (discovery is cached)."""
        key = (api_version, kind)
        if key not in self._resources:
            what = "{0} ({1})".format(kind, api_version)
            self._resources[key] = self._call(
                "discovery", "look up", what,
                lambda: self.client.resources.get(api_version=api_version, kind=kind))
        return self._resources[key]

    @property
    def wrote(self):
        """True once a real (not dry-run) write was sent."""
        return bool(self.calls.get("apply") or self.calls.get("patch") or self.calls.get("delete"))

    def served(self, api_version, kind):
        """True when the API server serves ``api_version``/``kind``."""
        try:
            self.resource(api_version, kind)
            return True
        except KindNotServed:
            return False

    def forget_resources(self):
        """Drop cached discovery, e.g. after CRDs were created."""
        self._resources.clear()
        invalidate = getattr(getattr(self.client, "resources", None), "invalidate_cache", None)
        if invalidate is not None:
            invalidate()

    @staticmethod
    def _dict(result):
        if result is None:
            return None
        return result.to_dict() if hasattr(result, "to_dict") else result

    # -- reads --------------------------------------------------------------

    def get(self, api_version, kind, name, namespace=None):
        """The object as a dict, or None when it does not exist."""
        res = self.resource(api_version, kind)
        what = ref(kind=kind, name=name, namespace=namespace if res.namespaced else None)
        try:
            return self._dict(self._call("get", "read", what, lambda: self.client.get(
                res, name=name, namespace=namespace if res.namespaced else None)))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None,
             page_size=PAGE_SIZE):
        """Every object of a kind (in ``namespace``, or all), following pagination."""
        res = self.resource(api_version, kind)
        what = "{0} objects{1}".format(kind, " in namespace " + namespace if namespace else "")
        items, token = [], None
        while True:
            params = dict(namespace=namespace if res.namespaced else None, limit=page_size,
                          label_selector=label_selector, field_selector=field_selector)
            if token:
                params["_continue"] = token
            page = self._dict(self._call("list", "list", what,
                                         lambda p=params: self.client.get(res, **p)))
            for item in page.get("items") or []:
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", api_version)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    # -- writes -------------------------------------------------------------

    def _ssa(self, obj, dry_run, force_conflicts):
        api_version, kind = obj["apiVersion"], obj["kind"]
        meta = obj.get("metadata") or {}
        res = self.resource(api_version, kind)
        params = dict(body=obj, name=meta.get("name"),
                      namespace=meta.get("namespace") if res.namespaced else None,
                      field_manager=self.field_manager, force_conflicts=force_conflicts or None)
        if dry_run or self.check_mode:
            params["dry_run"] = DRY_RUN
        verb = "apply_dry_run" if "dry_run" in params else "apply"
        try:
            return self._dict(self._call(verb, "apply", ref(obj),
                                         lambda: self.client.server_side_apply(res, **params)))
        except ApiError as exc:
            if exc.status == 409:
                exc.msg = "{0} (another field manager owns these fields; set force_conflicts " \
                    "to take them over)".format(exc.msg)
                exc.args = (exc.msg,)
            raise

    def plan(self, objs, force_conflicts=False, assume_absent=(), live=None):
        """Ask the server what applying ``objs`` would do, writing nothing.

        Reads the live state (see :meth:`live_objects`) and server-side dry-runs
        every apply, so RBAC, admission webhooks and schemas judge every object
        before anything is written. ``assume_absent`` holds keys of objects that
        cannot be dry-run yet (their namespace or CRD is created by the same
        change); they are planned as created, as given. ``live`` is the live
        state when the caller has read it already. In check mode, an object whose
        namespace does not exist yet (an earlier step creates it) is planned as
        created, as given, with a warning. Returns a list of :class:`Change`;
        raises :class:`ApiError` listing every refusal.
        """
        pending = set(assume_absent)
        if live is None:
            live = self.live_objects([o for o in objs if self.key(o) not in pending])
        changes, refused, missing = [], [], set()
        for obj in objs:
            key = self.key(obj)
            if key in pending:
                changes.append(Change(obj, "created", None, obj))
                continue
            before = live.get(key)
            try:
                predicted = self._ssa(obj, dry_run=True, force_conflicts=force_conflicts)
            except ApiError as exc:
                if self.check_mode and namespace_missing(exc, obj):
                    missing.add(namespace_missing(exc, obj))
                    changes.append(Change(obj, "created", None, obj))
                else:
                    refused.append(exc)
                continue
            if before is None:
                action = "created"
            elif differs(before, predicted):
                action = "updated"
            else:
                action, predicted = "unchanged", before
            changes.append(Change(obj, action, before, predicted))
        if missing:
            self.module.warn("check mode: namespace {0} does not exist yet; its objects are reported as created "
                             "without a server-side dry run".format(", ".join(sorted(missing))))
        if refused:
            status = refused[0].status if len({e.status for e in refused}) == 1 else 0
            raise ApiError("{0} of {1} objects would be refused by the API server; nothing was written:\n- {2}".format(
                len(refused), len(objs), "\n- ".join(e.msg for e in refused)), status=status)
        return changes

    def commit(self, changes, force_conflicts=False):
        """Apply the planned changes that change something (nothing in check mode).

        Returns the changes with ``after`` set to what the server stored.
        """
        done = []
        for change in changes:
            if change.action != "unchanged" and not self.check_mode:
                change = change._replace(after=self._ssa(change.obj, dry_run=False,
                                                         force_conflicts=force_conflicts))
            done.append(change)
        return done

    def apply(self, obj, force_conflicts=False):
        """Plan and commit one object: returns its :class:`Change`."""
        return self.apply_all([obj], force_conflicts=force_conflicts)[0]

    def apply_all(self, objs, force_conflicts=False):
        """Plan every object, then commit: nothing is written unless the server accepts all."""
        return self.commit(self.plan(objs, force_conflicts=force_conflicts), force_conflicts=force_conflicts)

    def live_objects(self, objs):
        """Live copies of ``objs`` keyed by :meth:`key`: a GET for a lone object, else one list
        per apiVersion, kind and namespace."""
        groups = OrderedDict()
        for obj in objs:
            meta = obj.get("metadata") or {}
            groups.setdefault((obj["apiVersion"], obj["kind"], meta.get("namespace")), []).append(obj)
        live = {}
        for (api_version, kind, namespace), members in groups.items():
            if len(members) == 1:
                meta = members[0].get("metadata") or {}
                found = self.get(api_version, kind, meta.get("name"), namespace)
                items = [found] if found else []
            else:
                items = self.list(api_version, kind, namespace=namespace)
            for item in items:
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", api_version)
                live[self.key(item)] = item
        return live

    @staticmethod
    def key(obj):
        meta = obj.get("metadata") or {}
        group = obj["apiVersion"].rpartition("/")[0]
        return (group, obj["kind"], meta.get("namespace") or None, meta.get("name"))

    def patch(self, api_version, kind, name, body, namespace=None, action="patch", dry_run=False,
              content_type="application/merge-patch+json"):
        """Patch one object (JSON merge patch by default: ``None`` removes a key, which server-side
        apply cannot do for a field another manager set). Dry run when asked and in check mode."""
        res = self.resource(api_version, kind)
        params = dict(body=body, name=name, namespace=namespace if res.namespaced else None,
                      content_type=content_type, field_manager=self.field_manager)
        if dry_run or self.check_mode:
            params["dry_run"] = DRY_RUN
        verb = "patch_dry_run" if "dry_run" in params else "patch"
        what = ref(kind=kind, name=name, namespace=params["namespace"])
        return self._dict(self._call(verb, action, what, lambda: self.client.patch(res, **params)))

    def delete(self, obj, propagation_policy="Background"):
        """Delete ``obj`` (a dict with apiVersion, kind, metadata); dry run in check mode.

        Returns True when something was (or, in check mode, would be) deleted.
        """
        meta = obj.get("metadata") or {}
        res = self.resource(obj["apiVersion"], obj["kind"])
        params = dict(name=meta.get("name"), namespace=meta.get("namespace") if res.namespaced else None,
                      propagation_policy=propagation_policy)
        if self.check_mode:
            params["dry_run"] = DRY_RUN
        try:
            self._call("delete_dry_run" if self.check_mode else "delete", "delete", ref(obj),
                       lambda: self.client.delete(res, **params))
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True
