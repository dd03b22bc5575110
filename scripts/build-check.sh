#!/usr/bin/env bash
# Check the collection as users get it: the built tarball, installed.
#
#   scripts/build-check.sh WORK_DIR
#
# 1. ansible-galaxy collection build  -> WORK_DIR/dist/meshops-istio-X.Y.Z.tar.gz
# 2. the tarball holds nothing that galaxy.yml's build_ignore excludes
#    (no lab/, no .venv/, ...), and has MANIFEST.json and FILES.json
# 3. ansible-galaxy collection install --no-deps into an empty WORK_DIR/collections
# 4. ansible-doc meshops.istio.NAME for every plugins/modules/NAME.py, against the
#    installed copy (plus the venv's site-packages for kubernetes.core's doc
#    fragments); any failure or empty rendering fails the check.
#
# WORK_DIR is emptied first. Tools come from PATH (the Makefile puts .venv/bin first).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:?usage: $0 WORK_DIR}"
case "$work" in /*) ;; *) work="$root/$work" ;; esac
python="${VENV_PYTHON:-$root/.venv/bin/python}"

fail() { printf 'build-check: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf 'build-check: %s\n' "$*"; }

rm -rf "$work"
mkdir -p "$work/dist" "$work/collections"

# 1. build
cd "$root"
ansible-galaxy collection build --output-path "$work/dist" . >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; fail "ansible-galaxy collection build"; }
shopt -s nullglob
tarballs=("$work"/dist/meshops-istio-*.tar.gz)
shopt -u nullglob
[[ ${#tarballs[@]} -eq 1 ]] || fail "expected one tarball in $work/dist, found ${#tarballs[@]}"
tarball="${tarballs[0]}"
say "built $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"

# 2. contents: match every member path (and each of its parent directories)
# against build_ignore, the way ansible-galaxy does (fnmatch on the path
# relative to the collection root).
"$python" - "$root/galaxy.yml" "$tarball" <<'EOF'
import fnmatch
import sys
import tarfile

import yaml

galaxy_path, tarball = sys.argv[1:]
with open(galaxy_path, encoding='utf-8') as f:
    patterns = yaml.safe_load(f).get('build_ignore') or []
# Whatever the patterns say, these must never ship.
never = ['.venv', '.venv-min', '.lab', 'lab', 'build', '.git', 'tests/output']

with tarfile.open(tarball) as tar:
    names = [m.name[2:] if m.name.startswith('./') else m.name for m in tar.getmembers()]

bad = []
for name in names:
    parts = name.split('/')
    prefixes = ['/'.join(parts[:i]) for i in range(1, len(parts) + 1)]
    for prefix in prefixes:
        hit = [p for p in patterns if fnmatch.fnmatch(prefix, p)] + [p for p in never if prefix == p]
        if hit:
            bad.append('%s (matches %s)' % (name, ', '.join(hit)))
            break

for required in ('MANIFEST.json', 'FILES.json'):
    if required not in names:
        bad.append('%s is missing' % required)

if bad:
    print('build-check: the tarball contains excluded paths or lacks metadata:', file=sys.stderr)
    for line in bad:
        print('  ' + line, file=sys.stderr)
    sys.exit(1)
print('build-check: tarball holds %d entries, none of them build_ignore\'d' % len(names))
EOF

# 3. install into an empty collections path
ansible-galaxy collection install --force --no-deps -p "$work/collections" "$tarball" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "ansible-galaxy collection install"; }
installed="$work/collections/ansible_collections/meshops/istio"
[[ -f "$installed/MANIFEST.json" ]] || fail "installed collection has no MANIFEST.json at $installed"
say "installed into $work/collections"

# 4. ansible-doc every module
site_packages="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
shopt -s nullglob
modules=()
for f in "$root"/plugins/modules/*.py; do
  name="$(basename "$f" .py)"
  [[ "$name" == __init__ ]] && continue
  modules+=("$name")
done
shopt -u nullglob

if [[ ${#modules[@]} -eq 0 ]]; then
  say "no modules under plugins/modules yet: nothing to check with ansible-doc"
  say "OK"
  exit 0
fi

failed=()
for name in "${modules[@]}"; do
  fqcn="meshops.istio.$name"
  [[ -f "$installed/plugins/modules/$name.py" ]] || { failed+=("$fqcn: not in the installed collection"); continue; }
  out="$work/ansible-doc.$name.txt"
  # Run outside the repository so no ansible.cfg of the project applies.
  if ! (cd "$work" && ANSIBLE_COLLECTIONS_PATH="$work/collections:$site_packages" \
        ANSIBLE_NOCOLOR=1 ansible-doc -t module "$fqcn") >"$out" 2>&1; then
    failed+=("$fqcn: ansible-doc failed: $(head -c 400 "$out")")
  elif ! grep -q "$fqcn" "$out" || [[ $(grep -c . "$out") -lt 5 ]]; then
    failed+=("$fqcn: ansible-doc rendered nothing useful: $(head -c 400 "$out")")
  elif grep -qiE '^\[(WARNING|ERROR)\]' "$out"; then
    failed+=("$fqcn: ansible-doc warned: $(grep -iE '^\[(WARNING|ERROR)\]' "$out" | head -3)")
  else
    say "ansible-doc $fqcn: $(grep -c . "$out") lines"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'build-check: FAIL: %s\n' "${failed[@]}" >&2
  exit 1
fi
say "OK (${#modules[@]} modules documented)"
