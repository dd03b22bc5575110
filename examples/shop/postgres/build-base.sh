#!/usr/bin/env bash
# Builds localhost/meshops-shop-postgres-base:15: a Debian bookworm rootfs
# (debootstrap --variant=minbase) with postgresql-15 installed from Debian's own
# packages, imported into podman. No registry can be pulled from here, so this
# replaces `FROM postgres:15`.
#
# Cached: does nothing when the image already exists (FORCE=1 rebuilds it).
#
# Env:
#   MIRROR           Debian mirror for bookworm (default: the one this host's apt uses)
#   SECURITY_MIRROR  mirror for bookworm-security (default: the host's, if it has one)
#   FORCE=1          rebuild even if the image exists
set -euo pipefail

IMAGE=localhost/meshops-shop-postgres-base:15
SUITE=bookworm
log() { printf '[shop-postgres-base] %s\n' "$*" >&2; }

if [[ "${FORCE:-0}" != 1 ]] && podman image exists "$IMAGE"; then
  log "$IMAGE exists (cached; FORCE=1 rebuilds it)"
  echo "$IMAGE"
  exit 0
fi

[[ $EUID -eq 0 ]] || { log "must run as root (debootstrap, chroot)"; exit 1; }

for tool in debootstrap podman chroot; do
  command -v "$tool" >/dev/null || { log "missing $tool (apt-get install debootstrap podman)"; exit 1; }
done

# The mirror this machine's apt uses: deb822 sources first, then one-line sources.
# Prints the URI of the first entry whose suites include $1.
host_mirror() {
  local want=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk -v want="$want" '
      function flush() { if (uri != "" && ok) { print uri; found = 1; exit } uri = ""; ok = 0 }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == want) ok = 1 }
      tolower($1) == "enabled:" && tolower($2) == "no" { uri = "" }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v want="$want" '$1 == "deb" { u = $2; s = $3; if ($2 ~ /^\[/) { for (i = 2; i <= NF; i++) if ($i ~ /\]$/) break; u = $(i + 1); s = $(i + 2) } if (s == want) print u }' "$f"
  done
}

MIRROR=${MIRROR:-$(host_mirror "$SUITE" | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR-$(host_mirror "$SUITE-security" | head -n1)}
log "mirror: $MIRROR${SECURITY_MIRROR:+ (security: $SECURITY_MIRROR)}"

root=$(mktemp -d /var/tmp/meshops-shop-pg-rootfs.XXXXXX)
chmod 755 "$root" # becomes the image's /; mktemp makes it 0700
cleanup() {
  if mountpoint -q "$root/proc"; then umount -l "$root/proc"; fi
  rm -rf --one-file-system "$root" "$root.log"
}
trap cleanup EXIT

start=$SECONDS
log "debootstrap --variant=minbase $SUITE into $root"
debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
  tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

{
  echo "deb $MIRROR $SUITE main"
  echo "deb $MIRROR $SUITE-updates main"
  [[ -n "$SECURITY_MIRROR" ]] && echo "deb $SECURITY_MIRROR $SUITE-security main"
} >"$root/etc/apt/sources.list"
# No daemons started by package scripts, no default cluster (the entrypoint
# makes one in the volume), no docs.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.d/no-main-cluster.conf"
cat >"$root/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'CFG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
cp /etc/resolv.conf "$root/etc/resolv.conf"

log "chroot: apt-get install postgresql-15"
mount -t proc proc "$root/proc"
chroot "$root" /bin/sh -euc '
  export DEBIAN_FRONTEND=noninteractive LC_ALL=C
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql-15
  apt-get clean
  rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/*.log /var/log/apt/*
' >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
umount "$root/proc"
rm -f "$root/etc/resolv.conf" "$root/usr/sbin/policy-rc.d"
: >"$root/etc/hostname"

log "podman import -> $IMAGE"
tar --numeric-owner -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$IMAGE" >/dev/null
log "built $IMAGE in $((SECONDS - start))s"
echo "$IMAGE"
