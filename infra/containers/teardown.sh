#!/usr/bin/env bash
# Undoes what the container tests and setup.sh left running, also after a failed
# test (no Ryuk here): containers labelled by the tests or by testcontainers, the
# compose projects the tests started, then (with --all) dangling image layers older
# than a day, the healthcheck ticker and the Podman API service that setup.sh
# started. Images and the cache stay, so the next run is quick. Never touches a Docker that setup.sh did not start.
#   bash infra/containers/teardown.sh [--all]
set -uo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
[[ -f "$CONTAINERS_ENV_FILE" ]] && { set -a; source "$CONTAINERS_ENV_FILE"; set +a; }

if [[ "${TANGENT_CONTAINER_RUNTIME:-}" == podman* ]] && command -v podman >/dev/null 2>&1; then
  ids="$(podman ps -aq --filter label=dev.tangent.test --filter label=org.testcontainers=true; \
         podman ps -aq --filter label=com.docker.compose.project=tangent-test)"
  ids="$(sort -u <<<"$ids" | grep -v '^$' || true)"
  if [[ -n "$ids" ]]; then
    # shellcheck disable=SC2086
    podman rm -f -v $ids >/dev/null 2>&1 || true
    log "removed $(wc -l <<<"$ids") test container(s)"
  fi
  podman pod ls -q --filter label=com.docker.compose.project=tangent-test 2>/dev/null | xargs -r podman pod rm -f >/dev/null 2>&1 || true
  podman volume ls -q --filter label=com.docker.compose.project=tangent-test 2>/dev/null | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman network ls -q --filter label=com.docker.compose.project=tangent-test 2>/dev/null | xargs -r podman network rm -f >/dev/null 2>&1 || true
fi

if [[ "${1:-}" == --all ]]; then
  # Each rebuild after a source change leaves the previous layers dangling; keep a day's
  # worth (the layer cache of recent builds), drop the rest.
  if [[ "${TANGENT_CONTAINER_RUNTIME:-}" == podman* ]] && command -v podman >/dev/null 2>&1; then
    podman image prune -f --filter until=24h >/dev/null 2>&1 || true
  fi
  for pair in "$HEALTH_TICKER_PID:health-ticker.sh" "$PODMAN_SERVICE_PID:system service"; do
    file="${pair%%:*}"; pattern="${pair#*:}"
    pid="$(cat "$file" 2>/dev/null || true)"
    if pid_matches "$pid" "$pattern"; then
      kill "$pid" 2>/dev/null && log "stopped $pattern (pid $pid)"
    fi
    rm -f "$file"
  done
fi
exit 0
