#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate plugins/module_utils/istio_api.py: the field names and types of Istio's MeshConfig, of the
installation values and of the IstioOperator spec, for istio_install's validation (plugins/module_utils/iop.py).

Read from the sources of the Istio the lab pins (lab/versions.env, lab/go/istio/go.sum) in the Go module
cache (``go env GOMODCACHE``, filled by lab/build.sh or ``go mod download``):

* MeshConfig: istio.io/api ``mesh/v1alpha1/config.proto`` and every .proto it imports (ProxyConfig, the
  networking types it uses);
* the values: istio.io/istio ``operator/pkg/apis/values_types.proto``;
* the IstioOperator spec: the Go structs of istio.io/istio ``operator/pkg/apis/types.go``.

Usage: scripts/istio-schema.py [--check] [--modcache DIR] [--output FILE]. ``--check`` compares with the
committed file instead of writing it (exit 1 when they differ); tests/unit/scripts/test_istio_schema.py runs
the same comparison when the module cache holds the pinned version.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import re
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "plugins", "module_utils", "istio_api.py")

# Well-known types as the JSON mapping of golang/protobuf's jsonpb (what istioctl and istiod decode with).
WELL_KNOWN = {
    "google.protobuf.Duration": "dur", "google.protobuf.Timestamp": "ts", "google.protobuf.Struct": "obj",
    "google.protobuf.Value": "any", "google.protobuf.ListValue": "list", "google.protobuf.Any": "obj",
    "google.protobuf.Empty": "obj", "google.protobuf.BoolValue": "bool", "google.protobuf.StringValue": "str",
    "google.protobuf.BytesValue": "bytes", "google.protobuf.Int32Value": "i32", "google.protobuf.UInt32Value": "u32",
    "google.protobuf.Int64Value": "i64", "google.protobuf.UInt64Value": "u64", "google.protobuf.FloatValue": "num",
    "google.protobuf.DoubleValue": "num",
    # operator/pkg/apis/value_types_json.go: a JSON number or string.
    "istio.operator.v1alpha1.IntOrString": "intstr",
}
SCALARS = {
    "bool": "bool", "string": "str", "bytes": "bytes", "double": "num", "float": "num",
    "int32": "i32", "sint32": "i32", "sfixed32": "i32", "int64": "i64", "sint64": "i64", "sfixed64": "i64",
    "uint32": "u32", "fixed32": "u32", "uint64": "u64", "fixed64": "u64",
}
# Short names of the packages in the generated file.
ALIASES = (("istio.mesh.v1alpha1.", "mesh."), ("istio.networking.v1alpha3.", "net3."),
           ("istio.networking.v1beta1.", "net1."), ("istio.operator.v1alpha1.", "op."), ("istio.type.v1beta1.", "type."),
           ("istio.security.v1beta1.", "sec."))
ROOTS = (("mesh_config", "istio.mesh.v1alpha1.MeshConfig"), ("values", "istio.operator.v1alpha1.Values"))


# -- .proto parsing ---------------------------------------------------------------------------

TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[A-Za-z_.][A-Za-z0-9_.]*|-?\d[\w.]*|\S')


