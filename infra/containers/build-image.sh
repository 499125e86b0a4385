#!/usr/bin/env bash
# Builds tangent's CPU image from the Dockerfile with the runtime setup.sh found:
#   bash infra/containers/build-image.sh [TAG]        (default tangent:local)
# With the local images (no registry) it passes BUILD_IMAGE/RUNTIME_IMAGE so the
# Dockerfile builds from them; with Docker it builds from the official node images.
# Podman's layer cache keeps a rebuild after a source change to the tsc step.
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
tag="${1:-tangent:local}"
[[ -f "$CONTAINERS_ENV_FILE" ]] && { set -a; source "$CONTAINERS_ENV_FILE"; set +a; }
[[ -z "${TANGENT_CONTAINERS_UNAVAILABLE:-}" ]] || die "no container runtime: $TANGENT_CONTAINERS_UNAVAILABLE"
args=()
[[ -n "${TANGENT_BUILD_IMAGE:-}" ]] && args+=(--build-arg "BUILD_IMAGE=$TANGENT_BUILD_IMAGE")
[[ -n "${TANGENT_RUNTIME_IMAGE:-}" ]] && args+=(--build-arg "RUNTIME_IMAGE=$TANGENT_RUNTIME_IMAGE")
t=$SECONDS
if [[ "${TANGENT_CONTAINER_RUNTIME:-}" == podman* ]]; then
  # Docker format: OCI images cannot carry a HEALTHCHECK, and Podman would drop it.
  podman build --format docker --layers -t "$tag" "${args[@]}" -f "$PROJECT_ROOT/Dockerfile" "$PROJECT_ROOT"
  size="$(podman image inspect "$tag" --format '{{.Size}}')"
else
  DOCKER_BUILDKIT=1 docker build -t "$tag" "${args[@]}" -f "$PROJECT_ROOT/Dockerfile" "$PROJECT_ROOT"
  size="$(docker image inspect "$tag" --format '{{.Size}}')"
fi
log "$tag built in $((SECONDS - t)) s, $((size / 1000000)) MB"
