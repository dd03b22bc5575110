# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of module input, one rule for all modules.

The argument spec owns types, choices and exclusivity (Ansible refuses those before a runner starts). What
it cannot say is checked here: values inside free-form mappings and lists, ranges, and rules between
fields. :class:`Problems` collects every problem with its field path
(``authorization_policies[1].rules[0].from[0].principals[2]``) so all of them are reported at once,
before any API call; :func:`check_keys` refuses unknown keys in a mapping, naming the allowed ones;
:func:`options` checks a nested mapping against an argument spec of its own, every problem named by its path
(Ansible's suboption check stops at the first, without the list index); :func:`seconds` is the one rule of a
duration given as seconds or as text (``30``, ``1.5s``, ``2m``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import math
import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError

# The one DNS label (RFC 1123): namespace names, revisions, port names.
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_LABEL_RE = re.compile(r"^{0}$".format(DNS_LABEL))
# A DNS subdomain: object names.
NAME_RE = re.compile(r"^{0}(\.{0})*$".format(DNS_LABEL))
TRUST_DOMAIN = r"[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?"
# Istio matches principals exactly, or with one `*` as a prefix or suffix wildcard.
PRINCIPAL_RES = (
    re.compile(r"^\*$"),
    re.compile(r"^{0}/ns/{1}/sa/({1}|\*)$".format(TRUST_DOMAIN, DNS_LABEL)),
    re.compile(r"^{0}/ns/{1}/\*$".format(TRUST_DOMAIN, DNS_LABEL)),
    re.compile(r"^\*/ns/{0}/sa/{0}$".format(DNS_LABEL)),
)
PRINCIPAL_FORMS = ("<trust-domain>/ns/<namespace>/sa/<service-account> (for example "
                   "cluster.local/ns/shop/sa/web), cluster.local/ns/<namespace>/sa/*, "
                   "cluster.local/ns/<namespace>/*, */ns/<namespace>/sa/<service-account>, or *")
HOST_RE = re.compile(r"^(\*\.)?([A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?\.)*[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$")
LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# Istio / protobuf durations: 1.5s, 300ms, 1h2m, ... (Go's syntax without a sign, which Istio refuses)
DURATION_RE = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$")
DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
NANOSECONDS = {"h": 3600 * 10 ** 9, "m": 60 * 10 ** 9, "s": 10 ** 9, "ms": 10 ** 6, "us": 10 ** 3, "µs": 10 ** 3, "ns": 1}


class Problems:
    """Collects every validation problem; :meth:`raise_any` raises them as one InputError."""

    def __init__(self):
        self.items = []

    def add(self, path, msg):
        self.items.append("{0}: {1}".format(path, msg))

    def raise_any(self):
        if self.items:
            raise InputError("{0} invalid value(s); nothing was written:\n- {1}".format(
                len(self.items), "\n- ".join(self.items)))


def join(path, key):
    """``path.key``, or ``path[key]`` for a list index."""
    return "{0}[{1}]".format(path, key) if isinstance(key, int) else "{0}.{1}".format(path, key)


def check_keys(problems, path, value, allowed):
    """The one check of a mapping's keys: every key must be one of ``allowed``. A typo (``form:`` for
    ``from:``) is named with its path and the allowed keys, instead of being silently ignored.
    Returns True when ``value`` is a mapping (whatever its keys)."""
    if not isinstance(value, dict):
        problems.add(path, "must be a mapping with keys from {0}, not {1!r}".format(", ".join(allowed), value))
        return False
    for key in value:
        if key not in allowed:
            problems.add(join(path, key), "unknown key {0!r}: the allowed keys are {1}".format(
                key, ", ".join(allowed)))
    return True


TYPES = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "a string",
         "dict": "a mapping", "list": "a list"}


def _convert(value, kind):
    """``(True, value as kind)`` or ``(False, None)``: Ansible's conversions (digits, yes/no), never bool to number."""
    if kind == "raw":
        return True, value
    if kind == "bool":
        try:
            return True, boolean(value, strict=True)
        except TypeError:
            return False, None
    if kind in ("int", "float"):
        if isinstance(value, str) and re.match(r"^\s*-?\d+(\.\d+)?\s*$", value):
            value = float(value) if "." in value else int(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False, None
        if kind == "float":
            return True, float(value)
        return (True, int(value)) if float(value).is_integer() else (False, None)
    if kind == "str":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        return isinstance(value, str), value if isinstance(value, str) else None
    wanted = dict if kind == "dict" else list
    return isinstance(value, wanted), value if isinstance(value, wanted) else None


def _option(problems, path, value, rule):
    kind = rule.get("type") or "str"
    ok, converted = _convert(value, kind)
    if not ok:
        problems.add(path, "must be {0}, not {1!r}".format(TYPES[kind], value))
        return None
    value = converted
    if rule.get("choices") is not None and value not in rule["choices"]:
        choice(problems, path, value, list(rule["choices"]))
        return None
    if kind == "dict" and rule.get("options"):
        return options(problems, path, value, rule["options"])
    if kind == "list" and rule.get("elements"):
        element = {"type": rule["elements"], "options": rule.get("options"), "choices": rule.get("choices")}
        return [_option(problems, join(path, i), item, element) for i, item in enumerate(value)]
    return value


def options(problems, path, value, spec):
    """A nested mapping checked against ``spec`` (``{key: {type, required, default, choices, elements, options}}``,
    an argument spec) as Ansible checks options, every problem named by its path: unknown keys (the allowed ones
    listed), required keys, types (converted as Ansible does: ``"10"`` for an int), choices, nested ``options``.
    Null is not given. Returns the mapping with defaults (None for a wrong value), or None for no mapping."""
    if not check_keys(problems, path, value, list(spec)):
        return None
    out = {}
    for key, rule in spec.items():
        given = value.get(key)
        if given is None:
            if rule.get("required"):
                problems.add(join(path, key), "is required")
            given = copy.deepcopy(rule.get("default"))
        out[key] = None if given is None else _option(problems, join(path, key), given, rule)
    return out


def strings(problems, path, value, check=None, allow_empty=False):
    """A list of non-empty strings: returns the good ones, problems reported for the rest. ``check``, when
    given, is called as ``check(problems, path[i], item)`` for every good item, with its own index."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, "must be a list, not {0!r}".format(value))
        return []
    if not value and not allow_empty:
        problems.add(path, "must not be an empty list (leave it out instead)")
    good = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problems.add(join(path, i), "must be a non-empty string, not {0!r}".format(item))
            continue
        good.append(item)
        if check is not None:
            check(problems, join(path, i), item)
    return good


def items(problems, path, value, what):
    """A non-empty list (``what`` names its elements), or [] after reporting the problem."""
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        problems.add(path, "must be a non-empty list of {0}, not {1!r}".format(what, value))
        return []
    return value


def mappings(problems, path, value, what):
    """``(path[i], item)`` for every mapping of the non-empty list ``value`` (``what`` says what it must hold);
    a missing or empty list and items that are no mapping are reported."""
    if not isinstance(value, list) or not value:
        problems.add(path, "must be a non-empty list of {0}".format(what))
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append((join(path, i), item))
        else:
            problems.add(join(path, i), "must be a mapping, not {0!r}".format(item))
    return out


def named_item(problems, path, item, what, seen):
    """An object given as a mapping with ``name`` and ``namespace``: both valid, and not given twice for the same
    ``what`` (``seen`` maps ``(what, namespace, name)`` to the path that gave it first). True when a mapping."""
    if not isinstance(item, dict):
        problems.add(path, "must be a mapping with name and namespace, not {0!r}".format(item))
        return False
    name(problems, path + ".name", item.get("name"))
    dns_label(problems, path + ".namespace", item.get("namespace"))
    key = (what, item.get("namespace"), item.get("name"))
    if key in seen:
        problems.add(path, "{0} {1}/{2} is also given as {3}".format(
            what, item.get("namespace"), item.get("name"), seen[key]))
    seen[key] = path
    return True


def name(problems, path, value):
    """An object name: a DNS subdomain of at most 253 characters."""
    if not isinstance(value, str) or not value or len(value) > 253 or not NAME_RE.match(value):
        problems.add(path, "{0!r} is not a valid name (lowercase letters, digits, dashes and dots, starting and "
                           "ending with a letter or digit, at most 253 characters)".format(value))


def dns_label(problems, path, value, what="namespace name"):
    """A namespace name (or any DNS label): at most 63 characters."""
    if not isinstance(value, str) or not value or len(value) > 63 or not DNS_LABEL_RE.match(value):
        problems.add(path, "{0!r} is not a valid {1} (lowercase letters, digits and dashes, starting and ending "
                           "with a letter or digit, at most 63 characters)".format(value, what))


def choice(problems, path, value, allowed):
    if value not in allowed:
        hint = " (upper case)" if isinstance(value, str) and value.upper() in allowed else ""
        problems.add(path, "{0!r} is not one of {1}{2}".format(value, ", ".join(allowed), hint))


def port(problems, path, value):
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        problems.add(path, "{0!r} is not a port number (1 to 65535)".format(value))


def positive_int(problems, path, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.add(path, "must be a whole number of 1 or more, not {0!r}".format(value))


def number(problems, path, value, low=0, high=None, whole=True):
    """A number from ``low`` to ``high`` (whole unless ``whole`` is false); booleans and strings refused."""
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < low or (high is not None and value > high):
        problems.add(path, "must be a {0}number from {1} to {2}, not {3!r}".format(
            "whole " if whole else "", low, "any" if high is None else high, value))
        return False
    return True


def nanoseconds(value):
    """The length of a duration string (1.5s, 1h30m, 300ms) in nanoseconds, or None when it is not one."""
    if not isinstance(value, str) or not DURATION_RE.match(value):
        return None
    return int(sum(float(n) * NANOSECONDS[unit] for n, unit in DURATION_PART_RE.findall(value)))


def duration(problems, path, value, allow_zero=False):
    """An Istio duration such as 1.5s, 300ms or 1h: positive, at least 1ms and in whole milliseconds (Istio's own
    rule for every duration it validates); ``allow_zero`` also takes 0s where zero means "off"."""
    length = nanoseconds(value)
    if length is None:
        problems.add(path, "{0!r} is not a duration (a number with a unit h, m, s or ms, for example 1.5s or "
                           "300ms)".format(value))
    elif length == 0 and allow_zero:
        return
    elif length < NANOSECONDS["ms"] or length % NANOSECONDS["ms"]:
        problems.add(path, "{0!r} is not a positive duration of whole milliseconds (at least 1ms{1})".format(
            value, "; 0s turns it off" if allow_zero else ""))


def seconds(problems, path, value, allow_zero=True, also=""):
    """A duration as seconds (a number, or digits) or text (``1.5s``, ``500ms``, ``1m30s``): its seconds (a float),
    or None after reporting the problem. Negative is refused, zero unless ``allow_zero``; ``also`` adds a form."""
    length, text = None, value.strip() if isinstance(value, str) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        length = float(value)
    elif text and re.match(r"^-?\d+(\.\d+)?$", text):
        length = float(text)
    elif text:
        found = nanoseconds(text[1:] if text.startswith("-") else text)
        if found is not None:
            length = (-found if text.startswith("-") else found) / float(NANOSECONDS["s"])
    if length is None:
        problems.add(path, "{0!r} is not a duration (seconds, or a number with a unit h, m, s or ms such as 1.5s or "
                           "500ms{1})".format(value, also))
    elif length < 0:
        problems.add(path, "{0!r} is negative: a duration is 0 or more (seconds, or for example 30s)".format(value))
    elif length == 0 and not allow_zero:
        problems.add(path, "must be longer than 0, not {0!r}".format(value))
    else:
        return length
    return None


def timeout(problems, path, value):
    """The one rule of every timeout, interval and duration option given in seconds (module options, role
    variables): a whole number of seconds, 1 or more. Strings of digits are taken (role variables given with
    -e arrive as text); booleans are not."""
    seconds = value
    if isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
        seconds = int(value)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
        problems.add(path, "must be a positive whole number of seconds (1 or more), not {0!r}".format(value))
        return False
    return True


def host(problems, path, value):
    if not isinstance(value, str) or not HOST_RE.match(value):
        problems.add(path, "{0!r} is not a DNS name (a leading *. wildcard is allowed)".format(value))


def principal(problems, path, value):
    if not any(r.match(value) for r in PRINCIPAL_RES):
        problems.add(path, "{0!r} is not a service-account principal: use {1}".format(value, PRINCIPAL_FORMS))


def no_space(problems, path, value):
    if re.search(r"\s", value):
        problems.add(path, "{0!r} contains white space".format(value))


def selector(problems, path, value):
    """Pod labels (matchLabels): a non-empty mapping of valid label keys and values."""
    if value is None:
        return
    if not isinstance(value, dict) or not value:
        problems.add(path, "must be a non-empty mapping of pod labels (matchLabels), not {0!r}".format(value))
        return
    for key, val in value.items():
        if not LABEL_KEY_RE.match(str(key)):
            problems.add(join(path, key), "{0!r} is not a valid label key".format(key))
        if not isinstance(val, str) or len(val) > 63 or not LABEL_VALUE_RE.match(val):
            problems.add(join(path, key), "{0!r} is not a valid label value (a string of letters, digits, '-', "
                                          "'_' and '.', at most 63 characters)".format(val))


def revision(value):
    """A control-plane revision (or tag): a DNS label; '' and 'default' mean the default revision."""
    if value in (None, "", "default"):
        return
    if len(value) > 63 or not DNS_LABEL_RE.match(value):
        raise InputError("revision {0!r} is not valid: use lowercase letters, digits and dashes (no dots), "
                         "starting and ending with a letter or digit, at most 63 characters "
                         "(for example 1-30-4 or canary)".format(value))
