#!/usr/bin/env bash
# The one test command (README, .ci/run): type-check, unit tests, then the
# integration tests against a real Kafka broker (KAFKA_BROKERS, else the
# local broker from infra/kafka, started and stopped by the test setup).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-deps.sh
echo "[test] type-check"
npx tsc -p tsconfig.json --noEmit
echo "[test] unit and integration tests"
npx vitest run "$@"
