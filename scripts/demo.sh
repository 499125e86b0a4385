#!/usr/bin/env bash
# The built-in demo: installs what is missing, starts the local Kafka broker
# unless KAFKA_BROKERS is set, then produces a drifting stream and learns it
# live with metrics on http://localhost:9464/metrics. Ctrl-C stops it all.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-deps.sh
started_broker=0
if [[ -z "${KAFKA_BROKERS:-}" ]]; then
  out="$(bash infra/kafka/start.sh)"
  echo "$out"
  grep -q "already running" <<<"$out" || started_broker=1
  export KAFKA_BROKERS="$(sed -n 's/^KAFKA_BROKERS=//p' <<<"$out" | tail -1)"
fi
cleanup() {
  if [[ "$started_broker" == 1 ]]; then bash infra/kafka/stop.sh; fi
}
trap cleanup EXIT
export TANGENT_LOG_LEVEL="${TANGENT_LOG_LEVEL:-warn}"
# The consumer handles Ctrl-C itself (finishes the batch, commits); the script waits for it.
trap '' INT
npx tsx src/cli.ts demo "$@"
