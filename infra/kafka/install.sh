#!/usr/bin/env bash
# Installs Apache Kafka's broker jars (from Maven Central, via Maven) into
#   ${TANGENT_CACHE:-$HOME/.cache/tangent}/kafka/<version>/libs
# Idempotent: does nothing when the marker file says that install is complete.
# Installs Maven and a JDK >= 17 with apt-get when they are missing.
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else err "need root to run: $*"; return 1; fi
}

APT_UPDATED=0
apt_update() {
  command -v apt-get >/dev/null 2>&1 || { err "apt-get not found; install Maven and a JDK >= 17 by hand"; return 1; }
  if [[ "$APT_UPDATED" == 0 ]]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
}
apt_install() {
  apt_update
  log "apt-get install -y $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

java_major() {
  command -v "$JAVA" >/dev/null 2>&1 || { echo 0; return; }
  # e.g. openjdk version "17.0.15" 2025-04-15   /   java version "1.8.0_392"
  local v
  v="$("$JAVA" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)"
  v="${v#1.}"
  v="${v%%[.+-]*}"
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}

pom_hash() { sha256sum "$KAFKA_DIR/pom.xml" | cut -c1-16; }

installed_ok() {
  [[ -f "$KAFKA_MARKER" && -d "$KAFKA_LIBS" ]] || return 1
  local want have
  want="$(sed -n 's/^jars=//p' "$KAFKA_MARKER")"
  have="$(find "$KAFKA_LIBS" -maxdepth 1 -name '*.jar' | wc -l)"
  [[ -n "$want" && "$want" == "$have" ]] || return 1
  [[ "$(sed -n 's/^pom=//p' "$KAFKA_MARKER")" == "$(pom_hash)" ]] || return 1
  compgen -G "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null
}

lock "$TANGENT_CACHE/kafka/$KAFKA_VERSION.lock"

# 1. Java >= 17 (Kafka 4.x brokers need it)
jm="$(java_major)"
if (( jm < 17 )); then
  log "Java >= 17 not found (found: ${jm}); installing a JDK"
  apt_update
  if apt-cache show openjdk-17-jdk-headless >/dev/null 2>&1; then
    apt_install openjdk-17-jdk-headless
  else
    apt_install default-jdk-headless
  fi
  jm="$(java_major)"
  (( jm >= 17 )) || { err "Java >= 17 still not available ($JAVA -version says $jm)"; exit 1; }
fi

# 2. Already installed?
if installed_ok; then
  log "Kafka $KAFKA_VERSION already installed: $KAFKA_LIBS ($(sed -n 's/^jars=//p' "$KAFKA_MARKER") jars, Java $jm)"
  exit 0
fi

# 3. Maven
if ! command -v mvn >/dev/null 2>&1; then
  log "mvn not found; installing Maven"
  apt_install maven
fi

# 4. Resolve and copy the jars into a temp dir, then move it into place.
log "installing Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
start_s=$SECONDS
mkdir -p "$KAFKA_HOME_DIR"
tmp="$(mktemp -d "$KAFKA_HOME_DIR/libs.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mvn_log="$KAFKA_HOME_DIR/mvn.log"
if ! (cd "$KAFKA_DIR" && mvn -q -B -f "$KAFKA_DIR/pom.xml" \
        -Dkafka.version="$KAFKA_VERSION" -Dlibs.dir="$tmp" \
        dependency:copy-dependencies) >"$mvn_log" 2>&1; then
  err "mvn dependency:copy-dependencies failed; last lines of $mvn_log:"
  tail -n 30 "$mvn_log" >&2
  exit 1
fi
jars="$(find "$tmp" -maxdepth 1 -name '*.jar' | wc -l)"
if [[ ! -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
  err "kafka_2.13-$KAFKA_VERSION.jar missing after copy ($jars jars); see $mvn_log"
  exit 1
fi
rm -rf "$KAFKA_LIBS" "$KAFKA_MARKER"
mv "$tmp" "$KAFKA_LIBS"
trap - EXIT
# the project's pom leaves a target/ dir behind only when run without -Dlibs.dir
rm -rf "$KAFKA_DIR/target"
{
  echo "version=$KAFKA_VERSION"
  echo "jars=$jars"
  echo "pom=$(pom_hash)"
  echo "installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$KAFKA_MARKER"
log "installed $jars jars ($(du -sh "$KAFKA_LIBS" | cut -f1)) in $((SECONDS - start_s)) s"
