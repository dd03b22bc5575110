# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a role checks before its first write, with the rules the modules use (module_utils/validate.py, mesh.py,
routing.py): ``input_problems`` judges the role's variables by name and says what is wrong with each;
``written_before`` keeps a later module's message true for the role ("nothing was written" is not, once the role
wrote something before that module ran)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.module_utils import mesh, ratelimit, routing, validate
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError

# Helm's rule for a release name (a DNS subdomain of at most 53 characters).
RELEASE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
TRAFFIC_KINDS = routing.KINDS + (("rate_limits", ratelimit.KIND, ratelimit.validate_rate_limit),)


def _whole(problems, path, value, low, high=None, what="whole number"):
    number = value
    if isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or number < low or (high is not None and number > high):
        problems.add(path, "must be a {0} from {1} to {2}, not {3!r}".format(
            what, low, "any" if high is None else high, value))


def _percentage(problems, path, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not 0.0 <= number <= 100.0:
        problems.add(path, "must be a percentage from 0.0 to 100.0, not {0!r}".format(value))


def _budget(problems, path, value):
    if value is None:
        return
    if isinstance(value, bool):
        problems.add(path, "must be a number of seconds >= 0, or null for the collection's retry budget, not True")
        return
    try:
        good = float(value) >= 0
    except (TypeError, ValueError):
        good = False
    if not good:
        problems.add(path, "must be a number of seconds >= 0, or null for the collection's retry budget, not "
                           "{0!r}".format(value))


def _revision(problems, path, value):
    try:
        validate.revision(value)
    except InputError as exc:
        problems.add(path, exc.msg)


def _release(problems, path, value):
    if not isinstance(value, str) or not value or len(value) > 53 or not RELEASE_RE.match(value):
        problems.add(path, "{0!r} is not a valid Helm release name (lowercase letters, digits, dashes and dots, "
                           "starting and ending with a letter or digit, at most 53 characters)".format(value))


def _onboard_namespaces(problems, path, value):
    if not isinstance(value, list):
        problems.add(path, "must be a list of namespace names, not {0!r}".format(value))
        return
    for i, name in enumerate(value):
        mesh.onboard_namespace(problems, validate.join(path, i), name)


def _hosts(problems, path, value):
    for i, host in enumerate(validate.strings(problems, path, value)):
        validate.host(problems, validate.join(path, i), host)


def _traffic(problems, path, value):
    """A mesh_traffic declaration (owner and lists of objects), as the module checks it before any request. Its
    optional ``_paths`` maps a declaration path (``virtual_services[0].spec.http``) to the role variable it came
    from (``mesh_gateway_http``), so a problem names what the user set; others are prefixed with ``path``."""
    if not isinstance(value, dict):
        problems.add(path, "must be a mapping of mesh_traffic options, not {0!r}".format(value))
        return
    value = dict(value)
    paths = sorted((value.pop("_paths", None) or {}).items(), key=lambda kv: -len(kv[0]))
    inner = validate.Problems()
    routing.declaration(inner, value, TRAFFIC_KINDS)
    for item in inner.items:
        for prefix, variable in paths:
            if item.startswith(prefix) and item[len(prefix):len(prefix) + 1] in (".", "[", ":"):
                problems.items.append(variable + item[len(prefix):])
                break
        else:
            problems.items.append("{0}: {1}".format(path, item))


RULES = {
    "timeout": validate.timeout,
    "count": lambda p, path, value: _whole(p, path, value, 0),
    "positive": lambda p, path, value: _whole(p, path, value, 1),
    "http_status": lambda p, path, value: _whole(p, path, value, 100, 599, "HTTP status"),
    "percentage": _percentage,
    "budget": _budget,
    "revision": _revision,
    "release": _release,
    "name": validate.name,
    "namespace": validate.dns_label,
    "onboard_namespace": mesh.onboard_namespace,
    "onboard_namespaces": _onboard_namespaces,
    "hosts": _hosts,
    "selector": validate.selector,
    "traffic": _traffic,
}


def input_problems(variables):
    """``{variable: [value, rule]}`` -> the problems, ``"variable: what is wrong"``, in the order given. The rules
    are the keys of RULES; an unknown rule is an error of the role, not of its user."""
    if not isinstance(variables, dict):
        raise AnsibleFilterError("input_problems: expects a mapping of variable name to [value, rule]")
    problems = validate.Problems()
    for name, pair in variables.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[1] not in RULES:
            raise AnsibleFilterError("input_problems: {0}: expected [value, rule] with a rule of {1}, got {2!r}".format(
                name, ", ".join(sorted(RULES)), pair))
        RULES[pair[1]](problems, name, pair[0])
    return problems.items


def written_before(msg, written):
    """A module's failure ``msg`` as true for the role: when the role had written ``written`` (a list of what,
    such as ``Secret istio-system/shop-gateway-tls``; empty: nothing) before the module ran, its "nothing was
    written" becomes "nothing more was written by that step" and the earlier writes are named."""
    msg = str(msg or "")
    written = [str(w) for w in written or [] if w]
    if not written:
        return msg
    msg = re.sub(r"([Nn])othing was written", lambda m: "{0}othing more was written by this step".format(m.group(1)),
                 msg)
    return "{0}\n(Written by this role before that step, and left in place: {1}.)".format(msg, ", ".join(written))


class FilterModule(object):
    def filters(self):
        return {"input_problems": input_problems, "written_before": written_before}
