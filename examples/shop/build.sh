#!/usr/bin/env bash
# Builds everything the shop's docker-compose.yml needs, so that
#
#   podman-compose -f examples/shop/docker-compose.yml build
#   podman-compose -f examples/shop/docker-compose.yml up -d
#
# work without pulling anything:
#   1. localhost/meshops-base:busybox          (lab/podman.sh base-image; also sets podman up)
#   2. localhost/meshops-shop-postgres-base:15 (postgres/build-base.sh: debootstrap + postgresql-15)
#   3. static Go binaries <service>/bin/<service> for the service images
#
# Steps 1 and 2 are skipped when the images exist; step 3 uses Go's build
# cache. A rerun takes seconds. Needs root (podman, debootstrap) and Go.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
SERVICES=(frontend api-gateway users orders payments)
log() { printf '[shop-build] %s\n' "$*" >&2; }
t0=$SECONDS

# 1. The busybox base of the service images.
"$repo/lab/podman.sh" base-image >/dev/null
log "base image localhost/meshops-base:busybox ready ($((SECONDS - t0))s)"

# 2. The Debian + postgresql-15 base of the postgres image (cached).
t=$SECONDS
"$here/postgres/build-base.sh" >/dev/null
log "postgres base localhost/meshops-shop-postgres-base:15 ready ($((SECONDS - t))s)"

# 3. Static binaries, one per service, into each service's build context.
t=$SECONDS
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null || { log "go not found (need Go >= 1.25)"; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
(
  cd "$here/services"
  for svc in "${SERVICES[@]}"; do
    mkdir -p "$here/$svc/bin"
    go build -trimpath -ldflags='-s -w' -o "$here/$svc/bin/$svc" "./cmd/$svc"
  done
)
log "binaries built: ${SERVICES[*]} ($((SECONDS - t))s, $(go version | awk '{print $3}'))"
log "ready in $((SECONDS - t0))s; next: podman-compose -f $here/docker-compose.yml build && podman-compose -f $here/docker-compose.yml up -d"