def tokens(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return TOKEN.findall(text)


class Parser:
    """Just enough of proto3: package, imports, messages (nested), enums, fields, maps, oneofs."""

    def __init__(self, toks):
        self.toks, self.i = toks, 0
        self.package, self.imports, self.messages, self.enums = "", [], {}, {}

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, tok):
        got = self.next()
        if got != tok:
            raise ValueError("expected {0!r}, got {1!r} at token {2}".format(tok, got, self.i))

    def skip_statement(self):
        depth = 0
        while True:
            tok = self.next()
            if tok in "{[(":
                depth += 1
            elif tok in "}])":
                depth -= 1
                if depth == 0 and tok == "}":
                    if self.peek() == ";":
                        self.next()
                    return
            elif tok == ";" and depth == 0:
                return

    def options(self):
        """``[json_name = "x", deprecated = true, ...]``: the json_name, if any."""
        json_name = None
        if self.peek() != "[":
            return json_name
        self.next()
        depth, key = 1, []
        while depth:
            tok = self.next()
            if tok in "[{(":
                depth += 1
            elif tok in "]})":
                depth -= 1
            elif tok == "=" and depth == 1 and key == ["json_name"]:
                json_name = self.next().strip('"')
            if tok == "," and depth == 1:
                key = []
            elif tok not in "=":
                key.append(tok)
        return json_name

    def parse(self):
        while self.peek() is not None:
            tok = self.next()
            if tok == "package":
                self.package = self.next()
                self.expect(";")
            elif tok == "import":
                if self.peek() in ("public", "weak"):
                    self.next()
                self.imports.append(self.next().strip('"'))
                self.expect(";")
            elif tok == "message":
                self.message(self.package)
            elif tok == "enum":
                self.enum(self.package)
            elif tok in ("syntax", "option", "extend", "service"):
                self.i -= 1
                self.skip_statement()
            elif tok == ";":
                continue
            else:
                raise ValueError("unexpected {0!r} at top level".format(tok))
        return self

    def enum(self, scope):
        name = scope + "." + self.next()
        self.expect("{")
        values = []
        while self.peek() != "}":
            tok = self.next()
            if tok in ("option", "reserved"):
                self.i -= 1
                self.skip_statement()
                continue
            if tok == ";":
                continue
            self.expect("=")
            self.next()
            self.options()
            self.expect(";")
            values.append(tok)
        self.next()
        self.enums[name] = values

    def message(self, scope):
        name = scope + "." + self.next()
        self.expect("{")
        fields = []
        self.messages[name] = fields
        self.body(name, fields, None)

    def body(self, scope, fields, oneof):
        while True:
            tok = self.next()
            if tok == "}":
                return
            if tok == ";":
                continue
            if tok == "message":
                self.message(scope)
            elif tok == "enum":
                self.enum(scope)
            elif tok == "oneof":
                group = self.next()
                self.expect("{")
                self.body(scope, fields, group)
            elif tok in ("option", "reserved", "extensions", "extend"):
                self.i -= 1
                self.skip_statement()
            elif tok == "map":
                self.expect("<")
                key = self.next()
                self.expect(",")
                value = self.next()
                self.expect(">")
                fields.append(self.field(scope, "map", value, oneof, key))
            else:
                label = None
                if tok in ("repeated", "optional", "required"):
                    label, tok = tok, self.next()
                fields.append(self.field(scope, label, tok, oneof))

    def field(self, scope, label, typ, oneof, key=None):
        name = self.next()
        self.expect("=")
        self.next()
        json_name = self.options()
        self.expect(";")
        return dict(name=name, json=json_name, label=label, type=typ, key=key, oneof=oneof, scope=scope)


def parse_protos(roots, first):
    """Every message and enum of the .proto ``first`` (a path under one of ``roots``) and its imports."""
    messages, enums, todo, done = {}, {}, [first], set()
    while todo:
        rel = todo.pop()
        if rel in done or rel.startswith("google/"):
            continue
        done.add(rel)
        path = next((os.path.join(r, rel) for r in roots if os.path.isfile(os.path.join(r, rel))), None)
        if path is None:
            raise SystemExit("istio-schema: {0} not found under {1}".format(rel, ", ".join(roots)))
        with open(path) as handle:
            parsed = Parser(tokens(handle.read())).parse()
        messages.update(parsed.messages)
        enums.update(parsed.enums)
        todo.extend(parsed.imports)
    return messages, enums


def resolve(typ, scope, known):
    """The full name ``typ`` refers to from message ``scope`` (proto's scoping: innermost first)."""
    if typ.startswith("."):
        return typ[1:]
    parts = scope.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n]) + "." + typ
        if candidate in known:
            return candidate
    if typ in known:
        return typ
    raise SystemExit("istio-schema: cannot resolve type {0} in {1}".format(typ, scope))


def camel(name):
    """protoc's default JSON name: lowerCamelCase of the field name."""
    out, upper = [], False
    for ch in name:
        if ch == "_":
            upper = True
        else:
            out.append(ch.upper() if upper else ch)
            upper = False
    return "".join(out)


def type_code(typ, scope, messages, enums):
    if typ in SCALARS:
        return SCALARS[typ]
    known = set(messages) | set(enums) | set(WELL_KNOWN)
    full = resolve(typ, scope, known)
    if full in WELL_KNOWN:
        return WELL_KNOWN[full]
    return ("=" if full in enums else "@") + full


