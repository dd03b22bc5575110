#!/usr/bin/env bash
# Give the lab cluster what an Istio control plane running outside it needs (Istio's
# external-control-plane topology): the istio-system namespace, Istio's CRDs, the
# injection and validation webhooks pointing at the host's istiod, and the mesh and
# injector ConfigMaps istiod reads from the cluster.
#
# They are rendered by the lab's own istioctl from the default profile, with
# values.istiodRemote.injectionURL and values.base.validationURL set, so they are
# the objects istio_install renders for the lab inventory. The istiod Deployment is
# left out: the real istiod is the host process.
#
# Env: LAB_DIR, KUBECONFIG, WEBHOOK_PORT.
set -euo pipefail
: "${LAB_DIR:?}" "${KUBECONFIG:?}" "${WEBHOOK_PORT:?}"
here="$(cd "$(dirname "$0")" && pwd)"
python="$(dirname "$(dirname "$here")")/.venv/bin/python"
[[ -x "$python" ]] || python=python3

ca_b64="$(base64 -w0 <"$LAB_DIR/pki/ca.crt")"
url="https://127.0.0.1:$WEBHOOK_PORT"
rendered="$LAB_DIR/istiod/cluster.yaml"
cat >"$LAB_DIR/istiod/iop.yaml" <<EOF
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: default
  values:
    defaultRevision: default
    istiodRemote:
      injectionURL: $url/inject
      injectionCABundle: $ca_b64
    base:
      validationURL: $url/validate
      validationCABundle: $ca_b64
EOF
istioctl manifest generate -f "$LAB_DIR/istiod/iop.yaml" >"$LAB_DIR/istiod/rendered.yaml"
"$python" - "$LAB_DIR/istiod/rendered.yaml" >"$rendered" <<'PY'
import sys, yaml
keep_kinds = {"CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
keep_configmaps = {"istio", "istio-sidecar-injector"}
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
out = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}]
for d in docs:
    if d["kind"] in keep_kinds or (d["kind"] == "ConfigMap" and d["metadata"]["name"] in keep_configmaps):
        out.append(d)
yaml.safe_dump_all(out, sys.stdout)
PY
mapfile -t crds < <("$python" -c 'import sys,yaml; print("\n".join("crd/" + d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"]=="CustomResourceDefinition"))' "$rendered")
# CRDs and the namespace first, so the ConfigMaps and webhooks have somewhere to go.
"$python" -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
first = [d for d in docs if d["kind"] in ("Namespace", "CustomResourceDefinition")]
yaml.safe_dump_all(first, open(sys.argv[2], "w"))
yaml.safe_dump_all([d for d in docs if d not in first], open(sys.argv[3], "w"))
' "$rendered" "$LAB_DIR/istiod/first.yaml" "$LAB_DIR/istiod/second.yaml"
kubectl apply --server-side --force-conflicts --field-manager meshops-lab -f "$LAB_DIR/istiod/first.yaml" >/dev/null
kubectl wait --for condition=Established --timeout 60s "${crds[@]}" >/dev/null
kubectl apply --server-side --force-conflicts --field-manager meshops-lab -f "$LAB_DIR/istiod/second.yaml" >/dev/null
