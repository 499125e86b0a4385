#!/usr/bin/env bash
# Render the kustomizations and validate them against the Kubernetes schemas,
# offline (no cluster, no schema download at run time).
#
#   bash infra/k8s/validate.sh                 base + every overlay
#   bash infra/k8s/validate.sh DIR [DIR ...]   those kustomization dirs
#   bash infra/k8s/validate.sh render DIR      print the rendered YAML only
#
# Tools come from scripts/deploy-tools.sh (kustomize; a venv with
# kubernetes-validate from PyPI). Extra options for validate.py go in
# TANGENT_K8S_VALIDATE_ARGS (e.g. "--k8s-version 1.29.0 --json").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="$root/scripts/deploy-tools.sh"

kustomize="$(bash "$tools" kustomize)"
if [[ "${1:-}" == render ]]; then
  [[ $# == 2 ]] || { echo "usage: $0 render DIR" >&2; exit 2; }
  exec "$kustomize" build "$2"
fi

dirs=("$@")
if [[ ${#dirs[@]} == 0 ]]; then
  dirs=("$here/base")
  for d in "$here"/overlays/*/; do dirs+=("${d%/}"); done
fi
python="$(bash "$tools" python)"
status=0
for dir in "${dirs[@]}"; do
  echo "[k8s] $dir"
  out="$(mktemp)"
  "$kustomize" build "$dir" >"$out"
  # shellcheck disable=SC2086
  "$python" "$here/validate.py" ${TANGENT_K8S_VALIDATE_ARGS:-} "$out" || status=1
  rm -f "$out"
done
exit $status