def reachable(root, messages, enums):
    """The messages and enums ``root`` reaches through its fields, in a stable order."""
    seen_m, seen_e, todo = [], [], [root]
    while todo:
        name = todo.pop(0)
        if name in seen_m:
            continue
        seen_m.append(name)
        for field in messages[name]:
            code = type_code(field["type"], field["scope"], messages, enums)
            if code.startswith("@"):
                todo.append(code[1:])
            elif code.startswith("=") and code[1:] not in seen_e:
                seen_e.append(code[1:])
    return seen_m, seen_e


def encode_field(field, messages, enums):
    """``name[>json]:[[]|{key}]type[|oneof]``: the proto name, its JSON name when it is not the default one,
    repeated ([]) or map ({key}), the type (scalar code, @message, =enum) and the oneof it belongs to."""
    code = type_code(field["type"], field["scope"], messages, enums)
    out = field["name"]
    if field["json"] and field["json"] != camel(field["name"]):
        out += ">" + field["json"]
    out += ":"
    if field["label"] == "repeated":
        out += "[]"
    elif field["label"] == "map":
        out += "{" + SCALARS[field["key"]] + "}"
    out += code
    if field["oneof"]:
        out += "|" + field["oneof"]
    return short(out)


def short(text):
    for full, alias in ALIASES:
        text = text.replace(full, alias)
    return text


# -- Go structs (the IstioOperator spec) ------------------------------------------------------

GO_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.S | re.M)
GO_FIELD = re.compile(r"^\s+(\w+)\s+([^\s`]+)\s+`json:\"([^\",]*)")
GO_EMBEDDED = re.compile(r"^\s+(\w+)\s*$")
GO_SCALARS = {"string": "str", "bool": "bool", "BoolValue": "bool", "uint32": "u32", "int32": "i32", "int64": "i64",
              "uint64": "u64", "float64": "num", "any": "any", "json.RawMessage": "obj"}


def go_type(typ, structs):
    """The code of a Go type: scalars, structs of the file (@op.Name), slices ([]), maps ({str}); other types
    (Kubernetes' corev1.Affinity and the like) are mappings not checked further (obj)."""
    typ = typ.lstrip("*")
    if typ.startswith("[]"):
        return "[]" + go_type(typ[2:], structs)
    if typ.startswith("map[string]"):
        return "{str}" + go_type(typ[len("map[string]"):], structs)
    if typ in GO_SCALARS:
        return GO_SCALARS[typ]
    if typ in structs:
        return "@op." + typ
    return "obj"


def go_fields(name, structs):
    fields = []
    for line in structs[name].splitlines():
        embedded = GO_EMBEDDED.match(line)
        if embedded and embedded.group(1) in structs:
            fields += go_fields(embedded.group(1), structs)
            continue
        found = GO_FIELD.match(line)
        if found and found.group(3) not in ("", "-"):
            fields.append((found.group(3), go_type(found.group(2), structs)))
    return fields


def parse_go_structs(path, root="IstioOperatorSpec"):
    """The structs ``root`` reaches, as encoded fields, by name (op.Name)."""
    with open(path) as handle:
        text = handle.read()
    structs = dict((m.group(1), m.group(2)) for m in GO_STRUCT.finditer(text))
    out, todo = {}, [root]
    while todo:
        name = todo.pop(0)
        if "op." + name in out:
            continue
        fields = go_fields(name, structs)
        out["op." + name] = ["{0}:{1}".format(n, c) for n, c in fields]
        todo += [c.split("@op.")[1] for dummy, c in fields if "@op." in c]
    return out


# -- the module cache -------------------------------------------------------------------------

def pinned_versions():
    """(istio.io/istio version, istio.io/api version) the lab builds."""
    with open(os.path.join(ROOT, "lab", "versions.env")) as handle:
        istio = re.search(r"^ISTIO_MODULE_VERSION=(\S+)", handle.read(), re.M).group(1)
    with open(os.path.join(ROOT, "lab", "go", "istio", "go.sum")) as handle:
        api = re.search(r"^istio\.io/api (\S+) h1:", handle.read(), re.M).group(1)
    return istio, api


def modcache():
    try:
        out = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    return os.path.join(os.path.expanduser("~"), "go", "pkg", "mod")


