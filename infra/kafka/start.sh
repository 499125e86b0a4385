#!/usr/bin/env bash
# Starts a single-node Apache Kafka (KRaft, broker+controller) on
# 127.0.0.1:$KAFKA_PORT with a fresh, empty log dir, and waits until it answers.
# Idempotent: when our broker already answers, prints its address and exits 0.
# KAFKA_KEEP_DATA=1 restarts on the existing run dir instead (same cluster,
# topics, records and committed offsets), e.g. after a stop or a kill -9.
# Last line of output: KAFKA_BROKERS=127.0.0.1:<port>
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

lock "$RUN_DIR.lock"   # one start/stop at a time per run dir
bash "$KAFKA_DIR/install.sh"

BROKERS="127.0.0.1:$KAFKA_PORT"
LOG4J="$KAFKA_DIR/log4j2.properties"

# ready_check SECONDS: succeeds when the broker answers a metadata request
# (kafkajs admin via wait-ready.mjs); prints its JSON line. Without node/kafkajs
# it falls back to: port open and "Kafka Server started" in server.log.
ready_check() {
  local out rc=3
  if command -v node >/dev/null 2>&1; then
    set +e
    out="$(node "$KAFKA_DIR/wait-ready.mjs" "$BROKERS" "$1" 2>/dev/null)"
    rc=$?
    set -e
  fi
  if [[ $rc == 3 ]]; then
    port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$RUN_DIR/server.log" 2>/dev/null || return 1
    out='{"clusterId":"'"$(cat "$RUN_DIR/cluster.id" 2>/dev/null)"'","check":"log"}'
    rc=0
  fi
  [[ $rc == 0 ]] && printf '%s\n' "$out"
}

json_cluster_id() { sed -n 's/.*"clusterId":"\([^"]*\)".*/\1/p'; }

listener_of() {  # best-effort description of who listens on port $1
  command -v ss >/dev/null 2>&1 && ss -ltnpH "sport = :$1" 2>/dev/null | head -n1 | sed 's/  */ /g' || true
}

# 1. Already running?
if pid="$(our_pid)"; then
  if port_open "$KAFKA_PORT" && info="$(ready_check 15)" \
     && [[ "$(json_cluster_id <<<"$info")" == "$(cat "$RUN_DIR/cluster.id" 2>/dev/null)" ]]; then
    log "broker already running (pid $pid, cluster $(json_cluster_id <<<"$info"), run dir $RUN_DIR)"
    echo "KAFKA_BROKERS=$BROKERS"
    exit 0
  fi
  log "broker pid $pid does not answer on $BROKERS; restarting it"
  bash "$KAFKA_DIR/stop.sh"
fi

# 2. Ports must be free (a stale pid file from a kill -9 is simply ignored).
# Right after a kill -9 the dying JVM may still hold its sockets for a moment.
if [[ -f "$PID_FILE" ]]; then
  t0=$SECONDS
  while { port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; } && (( SECONDS - t0 < 10 )); do
    sleep 0.2
  done
fi
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if port_open "$p"; then
    err "127.0.0.1:$p is in use by a process this script did not start: $(listener_of "$p")"
    err "stop it, or choose other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    exit 1
  fi
done

# 3. Fresh run dir (config, logs, pid) with a fresh, empty Kafka log dir —
# or, with KAFKA_KEEP_DATA=1, the existing one as it is (no wipe, no format).
case "$RUN_DIR" in
  ""|/|"$HOME"|"$HOME/") err "refusing to use run dir '$RUN_DIR'"; exit 1 ;;
esac
JAVA_LOG_OPTS=(-Dlog4j2.configurationFile="$LOG4J" -Dkafka.logs.dir="$RUN_DIR")
if [[ "${KAFKA_KEEP_DATA:-0}" == 1 ]]; then
  for f in .tangent-kafka server.properties cluster.id data/meta.properties; do
    [[ -f "$RUN_DIR/$f" ]] || { err "KAFKA_KEEP_DATA=1, but $RUN_DIR/$f is missing: no broker data to keep (start once without it)"; exit 1; }
  done
  log "keeping the data in $RUN_DIR/data (cluster $(cat "$RUN_DIR/cluster.id"))"
else
  if [[ -d "$RUN_DIR" && -n "$(ls -A "$RUN_DIR")" && ! -f "$RUN_DIR/.tangent-kafka" ]]; then
    err "run dir $RUN_DIR exists, is not empty and was not made by this script; refusing to wipe it"
    exit 1
  fi
  rm -rf "$RUN_DIR"
  mkdir -p "$RUN_DIR/data"
  touch "$RUN_DIR/.tangent-kafka"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@KAFKA_NUM_PARTITIONS@|$KAFKA_NUM_PARTITIONS|g" \
      -e "s|@LOG_DIR@|$RUN_DIR/data|g" \
      "$KAFKA_DIR/server.properties.template" >"$RUN_DIR/server.properties"

  t0=$SECONDS
  cluster_id="$("$JAVA" -cp "$KAFKA_LIBS/*" "${JAVA_LOG_OPTS[@]}" kafka.tools.StorageTool random-uuid | tail -n1)"
  echo "$cluster_id" >"$RUN_DIR/cluster.id"
  if ! "$JAVA" -cp "$KAFKA_LIBS/*" "${JAVA_LOG_OPTS[@]}" kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$RUN_DIR/server.properties" --standalone >"$RUN_DIR/format.out" 2>&1; then
    err "storage format failed:"; cat "$RUN_DIR/format.out" >&2; exit 1
  fi
  log "formatted $RUN_DIR/data (cluster $cluster_id) in $((SECONDS - t0)) s"
fi

# 4. Start in the background, detached from this shell's session.
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
cmd=("$JAVA" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
     "${JAVA_LOG_OPTS[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$RUN_DIR/server.properties")
launcher=(nohup)
command -v setsid >/dev/null 2>&1 && launcher=(setsid nohup)
# the inner bash writes its own pid, then exec's java: the pid file is java's pid
"${launcher[@]}" bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" "${cmd[@]}" \
  </dev/null >"$RUN_DIR/kafka.out" 2>&1 9>&- &   # 9>&-: the broker must not hold our lock
t_start=$SECONDS
log "starting Kafka $KAFKA_VERSION on $BROKERS (controller :$KAFKA_CONTROLLER_PORT, run dir $RUN_DIR)"

# 5. Wait until it really answers, or it died, or the timeout.
fail() {
  err "$1"
  echo "----- last 50 lines of $RUN_DIR/server.log -----" >&2
  tail -n 50 "$RUN_DIR/server.log" >&2 2>/dev/null || true
  if [[ -s "$RUN_DIR/kafka.out" ]]; then
    echo "----- last 20 lines of $RUN_DIR/kafka.out -----" >&2
    tail -n 20 "$RUN_DIR/kafka.out" >&2
  fi
  exit 1
}
sleep 1
while :; do
  pid="$(our_pid)" || fail "broker process exited during startup"
  if port_open "$KAFKA_PORT" && info="$(ready_check 5)"; then break; fi
  (( SECONDS - t_start < KAFKA_READY_TIMEOUT_S )) \
    || { bash "$KAFKA_DIR/stop.sh" >/dev/null 2>&1 || true; fail "not ready after $KAFKA_READY_TIMEOUT_S s"; }
  sleep 0.5
done
log "ready in $((SECONDS - t_start)) s (pid $pid, cluster $(json_cluster_id <<<"$info"), logs $RUN_DIR/server.log)"
echo "KAFKA_BROKERS=$BROKERS"
