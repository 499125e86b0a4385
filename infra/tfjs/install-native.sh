#!/usr/bin/env bash
# Registry-only route to a working native TensorFlow backend for the
# @tensorflow/tfjs-node already installed (scripts denied) in <project>/node_modules.
#
#   bash infra/tfjs/install-native.sh [--force] [--gpu] [PROJECT_DIR]
#   (--gpu: the same route with the CUDA-enabled `tensorflow` wheel into @tensorflow/tfjs-node-gpu;
#    builds and runs on CPU here, GPU execution untested)
#
# 1. fetch libtensorflow (C API + headers) from PyPI: the tensorflow-cpu wheel
#    carries libtensorflow_cc.so.2 (exports TF_*/TFE_*) + libtensorflow_framework.so.2
#    + tensorflow/include/ — no libpython needed;
# 2. cache the extracted lib/ + include/ under
#    ${TANGENT_CACHE:-$HOME/.cache/tangent}/libtensorflow/<dist>-<ver>/ (the wheel is not kept);
# 3. stage it into node_modules/@tensorflow/tfjs-node/deps/ with the file names
#    tfjs-node's binding.gyp and install script expect (libtensorflow.so.2.9.1 ...);
# 4. build the addon from source with node-gyp (headers from --nodedir, no download),
#    or reuse a cached build of the identical sources;
# 5. run infra/tfjs/verify.mjs.
#
# Exit 0: the native backend loads (or already loaded). Exit != 0: it does not;
# callers stay on wasm/cpu. See infra/tfjs/README.md.
#
# Environment:
#   TANGENT_CACHE            cache root (default $HOME/.cache/tangent)
#   TANGENT_TF_VERSION       TensorFlow wheel version (default 2.16.2)
#   TANGENT_TF_WHEEL         path to an already-downloaded wheel (air-gapped hosts)
#   TANGENT_NODE_GYP         path to node-gyp.js (default: the one bundled with npm)
#   TANGENT_NODEDIR          Node headers prefix for node-gyp --nodedir (default: auto, /usr)
#   TANGENT_TFJS_NO_ADDON_CACHE=1   always compile the addon (do not reuse a cached build)
#   PYTHON                   python used to run pip (default python3)
#   pip honours PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / pip.conf (registry mirrors).
set -eEuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T_START=$(date +%s.%N)

log()  { printf '[tfjs-native] %s\n' "$*"; }
warn() { printf '[tfjs-native] WARNING: %s\n' "$*" >&2; }
die()  {
  printf '[tfjs-native] FAILED: %s\n' "$*" >&2
  printf '[tfjs-native] the native backend is NOT available; stay on wasm/cpu.\n' >&2
  exit 1
}
WORK_TMP=""
trap '[ -z "$WORK_TMP" ] || rm -rf "$WORK_TMP"' EXIT
trap 'die "unexpected error (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

FORCE=0
GPU=0
PROJECT_DIR=""
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --gpu) GPU=1 ;;
    -h|--help) sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option: $arg" ;;
    *) PROJECT_DIR="$arg" ;;
  esac
done
PROJECT_DIR="$(cd "${PROJECT_DIR:-$SCRIPT_DIR/../..}" 2>/dev/null && pwd)" || die "project dir not found: ${PROJECT_DIR}"

TF_VERSION="${TANGENT_TF_VERSION:-2.16.2}"
if [ "$GPU" = 1 ]; then
  PKG_NAME="@tensorflow/tfjs-node-gpu"; WHEEL_DIST="tensorflow"
else
  PKG_NAME="@tensorflow/tfjs-node"; WHEEL_DIST="tensorflow-cpu"
fi
PKG_DIR="$PROJECT_DIR/node_modules/$PKG_NAME"
CACHE_ROOT="${TANGENT_CACHE:-$HOME/.cache/tangent}"
CACHE_DIR="$CACHE_ROOT/libtensorflow/$WHEEL_DIST-$TF_VERSION"
PYTHON="${PYTHON:-python3}"

# sha256 of wheels this script was proven with, as published in PyPI's simple index
# (pip also checks the index's hash on download; this pins it against a mirror).
known_sha256() {
  case "$1" in
    tensorflow_cpu-2.16.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl)
      echo c855cb6bf05d32dd5928086b03a5f6b4189b63c22b95e017703cbee4291023ca ;;
    tensorflow-2.16.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl)
      echo d8798dea8e2281b4a0b569d9c00e7949c0090509be363da271e1ef21828bffae ;;
    *) echo "" ;;
  esac
}

