#!/usr/bin/env bash
# Creates bench/.venv (Python 3.11+) and installs the pinned peers into it.
#   bash bench/peers/setup-venv.sh [--gpytorch]
# Idempotent: a stamp of the requirement files' hashes skips a second install.
# Prints the venv's python path as its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${TANGENT_BENCH_VENV:-$here/../.venv}"
python="${PYTHON:-python3}"
files=("$here/requirements.txt")
[[ "${1:-}" == "--gpytorch" ]] && files+=("$here/requirements-gpytorch.txt")

log() { printf '[bench-venv] %s\n' "$*" >&2; }
if [[ ! -x "$venv/bin/python" ]]; then
  log "creating $venv with $("$python" --version 2>&1)"
  "$python" -m venv "$venv"
fi
for f in "${files[@]}"; do
  stamp="$venv/.installed-$(basename "$f" .txt)-$(sha256sum "$f" | cut -c1-16)"
  if [[ -f "$stamp" ]]; then
    log "$(basename "$f"): already installed"
    continue
  fi
  log "installing $(basename "$f") (pip, PyPI) ..."
  t0=$SECONDS
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$f" >&2
  rm -f "$venv/.installed-$(basename "$f" .txt)-"*
  touch "$stamp"
  log "$(basename "$f"): installed in $((SECONDS - t0)) s"
done
echo "$venv/bin/python"
