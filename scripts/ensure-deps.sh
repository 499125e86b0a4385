#!/usr/bin/env bash
# Installs what the project needs on a fresh machine, idempotently: npm
# packages (when node_modules is missing or older than the lockfile), the
# native TensorFlow backend when the registry-only route is available.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[deps] npm ci"
  npm ci --no-audit --no-fund
fi
if [[ -x infra/tfjs/install-native.sh && "${TANGENT_SKIP_NATIVE:-0}" != 1 ]]; then
  bash infra/tfjs/install-native.sh || echo "[deps] native TensorFlow backend unavailable; tangent will use wasm or cpu"
fi
