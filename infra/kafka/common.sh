# Shared settings for install.sh / start.sh / stop.sh. Sourced, not run.
# shellcheck shell=bash

KAFKA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_NUM_PARTITIONS="${KAFKA_NUM_PARTITIONS:-3}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m}"
KAFKA_READY_TIMEOUT_S="${KAFKA_READY_TIMEOUT_S:-90}"

TANGENT_CACHE="${TANGENT_CACHE:-${HOME:-/root}/.cache/tangent}"
KAFKA_HOME_DIR="$TANGENT_CACHE/kafka/$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME_DIR/libs"
KAFKA_MARKER="$KAFKA_HOME_DIR/installed.ok"

RUN_DIR="${TANGENT_RUN_DIR:-/tmp/tangent-kafka-$KAFKA_PORT}"
PID_FILE="$RUN_DIR/kafka.pid"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

# lock FILE: serialise concurrent callers (fd 9) when flock exists
# (a nested script, e.g. stop.sh run by start.sh, inherits the parent's lock)
lock() {
  command -v flock >/dev/null 2>&1 || return 0
  [[ "${TANGENT_KAFKA_LOCKED:-}" == *"|$1|"* ]] && return 0
  mkdir -p "$(dirname "$1")"
  exec 9>"$1"
  flock -w 300 9 || { printf '[kafka] ERROR: timed out waiting for lock %s\n' "$1" >&2; exit 1; }
  export TANGENT_KAFKA_LOCKED="${TANGENT_KAFKA_LOCKED:-}|$1|"
}

log() { printf '[kafka] %s\n' "$*"; }
err() { printf '[kafka] ERROR: %s\n' "$*" >&2; }

# true when something accepts TCP connections on 127.0.0.1:$1
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# true when process $1 exists and is not a zombie
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  if [[ -r "/proc/$1/stat" ]]; then
    local st
    st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
    [[ "$st" != Z && "$st" != X ]] || return 1
  fi
}

# prints the pid from $PID_FILE when that process is alive and is a kafka.Kafka
# broker for this run dir; returns 1 otherwise (no file, dead, or pid reused)
our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    local cmd
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
    [[ "$cmd" == *kafka.Kafka* && "$cmd" == *"$RUN_DIR/server.properties"* ]] || return 1
  fi
  printf '%s\n' "$pid"
}
