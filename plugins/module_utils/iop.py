# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""istio_install's inputs checked against Istio's own schema: ``mesh_config`` against MeshConfig, ``values``
against the installation values, ``operator`` against the IstioOperator document, every problem named by its
field path (``mesh_config.enableTracin: unknown field; did you mean enableTracing?``).

The schema is :mod:`istio_api`, generated from the Istio the lab pins (scripts/istio-schema.py). Field names
and types are judged as Istio's decoder (golang/protobuf's jsonpb) judges them:

* a field by its JSON name (lowerCamelCase, or its ``json_name``) or its proto name; unknown fields refused,
  with the closest known name when there is one; two members of a oneof refused;
* nested messages, repeated fields (each element) and maps (each value) checked all the way down;
* scalars: bool only true/false; integers as numbers or digit strings, in range (unsigned ones >= 0);
  numbers; strings; enums by name (or number); wrappers (BoolValue, UInt32Value, ...) as their scalar;
  Duration in Go's syntax (1.5s, 500ms, 1m), never negative; Istio's IntOrString a number or a string;
* free-form by definition, so not checked inside: Struct, Value, Any, Kubernetes types of the
  IstioOperator spec (``k8s.resources`` and the like), ``unvalidatedValues``. ``values.meshConfig`` (a Value)
  is checked as a MeshConfig, since that is what it becomes.

``null`` is accepted everywhere, as jsonpb skips it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

from ansible_collections.meshops.istio.plugins.module_utils import istio_api
from ansible_collections.meshops.istio.plugins.module_utils.validate import join

IOP_API_VERSION = "install.istio.io/v1alpha1"
IOP_KIND = "IstioOperator"
# Go's time.ParseDuration, as jsonpb decodes a Duration.
GO_DURATION_RE = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^[-+]?0$")
INT_RE = re.compile(r"^-?\d+$")
RANGES = {"i32": (-2 ** 31, 2 ** 31 - 1), "u32": (0, 2 ** 32 - 1), "i64": (-2 ** 63, 2 ** 63 - 1),
          "u64": (0, 2 ** 64 - 1)}
WORDS = {"bool": "true or false", "str": "a string", "bytes": "a base64 string", "num": "a number",
         "obj": "a mapping", "list": "a list", "intstr": "a number or a string",
         "i32": "an integer", "u32": "an integer", "i64": "an integer", "u64": "an integer",
         "dur": "a duration such as 10s, 1.5s, 500ms or 1m", "ts": "an RFC 3339 time such as 2026-01-02T15:04:05Z"}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

_MESSAGES = {}


def camel(name):
    """protoc's default JSON name of a field: lowerCamelCase."""
    return re.sub(r"_(.)", lambda m: m.group(1).upper(), name)


class Field:
    __slots__ = ("name", "json", "kind", "key", "type", "oneof")

    def __init__(self, spec):
        name, dummy, rest = spec.partition(":")
        rest, dummy, self.oneof = rest.partition("|")
        self.name, dummy, json = name.partition(">")
        self.json = json or camel(self.name)
        self.kind, self.key = "one", None
        if rest.startswith("[]"):
            self.kind, rest = "list", rest[2:]
        elif rest.startswith("{"):
            self.key, dummy, rest = rest[1:].partition("}")
            self.kind = "map"
        self.type = rest


def message(name):
    """The fields of message ``name`` (a key of istio_api.MESSAGES): {JSON or proto name: Field}, in order."""
    if name not in _MESSAGES:
        spec = istio_api.MESSAGES[name]
        fields = [Field(f) for f in (spec.split() if isinstance(spec, str) else spec) if f != "-"]
        by_name = {}
        for field in fields:
            by_name[field.json] = field
            by_name.setdefault(field.name, field)
        _MESSAGES[name] = (fields, by_name)
    return _MESSAGES[name]


def short(name):
    """MeshConfig.OutboundTrafficPolicy for mesh.MeshConfig.OutboundTrafficPolicy."""
    return name.partition(".")[2]


def unknown(problems, path, key, fields, name):
    names = [f.json for f in fields]
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6) or [
        n for n in names if n.lower() == str(key).lower().replace("_", "")]
    if close:
        problems.add(path, "unknown field; did you mean {0}?".format(close[0]))
    else:
        problems.add(path, "unknown field of {0} (its fields: {1})".format(short(name), ", ".join(names) or "none"))


def check_message(problems, path, value, name, skip=()):
    """A mapping against message ``name``: known fields only (``skip`` holds names left to another check),
    at most one member of each oneof, and every value checked."""
    if not isinstance(value, dict):
        problems.add(path, "must be a mapping ({0}), not {1!r}".format(short(name), value))
        return
    fields, by_name = message(name)
    seen, oneofs = {}, {}
    for key, item in value.items():
        field = by_name.get(key)
        if field is None:
            if key not in skip:
                unknown(problems, join(path, key), key, fields, name)
            continue
        if field.name in seen:
            problems.add(join(path, key), "is also given as {0}".format(seen[field.name]))
            continue
        seen[field.name] = key
        if field.oneof and item is not None:
            if field.oneof in oneofs:
                problems.add(join(path, key), "only one of the {0} fields may be set, and {1} is set too".format(
                    field.oneof, oneofs[field.oneof]))
            oneofs[field.oneof] = key
        check_field(problems, join(path, key), item, field)