# ---------------------------------------------------------------- preconditions
[ "$(uname -s)" = Linux ] || die "only Linux is supported by this route (got $(uname -s))"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 wheels are staged by this route (got $(uname -m))"
command -v node >/dev/null || die "node not found on PATH"
[ -f "$PKG_DIR/package.json" ] || die "$PKG_NAME is not installed in $PROJECT_DIR/node_modules (run npm ci first)"
PKG_VERSION="$(node -p "require('$PKG_DIR/package.json').version")"
log "project $PROJECT_DIR: $PKG_NAME $PKG_VERSION, TensorFlow $TF_VERSION ($WHEEL_DIST wheel from PyPI)"
[ "$PKG_VERSION" = 4.22.0 ] || warn "$PKG_NAME $PKG_VERSION: this route was proven with 4.22.0 only"

# Where tfjs-node's JS looks for the addon (node-pre-gyp find: lib/napi-v<N>/tfjs_binding.node)
# and which libtensorflow file name its install script checks (deps/lib/libtensorflow.so.<v>).
read -r BINDING_PATH DEPS_LIBTF_NAME DEPS_LIBTF_FW_NAME < <(cd "$PKG_DIR" && node -e '
  const path = require("path");
  const find = require(require.resolve("@mapbox/node-pre-gyp", { paths: [process.cwd()] })).find;
  const c = require("./scripts/deps-constants.js");
  console.log(find(path.resolve("package.json")), c.depsLibTensorFlowName, c.depsLibTensorFlowFrameworkName);
') || die "cannot resolve the addon path of $PKG_NAME (is @mapbox/node-pre-gyp installed?)"
MODULE_PATH="$(dirname "$BINDING_PATH")"
NAPI_BUILD_VERSION="${MODULE_PATH##*napi-v}"
case "$NAPI_BUILD_VERSION" in ''|*[!0-9]*) die "unexpected addon module_path: $MODULE_PATH" ;; esac

