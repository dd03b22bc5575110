# -*- coding: utf-8 -*-
"""scripts/istio-schema.py (run by ``make lab-unit``), which generates plugins/module_utils/istio_api.py: its proto and Go-struct parsing and
its encoding, on small samples (no Go module cache needed). That the committed file is what it makes from the
pinned Istio is checked by ``make lab-unit`` (``scripts/istio-schema.py --check``, sources downloaded first)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = importlib.util.spec_from_file_location("istio_schema", os.path.join(ROOT, "scripts", "istio-schema.py"))
gen = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(gen)

PROTO = '''
syntax = "proto3";
// A comment { with braces }
package istio.mesh.v1alpha1;
import "google/protobuf/duration.proto";
option go_package = "istio.io/api/mesh/v1alpha1";

message MeshConfig {
  /* block
     comment */
  int32 proxy_listen_port = 4;
  google.protobuf.Duration connect_timeout = 6 [deprecated = true];
  repeated string trust_domain_aliases = 7;
  map<string, Inner> by_name = 8;
  Inner.Mode mode = 9;
  EgressConfig proxy_init = 10 [json_name = "proxy_init", (google.api.field_behavior) = REQUIRED];
  message Inner {
    enum Mode { option allow_alias = true; OFF = 0; ON = 1 [deprecated = true]; }
    oneof provider {
      string zipkin = 1;
      Inner other = 2;
    }
    reserved 3, 4 to 6;
    reserved "old";
  }
}
message EgressConfig { google.protobuf.BoolValue enabled = 1; }
'''

GO = '''
type IstioOperatorSpec struct {
    // Profile
    Profile string `json:"profile,omitempty"`
    Components *IstioComponentSpec `json:"components,omitempty"`
    Values json.RawMessage `json:"values,omitempty"`
    Raw map[string]any `json:"-"`
}

type IstioComponentSpec struct {
    Gateways []GatewayComponentSpec `json:"ingressGateways,omitempty"`
}

type ComponentSpec struct {
    Enabled *BoolValue `json:"enabled,omitempty"`
    Kubernetes *corev1.ResourceRequirements `json:"k8s,omitempty"`
}

type GatewayComponentSpec struct {
    ComponentSpec
    Label map[string]string `json:"label,omitempty"`
}
'''.replace("    ", "\t")  # Go's indentation


def parsed():
    return gen.Parser(gen.tokens(PROTO)).parse()


def test_messages_enums_and_nested_types_are_parsed_with_their_full_names():
    p = parsed()
    assert p.package == "istio.mesh.v1alpha1"
    assert p.imports == ["google/protobuf/duration.proto"]
    assert set(p.messages) == {"istio.mesh.v1alpha1.MeshConfig", "istio.mesh.v1alpha1.MeshConfig.Inner",
                               "istio.mesh.v1alpha1.EgressConfig"}
    assert p.enums == {"istio.mesh.v1alpha1.MeshConfig.Inner.Mode": ["OFF", "ON"]}


def test_fields_are_encoded_with_json_names_repeated_maps_enums_wrappers_and_oneofs():
    p = parsed()
    encoded = [gen.encode_field(f, p.messages, p.enums) for f in p.messages["istio.mesh.v1alpha1.MeshConfig"]]
    assert encoded == ["proxy_listen_port:i32", "connect_timeout:dur", "trust_domain_aliases:[]str",
                       "by_name:{str}@mesh.MeshConfig.Inner", "mode:=mesh.MeshConfig.Inner.Mode",
                       "proxy_init>proxy_init:@mesh.EgressConfig"]
    inner = [gen.encode_field(f, p.messages, p.enums) for f in p.messages["istio.mesh.v1alpha1.MeshConfig.Inner"]]
    assert inner == ["zipkin:str|provider", "other:@mesh.MeshConfig.Inner|provider"]
    egress = p.messages["istio.mesh.v1alpha1.EgressConfig"]
    assert gen.encode_field(egress[0], p.messages, p.enums) == "enabled:bool"


def test_reachable_follows_fields_to_every_message_and_enum():
    p = parsed()
    messages, enums = gen.reachable("istio.mesh.v1alpha1.MeshConfig", p.messages, p.enums)
    assert messages == ["istio.mesh.v1alpha1.MeshConfig", "istio.mesh.v1alpha1.MeshConfig.Inner",
                        "istio.mesh.v1alpha1.EgressConfig"]
    assert enums == ["istio.mesh.v1alpha1.MeshConfig.Inner.Mode"]


def test_go_structs_inline_embedded_ones_and_leave_kubernetes_types_unchecked(tmp_path):
    path = tmp_path / "types.go"
    path.write_text(GO)
    assert gen.parse_go_structs(str(path)) == {
        "op.IstioOperatorSpec": ["profile:str", "components:@op.IstioComponentSpec", "values:obj"],
        "op.IstioComponentSpec": ["ingressGateways:[]@op.GatewayComponentSpec"],
        "op.GatewayComponentSpec": ["enabled:bool", "k8s:obj", "label:{str}str"],
    }


def test_camel_is_protocs_default_json_name():
    assert gen.camel("enable_auto_mtls") == "enableAutoMtls"
    assert gen.camel("proxyMetadata") == "proxyMetadata"


def test_long_entries_are_wrapped_under_the_line_length():
    lines = gen.wrapped("mesh.MeshConfig", ["field_number_{0}:str".format(n) for n in range(40)])
    assert len(lines) > 2 and all(len(line) <= 150 for line in lines)
    assert "".join(line.strip() for line in lines[1:]).replace('""', "").count("field_number_") == 40


def test_the_versions_are_the_labs_pins():
    istio, api = gen.pinned_versions()
    with open(os.path.join(ROOT, "lab", "versions.env")) as handle:
        assert "ISTIO_MODULE_VERSION=" + istio in handle.read()
    with open(os.path.join(ROOT, "plugins", "module_utils", "istio_api.py")) as handle:
        assert 'SOURCE = "istio.io/api {0}, istio.io/istio {1}"'.format(api, istio) in handle.read()
