#!/usr/bin/env bash
# Runs the HEALTHCHECK of every running container that has one, every
# TANGENT_HEALTH_TICK_S seconds (default 5): Podman schedules healthchecks with
# systemd timers, so on hosts without systemd nothing else would, `podman ps`
# would say "starting" forever and compose's `condition: service_healthy` would
# never be met. Started by setup.sh, stopped by teardown.sh.
set -uo pipefail
tick="${TANGENT_HEALTH_TICK_S:-5}"
while true; do
  for id in $(podman ps -q --filter health=starting --filter health=healthy --filter health=unhealthy 2>/dev/null | sort -u); do
    podman healthcheck run "$id" >/dev/null 2>&1 || true
  done
  sleep "$tick"
done
