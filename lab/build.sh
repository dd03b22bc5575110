#!/usr/bin/env bash
# Build (or reuse from the cache) every binary the lab runs, from the Go module
# proxy, with version ldflags so each reports its real version.
#
#   lab/build.sh            build whatever is missing, link it into .lab/bin
#
# Binaries are cached by name and version under $MESHOPS_LAB_CACHE
# (default ~/.cache/meshops-lab); Go's module and build caches are Go's own
# (~/go/pkg/mod, ~/.cache/go-build), so a rebuild after a version bump is
# incremental. Nothing here downloads a prebuilt binary.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$here/versions.env"

cache="${MESHOPS_LAB_CACHE:-$HOME/.cache/meshops-lab}"
bindir="$root/.lab/bin"
mkdir -p "$cache/bin" "$bindir" "$root/.lab/logs"
# One build at a time (a second caller waits, then finds the binaries cached).
exec 9>"$cache/build.lock"
flock 9
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0
build_date="2026-01-01T00:00:00Z"

log() { printf '[lab-build] %s\n' "$*" >&2; }

# have NAME VERSION -> true when the cached binary exists; link it into .lab/bin.
have() {
  local f="$cache/bin/$1-$2"
  if [[ -x "$f" ]]; then ln -sfn "$f" "$bindir/$1"; return 0; fi
  return 1
}

# gobuild NAME VERSION DIR PKG LDFLAGS: build PKG inside module DIR (or with
# pkg@version when DIR is '-') into the cache, atomically.
gobuild() {
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=$5 tmp start
  have "$name" "$version" && return 0
  start=$(date +%s)
  log "building $name $version"
  tmp="$(mktemp -d "$cache/tmp.XXXXXX")"
  if [[ "$dir" == "-" ]]; then
    GOBIN="$tmp" go install -ldflags "$ldflags" "$pkg"
    mv "$tmp/$(basename "${pkg%@*}")" "$cache/bin/$name-$version"
  else
    (cd "$dir" && go build -mod=mod -ldflags "$ldflags" -o "$tmp/$name" "$pkg")
    mv "$tmp/$name" "$cache/bin/$name-$version"
  fi
  rmdir "$tmp"
  have "$name" "$version"
  log "built $name $version in $(( $(date +%s) - start ))s"
}

k8s_ldflags() {
  local v=$KUBERNETES_VERSION minor
  minor="${v#v1.}"; minor="${minor%%.*}"
  local x=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    x+=" -X $p.gitTreeState=clean -X $p.buildDate=$build_date"
  done
  echo "-s -w$x"
}

build_etcd() {
  gobuild etcd "$ETCD_VERSION" "$here/go/etcd" go.etcd.io/etcd/server/v3 "-s -w"
}

build_kubernetes() {
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    gobuild "$c" "$KUBERNETES_VERSION" "$here/go/kubernetes" "k8s.io/kubernetes/cmd/$c" "$(k8s_ldflags)"
  done
}

build_kwok() {
  gobuild kwok "$KWOK_VERSION" - "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" \
    "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
}

build_helm() {
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  gobuild helm "$HELM_VERSION" - "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
}

build_istio() {
  local x="-s -w"
  x+=" -X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION"
  x+=" -X istio.io/istio/pkg/version.buildGitRevision=${ISTIO_MODULE_VERSION##*-}"
  x+=" -X istio.io/istio/pkg/version.buildTag=$ISTIO_VERSION"
  x+=" -X istio.io/istio/pkg/version.buildHub=docker.io/istio"
  x+=" -X istio.io/istio/pkg/version.buildStatus=Clean"
  # Built in the wrapper module go/istio, whose go.sum carries Istio's own checksums
  # (the checksum database has none for the pseudo-versions this commit depends on).
  grep -q "istio.io/istio $ISTIO_MODULE_VERSION" "$here/go/istio/go.mod" ||
    { log "lab/go/istio/go.mod does not require istio.io/istio $ISTIO_MODULE_VERSION"; return 1; }
  gobuild istioctl "$ISTIO_VERSION" "$here/go/istio" istio.io/istio/istioctl/cmd/istioctl "$x"
  gobuild pilot-discovery "$ISTIO_VERSION" "$here/go/istio" istio.io/istio/pilot/cmd/pilot-discovery "$x"
  # The agent of the lab's data plane (proxyless gRPC workloads, lab/dataplane.py).
  gobuild pilot-agent "$ISTIO_VERSION" "$here/go/istio" istio.io/istio/pilot/cmd/pilot-agent "$x"
  istio_assets
}

# Istio's charts and addon manifests of the same release, for offline installs
# (istio_install method helm, the addons role): .lab/istio/{charts,addons}.
istio_assets() {
  local src dest="$cache/istio-assets-$ISTIO_VERSION"
  if [[ ! -d "$dest" ]]; then
    src="$(go mod download -json "istio.io/istio@$ISTIO_MODULE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [[ -d "$src/manifests/charts" ]] || { log "no Istio module source for $ISTIO_MODULE_VERSION"; return 1; }
    local tmp
    tmp="$(mktemp -d "$cache/tmp.XXXXXX")"
    mkdir -p "$tmp/charts" "$tmp/addons"
    cp -r "$src/manifests/charts/base" "$tmp/charts/base"
    cp -r "$src/manifests/charts/istio-control/istio-discovery" "$tmp/charts/istiod"
    cp -r "$src/manifests/charts/gateway" "$tmp/charts/gateway"
    cp "$src"/samples/addons/{prometheus,grafana,jaeger,kiali}.yaml "$tmp/addons/"
    chmod -R u+w "$tmp"
    # The module source carries the placeholder chart version 1.0.0; stamp the real one.
    sed -i "s/^version: .*/version: $ISTIO_VERSION/; s/^appVersion: .*/appVersion: $ISTIO_VERSION/" "$tmp"/charts/*/Chart.yaml
    mv "$tmp" "$dest"
  fi
  mkdir -p "$root/.lab"
  ln -sfn "$dest" "$root/.lab/istio-assets"
}

# The lab's own gRPC workload program (lab/go/dataplane): versioned by a hash of its
# sources, so any change to them builds it again.
build_dataplane() {
  local dir="$here/go/dataplane" hash
  hash="$(cd "$dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 | sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-12)"
  gobuild meshops-dataplane "$hash" "$dir" . "-s -w"
}

components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(etcd kwok helm kubernetes istio dataplane)
for c in "${components[@]}"; do "build_$c"; done
log "all binaries ready in $bindir"
