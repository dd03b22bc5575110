# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to tell a user whose request the API server refused with 403 Forbidden.

A pure function from the refusal (the Status body and HTTP status of an
ApiException) and the request that was attempted (verb, resource, API group,
namespace) to a message naming the verb, the resource and the namespace, and the
RBAC rule to add. The server's own words (``User "x" cannot patch resource "y" in
API group "z" in the namespace "n"``) are preferred over what the caller says it
attempted: server-side apply, for instance, is authorized as ``patch`` (and
``create`` for a new object).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

DOCS = "docs/rbac.md"

_REFUSAL = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>[\w-]+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<namespace>[^"]+)"| at the cluster scope)?')

# What the collection's layer calls an action, as the verb RBAC checks.
VERBS = {"apply": "patch", "read": "get", "get": "get", "list": "list", "delete": "delete",
         "label": "patch", "patch": "patch", "create": "create", "watch": "watch", "look up": "get"}


def _server_message(body):
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, dict):
        return body.get("message") or ""
    if not body:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return str(body)
    return (data.get("message") or "") if isinstance(data, dict) else str(body)


def _flow(values):
    return "[" + ", ".join('""' if v == "" else v for v in values) + "]"


def rule(verb, resource, group=""):
    """The RBAC rule granting ``verb`` on ``resource`` of API ``group``, in YAML flow style."""
    return "{{apiGroups: {0}, resources: {1}, verbs: {2}}}".format(
        _flow([group or ""]), _flow([resource]), _flow([verb]))


def message(body, status, verb=None, resource=None, group=None, namespace=None):
    """The explanation of a 403 refusal, or None when ``status`` is not 403.

    ``body`` is the ApiException's body (JSON Status as bytes or text, or already a dict);
    ``verb``/``resource``/``group``/``namespace`` describe what was attempted and fill in
    whatever the server's message does not say.
    """
    if status != 403:
        return None
    found = _REFUSAL.search(_server_message(body))
    parts = found.groupdict() if found else {}
    user = parts.get("user")
    verb = parts.get("verb") or VERBS.get(verb, verb) or "?"
    resource = parts.get("resource") or resource or "?"
    group = parts.get("group") if parts.get("group") is not None else (group or "")
    namespace = parts.get("namespace") if found else namespace
    qualified = resource + ("." + group if group else "")
    who = 'user "{0}"'.format(user) if user else "the credentials in use"
    if namespace:
        where = 'in namespace "{0}"'.format(namespace)
        grant = 'add this rule to a Role in namespace "{0}" bound to {1} (or to a ClusterRole bound there)'.format(
            namespace, who)
    else:
        where = "at the cluster scope"
        grant = "add this rule to a ClusterRole bound to {0} by a ClusterRoleBinding".format(who)
    return "RBAC: {0} may not {1} {2} {3}; {4}: {5} (see {6} for the rules each module and role needs)".format(
        who, verb, qualified, where, grant, rule(verb, resource, group), DOCS)
