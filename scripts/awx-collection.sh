#!/usr/bin/env bash
# Install the awx.awx collection (requirements-awx.txt) for playbooks/awx:
#
#   scripts/awx-collection.sh DEST      # DEST/ansible_collections/awx/awx
#
# awx.awx comes from the PyPI `ansible` 11.13.0 wheel (the last `ansible` that ships it; Galaxy is not
# reachable here): pip downloads that one wheel, hash-checked and without dependencies (pip's cache makes
# later downloads local), and only ansible_collections/awx/ is unpacked. Nothing happens when DEST already
# holds the wanted version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:?usage: $0 DEST}"
python="${VENV_PYTHON:-$root/.venv/bin/python}"
reqs="$root/requirements-awx.txt"
want="$(sed -n 's/^ansible==\([0-9.]*\).*/\1/p' "$reqs")"
stamp="$dest/ansible_collections/awx/.from-ansible-$want"
[[ -f "$stamp" && -f "$dest/ansible_collections/awx/awx/MANIFEST.json" ]] && exit 0

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --no-deps --require-hashes -r "$reqs" -d "$tmp" >&2
wheel="$(compgen -G "$tmp/ansible-$want-*.whl")"
"$python" - "$wheel" "$tmp/out" <<'PY'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as wheel:
    members = [n for n in wheel.namelist() if n.startswith("ansible_collections/awx/awx/")]
    if not members:
        sys.exit("awx-collection: no ansible_collections/awx/awx in " + sys.argv[1])
    wheel.extractall(sys.argv[2], members)
PY
rm -rf "$dest/ansible_collections/awx"
mkdir -p "$dest/ansible_collections"
mv "$tmp/out/ansible_collections/awx" "$dest/ansible_collections/awx"
touch "$stamp"
echo "awx-collection: awx.awx $(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$dest/ansible_collections/awx/awx/MANIFEST.json" | head -1) from ansible $want in $dest" >&2