# Does the addon load? Prints the TF C library version on success.
binding_tf_version() {
  (cd "$PKG_DIR" && node -e '
    try { process.stdout.write(require(process.argv[1]).TF_Version); }
    catch (e) { process.stderr.write(String(e.message).split("\n")[0] + "\n"); process.exit(1); }
  ' "$BINDING_PATH" 2>"${1:-/dev/null}")
}

# ------------------------------------------------------------------ fast skip
if [ "$FORCE" = 0 ] && [ -f "$BINDING_PATH" ] && v="$(TF_CPP_MIN_LOG_LEVEL=3 binding_tf_version)"; then
  log "binding already loads ($BINDING_PATH, TensorFlow C library $v): nothing to do (use --force to rebuild)"
  exit 0
fi

# ---------------------------------------------- 1+2. fetch + cache libtensorflow
cache_complete() {
  [ -f "$CACHE_DIR/.complete" ] && [ -f "$CACHE_DIR/lib/libtensorflow_cc.so.2" ] &&
    [ -f "$CACHE_DIR/lib/libtensorflow_framework.so.2" ] && [ -f "$CACHE_DIR/include/tensorflow/c/c_api.h" ]
}

# Headers the binding includes (binding/*.cc|h) — checked against the staged include/.
binding_tf_headers() {
  { grep -ho '#include "tensorflow/[^"]*"' "$PKG_DIR"/binding/*.cc "$PKG_DIR"/binding/*.h 2>/dev/null || true
    printf '#include "tensorflow/c/%s"\n' c_api.h eager/c_api.h tf_datatype.h tf_status.h tf_tensor.h
  } | sort -u
}

headers_compile() { # $1 = include dir
  local tu; tu="$(mktemp --suffix=.cc)"
  binding_tf_headers > "$tu"
  "${CXX:-c++}" -std=c++17 -fsyntax-only -I"$1" "$tu" 2>"$tu.err"; local rc=$?
  [ $rc = 0 ] || sed -n '1,5p' "$tu.err" >&2
  rm -f "$tu" "$tu.err"; return $rc
}

fetch_into_cache() {
  local t0 work wheel sha want inc
  t0=$(date +%s.%N)
  mkdir -p "$CACHE_ROOT/libtensorflow"
  # We hold the lock for this version: any .tmp-* of it is a leftover of an interrupted run.
  rm -rf "$CACHE_ROOT/libtensorflow/.tmp-$WHEEL_DIST-$TF_VERSION."*
  work="$(mktemp -d "$CACHE_ROOT/libtensorflow/.tmp-$WHEEL_DIST-$TF_VERSION.XXXXXX")"
  WORK_TMP="$work"
  if [ -n "${TANGENT_TF_WHEEL:-}" ]; then
    [ -f "$TANGENT_TF_WHEEL" ] || die "TANGENT_TF_WHEEL=$TANGENT_TF_WHEEL does not exist"
    wheel="$TANGENT_TF_WHEEL"
    log "using pre-fetched wheel $wheel"
  else
    "$PYTHON" -m pip --version >/dev/null 2>&1 || die "pip not available ($PYTHON -m pip); set TANGENT_TF_WHEEL to a downloaded $WHEEL_DIST wheel"
    log "downloading $WHEEL_DIST==$TF_VERSION (manylinux2014_x86_64, cp311) from the Python package index ..."
    # The .so files do not depend on the Python tag; cp311 is just a tag PyPI serves for 2.12..2.20.
    "$PYTHON" -m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
        --python-version 3.11 --progress-bar off -q -d "$work/wheel" "$WHEEL_DIST==$TF_VERSION" >&2 \
      || die "pip download $WHEEL_DIST==$TF_VERSION failed (registry unreachable or version not served: '$PYTHON -m pip index versions $WHEEL_DIST')"
    wheel="$(ls "$work"/wheel/*.whl 2>/dev/null | head -1)"
    [ -n "$wheel" ] || die "pip download produced no wheel"
  fi
  sha="$(sha256sum "$wheel" | cut -d' ' -f1)"
  want="$(known_sha256 "$(basename "$wheel")")"
  if [ -n "$want" ] && [ "$want" != "$sha" ]; then die "sha256 mismatch for $(basename "$wheel"): $sha != $want"; fi
  log "wheel $(basename "$wheel") ($(du -h "$wheel" | cut -f1), sha256 $sha) fetched in $(elapsed "$t0"); extracting ..."

  mkdir -p "$work/x"
  if command -v unzip >/dev/null; then
    unzip -q -o "$wheel" 'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
      'tensorflow/include/*' -d "$work/x" || die "unzip of $wheel failed"
  else
    "$PYTHON" - "$wheel" "$work/x" <<'PY' || die "extracting $wheel failed"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n in ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2") or n.startswith("tensorflow/include/"):
            z.extract(n, sys.argv[2])
PY
  fi
  [ -f "$work/x/tensorflow/libtensorflow_cc.so.2" ] ||
    die "$(basename "$wheel") has no tensorflow/libtensorflow_cc.so.2 (wheels < 2.12 keep the C API inside the Python extension; use >= 2.12)"
  [ -f "$work/x/tensorflow/libtensorflow_framework.so.2" ] || die "$(basename "$wheel") has no libtensorflow_framework.so.2"
  if command -v nm >/dev/null; then
    local nsyms
    nsyms="$(nm -D --defined-only "$work/x/tensorflow/libtensorflow_cc.so.2" | grep -cE ' T (TF_Version|TFE_NewContext|TFE_Execute)(@|$)' || true)"
    [ "$nsyms" -ge 3 ] || die "libtensorflow_cc.so.2 does not export the C/eager C API (TF_Version, TFE_NewContext, TFE_Execute)"
  fi

  local st="$work/stage"
  mkdir -p "$st/lib" "$st/include"
  mv "$work/x/tensorflow/libtensorflow_cc.so.2" "$work/x/tensorflow/libtensorflow_framework.so.2" "$st/lib/"
  # Only the C API headers (+ the tsl/xla bits they include); the wheel's full include/ is ~170 MB of C++.
  inc="$work/x/tensorflow/include"
  (cd "$inc" && for d in tensorflow/c tensorflow/core/platform tsl/c tsl/platform xla/tsl/c xla/tsl/platform; do
     [ -d "$d" ] && cp -a --parents "$d" "$st/include/"; done; true)
  # Shim: tfjs' binding includes tensorflow/core/platform/ctstring_internal.h, which moved to tsl/ in newer TF.
  for h in ctstring_internal.h ctstring.h; do
    if [ ! -f "$st/include/tensorflow/core/platform/$h" ]; then
      local src=""
      for cand in tsl/platform/$h xla/tsl/platform/$h; do [ -f "$st/include/$cand" ] && { src="$cand"; break; }; done
      if [ -n "$src" ]; then
        mkdir -p "$st/include/tensorflow/core/platform"
        printf '// shim by tangent infra/tfjs: moved upstream\n#pragma once\n#include "%s"\n' "$src" \
          > "$st/include/tensorflow/core/platform/$h"
        log "shimmed tensorflow/core/platform/$h -> $src"
      fi
    fi
  done
  if ! headers_compile "$st/include"; then
    warn "the selected C API headers do not compile alone; caching tensorflow/ tsl/ xla/ include trees instead"
    (cd "$inc" && for d in tensorflow tsl xla third_party; do [ -d "$d" ] && cp -a "$d" "$st/include/"; done; true)
    headers_compile "$st/include" || die "libtensorflow $TF_VERSION headers do not compile with ${CXX:-c++}"
  fi
  cat > "$st/MANIFEST" <<EOF
source: PyPI $WHEEL_DIST==$TF_VERSION
wheel: $(basename "$wheel")
wheel_sha256: $sha
fetched: $(date -u +%Y-%m-%dT%H:%M:%SZ)
lib: libtensorflow_cc.so.2 libtensorflow_framework.so.2 (from the wheel's tensorflow/)
include: C API headers from the wheel's tensorflow/include/
EOF
  touch "$st/.complete"
  rm -rf "$CACHE_DIR"
  mv "$st" "$CACHE_DIR"
  rm -rf "$work"; WORK_TMP=""
  log "cached $CACHE_DIR ($(du -sh "$CACHE_DIR" | cut -f1)) in $(elapsed "$t0")"
}

mkdir -p "$CACHE_ROOT/libtensorflow"
exec 9>"$CACHE_ROOT/libtensorflow/.lock-$WHEEL_DIST-$TF_VERSION"
command -v flock >/dev/null && flock 9
if cache_complete; then
  log "cache hit: $CACHE_DIR"
else
  fetch_into_cache
fi
exec 9>&-

# --------------------------------------------------------- 3. stage into deps/
T_STAGE=$(date +%s.%N)
DEPS="$PKG_DIR/deps"
rm -rf "$DEPS"
mkdir -p "$DEPS/lib" "$DEPS/include"
# Hard links when the cache is on the same filesystem (no copy of ~630 MB), else a copy.
for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
  ln "$CACHE_DIR/lib/$f" "$DEPS/lib/$f" 2>/dev/null || cp "$CACHE_DIR/lib/$f" "$DEPS/lib/$f"
done
cp -a "$CACHE_DIR/include/." "$DEPS/include/"
cp "$CACHE_DIR/MANIFEST" "$DEPS/MANIFEST.tangent"
(
  cd "$DEPS/lib"
  # binding.gyp links -ltensorflow -ltensorflow_framework; the addon records the SONAMEs
  # (libtensorflow_cc.so.2, libtensorflow_framework.so.2) and finds them by rpath $ORIGIN/../../deps/lib.
  ln -sf libtensorflow_cc.so.2 libtensorflow.so
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
  # tfjs-node's install script skips its download when these exist (deps-constants.js names).
  ln -sf libtensorflow_cc.so.2 "$DEPS_LIBTF_NAME"
  ln -sf libtensorflow_framework.so.2 "$DEPS_LIBTF_FW_NAME"
)
log "staged $DEPS (lib: $(cd "$DEPS/lib" && ls | tr '\n' ' ')) in $(elapsed "$T_STAGE")"

# ------------------------------------------------------------- 4. build addon
T_BUILD=$(date +%s.%N)
ADDON_KEY="$( { echo "$PKG_NAME $PKG_VERSION tf=$WHEEL_DIST-$TF_VERSION napi=$NAPI_BUILD_VERSION $(uname -m)"
                cat "$PKG_DIR/binding.gyp" "$PKG_DIR"/binding/*; } | sha256sum | cut -c1-16)"
ADDON_CACHE="$CACHE_DIR/addon/${PKG_NAME##*/}-$PKG_VERSION-napi-v$NAPI_BUILD_VERSION-$ADDON_KEY/tfjs_binding.node"
rm -f "$BINDING_PATH"
built=0
if [ "${TANGENT_TFJS_NO_ADDON_CACHE:-0}" != 1 ] && [ -f "$ADDON_CACHE" ]; then
  mkdir -p "$MODULE_PATH"
  cp "$ADDON_CACHE" "$BINDING_PATH"
  if TF_CPP_MIN_LOG_LEVEL=3 binding_tf_version >/dev/null; then
    built=1; log "reused cached addon build $ADDON_CACHE"
  else
    warn "cached addon does not load; rebuilding"; rm -f "$BINDING_PATH"
  fi
fi
if [ "$built" = 0 ]; then
  NODE_GYP="${TANGENT_NODE_GYP:-}"
  if [ -z "$NODE_GYP" ]; then
    npm_cli="$(readlink -f "$(command -v npm 2>/dev/null || true)" 2>/dev/null || true)"
    for cand in \
      "${npm_cli:+$(dirname "$npm_cli")/../node_modules/node-gyp/bin/node-gyp.js}" \
      "$(dirname "$(readlink -f "$(command -v node)")")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
      "$(npm prefix -g 2>/dev/null)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js" \
      "$(command -v node-gyp 2>/dev/null || true)"; do
      [ -n "$cand" ] && [ -f "$cand" ] && { NODE_GYP="$cand"; break; }
    done
  fi
  [ -n "$NODE_GYP" ] && [ -f "$NODE_GYP" ] || die "node-gyp not found (it ships inside npm; set TANGENT_NODE_GYP=/path/to/node-gyp.js)"
  # Node headers: node-gyp would download them from nodejs.org; use the local ones.
  NODEDIR="${TANGENT_NODEDIR:-}"
  if [ -z "$NODEDIR" ]; then
    prefix="$(node -p 'process.config.variables.node_prefix || ""')"
    for cand in "$prefix" /usr /usr/local "$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"; do
      [ -n "$cand" ] && [ -f "$cand/include/node/node_api.h" ] && { NODEDIR="$cand"; break; }
    done
  fi
  [ -n "$NODEDIR" ] && [ -f "$NODEDIR/include/node/node_api.h" ] && [ -f "$NODEDIR/include/node/node_version.h" ] ||
    die "Node headers (<nodedir>/include/node/node_api.h) not found${NODEDIR:+ in $NODEDIR}; install them (Debian's nodejs ships /usr/include/node) or set TANGENT_NODEDIR"
  hv="$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION/ { v = v (v ? "." : "") $3 } END { print v }' "$NODEDIR/include/node/node_version.h")"
  [ "v$hv" = "$(node --version)" ] || warn "Node headers $hv != node $(node --version) (fine for a Node-API addon)"
  command -v "${CXX:-c++}" >/dev/null && command -v make >/dev/null || die "a C++ compiler and make are needed (Debian: build-essential)"
  log "building $PKG_NAME addon (napi-v$NAPI_BUILD_VERSION) with node-gyp $(node "$NODE_GYP" --version 2>/dev/null) --nodedir=$NODEDIR ..."
  BUILD_LOG="$PKG_DIR/build-tangent.log"
  # Run outside npm: drop npm_config_* that could redirect node-gyp (e.g. a global build-from-source or devdir).
  if ! (cd "$PKG_DIR" && env $(env | grep -o '^npm_config_[^=]*' | sed 's/^/-u /') \
          node "$NODE_GYP" rebuild --nodedir="$NODEDIR" \
          --module_name=tfjs_binding --module_path="$MODULE_PATH" --napi_build_version="$NAPI_BUILD_VERSION" \
          --jobs="$(nproc 2>/dev/null || echo 2)" >"$BUILD_LOG" 2>&1); then
    grep -E 'error|Error' "$BUILD_LOG" | head -20 >&2 || true
    die "node-gyp build failed (full log: $BUILD_LOG)"
  fi
  [ -f "$BINDING_PATH" ] || die "node-gyp finished but $BINDING_PATH is missing (log: $BUILD_LOG)"
  err="$(mktemp)"
  if ! TF_CPP_MIN_LOG_LEVEL=3 binding_tf_version "$err" >/dev/null; then
    msg="$(cat "$err")"; rm -f "$err"
    mv -f "$BINDING_PATH" "$BINDING_PATH.failed"
    die "the built addon does not load: $msg"
  fi
  rm -f "$err"
  if [ "${TANGENT_TFJS_NO_ADDON_CACHE:-0}" != 1 ]; then
    mkdir -p "$(dirname "$ADDON_CACHE")" && cp "$BINDING_PATH" "$ADDON_CACHE.tmp.$$" && mv -f "$ADDON_CACHE.tmp.$$" "$ADDON_CACHE" || true
  fi
  log "built $BINDING_PATH in $(elapsed "$T_BUILD")"
fi

# ----------------------------------------------------------------- 5. verify
log "verifying ..."
VERIFY_ARGS=("$PROJECT_DIR")
[ "$GPU" = 1 ] && VERIFY_ARGS+=(--gpu)
if ! node "$SCRIPT_DIR/verify.mjs" "${VERIFY_ARGS[@]}"; then
  # Do not leave a loadable-but-wrong addon behind: the app picks the first backend that loads.
  mv -f "$BINDING_PATH" "$BINDING_PATH.failed" 2>/dev/null || true
  die "verify.mjs failed; addon moved aside to $BINDING_PATH.failed"
fi
log "done in $(elapsed "$T_START"): $PKG_NAME uses TensorFlow $TF_VERSION from $DEPS/lib"
