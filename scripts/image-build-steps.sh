#!/usr/bin/env bash
# The install, build and start steps of the container images, as one script
# that the Dockerfiles run and that CI runs outside Docker
# (test/integration/image-build-steps.test.ts), so the images cannot rot
# silently while nobody has a Docker engine at hand.
#
#   bash scripts/image-build-steps.sh <step> [<step> ...]
#
# Steps, in image order:
#   install      npm ci without install scripts, then only the scripts package.json's
#                allowScripts approves (the same policy whatever the npm version: the
#                node:20 images ship npm 10, which ignores allowScripts), then the native
#                TensorFlow backend via infra/tfjs/install-native.sh (the route CI uses)
#   build        tsc -p tsconfig.build.json -> dist/
#   verify       dist/cli.js --help works, and report which TensorFlow.js backend loads;
#                with TANGENT_NATIVE=required it must be the native one
#   prune        drop devDependencies, the unused native variant, build leftovers
#   healthcheck  exit 0 iff GET /healthz on the metrics port answers 200 (the images'
#                HEALTHCHECK; port TANGENT_METRICS_PORT, default 9464)
#   start-check  start `dist/cli.js run` against KAFKA_BROKERS, wait for /healthz and
#                /readyz, send SIGTERM, expect a clean exit 0
#   all          install build verify prune
#
# Environment:
#   TANGENT_VARIANT   cpu (default) | gpu     which native package: tfjs-node | tfjs-node-gpu
#   TANGENT_NATIVE    required | optional (default) | skip
#                     required: fail unless the native backend builds and loads (the images)
#                     optional: fall back to wasm/cpu with a warning (CI, laptops)
#   TANGENT_START_TIMEOUT_S   start-check's wait for /healthz and /readyz (default 120)
#   TANGENT_CACHE     cache of libtensorflow and the addon build (infra/tfjs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { printf '[image] %s\n' "$*"; }
die() { printf '[image] FAILED: %s\n' "$*" >&2; exit 1; }

VARIANT="${TANGENT_VARIANT:-cpu}"
NATIVE="${TANGENT_NATIVE:-optional}"
case "$VARIANT" in cpu|gpu) ;; *) die "TANGENT_VARIANT must be cpu or gpu, got '$VARIANT'" ;; esac
case "$NATIVE" in required|optional|skip) ;; *) die "TANGENT_NATIVE must be required, optional or skip, got '$NATIVE'" ;; esac
if [[ "$VARIANT" == gpu ]]; then
  NATIVE_PKG=@tensorflow/tfjs-node-gpu; OTHER_PKG=@tensorflow/tfjs-node; NATIVE_FLAGS=(--gpu)
else
  NATIVE_PKG=@tensorflow/tfjs-node; OTHER_PKG=@tensorflow/tfjs-node-gpu; NATIVE_FLAGS=()
fi
METRICS_PORT="${TANGENT_METRICS_PORT:-9464}"

step_install() {
  [[ -f package-lock.json ]] || die "package-lock.json missing: the image installs exactly the lockfile"
  log "npm ci (npm $(npm --version), node $(node --version)), install scripts off"
  npm ci --no-audit --no-fund --include=optional --ignore-scripts
  local approved
  approved="$(node -p "Object.entries(require('./package.json').allowScripts ?? {}).filter(([, ok]) => ok === true).map(([name]) => name).join(' ')")"
  if [[ -n "$approved" ]]; then
    log "install scripts approved by package.json allowScripts: $approved"
    # shellcheck disable=SC2086
    npm rebuild $approved --no-audit --no-fund
  fi
  if [[ "$NATIVE" == skip ]]; then
    log "native TensorFlow backend: skipped (TANGENT_NATIVE=skip)"
    return
  fi
  if [[ ! -f infra/tfjs/install-native.sh ]]; then
    [[ "$NATIVE" == required ]] && die "infra/tfjs/install-native.sh is missing and TANGENT_NATIVE=required"
    log "WARNING: infra/tfjs/install-native.sh is missing; tangent will run on wasm or cpu"
    return
  fi
  log "native TensorFlow backend ($NATIVE_PKG) via infra/tfjs/install-native.sh ${NATIVE_FLAGS[*]}"
  if ! bash infra/tfjs/install-native.sh "${NATIVE_FLAGS[@]}" "$root"; then
    [[ "$NATIVE" == required ]] && die "the native backend did not build or load (TANGENT_NATIVE=required)"
    log "WARNING: native backend unavailable; tangent will run on wasm or cpu"
  fi
}