def check_field(problems, path, value, field):
    if value is None:
        return
    if field.kind == "list":
        if not isinstance(value, list):
            problems.add(path, "must be a list, not {0!r}".format(value))
            return
        for i, item in enumerate(value):
            check_value(problems, join(path, i), item, field.type)
    elif field.kind == "map":
        if not isinstance(value, dict):
            problems.add(path, "must be a mapping, not {0!r}".format(value))
            return
        for key, item in value.items():
            if field.key != "str" and not INT_RE.match(str(key)):
                problems.add(join(path, key), "the key must be an integer, not {0!r}".format(key))
            check_value(problems, join(path, key), item, field.type)
    else:
        check_value(problems, path, value, field.type)


def check_value(problems, path, value, code):
    """One value of type ``code``: a scalar code, ``@message`` or ``=enum``."""
    if value is None or code == "any":
        return
    if code.startswith("@"):
        check_message(problems, path, value, code[1:])
    elif code.startswith("="):
        names = istio_api.ENUMS[code[1:]].split()
        if isinstance(value, bool) or not (value in names or isinstance(value, int)):
            problems.add(path, "{0!r} is not one of {1}".format(value, ", ".join(names)))
    elif not scalar_ok(value, code):
        words = WORDS[code]
        if code in RANGES and not isinstance(value, bool) and INT_RE.match(str(value)):
            words = "an integer from {0} to {1}".format(*RANGES[code])
        problems.add(path, "must be {0}, not {1!r}".format(words, value))


def scalar_ok(value, code):
    if code == "bool":
        return isinstance(value, bool)
    if code in ("str", "bytes"):
        return isinstance(value, str)
    if code == "obj":
        return isinstance(value, dict)
    if code == "list":
        return isinstance(value, list)
    if code == "intstr":
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    if code == "ts":
        return isinstance(value, str) and bool(TS_RE.match(value))
    if code == "dur":
        return isinstance(value, str) and bool(GO_DURATION_RE.match(value)) and not value.startswith("-")
    if isinstance(value, bool):
        return False
    if code == "num":
        if isinstance(value, (int, float)):
            return True
        try:
            return isinstance(value, str) and (value in ("NaN", "Infinity", "-Infinity") or float(value) is not None)
        except ValueError:
            return False
    number = value if isinstance(value, int) else int(value) if isinstance(value, str) and INT_RE.match(value) else None
    low, high = RANGES[code]
    return number is not None and low <= number <= high


def check_mesh_config(problems, path, value):
    check_message(problems, path, value, istio_api.ROOTS["mesh_config"])


def check_values(problems, path, value, top_level_free=False):
    """Installation values; ``meshConfig`` in them is a MeshConfig. ``top_level_free`` leaves unknown top-level
    keys alone (Helm: the same values go to the gateway chart, whose own values are top-level)."""
    if not isinstance(value, dict):
        problems.add(path, "must be a mapping, not {0!r}".format(value))
        return
    fields, by_name = message(istio_api.ROOTS["values"])
    skip = ["meshConfig"] + ([k for k in value if k not in by_name] if top_level_free else [])
    check_message(problems, path, value, istio_api.ROOTS["values"], skip=skip)
    if value.get("meshConfig") is not None:
        check_mesh_config(problems, join(path, "meshConfig"), value["meshConfig"])


def check_operator(problems, path, value, revision=""):
    """An IstioOperator overlay: its apiVersion and kind if given, ``spec`` against IstioOperatorSpec (its
    ``meshConfig`` and ``values`` against theirs), and no other revision than the module's own."""
    if not isinstance(value, dict):
        problems.add(path, "must be an IstioOperator document (a mapping), not {0!r}".format(value))
        return
    for key in value:
        if key not in ("apiVersion", "kind", "metadata", "spec"):
            problems.add(join(path, key), "unknown key {0!r}: the allowed keys are apiVersion, kind, metadata, "
                                          "spec".format(key))
    for key, want in (("apiVersion", IOP_API_VERSION), ("kind", IOP_KIND)):
        if key in value and value[key] != want:
            problems.add(join(path, key), "must be {0} (the overlay is an IstioOperator document), not "
                                          "{1!r}".format(want, value[key]))
    if value.get("metadata") is not None and not isinstance(value["metadata"], dict):
        problems.add(join(path, "metadata"), "must be a mapping, not {0!r}".format(value["metadata"]))
    spec = value.get("spec")
    if spec is None:
        return
    spath = join(path, "spec")
    check_message(problems, spath, spec, istio_api.ROOTS["operator"], skip=("meshConfig", "values"))
    if not isinstance(spec, dict):
        return
    if spec.get("meshConfig") is not None:
        check_mesh_config(problems, join(spath, "meshConfig"), spec["meshConfig"])
    if spec.get("values") is not None:
        check_values(problems, join(spath, "values"), spec["values"])
    if spec.get("revision") not in (None, revision or None, revision):
        problems.add(join(spath, "revision"), "{0!r} differs from revision {1!r}: set revision instead (the "
                                              "module finds, prunes and waits for the install by it)".format(
                                                  spec["revision"], revision))
