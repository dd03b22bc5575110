#!/usr/bin/env bash
# Lay the collection out where Ansible's tools expect it:
#
#   scripts/collection-tree.sh BUILD_DIR
#
# creates BUILD_DIR/collections/ansible_collections/meshops/istio as a fresh
# copy of the repository's source files, and
# BUILD_DIR/collections/ansible_collections/kubernetes as a symlink to the
# kubernetes.* collections that the PyPI `ansible` package installed into
# .venv, so that the dependency kubernetes.core is found next to us, and
# BUILD_DIR/collections/ansible_collections/awx to awx.awx (scripts/awx-collection.sh).
# Prints the path of the collection copy.
#
# Why a copy and not a symlink to the repository: ansible-test locates the
# collection from os.getcwd(), which resolves symlinks, so a symlinked
# collection root is seen as /work/.../main and refused ("No ansible_collections
# parent directory was found").
#
# Which files: in a git work tree, exactly what git would track (tracked files
# plus untracked files that .gitignore does not exclude); that is the file set
# ansible-test itself would see in a clean checkout. Outside git, everything
# except the local-only directories below.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:?usage: $0 BUILD_DIR}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac

tree="$build/collections/ansible_collections"
dest="$tree/meshops/istio"
venv_python="${VENV_PYTHON:-$root/.venv/bin/python}"

rm -rf "$dest"
mkdir -p "$dest"

# Directories that are not collection content (galaxy.yml build_ignore): the lab, the
# demo app, benchmarks, molecule scenarios and tooling stay out of the copy, so sanity
# judges what ships (plus tests/); `make lint` shellchecks their scripts.
not_content_re='lab|examples|bench|molecule|scripts|\.ci|\.config'

cd "$root"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # -z / --null: safe for any file name. Tracked files deleted from the work
  # tree are listed by --cached, so keep only files that exist.
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        [[ "$f" =~ ^($not_content_re)/ ]] && continue
        if [[ -e "$f" || -L "$f" ]]; then printf '%s\0' "$f"; fi
      done \
    | tar --null --no-recursion -T - -cf - \
    | tar -xf - -C "$dest"
else
  tar -cf - \
    --exclude=./.git --exclude=./.venv --exclude=./.venv-min --exclude=./.lab --exclude=./build \
    --exclude=./tests/output --exclude=__pycache__ --exclude='*.pyc' \
    --exclude=./.pytest_cache --exclude=./.ansible --exclude=./.cache \
    --exclude="./${build#"$root"/}" \
    --exclude=./lab --exclude=./examples --exclude=./bench --exclude=./molecule --exclude=./scripts --exclude=./.ci \
    . | tar -xf - -C "$dest"
fi

# The dependency: kubernetes.core from the venv's site-packages.
purelib="$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
site_collections="$purelib/ansible_collections"
if [[ ! -d "$site_collections/kubernetes/core" ]]; then
  echo "collection-tree: kubernetes.core not found in $venv_python's site-packages (run 'make venv')" >&2
  exit 1
fi
ln -sfn "$site_collections/kubernetes" "$tree/kubernetes"

# awx.awx for playbooks/awx (the `ansible` package of the venv no longer ships it): kept next to the venv.
awx_dir="$(dirname "$(dirname "$venv_python")")/awx-collections"
VENV_PYTHON="$venv_python" "$root/scripts/awx-collection.sh" "$awx_dir"
ln -sfn "$awx_dir/ansible_collections/awx" "$tree/awx"

printf '%s\n' "$dest"