step_build() {
  log "tsc -p tsconfig.build.json"
  rm -rf dist
  npx --no-install tsc -p tsconfig.build.json
  [[ -f dist/cli.js ]] || die "the build produced no dist/cli.js"
}

step_verify() {
  [[ -f dist/cli.js ]] || die "dist/cli.js missing: run the build step first"
  node dist/cli.js --help >/dev/null || die "node dist/cli.js --help failed"
  log "node dist/cli.js --help: ok"
  local want='' backend
  [[ "$NATIVE" == required ]] && want=tensorflow
  # The same selection the consumer does at start (src/model/backend.ts), in a throwaway process.
  local err
  err="$(mktemp)"
  if ! backend="$(TF_CPP_MIN_LOG_LEVEL=3 node --input-type=module -e "
    const { selectBackend } = await import('./dist/model/backend.js');
    const choice = await selectBackend(process.argv[1] || 'auto');
    console.log(choice.name + ' ' + choice.source);
  " "$want" 2>"$err" | tail -n1)" || [[ -z "$backend" ]]; then
    sed -n '1,20p' "$err" >&2; rm -f "$err"
    die "no TensorFlow.js backend loads${want:+ (wanted: $want)}"
  fi
  rm -f "$err"
  log "backend: $backend"
}

step_prune() {
  log "npm prune --omit=dev"
  npm prune --omit=dev --ignore-scripts --no-audit --no-fund
  # The native variant this image does not use, and the native package's build-time leftovers
  # (node-gyp objects, C headers); the addon lives in lib/napi-v*/, libtensorflow in deps/lib/.
  rm -rf "node_modules/$OTHER_PKG"
  rm -rf "node_modules/$NATIVE_PKG/build" "node_modules/$NATIVE_PKG/deps/include" \
    "node_modules/$NATIVE_PKG/build-tangent.log"
  # Source maps are read only with --enable-source-maps, which the images do not use (~200 MB).
  find node_modules -name '*.map' -type f -delete
  log "node_modules: $(du -sh node_modules | cut -f1)"
}

step_healthcheck() {
  node -e "
    fetch('http://127.0.0.1:' + process.argv[1] + '/healthz', { signal: AbortSignal.timeout(4000) })
      .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));
  " "$METRICS_PORT"
}

step_start_check() {
  [[ -n "${KAFKA_BROKERS:-}" ]] || die "start-check needs KAFKA_BROKERS"
  [[ -f dist/cli.js ]] || die "dist/cli.js missing: run the build step first"
  local timeout="${TANGENT_START_TIMEOUT_S:-120}" pipeline="${TANGENT_PIPELINE:-pipelines/default.yaml}"
  local logf pid status=0 waited=0 live=0 ready=0
  logf="$(mktemp)"
  log "start-check: node dist/cli.js run --pipeline $pipeline (brokers $KAFKA_BROKERS, metrics port $METRICS_PORT)"
  TANGENT_METRICS_PORT="$METRICS_PORT" TANGENT_METRICS_HOST="${TANGENT_METRICS_HOST:-127.0.0.1}" \
    node dist/cli.js run --pipeline "$pipeline" >"$logf" 2>&1 &
  pid=$!
  while (( waited < timeout )); do
    kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; die "tangent run exited before it was healthy"; }
    if (( live == 0 )) && step_healthcheck; then live=1; log "/healthz 200 after ${waited}s"; fi
    if (( live == 1 )) && node -e "
        fetch('http://127.0.0.1:' + process.argv[1] + '/readyz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));
      " "$METRICS_PORT"; then
      ready=1; log "/readyz 200 after ${waited}s"; break
    fi
    sleep 1; waited=$((waited + 1))
  done
  if (( ready == 0 )); then
    kill -KILL "$pid" 2>/dev/null || true
    cat "$logf" >&2
    die "tangent run was not live and ready within ${timeout}s"
  fi
  kill -TERM "$pid"
  wait "$pid" || status=$?
  grep -E '^tangent: ' "$logf" | sed 's/^/[image]   /' || true
  rm -f "$logf"
  (( status == 0 )) || die "tangent run exited with $status after SIGTERM (expected 0)"
  log "start-check: SIGTERM -> clean exit 0"
}

[[ $# -gt 0 ]] || { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
for step in "$@"; do
  case "$step" in
    install) step_install ;;
    build) step_build ;;
    verify) step_verify ;;
    prune) step_prune ;;
    healthcheck) step_healthcheck ;;
    start-check) step_start_check ;;
    all) step_install; step_build; step_verify; step_prune ;;
    -h|--help) sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown step '$step' (install build verify prune healthcheck start-check all)" ;;
  esac
done
