#!/usr/bin/env bash
# The one test command (README, .ci/run): type-check, unit tests, then the
# integration tests against a real Kafka broker (KAFKA_BROKERS, else the
# local broker from infra/kafka, started and stopped by the test setup), then
# the container suite (test/containers: Kafka through testcontainers, tangent's
# image, the compose stack), which skips, saying why, where no container runtime
# answers (bash infra/containers/setup.sh sets one up).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-deps.sh
echo "[test] type-check"
npx tsc -p tsconfig.json --noEmit
echo "[test] unit, integration and container tests"
TANGENT_CONTAINER_TESTS="${TANGENT_CONTAINER_TESTS:-auto}" npx vitest run "$@"
