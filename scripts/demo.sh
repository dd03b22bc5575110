#!/usr/bin/env bash
# make demo: bring the lab up, run the walkthrough (playbooks/site.yml) against it, then
# run it again and fail unless the second run changed nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
lab/lab.sh up
# shellcheck disable=SC1091
source .lab/env
export ANSIBLE_COLLECTIONS_PATH="${COLLECTIONS:-$root/build/collections}" ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-1}"
playbook=(.venv/bin/ansible-playbook -i inventories/lab playbooks/site.yml)

echo "==> first run"
start=$SECONDS
"${playbook[@]}"
first=$((SECONDS - start))

echo "==> second run (must change nothing)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$SECONDS
ANSIBLE_FORCE_COLOR=0 "${playbook[@]}" | tee "$log"
second=$((SECONDS - start))
if grep -E '^[^ ]+ +: ok=' "$log" | grep -vq 'changed=0 '; then
  echo "make demo: the second run changed something; site.yml is not idempotent" >&2
  exit 1
fi
echo "==> make demo: done; the second run changed nothing (first run ${first}s, second run ${second}s)"
# Each cluster's summary (the last play of site.yml), once more at the very end: it names the mesh report that
# step 8 (role mesh_verify) wrote, with the line "Mesh report: <path>".
echo "==> summary"
summary="$(sed -n '/TASK \[Summary of the cluster\]/,/^PLAY RECAP/p' "$log" | sed -n 's/^ *"\(.*\)",\{0,1\}$/\1/p')"
printf '%s\n' "$summary"
if ! grep -q '^Mesh report: ' <<<"$summary"; then
  echo "make demo: the summary names no mesh report (step 8 wrote none)" >&2
  exit 1
fi
# The last lines: where each cluster's report is.
grep '^Mesh report: ' <<<"$summary"
