# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``istioctl analyze`` folded into mtls_verify: the command over the same cluster and scope (one namespace, or
all namespaces filtered afterwards) and its JSON messages (codes ``ISTxxxx``) as findings.

:func:`command` and :func:`parse` are pure; :func:`run` runs the command through the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import json
import re
from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils.errors import CommandError

# istioctl's levels -> the module's severities.
LEVELS = {"Error": "error", "Warning": "warning", "Info": "info"}
# "Kind name" or "Kind namespace/name", optionally followed by " (...)"; "Namespace name" names a namespace.
ORIGIN_RE = re.compile(r"^(?P<kind>[A-Za-z]+) (?:(?P<namespace>[a-z0-9][-a-z0-9]*)/)?(?P<name>[^\s]+)")
# An entry of analyze_suppress: a code, or a code and the origin it is about (``*`` wildcards allowed).
SUPPRESS_RE = re.compile(r"^IST[0-9]{4}(=.+)?$")
# istioctl analyze's exit code when it found messages at or above its failure threshold (not a failure here).
ISSUES_FOUND = 79


def command(istioctl, namespaces, kubeconfig=None, context=None):
    """argv of one ``istioctl analyze -o json`` run: ``-n NS`` for one namespace, else ``--all-namespaces``."""
    argv = [istioctl, "analyze", "-o", "json"]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    if context:
        argv += ["--context", context]
    if len(namespaces) == 1:
        argv += ["--namespace", namespaces[0]]
    else:
        argv += ["--all-namespaces"]
    return argv


def origin_namespace(origin):
    """The namespace an analyzer message's origin names (``Pod shop/web-1``, ``Namespace shop``), or None."""
    found = ORIGIN_RE.match(origin or "")
    if not found:
        return None
    if found.group("kind") == "Namespace" and not found.group("namespace"):
        return found.group("name")
    return found.group("namespace")


def parse(stdout, namespaces):
    """The messages of ``istioctl analyze -o json`` about ``namespaces``, each an OrderedDict (code, level,
    severity, message, origin, namespace, documentation_url). Raises ValueError for output that is no list."""
    text = (stdout or "").strip()
    start = text.find("[")
    doc = json.loads(text[start:] if start >= 0 else text or "[]")
    if not isinstance(doc, list):
        raise ValueError("not a list of messages")
    out = []
    wanted = set(namespaces)
    for item in doc:
        if not isinstance(item, dict):
            continue
        ns = origin_namespace(item.get("origin"))
        if ns not in wanted:
            continue
        level = item.get("level") or "Info"
        out.append(OrderedDict([
            ("code", item.get("code") or "IST????"), ("level", level), ("severity", LEVELS.get(level, "info")),
            ("message", item.get("message") or ""), ("origin", item.get("origin")), ("namespace", ns),
            ("documentation_url", item.get("documentationUrl"))]))
    return out


def suppressed_by(message, rules):
    """The first rule of ``rules`` (``IST0133`` or ``IST0133=EnvoyFilter shop/*``) that suppresses ``message``."""
    for rule in rules or []:
        code, dummy, origin = rule.partition("=")
        if fnmatch.fnmatchcase(message["code"], code) and (not origin or fnmatch.fnmatchcase(
                message.get("origin") or "", origin.strip())):
            return rule
    return None


def split(messages, rules):
    """``(kept, suppressed)``: the messages no rule suppresses, and ``code origin`` of the others."""
    kept, gone = [], []
    for msg in messages:
        if suppressed_by(msg, rules):
            gone.append("{0} {1}".format(msg["code"], msg.get("origin")))
        else:
            kept.append(msg)
    return kept, gone


def run(module, istioctl, namespaces, kubeconfig=None, context=None):
    """Run the command; returns its messages about ``namespaces``. Raises :class:`CommandError` when istioctl
    fails or prints no JSON."""
    argv = command(istioctl, namespaces, kubeconfig, context)
    rc, out, err = module.run_command(argv)
    if rc not in (0, ISSUES_FOUND):
        raise CommandError("istioctl analyze failed (exit {0}): {1}".format(rc, (err or out).strip()[-1500:]))
    try:
        return parse(out, namespaces)
    except ValueError as exc:
        raise CommandError("istioctl analyze printed no JSON messages ({0}): {1}".format(exc, (out or err)[-500:]))
