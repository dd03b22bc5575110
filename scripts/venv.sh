#!/usr/bin/env bash
# Create or update a virtualenv on a given Python version from pinned requirements:
#
#   scripts/venv.sh VENV X.Y REQUIREMENTS_FILE...
#
# - A VENV on another Python version (say a 3.11 .venv when 3.12 is wanted) is
#   removed and created anew; pip cannot move a venv between interpreters.
# - The interpreter: $PYTHON if set (it must be Python X.Y), else pythonX.Y on
#   PATH if it runs (a pyenv shim for a version that is not selected does not),
#   else the newest X.Y.* under pyenv's versions directory.
# - Then pip installs the requirements (exact pins) into VENV.
#
# The Makefile calls it only when a requirements file changed or VENV has no
# stamp for X.Y, so an up-to-date venv costs nothing.
set -euo pipefail

venv="${1:?usage: $0 VENV X.Y REQUIREMENTS_FILE...}"
want="${2:?usage: $0 VENV X.Y REQUIREMENTS_FILE...}"
shift 2
[[ $# -gt 0 ]] || { echo "usage: $0 VENV X.Y REQUIREMENTS_FILE..." >&2; exit 2; }
[[ "$want" =~ ^[0-9]+\.[0-9]+$ ]] || { echo "venv: '$want' is not a Python version X.Y" >&2; exit 2; }

say() { printf 'venv %s: %s\n' "$venv" "$*"; }

# Major.minor of an interpreter, or nothing when it does not run.
version_of() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

find_python() {
  local candidate
  if [[ -n "${PYTHON:-}" ]]; then
    [[ "$(version_of "$PYTHON")" == "$want" ]] \
      || { echo "venv: PYTHON=$PYTHON is not a working Python $want" >&2; return 1; }
    printf '%s\n' "$PYTHON"
    return
  fi
  candidate="$(command -v "python$want" || true)"
  if [[ -n "$candidate" && "$(version_of "$candidate")" == "$want" ]]; then
    printf '%s\n' "$candidate"
    return
  fi
  while IFS= read -r candidate; do
    if [[ -n "$candidate" && "$(version_of "$candidate")" == "$want" ]]; then
      printf '%s\n' "$candidate"
      return
    fi
  done < <(compgen -G "${PYENV_ROOT:-$HOME/.pyenv}/versions/$want.*/bin/python$want" | sort -rV)
  echo "venv: no Python $want found (tried \$PYTHON, python$want on PATH, ${PYENV_ROOT:-$HOME/.pyenv}/versions/$want.*);" \
    "install it (e.g. pyenv install $want) or pass PYTHON=/path/to/python$want" >&2
  return 1
}

if [[ -e "$venv" || -L "$venv" ]]; then
  have="$(version_of "$venv/bin/python")"
  if [[ "$have" != "$want" ]]; then
    say "Python ${have:-unknown}, want $want: recreating"
    rm -rf "$venv"
  fi
fi

if [[ ! -x "$venv/bin/python" ]]; then
  python="$(find_python)"
  # The real interpreter behind a pyenv shim, for the message.
  python="$("$python" -c 'import sys; print(sys.executable)')"
  say "creating with $python ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
  "$python" -m venv "$venv"
fi

requirements=()
for f in "$@"; do requirements+=(-r "$f"); done
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
say "Python $("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])'), requirements from $*"
