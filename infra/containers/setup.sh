#!/usr/bin/env bash
# A container runtime for tangent's container tests, images and compose stack.
#
#   bash infra/containers/setup.sh           runtime + the locally built images
#   bash infra/containers/setup.sh runtime   only the runtime (Docker-API socket)
#
# 1. A runtime that already answers (DOCKER_HOST, /var/run/docker.sock, or the Podman
#    socket this script started before) is used as it is: nothing is installed or changed.
# 2. Otherwise, as root with apt-get: Debian's Podman (+ runc, debootstrap, docker-compose),
#    configured for hosts whose root lacks CAP_SYS_RESOURCE and whose cgroups are hybrid,
#    with netavark's DNS for compose networks
#    (/etc/containers/containers.conf, written only when absent or written by this script),
#    and its Docker-API service on $PODMAN_SOCKET. Not root and no runtime: the reason is
#    recorded and the container tests skip, saying it.
# 3. With Podman and no image registry: the local images (infra/containers/images.sh).
#
# Writes $CONTAINERS_ENV_FILE (KEY=value: DOCKER_HOST, TESTCONTAINERS_*, TANGENT_*_IMAGE, or
# TANGENT_CONTAINERS_UNAVAILABLE=<reason>), which the container tests and compose read.
# Stop what it started: bash infra/containers/teardown.sh.
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

what="${1:-all}"
case "$what" in all|runtime) ;; *) die "usage: setup.sh [all|runtime]" ;; esac
mkdir -p "$CONTAINERS_CACHE"
t0=$SECONDS

write_env() { # KEY=value ...
  local tmp="$CONTAINERS_ENV_FILE.tmp.$$"
  printf '%s\n' "# written by infra/containers/setup.sh at $(date -u +%FT%TZ)" "$@" >"$tmp"
  mv "$tmp" "$CONTAINERS_ENV_FILE"
}

unavailable() {
  write_env "TANGENT_CONTAINERS_UNAVAILABLE=$*"
  log "no container runtime: $* (container tests will skip, saying so)"
  exit 0
}

# ---------------------------------------------------------------- 1. existing runtime
if existing="$(working_docker_host)" && [[ "$existing" != "unix://$PODMAN_SOCKET" ]]; then
  log "a container runtime already answers at $existing: using it as it is (nothing installed)"
  write_env "DOCKER_HOST=$existing"
  exit 0
fi

# ---------------------------------------------------------------- 2. Podman
# netavark sets up container networks (also a build's RUN steps) through the iptables command,
# which Debian lists only as a recommendation.
packages=(podman runc netavark aardvark-dns iptables uidmap slirp4netns fuse-overlayfs catatonit debootstrap docker-compose curl)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]} > 0)); then
  [[ "$(id -u)" == 0 ]] || unavailable "no runtime answers, and installing Podman needs root (missing: ${missing[*]})"
  command -v apt-get >/dev/null 2>&1 || unavailable "no runtime answers, and apt-get is not here to install Podman"
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf
marker='# tangent: infra/containers/setup.sh'
if [[ "$(id -u)" == 0 ]] && { [[ ! -f "$conf" ]] || grep -qF "$marker" "$conf"; }; then
  # Podman asks for nofile=1048576 by default; root without CAP_SYS_RESOURCE cannot raise
  # its hard limit, so ask for exactly the hard limit it has (nproc above 32768 fails too).
  hard_nofile="$(ulimit -Hn)"
  [[ "$hard_nofile" == unlimited ]] && hard_nofile=1048576
  hard_nproc="$(ulimit -Hu)"
  [[ "$hard_nproc" == unlimited || "$hard_nproc" -gt 32768 ]] && hard_nproc=32768
  # crun refuses hybrid cgroup v1/v2 hosts; runc runs on them.
  runtime=crun
  [[ -d /sys/fs/cgroup/unified || ! -f /sys/fs/cgroup/cgroup.controllers ]] && runtime=runc
  mkdir -p /etc/containers
  cat >"$conf.tmp" <<CONF
$marker (rewritten on each run; delete this line to keep your own settings)
[containers]
default_ulimits = ["nofile=$hard_nofile:$hard_nofile", "nproc=$hard_nproc:$hard_nproc"]

