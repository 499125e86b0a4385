#!/usr/bin/env bash
# Stops the broker started by start.sh (pid file in the run dir): SIGTERM, wait
# up to 30 s, then SIGKILL. Exits 0 when it is not running. Keeps the run dir
# (logs) for inspection; start.sh wipes it.
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

lock "$RUN_DIR.lock"

if ! pid="$(our_pid)"; then
  [[ -f "$PID_FILE" ]] && { log "removing stale pid file $PID_FILE"; rm -f "$PID_FILE"; }
  log "not running (port $KAFKA_PORT)"
  exit 0
fi
log "stopping broker pid $pid (SIGTERM)"
kill -TERM "$pid" 2>/dev/null || true
kill -CONT "$pid" 2>/dev/null || true   # a stopped (SIGSTOP) process cannot act on SIGTERM
t0=$SECONDS
while alive "$pid" && (( SECONDS - t0 < 30 )); do sleep 0.2; done
if alive "$pid"; then
  log "still running after 30 s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  while alive "$pid"; do sleep 0.1; done
fi
# The JVM's main thread can already be a zombie while its other threads are
# still exiting and holding the sockets: wait (≤ 10 s) until the ports are free.
t1=$SECONDS
while { port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; } && (( SECONDS - t1 < 10 )); do
  sleep 0.1
done
rm -f "$PID_FILE"
log "stopped in $((SECONDS - t0)) s"
