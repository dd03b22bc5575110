# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes client layer every meshops.istio runner uses.

The API client is kubernetes.core's, built from its connection options. On top of it:

* get / list (label selectors, pagination) / server-side apply (field manager
  ``meshops``) / merge patch / delete, each retried on transient errors only (:mod:`calls`);
* plan / commit: every object that may change dry-run on the server before anything is
  written (one that certainly would not, by its managed fields, is not: :mod:`fields`);
  an apply that would change nothing sends no write at all;
* bounded parallelism: dry runs, writes and reads of a batch go at most ``concurrency``
  (8 by default, or the module's ``concurrency`` option) at once (:mod:`batch`), CRDs
  then namespaces before the rest, results and errors in the input's order;
* check mode: every write becomes a server-side dry run (``dryRun=All``);
* errors become :class:`errors.ApiError` naming the action and the object.

Waiting is :mod:`waiter`'s; the module entry and the result contract are :mod:`module`'s.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time
from collections import OrderedDict, namedtuple

from ansible_collections.meshops.istio.plugins.module_utils import batch, fields
from ansible_collections.meshops.istio.plugins.module_utils.calls import Calls, combined, new_client, plain
from ansible_collections.meshops.istio.plugins.module_utils.diff import differs
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, KindNotServed, namespace_missing, ref

FIELD_MANAGER = "meshops"
DRY_RUN = "All"
PAGE_SIZE = 500
DEFAULT_CONCURRENCY = batch.DEFAULT_LIMIT
# Writes the server needs before others: CRDs (their kinds), then namespaces (their objects); then the rest.
PHASES = {"CustomResourceDefinition": 0, "Namespace": 1}


class Change(namedtuple("Change", "obj action before after")):
    """One object's planned or applied change: action is created, updated or unchanged."""

    __slots__ = ()


class Kube:
    """Kubernetes access for one module run.

    ``client`` (a ``kubernetes.dynamic.DynamicClient``) may be injected by tests;
    otherwise it is kubernetes.core's client, built from the module's
    connection options on first use. ``concurrency`` bounds the calls of a batch
    in flight (default: the module's ``concurrency`` option, else 8). ``field_manager`` names the server-side
    apply field manager of every write (``meshops``; a runner whose writes must not take over another runner's
    fields sets its own).
    """

    field_manager = FIELD_MANAGER

    def __init__(self, module, client=None, sleep=time.sleep, clock=time.monotonic, concurrency=None):
        self.module = module
        self.check_mode = bool(getattr(module, "check_mode", False))
        self._client = client
        self.sleep = sleep
        self.clock = clock
        self._resources = {}
        self._lock = threading.RLock()
        self._call = Calls(module, sleep=sleep)
        self.calls = self._call.counts
        params = getattr(module, "params", None)
        self.concurrency = int(concurrency or (params.get("concurrency") if isinstance(params, dict) else None)
                               or DEFAULT_CONCURRENCY)

    # -- plumbing -----------------------------------------------------------

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = new_client(self.module, self.concurrency, sleep=self.sleep)
            return self._client

    def parallel(self, calls, concurrency=None, stop_on_error=False):
        """:func:`batch.run` of ``calls`` with this run's concurrency (or ``concurrency``)."""
        return batch.run(calls, limit=concurrency or self.concurrency, stop_on_error=stop_on_error)

    def _prefetch(self, objs):
        """Resolve the client and kinds before calls go out in parallel (a kind not served fails in its calls)."""
        for obj in objs:
            try:
                self.resource(obj["apiVersion"], obj["kind"])
            except KindNotServed:
                pass

    def resource(self, api_version, kind):
        """The API resource for ``api_version``/``kind`` (discovery is cached)."""
        key = (api_version, kind)
        with self._lock:
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
                res, name=name, namespace=namespace if res.namespaced else None, serializer=plain)))
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
                          label_selector=label_selector, field_selector=field_selector, serializer=plain)
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
                      field_manager=self.field_manager, force_conflicts=force_conflicts or None, serializer=plain)
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

    def plan(self, objs, force_conflicts=False, assume_absent=(), live=None, concurrency=None):
        """Ask the server what applying ``objs`` would do, writing nothing.

        Reads the live state (:meth:`live_objects`) and server-side dry-runs every apply that may change
        something, at most ``concurrency`` at once, so RBAC, admission webhooks and schemas judge each before
        anything is written. An object whose desired fields are all live and whose field manager's managed
        fields are exactly its field set is not dry-run: an apply could neither change nor drop anything
        (:mod:`fields`). ``assume_absent``: keys of objects that cannot be dry-run yet (their namespace or CRD
        is created by the same change), planned as created, as given; so is, in check mode, an object whose
        namespace does not exist yet (an earlier step creates it), with a warning. ``live``: the live state
        when the caller has read it. Returns :class:`Change` s in the order of ``objs``; raises
        :class:`ApiError` listing every refusal, in that order.
        """
        pending = set(assume_absent)
        if live is None:
            live = self.live_objects([o for o in objs if self.key(o) not in pending], concurrency=concurrency)
        changes = [None] * len(objs)
        asks = []
        for i, obj in enumerate(objs):
            key = self.key(obj)
            before = live.get(key)
            if key in pending:
                changes[i] = Change(obj, "created", None, obj)
            elif before is not None and fields.unchanged(obj, before, self.field_manager):
                changes[i] = Change(obj, "unchanged", before, before)
            else:
                asks.append(i)
        self._prefetch(objs[i] for i in asks)
        outcomes = self.parallel([lambda o=objs[i]: self._ssa(o, dry_run=True, force_conflicts=force_conflicts)
                                  for i in asks], concurrency=concurrency)
        refused, missing = [], set()
        for i, outcome in zip(asks, outcomes):
            if outcome.error is not None:
                if not isinstance(outcome.error, ApiError):
                    raise outcome.error
                if self.check_mode and namespace_missing(outcome.error, objs[i]):
                    missing.add(namespace_missing(outcome.error, objs[i]))
                    changes[i] = Change(objs[i], "created", None, objs[i])
                else:
                    refused.append(outcome.error)
                continue
            obj, before, predicted = objs[i], live.get(self.key(objs[i])), outcome.value
            if before is None:
                action = "created"
            elif differs(before, predicted):
                action = "updated"
            else:
                action, predicted = "unchanged", before
            changes[i] = Change(obj, action, before, predicted)
        if missing:
            self.module.warn("check mode: namespace {0} does not exist yet; its objects are reported as created "
                             "without a server-side dry run".format(", ".join(sorted(missing))))
        if refused:
            raise combined(refused, "{0} of {1} objects would be refused by the API server; nothing was "
                                    "written".format(len(refused), len(objs)), alone=False)
        return changes

    def commit(self, changes, force_conflicts=False, concurrency=None):
        """Apply the planned changes that change something (nothing in check mode), at most ``concurrency``
        at once: CRDs first, then namespaces, then the rest (:data:`PHASES`). Returns the changes, in their
        order, with ``after`` set to what the server stored. After a failed write no further write starts;
        the error names every failed object, in the input's order.
        """
        done = list(changes)
        todo = [] if self.check_mode else [i for i, c in enumerate(changes) if c.action != "unchanged"]
        self._prefetch(changes[i].obj for i in todo)
        for group in batch.phases(todo, lambda i: PHASES.get(changes[i].obj.get("kind"), len(PHASES))):
            outcomes = self.parallel([lambda o=changes[i].obj: self._ssa(o, dry_run=False,
                                                                         force_conflicts=force_conflicts)
                                      for i in group], concurrency=concurrency, stop_on_error=True)
            failed = [o.error for o in outcomes if o.error is not None]
            for i, outcome in zip(group, outcomes):
                if outcome.ran and outcome.error is None:
                    done[i] = changes[i]._replace(after=outcome.value)
            if failed:
                if not all(isinstance(e, ApiError) for e in failed):
                    raise next(e for e in failed if not isinstance(e, ApiError))
                raise combined(failed, "{0} of {1} writes failed".format(len(failed), len(todo)))
        return done

    def apply(self, obj, force_conflicts=False):
        """Plan and commit one object: returns its :class:`Change`."""
        return self.apply_all([obj], force_conflicts=force_conflicts)[0]

    def apply_all(self, objs, force_conflicts=False, concurrency=None):
        """Plan every object, then commit: nothing is written unless the server accepts all."""
        return self.commit(self.plan(objs, force_conflicts=force_conflicts, concurrency=concurrency),
                           force_conflicts=force_conflicts, concurrency=concurrency)

    def delete_all(self, objs, propagation_policy="Background", concurrency=None):
        """Delete ``objs`` (:meth:`delete`), at most ``concurrency`` at once, stopping at the first failure;
        returns, in their order, whether each was (in check mode, would be) deleted."""
        objs = list(objs)
        self._prefetch(objs)
        return batch.values(self.parallel([lambda o=o: self.delete(o, propagation_policy) for o in objs],
                                          concurrency=concurrency, stop_on_error=True))

    def live_objects(self, objs, concurrency=None):
        """Live copies of ``objs`` keyed by :meth:`key`: a GET for a lone object, else one list per
        apiVersion, kind and namespace (the reads at most ``concurrency`` at once)."""
        groups = OrderedDict()
        for obj in objs:
            meta = obj.get("metadata") or {}
            groups.setdefault((obj["apiVersion"], obj["kind"], meta.get("namespace")), []).append(obj)

        def read(api_version, kind, namespace, members):
            if len(members) == 1:
                found = self.get(api_version, kind, (members[0].get("metadata") or {}).get("name"), namespace)
                return [found] if found else []
            return self.list(api_version, kind, namespace=namespace)

        self._prefetch(objs)
        found = batch.values(self.parallel([lambda g=g, m=m: read(g[0], g[1], g[2], m) for g, m in groups.items()],
                                           concurrency=concurrency))
        live = {}
        for (api_version, kind, dummy), items in zip(groups, found):
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
                      content_type=content_type, field_manager=self.field_manager, serializer=plain)
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