[engine]
runtime = "$runtime"

[network]
# netavark + aardvark-dns: containers on a compose network find each other by name
# (Debian's Podman otherwise falls back to CNI without DNS).
network_backend = "netavark"
CONF
  if ! cmp -s "$conf.tmp" "$conf"; then
    mv "$conf.tmp" "$conf"
    log "wrote $conf (nofile $hard_nofile, nproc $hard_nproc, runtime $runtime, netavark)"
    # A service started before reads the old settings: restart the one this script started.
    pid="$(cat "$PODMAN_SERVICE_PID" 2>/dev/null || true)"
    if pid_matches "$pid" 'system service'; then
      kill "$pid"; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      log "stopped the Podman API service started before (pid $pid) to apply them"
    fi
  else
    rm -f "$conf.tmp"
  fi
fi

podman info >/dev/null 2>&1 || die "podman info fails: $(podman info 2>&1 | tail -n 3)"
# A bridge left by the CNI backend holds the same subnet as netavark's podman0 and swallows
# the traffic to published ports: remove it once netavark is in charge.
if [[ "$(podman info --format '{{.Host.NetworkBackend}}')" == netavark ]] && ip link show cni-podman0 >/dev/null 2>&1; then
  ip link delete cni-podman0 && log "removed the CNI backend's bridge cni-podman0 (netavark uses podman0)"
fi

# The Docker-API service (testcontainers, docker-compose), started once and reused.
if socket_answers "$PODMAN_SOCKET"; then
  log "Podman's Docker-API service already answers on $PODMAN_SOCKET"
else
  mkdir -p "$(dirname "$PODMAN_SOCKET")"
  rm -f "$PODMAN_SOCKET"
  setsid nohup podman system service --time=0 "unix://$PODMAN_SOCKET" >"$CONTAINERS_CACHE/podman-service.log" 2>&1 </dev/null &
  echo $! >"$PODMAN_SERVICE_PID"
  for _ in $(seq 1 100); do socket_answers "$PODMAN_SOCKET" && break; sleep 0.1; done
  socket_answers "$PODMAN_SOCKET" || die "podman system service did not answer on $PODMAN_SOCKET (log: $CONTAINERS_CACHE/podman-service.log)"
  log "started Podman's Docker-API service on $PODMAN_SOCKET (pid $(cat "$PODMAN_SERVICE_PID"))"
fi

# Podman runs HEALTHCHECKs from systemd timers; without systemd as PID 1 nothing runs them.
# The ticker does what Docker's daemon does: run each container's check every few seconds.
if [[ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]] && ! pid_matches "$(cat "$HEALTH_TICKER_PID" 2>/dev/null || true)" health-ticker.sh; then
  setsid nohup bash "$CONTAINERS_DIR/health-ticker.sh" >"$CONTAINERS_CACHE/health-ticker.log" 2>&1 </dev/null &
  echo $! >"$HEALTH_TICKER_PID"
  log "no systemd: started the healthcheck ticker (pid $(cat "$HEALTH_TICKER_PID"))"
fi

env_lines=(
  "DOCKER_HOST=unix://$PODMAN_SOCKET"
  # Ryuk's image cannot be pulled without a registry; teardown.sh removes what tests leave.
  "TESTCONTAINERS_RYUK_DISABLED=true"
  # Podman publishes ports on the host's loopback too: keep test traffic there.
  "TESTCONTAINERS_HOST_OVERRIDE=localhost"
  "TANGENT_CONTAINER_RUNTIME=podman-$(podman version --format '{{.Client.Version}}')"
)

# ---------------------------------------------------------------- 3. local images
if [[ "$what" == all ]]; then
  bash "$CONTAINERS_DIR/images.sh"
  env_lines+=(
    "TANGENT_KAFKA_IMAGE=$KAFKA_IMAGE"
    "TANGENT_PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE"
    "TANGENT_BUILD_IMAGE=$NODE_BUILD_IMAGE"
    "TANGENT_RUNTIME_IMAGE=$NODE_RUNTIME_IMAGE"
    "TANGENT_BASE_IMAGE=$BASE_IMAGE"
  )
fi
write_env "${env_lines[@]}"
log "ready in $((SECONDS - t0)) s; environment in $CONTAINERS_ENV_FILE"
