# Shared settings of the infra/containers scripts. Sourced, not run.
# shellcheck shell=bash

CONTAINERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_ROOT="$(cd "$CONTAINERS_DIR/../.." && pwd)"
TANGENT_CACHE="${TANGENT_CACHE:-${HOME:-/root}/.cache/tangent}"
CONTAINERS_CACHE="$TANGENT_CACHE/containers"
# What setup.sh found or started, as KEY=value lines any script (or `set -a; . FILE`) can read.
CONTAINERS_ENV_FILE="${TANGENT_CONTAINERS_ENV:-$CONTAINERS_CACHE/runtime.env}"

PODMAN_SOCKET="${TANGENT_PODMAN_SOCKET:-/run/podman/podman.sock}"
PODMAN_SERVICE_PID="$CONTAINERS_CACHE/podman-service.pid"
HEALTH_TICKER_PID="$CONTAINERS_CACHE/health-ticker.pid"

DEBIAN_SUITE="${TANGENT_DEBIAN_SUITE:-bookworm}"
# debootstrap's output as imported (cached as a tar), and the base the other images use:
# that plus the certificate authorities this host trusts locally (a TLS-inspecting proxy's).
MINBASE_IMAGE="localhost/tangent-debian-minbase:$DEBIAN_SUITE"
MINBASE_IMAGE_TAR="$CONTAINERS_CACHE/tangent-debian-minbase-$DEBIAN_SUITE.tar"
BASE_IMAGE="localhost/tangent-debian:$DEBIAN_SUITE"
NODE_VERSION_FULL="${TANGENT_NODE_VERSION:-20.20.2}"
# The npm that Node.js 20.20 ships with.
NPM_VERSION="${TANGENT_NPM_VERSION:-10.8.2}"
NODE_BUILD_IMAGE="localhost/tangent-node:${NODE_VERSION_FULL%%.*}-$DEBIAN_SUITE"
NODE_RUNTIME_IMAGE="localhost/tangent-node:${NODE_VERSION_FULL%%.*}-$DEBIAN_SUITE-slim"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
# Tagged as the Confluent Platform release that ships this Apache Kafka (8.1 = 4.1), so that
# @testcontainers/kafka's KafkaContainer treats it as a KRaft-capable cp-kafka.
KAFKA_IMAGE="localhost/tangent-cp-kafka:8.1.0"
PROMETHEUS_IMAGE="localhost/tangent-prometheus:$DEBIAN_SUITE"

log() { printf '[containers] %s\n' "$*"; }
die() { printf '[containers] FAILED: %s\n' "$*" >&2; exit 1; }

# true when a Docker-API socket at $1 answers _ping
socket_answers() {
  [[ -S "$1" ]] && curl -fsS --max-time 5 --unix-socket "$1" http://d/_ping >/dev/null 2>&1
}

# The Docker-API endpoint of a runtime that already works (DOCKER_HOST, Docker's
# socket, Podman's socket), or nothing.
working_docker_host() {
  if [[ -n "${DOCKER_HOST:-}" ]]; then
    case "$DOCKER_HOST" in
      unix://*) socket_answers "${DOCKER_HOST#unix://}" && { echo "$DOCKER_HOST"; return 0; } ;;
      *) curl -fsS --max-time 5 "http://${DOCKER_HOST#tcp://}/_ping" >/dev/null 2>&1 && { echo "$DOCKER_HOST"; return 0; } ;;
    esac
  fi
  local s
  for s in /var/run/docker.sock "$PODMAN_SOCKET"; do
    socket_answers "$s" && { echo "unix://$s"; return 0; }
  done
  return 1
}

# true when process $1 is alive and its command line contains $2
pid_matches() {
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

podman_image_exists() { podman image exists "$1" 2>/dev/null; }
