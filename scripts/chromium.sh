#!/usr/bin/env bash
# Headless Chromium for the mesh report's browser test (tests/integration/test_mesh_verify_role.py): Debian's
# chromium package, installed without recommends when /usr/bin/chromium is missing (root; waits for a dpkg lock
# another install holds). Prints the binary's path.
#
#   scripts/chromium.sh
set -euo pipefail

BIN=/usr/bin/chromium
log() { printf '[chromium] %s\n' "$*" >&2; }

if [[ ! -x "$BIN" ]]; then
  if [[ "$(id -u)" -ne 0 ]]; then
    log "chromium is missing and installing it needs root: apt-get install --no-install-recommends chromium"
    exit 1
  fi
  log "installing Debian's chromium (without recommends)"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    chromium >/dev/null
fi
echo "$BIN"