def sources(cache):
    istio, api = pinned_versions()
    api_dir = os.path.join(cache, "istio.io", "api@" + api)
    istio_dir = os.path.join(cache, "istio.io", "istio@" + istio)
    missing = [d for d in (api_dir, istio_dir) if not os.path.isdir(d)]
    return istio, api, api_dir, istio_dir, missing


# -- output ----------------------------------------------------------------------------------

def wrapped(key, items, indent=4):
    """``"key": "a b c",`` or, when longer than 150 columns, ``"key": ("a b" "c d"),`` wrapped."""
    one = '{0}"{1}": "{2}",'.format(" " * indent, key, " ".join(items))
    if len(one) <= 150:
        return [one]
    lines = textwrap.wrap(" ".join(items), width=150 - indent - 8, break_long_words=False, break_on_hyphens=False)
    out = ['{0}"{1}": ('.format(" " * indent, key)]
    for n, line in enumerate(lines):
        out.append('{0}"{1}{2}"'.format(" " * (indent + 4), line, " " if n < len(lines) - 1 else ""))
    out[-1] += "),"
    return out


def generate(cache):
    istio, api, api_dir, istio_dir, missing = sources(cache)
    if missing:
        raise SystemExit("istio-schema: not in the Go module cache: {0}; run lab/build.sh (or `go mod download` "
                         "in lab/go/istio) first".format(", ".join(missing)))
    apis = os.path.join(istio_dir, "operator", "pkg", "apis")
    messages, enums = parse_protos([api_dir], "mesh/v1alpha1/config.proto")
    more_m, more_e = parse_protos([apis, api_dir], "values_types.proto")
    messages.update(more_m)
    enums.update(more_e)
    used_m, used_e = [], []
    for dummy, root in ROOTS:
        found_m, found_e = reachable(root, messages, enums)
        used_m += [m for m in found_m if m not in used_m]
        used_e += [e for e in found_e if e not in used_e]
    structs = parse_go_structs(os.path.join(apis, "types.go"))
    lines = [
        "# -*- coding: utf-8 -*-",
        "# Copyright: (c) 2026, meshops.istio contributors",
        "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)",
        '"""Field names and types of Istio\'s MeshConfig, installation values and IstioOperator spec.',
        "",
        "GENERATED by scripts/istio-schema.py from the Go module cache; do not edit. Read by iop.py, which documents",
        "the encoding: a message is its fields ``name[>json]:[[]|{key}]type[|oneof]`` (proto name, JSON name when",
        "not the default lowerCamelCase, repeated or map, then a scalar code, @message or =enum, and its oneof).",
        '"""',
        "",
        "from __future__ import absolute_import, division, print_function",
        "",
        "__metaclass__ = type",
        "",
        'SOURCE = "istio.io/api {0}, istio.io/istio {1}"'.format(api, istio),
        "# The packages behind the short names.",
        "ALIASES = {" + ", ".join('"{0}": "{1}"'.format(a[:-1], f[:-1]) for f, a in ALIASES[:3]) + ",",
        "           " + ", ".join('"{0}": "{1}"'.format(a[:-1], f[:-1]) for f, a in ALIASES[3:]) + "}",
        "ROOTS = {" + ", ".join('"{0}": "{1}"'.format(k, short(v))
                                for k, v in ROOTS + (("operator", "op.IstioOperatorSpec"),)) + "}",
        "",
        "ENUMS = {",
    ]
    for name in sorted(used_e):
        lines += wrapped(short(name), enums[name])
    lines += ["}", "", "MESSAGES = {"]
    for name in used_m:
        lines += wrapped(short(name), [encode_field(f, messages, enums) for f in messages[name]] or ["-"])
    for name, fields in structs.items():
        lines += wrapped(name, fields)
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    parser.add_argument("--modcache", default=None, help="the Go module cache (default: go env GOMODCACHE)")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args(argv)
    text = generate(args.modcache or modcache())
    if args.check:
        with open(args.output) as handle:
            if handle.read() != text:
                print("istio-schema: {0} differs from what the pinned Istio gives; run scripts/istio-schema.py".format(
                    os.path.relpath(args.output, ROOT)), file=sys.stderr)
                return 1
        print("istio-schema: {0} is up to date".format(os.path.relpath(args.output, ROOT)))
        return 0
    with open(args.output, "w") as handle:
        handle.write(text)
    print("istio-schema: wrote {0} ({1} lines)".format(os.path.relpath(args.output, ROOT), text.count("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
